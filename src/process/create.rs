//! `create`, the parent's half: state dir, fork init, answer its requests, record the result.
//! On any error the init process is killed and the state dir removed: nothing is left behind.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use nix::fcntl::{open, OFlag};
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::{ContainerState, State};

use super::channel::{self, Channel, ToInit, ToParent};
use super::console::{self, ConsoleTarget};
use super::fifo;
use super::handshake::Handshake;
use super::init::{self, ChildContext, Role};
use super::timeline::Timeline;
use crate::crash::crash_point;
use crate::plan::{namespaces_map_text, NsKind, Plan};
use crate::security::seccomp::SeccompProgram;
use crate::state::{pidfile, time, CreateNote, Record, StateDir};
use crate::{cgroups, hooks, security, sys};

#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub pid_file: Option<PathBuf>,
    pub console: Option<ConsoleTarget>,
    /// The caller's NOTIFY_SOCKET, to which `start` forwards the container's READY=1.
    pub notify_socket: Option<PathBuf>,
    pub preserve_fds: crate::process::PreserveFds,
}

/// A created container: its locked state dir and its init process.
pub struct Created {
    pub dir: StateDir,
    pub pid: Pid,
    pub pidfd: OwnedFd,
    /// The pty master, when hull proxies the terminal itself.
    pub master: Option<OwnedFd>,
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
    let dir = StateDir::create(root, &plan.id)?;
    if opts.notify_socket.is_some() {
        if let Err(e) = super::notify::make_dir(dir.path()) {
            let _ = dir.remove();
            return Err(e);
        }
    }
    timeline.mark("state-dir");
    crash_point("create:state-dir");
    // Refused before anything is made or removed: an occupied cgroup stays as it was.
    let cgroup = cgroups::for_container(&plan.resources)
        .and_then(|c| cgroups::refuse_occupied(c.as_ref()).map(|()| c));
    let result = cgroup.and_then(|cgroup| {
        // Limits are in place before init exists; a value the kernel refuses fails here.
        let made = dir
            .save_cgroup(&cgroup.record())
            .and_then(|()| cgroup.create())
            // Again, now with the parents it made (removed with the container).
            .and_then(|()| dir.save_cgroup(&cgroup.record()))
            .inspect(|()| crash_point("create:cgroup"))
            .and_then(|()| cgroup.apply(&plan.resources));
        timeline.mark("cgroup");
        let started = made.and_then(|()| {
            start_init(
                &dir,
                plan,
                opts,
                &joins,
                seccomp.as_ref(),
                cgroup.as_ref(),
                timeline,
            )
        });
        if started.is_err() {
            let _ = cgroup.destroy();
        }
        started
    });
    match result {
        Ok((pid, pidfd, master)) => Ok(Created {
            dir,
            pid,
            pidfd,
            master,
        }),
        Err(e) => {
            let _ = dir.remove();
            Err(e)
        }
    }
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
    dir: &StateDir,
    plan: &Plan,
    opts: &CreateOptions,
    joins: &[(NsKind, OwnedFd)],
    seccomp: Option<&SeccompProgram>,
    cgroup: &dyn cgroups::Manager,
    mut timeline: Timeline,
) -> Result<(Pid, OwnedFd, Option<OwnedFd>)> {
    let (console, proxy) = console::open_optional(opts.console.as_ref())?;
    let fifo = fifo::create(&dir.fifo_path())?;
    let (parent, child) = channel::pair()?;
    let trampoline = init::trampoline_for(seccomp)?;
    let prepared = crate::rootfs::FromParent {
        idmapped: crate::rootfs::idmap::prepare(plan)?,
        cgroup_dirs: cgroup.record().dirs,
    };
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
        session_keyring: keyring_name(plan.session_keyring.as_deref())?,
        preserve_fds: opts.preserve_fds,
    };
    // On cgroup v2 init starts in its cgroup; on v1 it moves itself in; under systemd it
    // waits until the parent has had systemd move it.
    let target = cgroup.clone_target();
    let tasks = if target.is_some() {
        Vec::new()
    } else {
        cgroup.self_join_files()?
    };
    // What no cgroup will find after a crash: mounts in hull's namespace, and init itself.
    let note = CreateNote {
        init: None,
        host_mounts_under: (!plan.namespaces.has_mount_namespace()).then(|| plan.root.path.clone()),
    };
    let no_cgroup = cgroup.record().dirs.is_empty();
    if note.host_mounts_under.is_some() {
        dir.save_note(&note)?;
    }
    let (forked, cloned_in) = sys::clone_fork_into(flags, target.as_ref().map(|t| t.as_fd()))
        .context("clone3 of the init process")?;
    let join = init::CgroupJoin::after_clone(cloned_in, &tasks);
    let (first, first_fd) = match forked {
        sys::Forked::Child => init::run(ChildContext {
            cgroup: join,
            ..ctx
        }),
        sys::Forked::Parent { child, pidfd } => (child, pidfd),
    };
    // Our copies of init's channel end and fifo must go, or EOF would never be seen.
    drop(ctx);
    if no_cgroup {
        let start = sys::process_start_time(first).context("reading init's start time")?;
        dir.save_note(&CreateNote {
            init: Some((first.as_raw(), start)),
            ..note
        })?;
    }
    timeline.mark("clone");
    crash_point("create:clone");
    let mut init = Init {
        first,
        init: first,
        pidfd: first_fd,
        timeline,
    };
    let by_parent = matches!(join, init::CgroupJoin::ByParent);
    drop(tasks);
    let joined = if by_parent {
        cgroup
            .add(first)
            .and_then(|()| parent.send_to_init(ToInit::CgroupJoined))
    } else {
        Ok(())
    };
    let synced = joined
        .and_then(|()| sync_with_init(&parent, plan, seccomp, &mut init))
        // Init's network namespace exists now (and init waits for `start`).
        .and_then(|()| crate::netdev::move_into(&plan.net_devices, init.init.as_raw()));
    match synced.and_then(|()| record(dir, plan, opts, &init, cgroup)) {
        Ok(()) => {
            init.timeline.mark("state");
            crate::log::debug(&init.timeline.render());
            // Init sent the master before Ready, so it is waiting in the socket.
            let master = proxy.as_ref().map(console::receive_master).transpose()?;
            Ok((init.init, init.pidfd, master))
        }
        Err(e) => {
            init.kill();
            if !plan.namespaces.has_mount_namespace() {
                crate::rootfs::detach_host_mounts(&plan.root.path);
            }
            Err(e)
        }
    }
}

/// The processes `create` started: the clone3 child and init (the same unless an
/// intermediate process forked init).
struct Init {
    first: Pid,
    init: Pid,
    pidfd: OwnedFd,
    timeline: Timeline,
}

impl Init {
    fn kill(&self) {
        let _ = sys::pidfd_send_signal(self.pidfd.as_fd(), Signal::SIGKILL as i32);
        let _ = nix::sys::signal::kill(self.first, Signal::SIGKILL);
        let _ = waitpid(self.first, None);
        if self.init != self.first {
            let _ = waitpid(self.init, None);
        }
    }
}

fn sync_with_init(
    parent: &Channel,
    plan: &Plan,
    seccomp: Option<&SeccompProgram>,
    init: &mut Init,
) -> Result<()> {
    let mut handshake = Handshake::for_init(plan, seccomp.is_some_and(|s| s.listener.is_some()));
    loop {
        let msg = parent.recv_from_init()?;
        if let Some(step) = msg.as_ref().and_then(ToParent::step) {
            handshake.accept(step)?;
        }
        match msg {
            Some(ToParent::NeedIdMaps) => {
                write_id_maps(init.first, plan)?;
                parent.send_to_init(ToInit::IdMapsWritten)?;
            }
            Some(ToParent::InitPid(pid)) => {
                let pid = Pid::from_raw(pid);
                init.pidfd = sys::pidfd_open(pid).context("pidfd_open of init")?;
                init.init = pid;
                // Forked after its parent joined the cgroup: it is in it already. The
                // intermediate process exits right after; reap it.
                let _ = waitpid(init.first, None);
            }
            Some(ToParent::RunHooks) => {
                let state = hook_state(plan, init.init);
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
                parent.send_to_init(ToInit::HooksDone(serde_json::to_vec(&state)?))?;
            }
            Some(ToParent::SeccompListener(fd)) => {
                let listener = seccomp
                    .and_then(|s| s.listener.as_ref())
                    .context("init sent a seccomp listener nobody asked for")?;
                let mut state = hook_state(plan, init.init);
                state.set_status(ContainerState::Creating);
                security::seccomp::send_listener(listener, fd, init.init.as_raw(), state)?;
            }
            Some(ToParent::Ready(marks)) => {
                crash_point("create:ready");
                if crate::log::debug_enabled() {
                    init.timeline.extend(Timeline::decode(&marks));
                }
                return Ok(());
            }
            Some(ToParent::Error(msg)) => return Err(anyhow!(msg)),
            Some(ToParent::Log { level, msg }) => crate::log::from_child(&level, &msg),
            None => bail!(
                "init exited before it was ready ({})",
                describe_exit(init.first)
            ),
        }
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

fn describe_exit(pid: Pid) -> String {
    match waitpid(pid, None) {
        Ok(WaitStatus::Exited(_, code)) => format!("exit status {code}"),
        Ok(WaitStatus::Signaled(_, sig, _)) => format!("killed by {sig}"),
        _ => "status unknown".into(),
    }
}

/// Write init's uid_map and gid_map. Root writes any mapping. Without root, the kernel lets a
/// process map only its own id (and its gid only once setgroups is denied); more ranges go
/// through the setuid helpers newuidmap/newgidmap, which check /etc/subuid and /etc/subgid.
fn write_id_maps(pid: Pid, plan: &Plan) -> Result<()> {
    let ns = &plan.namespaces;
    let (euid, egid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    for (file, maps, field, own) in [
        ("uid_map", &ns.uid_map, "linux.uidMappings", euid.as_raw()),
        ("gid_map", &ns.gid_map, "linux.gidMappings", egid.as_raw()),
    ] {
        let path = format!("/proc/{pid}/{file}");
        let only_own = matches!(maps.as_slice(), [m] if m.host == own && m.size == 1);
        if !euid.is_root() && !only_own {
            let helper = if file == "uid_map" {
                "newuidmap"
            } else {
                "newgidmap"
            };
            run_map_helper(helper, pid, maps)
                .with_context(|| format!("{field}: mapping more than id {own} without root"))?;
            continue;
        }
        if !euid.is_root() && file == "gid_map" {
            let setgroups = format!("/proc/{pid}/setgroups");
            std::fs::write(&setgroups, "deny")
                .with_context(|| format!("{field}: writing deny to {setgroups}"))?;
        }
        std::fs::write(&path, namespaces_map_text(maps))
            .with_context(|| format!("{field}: writing {path}"))?;
    }
    Ok(())
}

/// `newuidmap PID inside outside count ...` (or newgidmap), from Debian's `uidmap`.
fn run_map_helper(helper: &str, pid: Pid, maps: &[crate::plan::IdMap]) -> Result<()> {
    let mut cmd = std::process::Command::new(helper);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container.to_string(),
            m.host.to_string(),
            m.size.to_string(),
        ]);
    }
    let out = cmd
        .output()
        .with_context(|| format!("running {helper} (install the uidmap package)"))?;
    if !out.status.success() {
        bail!(
            "{helper} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn record(
    dir: &StateDir,
    plan: &Plan,
    opts: &CreateOptions,
    init: &Init,
    cgroup: &dyn cgroups::Manager,
) -> Result<()> {
    save_record(dir, plan, opts, init.init, cgroup)?;
    crash_point("create:record");
    if let Some(path) = &opts.pid_file {
        pidfile::write(path, init.init.as_raw())?;
    }
    Ok(())
}

/// The session keyring's name as the child needs it.
pub(super) fn keyring_name(name: Option<&str>) -> Result<Option<std::ffi::CString>> {
    name.map(|n| std::ffi::CString::new(n).context("the session keyring's name"))
        .transpose()
}

/// The container's state.json, for init `pid` (also used by `restore`).
pub fn save_record(
    dir: &StateDir,
    plan: &Plan,
    opts: &CreateOptions,
    pid: Pid,
    cgroup: &dyn cgroups::Manager,
) -> Result<()> {
    let init_start_time = sys::process_start_time(pid).context("reading init's start time")?;
    let record = Record {
        state_version: crate::state::STATE_VERSION,
        oci_version: plan.oci_version.clone(),
        id: plan.id.clone(),
        pid: pid.as_raw(),
        init_start_time,
        bundle: plan.bundle.clone(),
        rootfs: plan.root.path.clone(),
        created: time::now_rfc3339(),
        owner: owner_name(),
        annotations: plan.annotations.clone(),
        own_pid_namespace: plan.namespaces.creates(NsKind::Pid),
        own_mount_namespace: plan.namespaces.has_mount_namespace(),
        process: plan.process.as_ref().map(|p| p.source.clone()),
        hooks: plan.hooks.source.clone(),
        cgroup: Some(cgroup.record()),
        seccomp: plan.seccomp.clone(),
        session_keyring: plan.session_keyring.clone(),
        notify_socket: opts.notify_socket.clone(),
    };
    dir.save(&record)
}

/// The caller's user name, for `list`'s OWNER, from /etc/passwd (no NSS: hull may be a
/// static binary, and a user database service is not worth a create's time); else the uid.
fn owner_name() -> String {
    let uid = nix::unistd::geteuid().to_string();
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let mut f = l.split(':');
                let (name, _, id) = (f.next()?, f.next()?, f.next()?);
                (id == uid).then(|| name.to_owned())
            })
        })
        .unwrap_or(uid)
}
