//! The runc-compatible command line: global flags, one file per command, no runtime logic.

mod checkpoint;
mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
pub mod log;
mod pause;
mod ps;
mod restore;
mod run;
mod spec;
mod start;
mod state;
mod update;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::spec::SPEC_VERSION;

/// `--format` of `list` and `ps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// `--cgroup-manager` (crun's flag; podman passes `disabled` for `--cgroups=disabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CgroupManagerArg {
    Cgroupfs,
    Systemd,
    Disabled,
}

/// runc's choice: root's state in /run; a rootless user's in their runtime dir (or /tmp).
fn default_root() -> PathBuf {
    let uid = nix::unistd::geteuid();
    if !crate::rootless::is_rootless() {
        return PathBuf::from("/run/hull");
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("hull"),
        None => PathBuf::from(format!("/tmp/hull-{uid}")),
    }
}

/// Flags every command sees.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Directory for container state (tmpfs recommended) [default: /run/hull, or
    /// $XDG_RUNTIME_DIR/hull when not run as root]
    #[arg(long, global = true, default_value_os_t = default_root(), hide_default_value = true)]
    pub root: PathBuf,
    /// Append log lines (errors; debug with --debug) to this file
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Format of the log file
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: log::LogFormat,
    /// Log debug lines, including a per-phase timeline
    #[arg(long, global = true)]
    pub debug: bool,
    /// The criu binary for checkpoint/restore (default: criu on PATH)
    #[arg(long, global = true)]
    pub criu: Option<PathBuf>,
    /// Manage cgroups through systemd: the container is a transient scope, cgroupsPath is
    /// `slice:prefix:name`
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// cgroup driver: cgroupfs (the default), systemd (as --systemd-cgroup) or disabled (no
    /// cgroup at all; resource limits are refused, device rules are not enforced)
    #[arg(long, global = true, value_enum)]
    pub cgroup_manager: Option<CgroupManagerArg>,
}

#[derive(Debug, Parser)]
#[command(
    name = "hull",
    about = "hull: a small, fast, runc-compatible OCI container runtime",
    disable_version_flag = true
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    /// Print the version
    #[arg(short = 'v', long)]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a container from a bundle; it waits for `start`
    Create(create::CreateArgs),
    /// Run the user process of a created container
    Start(start::Args),
    /// Print the state of a container as JSON
    State(state::Args),
    /// Send a signal to the container's init process
    Kill(kill::Args),
    /// Delete a container and everything it holds
    Delete(delete::Args),
    /// Run another process in a running container
    Exec(exec::Args),
    /// Create and start a container, and wait for it
    Run(run::Args),
    /// List containers
    #[command(visible_alias = "ps-all")]
    List(list::Args),
    /// Write a default config.json
    Spec(spec::Args),
    /// Freeze every process of the container (cgroup freezer)
    Pause(pause::Args),
    /// Thaw a paused container
    Resume(pause::Args),
    /// List the processes of the container
    Ps(ps::Args),
    /// Change the resource limits of a running container
    Update(update::Args),
    /// Usage figures of the container as JSON (once with --stats)
    Events(events::Args),
    /// Print what this build supports (runtime-spec features.md) as JSON
    Features,
    /// Checkpoint a running container with CRIU
    Checkpoint(checkpoint::Args),
    /// Restore a container from a checkpoint
    Restore(restore::Args),
}

/// Parse argv, run the command, report errors; returns the process exit status.
pub fn main() -> i32 {
    crate::process::timeline::set_start();
    // Rust starts with SIGPIPE ignored; an ignored signal stays ignored across execve, so the
    // container's processes would inherit it. Back to the default, as every C runtime has it
    // (and `hull state | head` ends quietly).
    let _ = crate::sys::default_sigpipe();
    // No process of a container that shares our pid namespace may open /proc/<hull>/exe (the
    // host binary) or ptrace us: every hull process, not only init (CVE-2019-5736).
    let _ = nix::sys::prctl::set_dumpable(false);
    let cli = Cli::parse();
    log::init(
        cli.global.log.clone(),
        cli.global.log_format,
        cli.global.debug,
    );
    if cli.version {
        println!("hull version {}", env!("CARGO_PKG_VERSION"));
        println!(
            "commit: {}",
            option_env!("HULL_COMMIT").unwrap_or("unknown")
        );
        println!("spec: {SPEC_VERSION}");
        return 0;
    }
    let Some(command) = cli.command else {
        eprintln!("hull: no command given (see hull --help)");
        return 1;
    };
    match dispatch(&cli.global, command) {
        Ok(code) => code,
        Err(e) => {
            log::error(&format!("{e:#}"));
            1
        }
    }
}

fn dispatch(g: &Global, command: Command) -> Result<i32> {
    match command {
        Command::Create(a) => create::run(g, a),
        Command::Start(a) => start::run(g, a),
        Command::State(a) => state::run(g, a),
        Command::Kill(a) => kill::run(g, a),
        Command::Delete(a) => delete::run(g, a),
        Command::Exec(a) => exec::run(g, a),
        Command::Run(a) => run::run(g, a),
        Command::List(a) => list::run(g, a),
        Command::Spec(a) => spec::run(a),
        Command::Pause(a) => pause::pause(g, a),
        Command::Resume(a) => pause::resume(g, a),
        Command::Ps(a) => ps::run(g, a),
        Command::Update(a) => update::run(g, a),
        Command::Features => features::run(),
        Command::Checkpoint(a) => checkpoint::run(g, a),
        Command::Restore(a) => restore::run(g, a),
        Command::Events(a) => events::run(g, a),
    }
}
