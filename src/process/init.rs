//! The child of clone3: the container's init, or a process `exec`'d into a container. Both
//! share every step after the namespaces (limits, caps, user, cwd, fds, execve).
//!
//! hull is single-threaded at the fork, so the child owns a consistent copy of the heap and
//! may allocate; it never returns into hull's main flow: it either execs the user's program or
//! reports its error over the channel and `_exit`s.
//!
//! The steps run top-down in the order of config-linux.md and `shared/README.md` §2.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use anyhow::{Context, Result};
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::prctl;
use nix::sys::signal::Signal;
use nix::unistd::{Gid, Uid};

use oci_spec::runtime::{ContainerState, State};

use super::channel::{Channel, ToInit, ToParent};
use super::handover::Handover;
use super::timeline::Timeline;
use super::trampoline::{Before, Trampoline};
use super::{console, exec_path, fifo};
use crate::plan::{NamespacePlan, NsKind, Plan, ProcessPlan};
use crate::security::seccomp::SeccompProgram;
use crate::{hooks, rootfs, security, sys};

/// Who the forked child becomes.
pub enum Role<'a> {
    /// The container's init: builds the container, then waits on the exec fifo for `start`
    /// (in the trampoline, when it hands over at ready).
    Init {
        plan: &'a Plan,
        fifo: OwnedFd,
        prepared: &'a rootfs::FromParent,
        handover: Handover,
    },
    /// A process `exec`'d into an existing container: joins it and runs at once. `root` is the
    /// container's root when it shares hull's mount namespace (then joining gives no root);
    /// `personality`, init's persona (linux.personality), when it is not the default.
    Exec {
        root: Option<OwnedFd>,
        personality: Option<u64>,
        memory_policy: Option<crate::plan::MemoryPolicyPlan>,
    },
}

/// What the child inherits from the parent across the fork.
pub struct ChildContext<'a> {
    pub role: Role<'a>,
    pub namespaces: &'a NamespacePlan,
    pub process: Option<&'a ProcessPlan>,
    pub channel: Channel,
    /// Namespaces to join, opened by the parent (so a bad path fails before the fork).
    pub joins: &'a [(NsKind, OwnedFd)],
    /// The container's seccomp filter, compiled by the parent.
    pub seccomp: Option<&'a SeccompProgram>,
    /// The exec trampoline; `None` only when the seccomp filter would refuse execveat.
    pub trampoline: Option<&'a Trampoline>,
    /// How this process gets into the container's cgroup, before anything else.
    pub cgroup: CgroupJoin<'a>,
    /// Connected to --console-socket, for `process.terminal`.
    pub console: Option<OwnedFd>,
    /// The program's stdin, stdout and stderr, when not hull's own (see `process::stdio`).
    pub stdio: Option<&'a [OwnedFd; 3]>,
    /// The signals hull ignores, as the child inherits them (read once, by the parent).
    pub ignored_signals: u64,
    /// The state-dir lock fd and the parent's end of the channel: the child must not keep
    /// them (the lock would outlive hull; the channel would never report the parent gone).
    pub close_in_child: [RawFd; 2],
    /// The session keyring to join (`None`: keep the caller's, `--no-new-keyring`).
    pub session_keyring: Option<CString>,
    pub preserve_fds: crate::process::PreserveFds,
}

/// How the child enters the container's cgroup.
#[derive(Clone, Copy)]
pub enum CgroupJoin<'a> {
    /// It is there already (CLONE_INTO_CGROUP), or there is none.
    Done,
    /// It writes "0" to each of these `tasks` files (see `Manager::self_join_files`).
    Itself(&'a [(std::path::PathBuf, OwnedFd)]),
    /// It waits until the parent has moved it (and says so).
    ByParent,
}

impl<'a> CgroupJoin<'a> {
    /// For a child just cloned into its cgroup or not, with these self-join files (if any).
    /// (A hybrid host's child is cloned into the cgroup2 directory and writes v1's `tasks`.)
    pub fn after_clone(cloned_in: bool, tasks: &'a [(std::path::PathBuf, OwnedFd)]) -> Self {
        match (cloned_in, tasks.is_empty()) {
            (_, false) => CgroupJoin::Itself(tasks),
            (true, true) => CgroupJoin::Done,
            (false, true) => CgroupJoin::ByParent,
        }
    }
}

/// Run the child; never returns.
pub fn run(ctx: ChildContext) -> ! {
    let err = match steps(&ctx) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = ctx
        .channel
        .send_to_parent(&ToParent::Error(format!("{err:#}")));
    sys::exit_now(1)
}

fn steps(ctx: &ChildContext) -> Result<Infallible> {
    let mut timeline = Timeline::default();
    for fd in ctx.close_in_child {
        let _ = nix::unistd::close(fd);
    }
    // After pivot_root the --log path is gone (or the container's): lines go to the parent.
    ctx.channel.forward_logs();
    // Die with hull if it dies before we are ready; cleared before "Ready". A parent that
    // died before this line is noticed at the first read of the channel (EOF).
    prctl::set_pdeathsig(Signal::SIGKILL).context("setting the parent-death signal")?;
    // Nothing in the container may ptrace us or open /proc/PID/exe (the hull binary) while we
    // still run hull's code (CVE-2019-5736).
    prctl::set_dumpable(false).context("making the process non-dumpable")?;
    // Still in hull's namespaces (as runc, with the host's privilege to lower it), and where
    // /proc/self is ours: an exec'd process is not yet in the container's pid namespace after.
    if let Some(adj) = ctx.process.and_then(|p| p.oom_score_adj) {
        security::user::set_oom_score_adj(adj)?;
    }
    let fork_due = enter_namespaces(ctx)?;
    timeline.mark("namespaces");
    // In the container's user namespace now, so the keyring is the container's root's.
    if let Some(name) = &ctx.session_keyring {
        join_session_keyring(name)?;
    }
    // In the container's cgroup now: an exec'd process's execCPUAffinity.final applies.
    if let (Role::Exec { .. }, Some(p)) = (&ctx.role, ctx.process) {
        if let Some(cpus) = &p.exec_affinity.final_cpus {
            security::user::set_affinity(cpus, "process.execCPUAffinity.final")?;
        }
    }
    // The container state for init's own hooks, sent by the parent when there are hooks.
    let mut hook_state = None;
    match &ctx.role {
        Role::Init { plan, prepared, .. } => {
            build_container(plan, prepared, &ctx.channel, &mut hook_state, &mut timeline)?;
            if let Some(persona) = plan.personality {
                sys::set_personality(persona).context("personality (linux.personality)")?;
            }
            set_memory_policy(plan.memory_policy.as_ref())?;
        }
        Role::Exec {
            root,
            personality,
            memory_policy,
        } => {
            set_memory_policy(memory_policy.as_ref())?;
            if let Some(root) = root {
                nix::unistd::fchdir(root).context("entering the container's root")?;
                nix::unistd::chroot(".").context("chroot into the container's root")?;
            }
            if let Some(persona) = *personality {
                sys::set_personality(persona).context("personality (the container's)")?;
            }
        }
    }
    // The pty comes from the container's devpts, allocated while we are still root; an exec'd
    // process adopts it only once it is forked into the container's pid namespace.
    let mut terminal = match (&ctx.console, ctx.process) {
        (Some(socket), Some(process)) => Some(console::send_new_pty(socket, process)?),
        _ => None,
    };
    if let (Role::Init { plan, .. }, Some(slave)) = (&ctx.role, &terminal) {
        if plan.namespaces.has_mount_namespace() {
            console::bind_console(slave)?;
        }
    }
    if matches!(ctx.role, Role::Init { .. }) {
        lead_session(terminal.take())?;
    }
    if let Some(stdio) = ctx.stdio {
        for (fd, target) in stdio.iter().zip(0..) {
            sys::dup2(fd.as_raw_fd(), target).context("giving the process its stdio pipes")?;
        }
    }
    // Before any seccomp filter goes on: older profiles do not allow close_range.
    prepare_fds(ctx.preserve_fds)?;
    let program = ctx
        .process
        .map(|p| become_process(p, ctx.namespaces, ctx.seccomp, &ctx.channel))
        .transpose()?;
    timeline.mark("process");
    // As under runc (whose Go runtime takes over every signal but these two): a signal the
    // caller ignored stays ignored only if it is SIGHUP or SIGINT (nohup, a shell's `cmd &`).
    sys::default_signal_dispositions(ctx.ignored_signals, &[libc::SIGHUP, libc::SIGINT]);
    sys::unblock_all_signals().context("clearing the signal mask")?;
    prctl::set_pdeathsig(None).context("clearing the parent-death signal")?;
    if let Role::Init {
        fifo,
        plan,
        handover,
        ..
    } = &ctx.role
    {
        ctx.channel
            .send_to_parent(&ToParent::Ready(timeline.encode()))?;
        if *handover == Handover::AtStart {
            fifo::wait_for_start(fifo)?;
        }
        if let Some(state) = &hook_state {
            // No one is left to report to: a failing startContainer hook ends the container.
            if let Err(e) = hooks::run(
                "startContainer",
                &plan.hooks.start_container,
                state,
                ContainerState::Created,
            ) {
                fifo::report_failure(fifo, &format!("{e:#}"));
                sys::exit_now(1);
            }
        }
    }
    // For exec, the parent learns of success when execve closes the (CLOEXEC) channel.
    let (Some((program, env)), Some(process)) = (program, ctx.process) else {
        // No `process` in the config: `start` reports the error, the container stops.
        sys::exit_now(0)
    };
    // With no_new_privs the filter goes on as late as possible: only execve runs under it.
    // (A filter with a listener went on earlier, while the parent could pass the fd on.)
    if let (Some(filter @ SeccompProgram { listener: None, .. }), true) =
        (ctx.seccomp, process.no_new_privileges)
    {
        security::seccomp::load(filter)?;
    }
    // What closes when the program (not the trampoline) is exec'd tells the waiting side that
    // it runs: init's exec fifo for `start`, the channel for `hull exec`.
    let hold = match &ctx.role {
        Role::Init { fifo, .. } => fifo.as_raw_fd(),
        Role::Exec { .. } => ctx.channel.as_raw_fd(),
    };
    // Only now, with the container's privileges and filter, does an exec'd process enter the
    // container's pid namespace: nothing the container can see of it is more privileged than
    // the container's own processes (a holder of CAP_SYS_PTRACE could seize it). The
    // trampoline makes that fork, so that what enters is not hull's binary either; init
    // handing over at ready lets go of the channel in the trampoline, which waits for `start`.
    let before = match (&ctx.role, fork_due) {
        (Role::Init { handover, .. }, _) if *handover == Handover::AtReady => {
            Before::WaitForStart {
                release: ctx.channel.as_raw_fd(),
            }
        }
        (Role::Exec { .. }, true) => Before::ForkIntoPidNamespace {
            terminal: terminal.as_ref().map(AsRawFd::as_raw_fd),
        },
        _ => Before::Nothing,
    };
    let err = match (ctx.trampoline, before) {
        (Some(trampoline), _) => {
            // An exec'd process leads its session here, unless the trampoline's child does.
            if matches!(ctx.role, Role::Exec { .. }) && before == Before::Nothing {
                lead_session(terminal.take())?;
            }
            trampoline.exec(&program, &process.args, &env, Some(hold), before)
        }
        // No trampoline (the filter would refuse its execveat), so hull runs from a protected
        // binary (process::handover): its own fork and session, then the program.
        (None, Before::WaitForStart { .. }) => {
            anyhow::bail!("init cannot hand over without the exec trampoline")
        }
        (None, _) => {
            if fork_due {
                fork_into_pid_namespace(&ctx.channel)?;
            }
            if matches!(ctx.role, Role::Exec { .. }) {
                lead_session(terminal.take())?;
            }
            sys::execve(&program, &process.args, &env)
        }
    };
    // The parent still listens (exec; init handing over at ready): the error goes there.
    if matches!(ctx.role, Role::Exec { .. }) || matches!(before, Before::WaitForStart { .. }) {
        anyhow::bail!("exec {program:?}: {}", err.desc());
    }
    // init's parent is gone by now: stderr is the only place left to tell (in the words and
    // with the status of runc's init, as the trampoline does).
    let program = program.to_string_lossy();
    eprintln!("hull: exec {program}: {}", err.desc().to_lowercase());
    sys::exit_now(255)
}

/// The container's own setup, in init only: hostname, then the root filesystem, with the
/// parent's and the createContainer hooks between the mounts and pivot_root.
fn build_container(
    plan: &Plan,
    prepared: &rootfs::FromParent,
    channel: &Channel,
    hook_state: &mut Option<State>,
    timeline: &mut Timeline,
) -> Result<()> {
    sys::set_umask(0);
    if let Some(h) = &plan.hostname {
        nix::unistd::sethostname(h).with_context(|| format!("setting hostname {h:?}"))?;
    }
    if let Some(d) = &plan.domainname {
        sys::set_domainname(d).with_context(|| format!("setting domainname {d:?}"))?;
    }
    timeline.mark("hostname");
    let sources = mount_sources(plan, channel)?;
    let result = rootfs::setup(plan, prepared, &sources, || {
        timeline.mark("mounts");
        if !plan.hooks.init_needs_state() {
            return Ok(());
        }
        channel.send_to_parent(&ToParent::RunHooks)?;
        let ToInit::HooksDone(json) = channel.recv_from_parent()? else {
            anyhow::bail!("unexpected message from the parent while waiting for hooks");
        };
        let state: State =
            serde_json::from_slice(&json).context("parsing the state sent for hooks")?;
        hooks::run(
            "createContainer",
            &plan.hooks.create_container,
            &state,
            ContainerState::Created,
        )?;
        *hook_state = Some(state);
        timeline.mark("hooks");
        Ok(())
    });
    timeline.mark("pivot");
    result
}

/// The bind sources the parent opened for us (see `process::mount_sources`), by mount index;
/// none when it could not (then the mounts bind by path).
fn mount_sources(plan: &Plan, channel: &Channel) -> Result<Vec<(usize, OwnedFd)>> {
    let indices = plan.host_bind_sources();
    if indices.is_empty() {
        return Ok(Vec::new());
    }
    channel.send_to_parent(&ToParent::NeedMountSources)?;
    let mut fds = Vec::new();
    loop {
        match channel.recv_from_parent()? {
            ToInit::MountSource(fd) => fds.push(fd),
            ToInit::MountSourcesDone => break,
            other => anyhow::bail!("unexpected message from the parent: {other:?}"),
        }
    }
    match fds.len() {
        0 => Ok(Vec::new()),
        n if n == indices.len() => Ok(indices.into_iter().zip(fds).collect()),
        n => anyhow::bail!("the parent sent {n} bind sources for {}", indices.len()),
    }
}

/// Turn the child into the configured process, short of execve: limits, capabilities, user, cwd,
/// no_new_privs; then find the program, so a missing one fails `create`.
fn become_process(
    process: &ProcessPlan,
    namespaces: &NamespacePlan,
    seccomp: Option<&SeccompProgram>,
    channel: &Channel,
) -> Result<(CString, Vec<CString>)> {
    // From the container's own /etc/passwd, read while we are still root.
    let env = security::user::with_home(&process.env, process.user.uid);
    if process.rlimits_by_parent(namespaces) {
        channel.send_to_parent(&ToParent::NeedRlimits)?;
        match channel.recv_from_parent()? {
            ToInit::RlimitsSet => {}
            other => anyhow::bail!("unexpected message from the parent: {other:?}"),
        }
    } else {
        security::user::apply_rlimits(&process.rlimits)?;
    }
    if let Some(s) = &process.scheduler {
        security::user::set_scheduler(s)?;
    }
    if let Some(io) = process.io_priority {
        security::user::set_io_priority(io)?;
    }
    // Before any filter: the cwd check needs getcwd, which a profile may deny. A cwd root may
    // not enter (NFS with root_squash, a FUSE mount without allow_root) is entered again as
    // the process's user, as runc does.
    let cwd_as_user = match enter_cwd(&process.cwd) {
        Err(e) if is_permission_denied(&e) => true,
        other => other.map(|()| false)?,
    };
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we are root.
    if let (Some(filter), false) = (seccomp, process.no_new_privileges) {
        load_seccomp(filter, channel)?;
    }
    if let Some(caps) = &process.capabilities {
        security::caps::drop_bounding(caps)?;
    }
    security::user::own_stdio(process.user.uid)?;
    security::user::switch(&process.user)?;
    if cwd_as_user {
        enter_cwd(&process.cwd)?;
    }
    if let Some(caps) = &process.capabilities {
        security::caps::apply(caps)?;
    }
    sys::set_umask(process.user.umask.unwrap_or(0o022));
    if process.no_new_privileges {
        prctl::set_no_new_privs().context("setting no_new_privs (process.noNewPrivileges)")?;
        if let Some(
            filter @ SeccompProgram {
                listener: Some(_), ..
            },
        ) = seccomp
        {
            load_seccomp(filter, channel)?;
        }
    }
    let program = exec_path::resolve(&process.args[0], process.path_env.as_deref())?;
    Ok((program, env))
}

/// Install the filter and, for SCMP_ACT_NOTIFY, send the listener to the parent, which passes
/// it to `listenerPath` before it reads the next message (so notified syscalls get answers).
fn load_seccomp(filter: &SeccompProgram, channel: &Channel) -> Result<()> {
    if let Some(listener) = security::seccomp::load(filter)? {
        channel.send_to_parent(&ToParent::SeccompListener(listener))?;
    }
    Ok(())
}

/// Keys are not namespaced: without a keyring of its own, every container would share the
/// caller's session keyring (and the host's keys in it). Exec'd processes find the container's
/// by name, which needs the owner's search permission on it.
fn join_session_keyring(name: &std::ffi::CStr) -> Result<()> {
    const KEY_USR_SEARCH: u32 = 0x0008_0000;
    match sys::join_session_keyring(name, KEY_USR_SEARCH) {
        Ok(_) => Ok(()),
        // No keyrings in this kernel, or a filter that refuses keyctl: nothing to isolate.
        Err(nix::errno::Errno::ENOSYS) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("joining the session keyring {name:?}")),
    }
}

/// The process's own session, as runc's: not the caller's (nor under its terminal), the
/// session leader inside its pid namespace (CRIU needs that of init; an exec'd process's
/// process group is then visible from inside), with the pty as its controlling terminal.
fn lead_session(terminal: Option<OwnedFd>) -> Result<()> {
    nix::unistd::setsid().context("starting a session")?;
    if let Some(slave) = terminal {
        console::adopt(slave)?;
    }
    Ok(())
}

/// setns/unshare of a pid namespace applies to children only: fork into it. The parent of the
/// fork reports the child's pid and exits; only the child returns, once its pid is on the
/// channel (the end of a pipe only the forking process holds closes when it exits): its own
/// messages must follow, however the two are scheduled.
fn fork_into_pid_namespace(channel: &Channel) -> Result<()> {
    let (reported, exiting) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("a pipe for the fork")?;
    if let sys::Forked::Parent { child, .. } =
        sys::clone_fork(0).context("forking into the container's pid namespace")?
    {
        channel.send_to_parent(&ToParent::InitPid(child.as_raw()))?;
        sys::exit_now(0);
    }
    drop(exiting);
    let mut byte = [0u8; 1];
    while let Err(nix::errno::Errno::EINTR) = nix::unistd::read(&reported, &mut byte) {}
    Ok(())
}

/// Enter the cgroup, join the requested namespaces, then create the new ones (user first, so
/// it owns the rest). When nothing is joined, clone3 already made the user and pid ones.
/// Returns whether the fork into a joined pid namespace is still due: an exec'd process does
/// it last, once it holds no more privilege than the container (see `steps`).
fn enter_namespaces(ctx: &ChildContext) -> Result<bool> {
    let ns = ctx.namespaces;
    let mut fork_due = false;
    match ctx.cgroup {
        CgroupJoin::Done => {}
        CgroupJoin::Itself(files) => {
            for (path, fd) in files {
                nix::unistd::write(fd, b"0").with_context(|| {
                    format!("joining the cgroup: writing to {}", path.display())
                })?;
            }
        }
        CgroupJoin::ByParent => match ctx
            .channel
            .recv_from_parent()
            .context("waiting to join the cgroup")?
        {
            ToInit::CgroupJoined => {}
            other => anyhow::bail!("unexpected message from the parent: {other:?}"),
        },
    }
    if ns.needs_intermediate() {
        for ((kind, fd), join) in ctx.joins.iter().zip(&ns.join) {
            setns(fd, CloneFlags::from_bits_retain(*kind as i32))
                .with_context(|| format!("joining {kind} namespace {}", join.path.display()))?;
        }
        if ns.creates(NsKind::User) {
            unshare(CloneFlags::CLONE_NEWUSER).context("creating the user namespace")?;
            request_id_maps(&ctx.channel)?;
        }
        let mut rest = CloneFlags::from_bits_retain((ns.clone_flags() | ns.unshare_flags()) as i32)
            - CloneFlags::CLONE_NEWUSER;
        if ns.creates(NsKind::Cgroup) {
            rest |= CloneFlags::CLONE_NEWCGROUP;
        }
        unshare(rest).context("creating namespaces")?;
        if matches!(ctx.role, Role::Exec { .. }) {
            fork_due = true;
        } else {
            fork_into_pid_namespace(&ctx.channel)?;
        }
    } else if ns.creates(NsKind::User) {
        request_id_maps(&ctx.channel)?;
    }
    if ns.has(NsKind::User) {
        // Become the namespace's root (if the maps give it one) to set up the container. A
        // joined namespace needs it as much: setns keeps the host ids, which that namespace
        // does not map, so files it makes (e.g. in /dev's tmpfs) would fail with EOVERFLOW.
        let _ = setresgid(0).and_then(|()| setresuid(0));
    }
    if !ns.needs_intermediate() {
        // In its cgroup now: the namespaces made here are charged to it (clone_flags says why),
        // and the cgroup namespace is rooted at it.
        let mut flags = CloneFlags::from_bits_retain(ns.unshare_flags() as i32);
        if ns.creates(NsKind::Cgroup) {
            flags |= CloneFlags::CLONE_NEWCGROUP;
        }
        if !flags.is_empty() {
            unshare(flags).context("creating namespaces")?;
        }
    }
    if ns.creates(NsKind::Network) {
        // As runc: a service that talks to localhost needs it.
        sys::loopback_up().context("bringing up lo in the new network namespace")?;
    }
    if ns.creates(NsKind::Time) {
        unshare(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME))
            .context("creating the time namespace")?;
        // Offsets apply to the namespace our children (and we, at execve) will be in.
        if !ns.time_offsets.is_empty() {
            security::procfs::write(
                "/proc/self/timens_offsets",
                ns.time_offsets.join("\n").as_bytes(),
            )
            .context("writing /proc/self/timens_offsets (linux.timeOffsets)")?;
        }
    }
    Ok(fork_due)
}

fn setresgid(id: u32) -> nix::Result<()> {
    let g = Gid::from_raw(id);
    nix::unistd::setresgid(g, g, g)
}

fn setresuid(id: u32) -> nix::Result<()> {
    let u = Uid::from_raw(id);
    nix::unistd::setresuid(u, u, u)
}

fn request_id_maps(channel: &Channel) -> Result<()> {
    // A parent without root can write /proc/PID/uid_map only of a dumpable process. Nothing
    // of the container exists yet (no mount, no exec), so nothing can use the short window.
    prctl::set_dumpable(true).context("making the process dumpable for the id maps")?;
    channel.send_to_parent(&ToParent::NeedIdMaps)?;
    channel
        .recv_from_parent()
        .context("waiting for the id maps")?;
    prctl::set_dumpable(false).context("making the process non-dumpable")?;
    Ok(())
}

/// chdir into process.cwd and check that it is inside the container: a cwd reached through a
/// leaked fd would point outside the root (CVE-2024-21626), which getcwd reports as unreachable.
/// linux.memoryPolicy, for init and for every exec'd process.
fn set_memory_policy(policy: Option<&crate::plan::MemoryPolicyPlan>) -> Result<()> {
    match policy {
        Some(p) => {
            sys::set_mempolicy(p.mode, &p.nodemask).context("set_mempolicy (linux.memoryPolicy)")
        }
        None => Ok(()),
    }
}

fn is_permission_denied(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<nix::errno::Errno>(),
            Some(nix::errno::Errno::EACCES | nix::errno::Errno::EPERM)
        )
    })
}

fn enter_cwd(cwd: &std::path::Path) -> Result<()> {
    nix::unistd::chdir(cwd).with_context(|| format!("process.cwd: chdir {}", cwd.display()))?;
    match nix::unistd::getcwd() {
        Ok(p) if p.is_absolute() => Ok(()),
        _ => anyhow::bail!(
            "process.cwd: {} is outside the container's root",
            cwd.display()
        ),
    }
}

/// Everything above stdio and the preserved fds is marked close-on-exec; the preserved ones
/// (3 .. 3+N) are made inheritable.
fn prepare_fds(preserve: super::PreserveFds) -> Result<()> {
    // Bounded by PreserveFds::MAX: no overflow.
    let preserve = preserve.count() as i32;
    for fd in 3..3 + preserve {
        sys::clear_cloexec(fd).with_context(|| format!("--preserve-fds: fd {fd}"))?;
    }
    sys::cloexec_from(3 + preserve).context("marking fds close-on-exec")
}

/// The trampoline for a child, unless the seccomp filter would make its execveat fail; then
/// the program is exec'd directly, and `--debug` says so.
pub fn trampoline_for(seccomp: Option<&SeccompProgram>) -> anyhow::Result<Option<Trampoline>> {
    if seccomp.is_some_and(|s| !s.allows_execveat) {
        crate::log::debug("linux.seccomp does not allow execveat: exec without hull's trampoline");
        return Ok(None);
    }
    Trampoline::new().map(Some)
}
