//! `hull exec [options] ID [COMMAND [ARG...]]`: run another process in a container.

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{Capability, LinuxCapabilities, Process};

use super::args::{switch, valued, Command, Matches};
use super::process_io::ProcessIo;
use super::Global;
use crate::plan::{Lsm, PlanOptions, ProcessPlan};
use crate::process::exec::{self, ExecOptions};
use crate::process::wait;
use crate::state::{ContainerStatus, StateDir};

pub struct Args {
    pub process: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub cap: Vec<String>,
    pub no_new_privs: bool,
    pub tty: bool,
    pub detach: bool,
    pub io: ProcessIo,
    pub process_label: Option<String>,
    pub apparmor: Option<String>,
    pub ignore_paused: bool,
    pub id: String,
    pub command: Vec<String>,
}

pub const COMMAND: Command = Command {
    name: "exec",
    alias: None,
    about: "Run another process in a running container",
    flags: &[&[
        valued(
            "process",
            Some('p'),
            "FILE",
            "A process.json (runtime-spec `process`) describing the process; replaces the config's",
        ),
        valued("cwd", None, "DIR", "Working directory inside the container"),
        valued(
            "env",
            Some('e'),
            "KEY=VALUE",
            "Set an environment variable, repeatable",
        ),
        valued("user", Some('u'), "UID[:GID]", "User to run as"),
        valued(
            "additional-gids",
            Some('g'),
            "GID",
            "Additional group id, repeatable",
        ),
        valued(
            "cap",
            Some('c'),
            "CAP",
            "Add a capability (CAP_NAME), repeatable",
        ),
        switch("no-new-privs", None, "Set no_new_privs for the process"),
        switch("tty", Some('t'), "Allocate a pseudo-terminal"),
        switch(
            "detach",
            Some('d'),
            "Return once the process runs; do not wait for it",
        ),
        valued(
            "pid-file",
            None,
            "FILE",
            "File to write the process's pid to",
        ),
        valued(
            "console-socket",
            None,
            "SOCKET",
            "Unix socket to send the pty master to",
        ),
        valued(
            "pidfd-socket",
            None,
            "SOCKET",
            "Unix socket to send a pidfd of the exec'd process to (SCM_RIGHTS)",
        ),
        valued(
            "preserve-fds",
            None,
            "N",
            "Pass this many fds above stdio to the process",
        ),
        valued(
            "process-label",
            None,
            "LABEL",
            "SELinux label for the process (refused: no SELinux on this host)",
        ),
        valued(
            "apparmor",
            None,
            "PROFILE",
            "AppArmor profile for the process (refused: no AppArmor on this host)",
        ),
        switch("ignore-paused", None, "Allow exec into a paused container"),
    ]],
    usage: "ID [COMMAND [ARGS...]]",
    rest_after: Some(1),
};

impl Args {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(Args {
            process: m.path("process"),
            cwd: m.path("cwd"),
            env: m.strings("env")?,
            user: m.string("user")?,
            additional_gids: m.parse_all("additional-gids")?,
            cap: m.strings("cap")?,
            no_new_privs: m.flag("no-new-privs"),
            tty: m.flag("tty"),
            detach: m.flag("detach"),
            io: ProcessIo::from(m)?,
            process_label: m.string("process-label")?,
            apparmor: m.string("apparmor")?,
            ignore_paused: m.flag("ignore-paused"),
            id: m.positional("ID")?,
            command: m.rest()?,
        })
    }
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    if a.tty && a.io.console_socket.is_none() && a.detach {
        bail!("--tty with --detach needs --console-socket (hull can proxy a terminal only in the foreground)");
    }
    let host_lsms = crate::security::lsm::host();
    host_lsms.refuse("--apparmor", a.apparmor.as_deref(), Lsm::AppArmor)?;
    host_lsms.refuse("--process-label", a.process_label.as_deref(), Lsm::SeLinux)?;
    // The caller's input is read before the container's lock is taken: a --process that is
    // slow to read (or never ends) must not block kill or delete of the container.
    let from_file = a.process.as_deref().map(read_process_file).transpose()?;
    let dir = StateDir::open(&g.root, &a.id)?;
    let record = dir
        .load()?
        .with_context(|| format!("container {:?} is still being created", a.id))?;
    match crate::lifecycle::status(&dir, Some(&record)) {
        ContainerStatus::Running | ContainerStatus::Created => {}
        ContainerStatus::Paused if a.ignore_paused => {}
        status => bail!("cannot exec in container {:?}: it is {status}", record.id),
    }
    let spec = match from_file {
        Some(spec) => spec,
        None => process_spec(&a, record.process.clone())?,
    };
    let console = a.io.console(spec.terminal().unwrap_or(false), true)?;
    let plan = ProcessPlan::from_spec(
        &spec,
        &PlanOptions {
            has_console: console.is_some(),
            host_lsms,
            ..Default::default()
        },
    )?;
    let waited = if a.detach {
        None
    } else {
        Some(wait::prepare()?)
    };
    let (stdio, pipes) = ProcessIo::pipes(!a.detach, &console)?;
    let mut opts = ExecOptions {
        pid_file: a.io.pid_file()?,
        console,
        preserve_fds: a.io.preserve_fds,
        stdio,
        pidfd_socket: a.io.pidfd_socket.clone(),
    };
    let execd = exec::exec(dir, &record, &plan, &opts)?;
    // The child's ends of the pipes are the process's now.
    opts.stdio = None;
    if let Some(socket) = &execd.pidfd_socket {
        if let Err(e) = socket.send(execd.pidfd.as_fd()) {
            let _ = crate::sys::pidfd_send_signal(execd.pidfd.as_fd(), libc::SIGKILL);
            return Err(e);
        }
    }
    let Some(waited) = waited else { return Ok(0) };
    wait::wait_forwarding(
        execd.pid,
        execd.pidfd.as_fd(),
        &waited,
        super::process_io::streams(execd.master.as_ref(), pipes),
    )
}

/// `--process FILE`: the whole process to run. Without `user` it runs as uid 0, gid 0, as
/// runc accepts it.
fn read_process_file(path: &std::path::Path) -> Result<Process> {
    let text = crate::spec::read_input(path, "--process")?;
    let mut value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "parsing --process {}: line {} column {}: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if let Some(process) = value.as_object_mut() {
        process
            .entry("user")
            .or_insert_with(|| serde_json::json!({"uid": 0, "gid": 0}));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        anyhow::anyhow!(
            "parsing --process {}: {}: {}",
            path.display(),
            e.path(),
            e.inner()
        )
    })
}

/// The container's own process with the command line's changes, as runc builds it.
fn process_spec(a: &Args, base: Option<Process>) -> Result<Process> {
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
    // runc's -g adds to the container's own groups.
    if !a.additional_gids.is_empty() {
        let mut gids = p.user().additional_gids().clone().unwrap_or_default();
        gids.extend(&a.additional_gids);
        p.user_mut().set_additional_gids(Some(gids));
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
