//! The runc-compatible command line: global flags, one file per command, no runtime logic.

mod args;
mod checkpoint;
mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod process_io;
mod ps;
mod restore;
mod run;
mod spec;
mod start;
mod state;
mod update;

use std::path::PathBuf;

use anyhow::Result;

use args::{switch, valued, Command, Flag, IdArgs, Matches, Stop};

use crate::spec::SPEC_VERSION;

/// `--format` of `list` and `ps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        args::one_of(
            "the format",
            s,
            &[("table", Format::Table), ("json", Format::Json)],
        )
    }
}

/// `--cgroup-manager` (crun's flag; podman passes `disabled` for `--cgroups=disabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupManagerArg {
    Cgroupfs,
    Systemd,
    Disabled,
}

impl std::str::FromStr for CgroupManagerArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        use CgroupManagerArg::*;
        args::one_of(
            "the cgroup manager",
            s,
            &[
                ("cgroupfs", Cgroupfs),
                ("systemd", Systemd),
                ("disabled", Disabled),
            ],
        )
    }
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

/// Flags every command sees (before the command or among its own).
#[derive(Debug, Clone)]
pub struct Global {
    pub root: PathBuf,
    pub log: Option<PathBuf>,
    pub log_format: crate::log::LogFormat,
    pub debug: bool,
    pub criu: Option<PathBuf>,
    pub systemd_cgroup: bool,
    pub cgroup_manager: Option<CgroupManagerArg>,
}

const GLOBAL_FLAGS: &[Flag] = &[
    valued("root", None, "DIR", "Directory for container state (tmpfs recommended) [default: /run/hull, or $XDG_RUNTIME_DIR/hull when not run as root]"),
    valued("log", None, "FILE", "Append log lines (errors; debug with --debug) to this file"),
    valued("log-format", None, "text|json", "Format of the log file [default: text]"),
    switch("debug", None, "Log debug lines, including a per-phase timeline"),
    valued("criu", None, "PATH", "The criu binary for checkpoint/restore (default: criu on PATH)"),
    switch("systemd-cgroup", None, "Manage cgroups through systemd: the container is a transient scope, cgroupsPath is `slice:prefix:name`"),
    valued("cgroup-manager", None, "cgroupfs|systemd|disabled", "cgroup driver: cgroupfs (the default), systemd (as --systemd-cgroup) or disabled (no cgroup at all; resource limits are refused, device rules are not enforced)"),
    valued("rootless", None, "true|false|auto", "Accepted for runc compatibility: hull tells from its own uid whether it runs rootless [default: auto]"),
    switch("version", Some('v'), "Print the version"),
];

impl Global {
    fn from(m: &Matches) -> Result<Global> {
        if let Some(v) = m.string("rootless")? {
            let choices = [("true", ()), ("false", ()), ("auto", ())];
            args::one_of("--rootless", &v, &choices).map_err(anyhow::Error::msg)?;
        }
        Ok(Global {
            root: m.path("root").unwrap_or_else(default_root),
            log: m.path("log"),
            log_format: m
                .parse("log-format")?
                .unwrap_or(crate::log::LogFormat::Text),
            debug: m.flag("debug"),
            criu: m.path("criu"),
            systemd_cgroup: m.flag("systemd-cgroup"),
            cgroup_manager: m.parse("cgroup-manager")?,
        })
    }
}

const ABOUT: &str = "hull: a small, fast, runc-compatible OCI container runtime";

const COMMANDS: &[&Command] = &[
    &create::COMMAND,
    &start::COMMAND,
    &state::COMMAND,
    &kill::COMMAND,
    &delete::COMMAND,
    &exec::COMMAND,
    &run::COMMAND,
    &list::COMMAND,
    &spec::COMMAND,
    &pause::PAUSE,
    &pause::RESUME,
    &ps::COMMAND,
    &update::COMMAND,
    &events::COMMAND,
    &features::COMMAND,
    &checkpoint::COMMAND,
    &restore::COMMAND,
];

/// Parse argv, run the command, report errors; returns the process exit status.
pub fn main() -> i32 {
    crate::process::timeline::set_start();
    crate::sys::ensure_stdio_open();
    // A caller may hand SIGPIPE over ignored: hull takes the default (`hull state | head`
    // ends quietly); what the container's processes get is init's to decide.
    let _ = crate::sys::set_sigpipe(false);
    // No process of a container that shares our pid namespace may open /proc/<hull>/exe (the
    // host binary) or ptrace us: every hull process, not only init (CVE-2019-5736).
    let _ = nix::sys::prctl::set_dumpable(false);
    let (command, mut m) = match args::parse(
        crate::sys::argv::args().into_iter().skip(1),
        GLOBAL_FLAGS,
        ABOUT,
        COMMANDS,
    ) {
        Ok(parsed) => parsed,
        Err(Stop::Help(text)) => {
            print!("{text}");
            return 0;
        }
        Err(Stop::Error(e)) => {
            eprintln!("hull: {e}");
            return 1;
        }
    };
    let global = match Global::from(&m) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("hull: {e:#}");
            return 1;
        }
    };
    crate::log::init(global.log.clone(), global.log_format, global.debug);
    if m.flag("version") {
        println!("hull version {}", env!("CARGO_PKG_VERSION"));
        println!(
            "commit: {}",
            option_env!("HULL_COMMIT").unwrap_or("unknown")
        );
        println!("spec: {SPEC_VERSION}");
        return 0;
    }
    let Some(command) = command else {
        eprintln!("hull: no command given (see hull --help)");
        return 1;
    };
    match dispatch(&global, command.name, &mut m) {
        Ok(code) => code,
        Err(e) => {
            crate::log::error(&format!("{e:#}"));
            1
        }
    }
}

/// Read the command's arguments, then run it. Both kinds of error are reported alike (the
/// log file too), with status 1, as runc does.
fn dispatch(g: &Global, name: &str, m: &mut Matches) -> Result<i32> {
    match name {
        "create" => create::run(g, args(m, create::CreateArgs::from)?),
        "start" => start::run(g, args(m, IdArgs::from)?),
        "state" => state::run(g, args(m, IdArgs::from)?),
        "kill" => kill::run(g, args(m, kill::Args::from)?),
        "delete" => delete::run(g, args(m, delete::Args::from)?),
        "exec" => exec::run(g, args(m, exec::Args::from)?),
        "run" => run::run(g, args(m, run::Args::from)?),
        "list" => list::run(g, args(m, list::Args::from)?),
        "spec" => spec::run(args(m, spec::Args::from)?),
        "pause" => pause::pause(g, args(m, IdArgs::from)?),
        "resume" => pause::resume(g, args(m, IdArgs::from)?),
        "ps" => ps::run(g, args(m, ps::Args::from)?),
        "update" => update::run(g, args(m, update::Args::from)?),
        "events" => events::run(g, args(m, events::Args::from)?),
        "features" => args(m, |_| Ok(())).and_then(|()| features::run()),
        "checkpoint" => checkpoint::run(g, args(m, checkpoint::Args::from)?),
        "restore" => restore::run(g, args(m, restore::Args::from)?),
        other => unreachable!("command {other} is in COMMANDS but not here"),
    }
}

/// A command's arguments as `read` takes them, if nothing was left over.
fn args<T>(m: &mut Matches, read: impl FnOnce(&mut Matches) -> Result<T>) -> Result<T> {
    let args = read(m)?;
    m.finish()?;
    Ok(args)
}
