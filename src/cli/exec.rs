//! `hull exec [options] ID [COMMAND [ARG...]]`: run another process in a container.

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{Capability, LinuxCapabilities, Process};

use super::Global;
use crate::plan::{PlanOptions, ProcessPlan};
use crate::process::console::ConsoleTarget;
use crate::process::exec::{self, ExecOptions};
use crate::process::wait;
use crate::security::lsm;
use crate::state::StateDir;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A process.json (runtime-spec `process`) describing the process; replaces the config's
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Working directory inside the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Set an environment variable (KEY=VALUE), repeatable
    #[arg(short, long)]
    pub env: Vec<String>,
    /// UID[:GID] to run as
    #[arg(short, long)]
    pub user: Option<String>,
    /// Additional group id, repeatable
    #[arg(short = 'g', long)]
    pub additional_gids: Vec<u32>,
    /// Add a capability (CAP_NAME), repeatable
    #[arg(short, long)]
    pub cap: Vec<String>,
    /// Set no_new_privs for the process
    #[arg(long)]
    pub no_new_privs: bool,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Return once the process runs; do not wait for it
    #[arg(short, long)]
    pub detach: bool,
    /// File to write the process's pid to
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket to send the pty master to
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Pass this many fds above stdio to the process
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
    /// SELinux label for the process (refused: no SELinux on this host)
    #[arg(long)]
    pub process_label: Option<String>,
    /// AppArmor profile for the process (refused: no AppArmor on this host)
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Allow exec into a paused container
    #[arg(long)]
    pub ignore_paused: bool,
    /// Container ID
    pub id: String,
    /// Command and arguments (unless --process)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    if a.tty && a.console_socket.is_none() && a.detach {
        bail!("--tty with --detach needs --console-socket (hull can proxy a terminal only in the foreground)");
    }
    lsm::apparmor("--apparmor", a.apparmor.as_deref())?;
    lsm::selinux("--process-label", a.process_label.as_deref())?;
    let dir = StateDir::open(&g.root, &a.id)?;
    let record = dir
        .load()?
        .with_context(|| format!("container {:?} is still being created", a.id))?;
    let spec = process_spec(&a, record.process.clone())?;
    lsm::check_process(
        &spec,
        if a.process.is_some() {
            "--process: "
        } else {
            "process."
        },
    )?;
    let console = match (&a.console_socket, spec.terminal().unwrap_or(false)) {
        (Some(path), _) => Some(ConsoleTarget::Socket(super::create::absolute(path)?)),
        (None, true) => Some(ConsoleTarget::Proxy),
        (None, false) => None,
    };
    let plan = ProcessPlan::from_spec(
        &spec,
        &PlanOptions {
            has_console: console.is_some(),
            ..Default::default()
        },
    )?;
    let waited = if a.detach {
        None
    } else {
        Some(wait::prepare()?)
    };
    let opts = ExecOptions {
        pid_file: a.pid_file.clone(),
        console,
        ignore_paused: a.ignore_paused,
        preserve_fds: a.preserve_fds,
    };
    let execd = exec::exec(dir, &record, &plan, &opts)?;
    let Some(waited) = waited else { return Ok(0) };
    wait::wait_forwarding(
        execd.pid,
        execd.pidfd.as_fd(),
        &waited,
        execd.master.as_ref(),
    )
}

/// The process to run: `--process FILE`, or the container's own process with the command
/// line's changes, as runc builds it.
fn process_spec(a: &Args, base: Option<Process>) -> Result<Process> {
    if let Some(path) = &a.process {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading --process {}", path.display()))?;
        return serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "parsing --process {}: line {} column {}: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        });
    }
    if a.command.is_empty() {
        bail!("exec: give a command to run (or --process FILE)");
    }
    let mut p = base.unwrap_or_default();
    p.set_args(Some(a.command.clone()));
    p.set_terminal(Some(a.tty));
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.clone());
    }
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &a.env {
        let key = kv.split('=').next().unwrap_or_default();
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    p.set_env(Some(env));
    if let Some(user) = &a.user {
        let (uid, gid) = match user.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (user.as_str(), None),
        };
        p.user_mut().set_uid(
            uid.parse()
                .with_context(|| format!("--user: bad uid {uid:?}"))?,
        );
        if let Some(g) = gid {
            p.user_mut().set_gid(
                g.parse()
                    .with_context(|| format!("--user: bad gid {g:?}"))?,
            );
        }
    }
    if !a.additional_gids.is_empty() {
        p.user_mut()
            .set_additional_gids(Some(a.additional_gids.clone()));
    }
    if !a.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        for name in &a.cap {
            let cap = Capability::from_str(name.trim_start_matches("CAP_"))
                .map_err(|_| anyhow::anyhow!("--cap: unknown capability {name:?}"))?;
            add_cap(&mut caps, cap);
        }
        p.set_capabilities(Some(caps));
    }
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    Ok(p)
}

/// runc's `--cap` adds to the bounding, effective and permitted sets.
fn add_cap(caps: &mut LinuxCapabilities, cap: Capability) {
    let add = |set: &Option<oci_spec::runtime::Capabilities>| {
        let mut s = set.clone().unwrap_or_default();
        s.insert(cap);
        Some(s)
    };
    caps.set_bounding(add(caps.bounding()));
    caps.set_effective(add(caps.effective()));
    caps.set_permitted(add(caps.permitted()));
}
