//! `exec`: start another process in an existing container. It joins init's namespaces (a
//! second fork lands it in the pid namespace), then shares init's tail: limits, caps, user,
//! cwd, fds, execve. Success is the channel closing on execve; failure is an Error message.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use nix::fcntl::{open, OFlag};
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::channel::{self, ToInit, ToParent};
use super::console::{self, ConsoleTarget};
use super::handshake::Handshake;
use super::init::{self, ChildContext, Role};
use crate::plan::{Join, NamespacePlan, NsKind, ProcessPlan};
use crate::state::{open_init, pidfile, ContainerStatus, Record, StateDir};
use crate::{security, sys};

#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub pid_file: Option<PathBuf>,
    pub console: Option<ConsoleTarget>,
    pub ignore_paused: bool,
    pub preserve_fds: crate::process::PreserveFds,
}

/// The running exec'd process.
pub struct Execd {
    pub pid: Pid,
    pub pidfd: OwnedFd,
    /// The pty master, when hull proxies the terminal itself.
    pub master: Option<OwnedFd>,
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

/// Takes the locked state dir and releases the lock once the process is forked: an exec into
/// a paused container waits for `resume`, which needs the lock.
pub fn exec(
    dir: StateDir,
    record: &Record,
    process: &ProcessPlan,
    opts: &ExecOptions,
) -> Result<Execd> {
    match dir.status(Some(record)) {
        ContainerStatus::Running | ContainerStatus::Created => {}
        ContainerStatus::Paused if opts.ignore_paused => {}
        status => bail!("cannot exec in container {:?}: it is {status}", record.id),
    }
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
    let (console, proxy) = console::open_optional(opts.console.as_ref())?;
    let cgroup = record.cgroup();
    let seccomp = record
        .seccomp
        .as_ref()
        .map(security::seccomp::compile)
        .transpose()?;
    let (parent, child) = channel::pair()?;
    let trampoline = init::trampoline_for(seccomp.as_ref())?;
    let ctx = ChildContext {
        role: Role::Exec {
            root,
            personality: persona_of(record.pid),
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
        session_keyring: super::create::keyring_name(record.session_keyring.as_deref())?,
        preserve_fds: opts.preserve_fds,
    };
    // As init: cloned into the cgroup (v2), moving itself in (v1), or moved by the parent.
    // Without root the caller may not be allowed to move a process there (its own cgroup is
    // not below a common ancestor it owns, e.g. a login session and a user manager's scope):
    // then, as runc, the process runs outside the container's cgroup.
    let rootless = crate::rootless::is_rootless();
    let target = cgroup.as_ref().and_then(|c| c.clone_target());
    let tasks = match (&cgroup, &target) {
        (Some(c), None) => match c.self_join_files() {
            Err(e) if rootless => {
                crate::log::debug(&format!(
                    "exec: the process stays outside the container's cgroup: {e:#}"
                ));
                Vec::new()
            }
            other => other?,
        },
        _ => Vec::new(),
    };
    // execCPUAffinity.initial: where this process (and so the child, until it is in the
    // container's cgroup) runs; `final` is the child's once it is in.
    if let Some(cpus) = &process.exec_affinity.initial {
        security::user::set_affinity(cpus, "process.execCPUAffinity.initial")?;
    }
    let into = target.as_ref().map(|t| t.as_fd());
    let (forked, cloned_in) = match sys::clone_fork_into(0, into) {
        Err(e @ (nix::errno::Errno::EACCES | nix::errno::Errno::EPERM))
            if rootless && into.is_some() =>
        {
            crate::log::debug(&format!(
                "exec: not cloned into the container's cgroup: {e}"
            ));
            sys::clone_fork_into(0, None)
        }
        other => other,
    }
    .context("forking the exec process")?;
    let join = if cgroup.is_some() {
        init::CgroupJoin::after_clone(cloned_in, &tasks)
    } else {
        init::CgroupJoin::Done
    };
    let (first, first_fd) = match forked {
        sys::Forked::Child => init::run(ChildContext {
            cgroup: join,
            ..ctx
        }),
        sys::Forked::Parent { child, pidfd } => (child, pidfd),
    };
    drop(ctx);
    // Unlocks for the child too (flock belongs to the open file description it shares).
    drop(dir);
    crate::crash::crash_point("exec:forked");
    let mut target = (first, first_fd);
    let by_parent = matches!(join, init::CgroupJoin::ByParent);
    drop(tasks);
    let joined = match &cgroup {
        Some(c) if by_parent => c
            .add(first)
            .or_else(|e| {
                let denied = e.chain().any(|c| {
                    c.downcast_ref::<std::io::Error>()
                        .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
                });
                if rootless && denied {
                    crate::log::debug(&format!(
                        "exec: the process stays outside the container's cgroup: {e:#}"
                    ));
                    return Ok(());
                }
                Err(e)
            })
            // If the child is already gone, what it said, or how it ended, says more than the
            // cgroup write.
            .map_err(|e| {
                if let Some(ToParent::Error(msg)) = parent.try_recv_from_init(100) {
                    return e.context(format!(
                        "the exec process failed before it joined the cgroup: {msg}"
                    ));
                }
                match waitpid(first, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
                    Ok(nix::sys::wait::WaitStatus::Signaled(_, sig, _)) => e.context(format!(
                        "the exec process was killed by {sig} before it joined the cgroup"
                    )),
                    Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => e.context(format!(
                        "the exec process exited ({code}) before it joined the cgroup"
                    )),
                    other => e.context(format!("the exec process: {other:?}")),
                }
            })
            .and_then(|()| parent.send_to_init(ToInit::CgroupJoined)),
        _ => Ok(()),
    };
    let mut handshake = Handshake::for_exec(
        &namespaces,
        seccomp.as_ref().is_some_and(|s| s.listener.is_some()),
    );
    let result = joined.and_then(|()| loop {
        let msg = parent.recv_from_init();
        if let Some(step) = msg.as_ref().ok().and_then(|m| m.as_ref()?.step()) {
            if let Err(e) = handshake.accept(step) {
                break Err(e);
            }
        }
        match msg {
            Ok(Some(ToParent::InitPid(pid))) => {
                // It was forked after its parent joined the cgroup, so it is in it already. It
                // may even be gone (a quick program, or one that failed: its message follows).
                let pid = Pid::from_raw(pid);
                match sys::pidfd_open(pid) {
                    Ok(fd) => target = (pid, fd),
                    Err(_) => target.0 = pid,
                }
                let _ = waitpid(first, None);
            }
            Ok(Some(ToParent::SeccompListener(fd))) => {
                if let Err(e) = send_listener(seccomp.as_ref(), record, target.0, fd) {
                    break Err(e);
                }
            }
            Ok(Some(ToParent::Error(msg))) => break Err(anyhow!(msg)),
            Ok(Some(ToParent::Log { level, msg })) => crate::log::from_child(&level, &msg),
            Ok(Some(other)) => {
                break Err(anyhow!(
                    "unexpected message from the exec process: {other:?}"
                ))
            }
            // The channel closes at the program's execve: EOF means it runs, once every step
            // is done (else the child died without a word).
            Ok(None) if handshake.done() => break Ok(()),
            Ok(None) => break Err(anyhow!("the exec process ended before it ran the program")),
            Err(e) => break Err(e),
        }
    });
    if let Err(e) = result.and_then(|()| write_pid_file(opts, target.0)) {
        let _ = sys::pidfd_send_signal(target.1.as_fd(), Signal::SIGKILL as i32);
        let _ = waitpid(first, None);
        return Err(e);
    }
    let master = proxy.as_ref().map(console::receive_master).transpose()?;
    Ok(Execd {
        pid: target.0,
        pidfd: target.1,
        master,
    })
}

/// The persona init runs with (/proc/PID/personality, hex), unless it is the default.
fn persona_of(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/personality")).ok()?;
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
