//! `hull create [--bundle B] [--pid-file F] [--console-socket S] [--pidfd-socket S] [--no-pivot] [--preserve-fds N] ID`

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::args::{switch, valued, Command, Flag, Matches};
use super::process_io::ProcessIo;
use super::{CgroupManagerArg, Global};
use crate::plan::{CgroupDriver, NotifyOptions, Plan, PlanOptions};
use crate::process::create::{self, CreateOptions};
use crate::process::notify;

/// create's arguments.
pub struct CreateArgs {
    pub bundle: PathBuf,
    pub io: ProcessIo,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub id: String,
}

/// create's flags, which `run` and `restore` take too.
pub const FLAGS: &[Flag] = &[
    valued(
        "bundle",
        Some('b'),
        "DIR",
        "Path to the bundle directory (holding config.json) [default: .]",
    ),
    valued(
        "pid-file",
        None,
        "FILE",
        "File to write the init process's pid to",
    ),
    valued(
        "console-socket",
        None,
        "SOCKET",
        "Unix socket to send the pty master to (process.terminal)",
    ),
    valued(
        "pidfd-socket",
        None,
        "SOCKET",
        "Unix socket to send a pidfd of the container's init to (SCM_RIGHTS)",
    ),
    switch(
        "no-pivot",
        None,
        "Use MS_MOVE + chroot instead of pivot_root",
    ),
    switch(
        "no-new-keyring",
        None,
        "Keep the caller's session keyring (by default the container's processes join a new one, _ses.ID)",
    ),
    valued(
        "preserve-fds",
        None,
        "N",
        "Pass this many fds above stdio (3, 4, ...) to the container",
    ),
];

pub const COMMAND: Command = Command {
    name: "create",
    alias: None,
    about: "Create a container from a bundle; it waits for `start`",
    flags: &[FLAGS],
    usage: "ID",
    rest_after: None,
};

impl CreateArgs {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(CreateArgs {
            bundle: m.path("bundle").unwrap_or_else(|| PathBuf::from(".")),
            io: ProcessIo::from(m)?,
            no_pivot: m.flag("no-pivot"),
            no_new_keyring: m.flag("no-new-keyring"),
            id: m.positional("ID")?,
        })
    }
}

pub fn run(g: &Global, a: CreateArgs) -> Result<i32> {
    let (plan, opts) = prepare(g, &a)?;
    let created = create::create(&g.root, &plan, &opts)?;
    send_pidfd(g, &plan.id, created)?;
    Ok(0)
}

/// Hand init's pidfd to `--pidfd-socket`; if that fails, the container goes again.
pub fn send_pidfd(g: &Global, id: &str, created: create::Created) -> Result<create::Created> {
    use std::os::fd::AsFd;
    let Some(socket) = &created.pidfd_socket else {
        return Ok(created);
    };
    if let Err(e) = socket.send(created.pidfd.as_fd()) {
        drop(created);
        let _ = crate::lifecycle::delete(&g.root, id, crate::lifecycle::DeleteMode::Force);
        return Err(e);
    }
    Ok(created)
}

/// Shared by `create` and `run`: load and validate the bundle before any side effect.
pub fn prepare(g: &Global, a: &CreateArgs) -> Result<(Plan, CreateOptions)> {
    crate::state::id::validate(&a.id)?;
    let bundle = absolute(&a.bundle)?;
    let (spec, extras) = crate::spec::load(&bundle)?;
    prepare_with(g, a, spec, extras, &bundle, false, false)
}

/// `run` may turn `process.terminal` on (`-t`) and, when it waits in the foreground, proxy
/// the terminal itself instead of needing a console socket.
pub fn prepare_with(
    g: &Global,
    a: &CreateArgs,
    mut spec: oci_spec::runtime::Spec,
    extras: crate::spec::Extras,
    bundle: &Path,
    force_tty: bool,
    can_proxy: bool,
) -> Result<(Plan, CreateOptions)> {
    for name in &extras.unknown_capabilities {
        crate::log::warn(&format!(
            "process.capabilities: ignoring {name:?}, a capability hull does not know"
        ));
    }
    if let (true, Some(p)) = (force_tty, spec.process_mut().as_mut()) {
        p.set_terminal(Some(true));
    }
    let terminal = spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    let console = a.io.console(terminal, can_proxy)?;
    let cgroup_driver = match (g.systemd_cgroup, g.cgroup_manager) {
        (true, Some(CgroupManagerArg::Disabled)) => {
            bail!("--systemd-cgroup and --cgroup-manager disabled contradict each other")
        }
        (true, _) | (false, Some(CgroupManagerArg::Systemd)) => CgroupDriver::Systemd,
        (false, Some(CgroupManagerArg::Disabled)) => CgroupDriver::Disabled,
        (false, Some(CgroupManagerArg::Cgroupfs) | None) => CgroupDriver::Fs,
    };
    // Socket activation (sd_listen_fds): the activated fds follow stdio.
    let listen_fds = listen_fds();
    let plan_opts = PlanOptions {
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        has_console: console.is_some(),
        extras,
        cgroup_driver,
        host_lsms: crate::security::lsm::host(),
        notify: notify::host_socket().map(|host_socket| NotifyOptions {
            host_socket,
            socket_dir: notify::state_dir(&g.root.join(&a.id)),
        }),
        listen_fds,
    };
    let plan = Plan::from_spec(&spec, bundle, &a.id, &plan_opts)?;
    let pid_file = a.io.pid_file()?;
    Ok((
        plan,
        CreateOptions {
            pid_file,
            console,
            preserve_fds: a
                .io
                .preserve_fds
                .plus(listen_fds)
                .context("--preserve-fds with LISTEN_FDS")?,
            stdio: None,
            pidfd_socket: a.io.pidfd_socket.clone(),
        },
    ))
}

/// `LISTEN_FDS` from the caller (systemd socket activation), when it names us in LISTEN_PID
/// (or does not name anyone).
fn listen_fds() -> u32 {
    let Some(n) = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
    else {
        return 0;
    };
    match std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
    {
        Some(pid) if pid != std::process::id() => 0,
        _ => n,
    }
}

pub fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("resolving path {}", p.display()))
}
