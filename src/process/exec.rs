//! `exec`: start another process in an existing container. It joins init's namespaces (a
//! second fork lands it in the pid namespace), then shares init's tail: limits, caps, user,
//! cwd, fds, execve. Success is the channel closing on execve; failure is an Error message.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use super::channel::{self, ToParent};
use super::console::{self, ConsoleTarget};
use super::handover;
use super::handshake::Handshake;
use super::init::{self, ChildContext, Role};
use super::launch::{self, CgroupPolicy};
use super::pidfd_socket::PidfdSocket;
use crate::plan::{Join, NamespacePlan, NsKind, ProcessPlan};
use crate::security;
use crate::state::{open_init, pidfile, Record, StateDir};

#[derive(Debug, Default)]
pub struct ExecOptions {
    pub pid_file: Option<PathBuf>,
    pub console: Option<ConsoleTarget>,
    pub preserve_fds: crate::process::PreserveFds,
    /// The program's stdio pipes (`exec` in the foreground), else it gets hull's own.
    pub stdio: Option<[OwnedFd; 3]>,
    /// `--pidfd-socket`: connected once hull knows it will not re-exec itself.
    pub pidfd_socket: Option<PathBuf>,
}

/// The running exec'd process.
pub struct Execd {
    pub pid: Pid,
    pub pidfd: OwnedFd,
    /// The pty master, when hull proxies the terminal itself.
    pub master: Option<OwnedFd>,
    /// Connected to `--pidfd-socket`, for the caller to send the process's pidfd.
    pub pidfd_socket: Option<PidfdSocket>,
}

/// Namespace kinds in the order they are joined: user first (it decides the permissions for
/// the rest), mount last but before the fork.
const JOIN_ORDER: [(NsKind, &str); 8] = [
    (NsKind::User, "user"),
    (NsKind::Ipc, "ipc"),
    (NsKind::Uts, "uts"),
    (NsKind::Network, "net"),
    (NsKind::Pid, "pid"),
    (NsKind::Cgroup, "cgroup"),
    (NsKind::Time, "time"),
    (NsKind::Mount, "mnt"),
];

/// Takes the locked state dir of a created, running (or paused) container and releases the
/// lock once the process is forked: an exec into a paused container waits for `resume`,
/// which needs the lock.
pub fn exec(
    dir: StateDir,
    record: &Record,
    process: &ProcessPlan,
    opts: &ExecOptions,
) -> Result<Execd> {
    // Holding init's pidfd pins it: its /proc entries cannot be a recycled pid's.
    let _init =
        open_init(record).with_context(|| format!("container {:?} is not running", record.id))?;
    let (namespaces, joins) = container_namespaces(record.pid)?;
    let root = if record.own_mount_namespace {
        None
    } else {
        let path = format!("/proc/{}/root", record.pid);
        Some(
            open(
                path.as_str(),
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .context("opening the container's root")?,
        )
    };
    let seccomp = record
        .seccomp
        .as_ref()
        .map(security::seccomp::compile)
        .transpose()?;
    let trampoline = init::trampoline_for(seccomp.as_ref())?;
    // Before anything a re-exec would have to undo (the sockets' connections, the affinity).
    let pidfd_socket = handover::protect_then_connect(
        handover::exec_child_in_sight(&namespaces, trampoline.is_some()),
        opts.pidfd_socket.as_deref(),
    )?;
    let (console, proxy) = console::open_optional(opts.console.as_ref())?;
    let cgroup = crate::cgroups::of_container(record.cgroup.as_ref());
    let (parent, child) = channel::pair()?;
    let ctx = ChildContext {
        role: Role::Exec {
            root,
            personality: persona_of(record.pid),
            memory_policy: record.memory_policy.clone(),
        },
        namespaces: &namespaces,
        process: Some(process),
        channel: child,
        joins: &joins,
        seccomp: seccomp.as_ref(),
        trampoline: trampoline.as_ref(),
        cgroup: init::CgroupJoin::Done,
        console,
        close_in_child: [dir.lock_fd(), parent.as_raw_fd()],
        session_keyring: launch::keyring_name(record.session_keyring.as_deref())?,
        preserve_fds: opts.preserve_fds,
        stdio: opts.stdio.as_ref(),
        ignored_signals: crate::sys::ignored_signals(),
    };
    // execCPUAffinity.initial: where this process (and so the child, until it is in the
    // container's cgroup) runs; `final` is the child's once it is in.
    if let Some(cpus) = &process.exec_affinity.initial {
        security::user::set_affinity(cpus, "process.execCPUAffinity.initial")?;
    }
    let policy = CgroupPolicy::for_caller(true);
    let cgroup = cgroup.as_deref();
    let mut child = launch::fork("the exec process", ctx, parent, 0, cgroup, policy)?;
    // Unlocks for the child too (flock belongs to the open file description it shares).
    drop(dir);
    crate::crash::crash_point("exec:forked");
    let listener = seccomp.as_ref().is_some_and(|s| s.listener.is_some());
    let joined = child
        .join_cgroup(cgroup, policy)
        .and_then(|()| match &record.intel_rdt {
            Some(rdt) => crate::resctrl::Join::add(rdt, child.first()),
            None => Ok(()),
        });
    let result = joined.and_then(|()| {
        // It ends with the program's execve, which closes the channel.
        child.converse(
            Handshake::for_exec(&namespaces, process, listener),
            launch::Asks {
                namespaces: &namespaces,
                rlimits: &process.rlimits,
            },
            |_, pid, msg| match msg {
                ToParent::SeccompListener(fd) => {
                    send_listener(seccomp.as_ref(), record, pid, fd).map(|()| false)
                }
                other => Err(anyhow!(
                    "unexpected message from the exec process: {other:?}"
                )),
            },
        )
    });
    if let Err(e) = result.and_then(|()| write_pid_file(opts, child.pid)) {
        child.kill();
        return Err(e);
    }
    let master = proxy.as_ref().map(console::receive_master).transpose()?;
    let (pid, pidfd) = child.into_process();
    Ok(Execd {
        pid,
        pidfd,
        master,
        pidfd_socket,
    })
}

/// The persona init runs with (/proc/PID/personality, hex), unless it is the default.
fn persona_of(pid: i32) -> Option<u64> {
    let text = crate::sys::read_kernel_file(format!("/proc/{pid}/personality")).ok()?;
    u64::from_str_radix(text.trim(), 16)
        .ok()
        .filter(|p| *p != 0)
}

fn write_pid_file(opts: &ExecOptions, pid: Pid) -> Result<()> {
    match &opts.pid_file {
        Some(path) => pidfile::write(path, pid.as_raw()),
        None => Ok(()),
    }
}

/// The namespaces of init that differ from hull's own (joining one's own user namespace is an
/// error, and the others would be no-ops), opened now.
fn container_namespaces(pid: i32) -> Result<(NamespacePlan, Vec<(NsKind, OwnedFd)>)> {
    let mut plan = NamespacePlan::default();
    let mut fds = Vec::new();
    for (kind, name) in JOIN_ORDER {
        let path = PathBuf::from(format!("/proc/{pid}/ns/{name}"));
        let theirs =
            std::fs::read_link(&path).with_context(|| format!("reading {}", path.display()))?;
        let ours = std::fs::read_link(format!("/proc/self/ns/{name}")).ok();
        if ours.as_ref() == Some(&theirs) {
            continue;
        }
        let fd = open(&path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
            .with_context(|| format!("opening {}", path.display()))?;
        plan.join.push(Join { kind, path });
        fds.push((kind, fd));
    }
    Ok((plan, fds))
}

/// Pass an exec'd process's seccomp listener on, with the container's state (running) and the
/// process's own pid.
fn send_listener(
    seccomp: Option<&security::seccomp::SeccompProgram>,
    record: &Record,
    pid: Pid,
    fd: OwnedFd,
) -> Result<()> {
    let listener = seccomp
        .and_then(|s| s.listener.as_ref())
        .context("the exec process sent a seccomp listener nobody asked for")?;
    let mut state = crate::hooks::state(
        &record.oci_version,
        &record.id,
        record.pid,
        &record.bundle,
        &record.annotations,
    );
    state.set_status(oci_spec::runtime::ContainerState::Running);
    security::seccomp::send_listener(listener, fd, pid.as_raw(), state)
}
