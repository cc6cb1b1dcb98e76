//! `create`, the parent's half: state dir, fork init, answer its requests, record the result.
//! On any error the init process is killed and the state dir removed: nothing is left behind.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use oci_spec::runtime::{ContainerState, State};

use super::channel::{self, Channel, ToInit, ToParent};
use super::console::{self, ConsoleTarget};
use super::fifo;
use super::handover::{self, Handover};
use super::handshake::Handshake;
use super::init::{self, ChildContext, Role};
use super::launch::{self, CgroupPolicy, Setup};
use super::pidfd_socket::PidfdSocket;
use super::timeline::Timeline;
use crate::crash::crash_point;
use crate::plan::{NsKind, Plan};
use crate::resctrl::Join as _;
use crate::security::seccomp::SeccompProgram;
use crate::state::{CreateNote, StateDir};
use crate::{hooks, security, sys};

#[derive(Debug, Default)]
pub struct CreateOptions {
    pub pid_file: Option<PathBuf>,
    pub console: Option<ConsoleTarget>,
    pub preserve_fds: crate::process::PreserveFds,
    /// The program's stdio pipes (`run` in the foreground), else it gets hull's own.
    pub stdio: Option<[OwnedFd; 3]>,
    /// `--pidfd-socket`: connected once hull knows it will not re-exec itself (a connection
    /// made before would end at that exec, and the caller take it for the answer).
    pub pidfd_socket: Option<PathBuf>,
}

/// A created container: its locked state dir and its init process.
pub struct Created {
    pub dir: StateDir,
    pub pid: Pid,
    pub pidfd: OwnedFd,
    /// The pty master, when hull proxies the terminal itself.
    pub master: Option<OwnedFd>,
    /// Connected to `--pidfd-socket`, for the caller to send init's pidfd.
    pub pidfd_socket: Option<PidfdSocket>,
}

pub fn create(root: &Path, plan: &Plan, opts: &CreateOptions) -> Result<Created> {
    let mut timeline = Timeline::default();
    timeline.mark("load+plan");
    check_rootfs(&plan.root.path)?;
    let joins = open_namespaces(plan)?;
    let seccomp = plan
        .seccomp
        .as_ref()
        .map(security::seccomp::compile)
        .transpose()?;
    let handover = Handover::of(plan, seccomp.as_ref());
    let pidfd_socket = handover::protect_then_connect(
        handover::init_in_sight(plan, handover),
        opts.pidfd_socket.as_deref(),
    )?;
    let setup = Setup::begin(root, plan)?;
    timeline.mark("cgroup");
    let (pid, pidfd, master) = start_init(
        &setup,
        plan,
        opts,
        (&joins, seccomp.as_ref()),
        handover,
        timeline,
    )?;
    Ok(Created {
        dir: setup.keep(),
        pid,
        pidfd,
        master,
        pidfd_socket,
    })
}

fn check_rootfs(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => bail!("root.path: {} is not a directory", path.display()),
        Err(e) => Err(e).with_context(|| format!("root.path: {}", path.display())),
    }
}

fn open_namespaces(plan: &Plan) -> Result<Vec<(NsKind, OwnedFd)>> {
    plan.namespaces
        .join
        .iter()
        .map(|j| {
            let fd = open(&j.path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                .with_context(|| {
                    format!(
                        "linux.namespaces: {} namespace path {}",
                        j.kind,
                        j.path.display()
                    )
                })?;
            Ok((j.kind, fd))
        })
        .collect()
}

/// Fork init, drive it to "ready", then record it. Returns init's pid and pidfd.
fn start_init(
    setup: &Setup,
    plan: &Plan,
    opts: &CreateOptions,
    (joins, seccomp): (&[(NsKind, OwnedFd)], Option<&SeccompProgram>),
    handover: Handover,
    mut timeline: Timeline,
) -> Result<(Pid, OwnedFd, Option<OwnedFd>)> {
    let (dir, cgroup) = (setup.dir(), setup.cgroup());
    let (console, proxy) = console::open_optional(opts.console.as_ref())?;
    let fifo = fifo::create(&dir.fifo_path())?;
    let (parent, child) = channel::pair()?;
    let trampoline = init::trampoline_for(seccomp)?;
    let prepared = crate::rootfs::FromParent::prepare(plan, cgroup.record().dirs)?;
    let flags = if plan.namespaces.needs_intermediate() {
        0
    } else {
        plan.namespaces.clone_flags()
    };
    let ctx = ChildContext {
        role: Role::Init {
            plan,
            fifo,
            prepared: &prepared,
            handover,
        },
        namespaces: &plan.namespaces,
        process: plan.process.as_ref(),
        channel: child,
        joins,
        seccomp,
        trampoline: trampoline.as_ref(),
        cgroup: init::CgroupJoin::ByParent,
        console,
        close_in_child: [dir.lock_fd(), parent.as_raw_fd()],
        session_keyring: launch::keyring_name(plan.session_keyring.as_deref())?,
        preserve_fds: opts.preserve_fds,
        stdio: opts.stdio.as_ref(),
        ignored_signals: sys::ignored_signals(),
    };
    // What no cgroup will find after a crash: mounts in hull's namespace, and init itself.
    let note = CreateNote {
        init: None,
        host_mounts_under: (!plan.namespaces.has_mount_namespace()).then(|| plan.root.path.clone()),
    };
    if note.host_mounts_under.is_some() {
        dir.save_note(&note)?;
    }
    let policy = CgroupPolicy::Required;
    // Init starts in the bundle, as runc's (which chdirs there): in a new user namespace its
    // root may not be able to enter it by path.
    let cwd = open(
        ".",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("opening hull's working directory")?;
    nix::unistd::chdir(&plan.bundle)
        .with_context(|| format!("entering the bundle {}", plan.bundle.display()))?;
    let forked = launch::fork("init", ctx, parent, flags, Some(cgroup), policy);
    nix::unistd::fchdir(&cwd).context("returning to hull's working directory")?;
    let mut init = forked?;
    let result = (|| -> Result<()> {
        if cgroup.record().dirs.is_empty() {
            let first = init.first();
            let start = sys::process_start_time(first).context("reading init's start time")?;
            dir.save_note(&CreateNote {
                init: Some((first.as_raw(), start)),
                ..note
            })?;
        }
        timeline.mark("clone");
        crash_point("create:clone");
        init.join_cgroup(Some(cgroup), policy)?;
        // Its children (an intermediate's init, the program) inherit the group.
        if let Some(rdt) = setup.rdt() {
            rdt.add(init.first())?;
        }
        let handshake = Handshake::for_init(plan, seccomp.is_some_and(|s| s.listener.is_some()));
        let asks = launch::Asks {
            namespaces: &plan.namespaces,
            rlimits: plan.process.as_ref().map_or(&[], |p| &p.rlimits),
        };
        init.converse(handshake, asks, |channel, pid, msg| {
            answer(channel, plan, seccomp, pid, msg, &mut timeline, handover)
        })?;
        if handover == Handover::AtReady {
            timeline.mark("handover");
        }
        // Init's network namespace exists now (and init waits for `start`).
        crate::netdev::move_into(&plan.net_devices, init.pid.as_raw())?;
        setup.record(plan, init.pid, opts.pid_file.as_deref())?;
        timeline.mark("state");
        crate::log::debug(&timeline.render("create"));
        Ok(())
    })();
    if let Err(e) = result {
        init.kill();
        if !plan.namespaces.has_mount_namespace() {
            crate::rootfs::detach_host_mounts(&plan.root.path);
        }
        return Err(e);
    }
    // Init sent the master before Ready, so it is waiting in the socket.
    let master = proxy.as_ref().map(console::receive_master).transpose()?;
    let (pid, pidfd) = init.into_process();
    Ok((pid, pidfd, master))
}

/// What init asks of the parent, besides what every child does: the hooks that run while it
/// waits, its seccomp listener, and "ready" (the end of create).
fn answer(
    channel: &Channel,
    plan: &Plan,
    seccomp: Option<&SeccompProgram>,
    pid: Pid,
    msg: ToParent,
    timeline: &mut Timeline,
    handover: Handover,
) -> Result<bool> {
    match msg {
        ToParent::NeedMountSources => {
            super::mount_sources::send(channel, pid, plan)?;
            Ok(false)
        }
        ToParent::RunHooks => {
            let state = hook_state(plan, pid);
            hooks::run(
                "prestart",
                &plan.hooks.prestart,
                &state,
                ContainerState::Created,
            )?;
            hooks::run(
                "createRuntime",
                &plan.hooks.create_runtime,
                &state,
                ContainerState::Created,
            )?;
            channel.send_to_init(ToInit::HooksDone(serde_json::to_vec(&state)?))?;
            Ok(false)
        }
        ToParent::SeccompListener(fd) => {
            let listener = seccomp
                .and_then(|s| s.listener.as_ref())
                .context("init sent a seccomp listener nobody asked for")?;
            let mut state = hook_state(plan, pid);
            state.set_status(ContainerState::Creating);
            security::seccomp::send_listener(listener, fd, pid.as_raw(), state)?;
            Ok(false)
        }
        ToParent::Ready(marks) => {
            crash_point("create:ready");
            if crate::log::debug_enabled() {
                timeline.extend(Timeline::decode(&marks));
            }
            // Handing over, init lets go of the channel once the trampoline waits in its
            // place (or reports why it could not): the conversation ends there.
            Ok(handover == Handover::AtStart)
        }
        other => bail!("unexpected message from init: {other:?}"),
    }
}

fn hook_state(plan: &Plan, pid: Pid) -> State {
    hooks::state(
        &plan.oci_version,
        &plan.id,
        pid.as_raw(),
        &plan.bundle,
        &plan.annotations,
    )
}
