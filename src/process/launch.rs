//! The parent's half of starting a process in a container, shared by `create`, `exec` and
//! `restore`: the set-up guard (state dir and cgroup, rolled back unless kept), the fork into
//! the container's cgroup, and the conversation with the child, step by step as the
//! [`Handshake`] expects. The callers keep only what is theirs: init's fifo, hooks and record;
//! exec's joins; restore's CRIU.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::channel::{Channel, ToInit, ToParent};
use super::handshake::Handshake;
use super::id_maps;
use super::init::{self, CgroupJoin, ChildContext};
use crate::cgroups::{self, Manager};
use crate::crash::crash_point;
use crate::plan::{NamespacePlan, NsKind, Plan, Rlimit};
use crate::resctrl::Join as _;
use crate::state::{pidfile, time, RdtRecord, Record, StateDir};
use crate::{security, sys};

/// A container being set up: its state dir and its cgroup (with the plan's limits) exist, and
/// both go again when this is dropped, unless [`Setup::keep`] says the container stands.
pub struct Setup {
    dir: Option<StateDir>,
    cgroup: Box<dyn Manager>,
    /// The resctrl group (linux.intelRdt).
    rdt: Option<RdtRecord>,
}

impl Setup {
    /// Make the state dir, then the cgroup. An occupied cgroup is refused before anything is
    /// made or removed; a limit the kernel refuses fails here, before any process exists.
    pub fn begin(root: &Path, plan: &Plan) -> Result<Setup> {
        let dir = StateDir::create(root, &plan.id)?;
        let made = match &plan.notify {
            Some(_) => super::notify::make_dir(dir.path()),
            None => Ok(()),
        };
        if let Err(e) = made {
            let _ = dir.remove();
            return Err(e);
        }
        crash_point("create:state-dir");
        let cgroup = match cgroups::for_container(&plan.resources)
            .and_then(|c| cgroups::refuse_occupied(c.as_ref()).map(|()| c))
        {
            Ok(cgroup) => cgroup,
            Err(e) => {
                let _ = dir.remove();
                return Err(e);
            }
        };
        let mut setup = Setup {
            dir: Some(dir),
            cgroup,
            rdt: None,
        };
        // Recorded before it is made, and again when it made parents (removed with the
        // container): `delete --force` finds whatever a crash left.
        let planned = setup.cgroup.record();
        setup.dir().save_cgroup(&planned)?;
        setup.cgroup.create()?;
        let made = setup.cgroup.record();
        if made != planned {
            setup.dir().save_cgroup(&made)?;
        }
        crash_point("create:cgroup");
        setup.cgroup.apply(&plan.resources)?;
        if let Some(rdt) = &plan.intel_rdt {
            let dir = setup.dir();
            setup.rdt = Some(crate::resctrl::set_up(rdt, &plan.id, |r| dir.save_rdt(r))?);
        }
        Ok(setup)
    }

    /// The container's resctrl group, if it has one.
    pub fn rdt(&self) -> Option<&RdtRecord> {
        self.rdt.as_ref()
    }

    pub fn dir(&self) -> &StateDir {
        self.dir.as_ref().expect("a setup holds its dir until kept")
    }

    pub fn cgroup(&self) -> &dyn Manager {
        self.cgroup.as_ref()
    }

    /// Write `state.json` for init `pid` (and `pid_file`): the container exists from here on.
    pub fn record(&self, plan: &Plan, pid: Pid, pid_file: Option<&Path>) -> Result<()> {
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
            cgroup: Some(self.cgroup.record()),
            seccomp: plan.seccomp.clone(),
            session_keyring: plan.session_keyring.clone(),
            memory_policy: plan.memory_policy.clone(),
            intel_rdt: self.rdt.clone(),
            notify_socket: plan.notify.clone(),
        };
        self.dir().save(&record)?;
        crash_point("create:record");
        match pid_file {
            Some(path) => pidfile::write(path, pid.as_raw()),
            None => Ok(()),
        }
    }

    /// The container stands: nothing is rolled back. Its state dir, still locked.
    pub fn keep(mut self) -> StateDir {
        self.dir.take().expect("a setup is kept once")
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            if let Some(rdt) = &self.rdt {
                rdt.remove();
            }
            let _ = self.cgroup.destroy();
            let _ = dir.remove();
        }
    }
}

/// What every child may ask of the parent, besides the role's own requests.
#[derive(Clone, Copy)]
pub struct Asks<'a> {
    /// The id maps of a user namespace it makes.
    pub namespaces: &'a NamespacePlan,
    /// Its rlimits, in a user namespace.
    pub rlimits: &'a [Rlimit],
}

/// What a failure to put the child into the container's cgroup means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupPolicy {
    /// An error: the child never runs outside its cgroup.
    Required,
    /// Without root the caller may not be allowed to move a process there (its own cgroup is
    /// not below a common ancestor it owns, e.g. a login session and a user manager's scope):
    /// then, as runc does for `exec`, the process runs outside the container's cgroup.
    BestEffort,
}

impl CgroupPolicy {
    /// `BestEffort` for a rootless caller when `lenient`, else `Required`.
    pub fn for_caller(lenient: bool) -> Self {
        if lenient && crate::rootless::is_rootless() {
            CgroupPolicy::BestEffort
        } else {
            CgroupPolicy::Required
        }
    }

    /// Whether `e` may be passed over (logged) under this policy.
    fn excuses(self, what: &str, e: &dyn std::fmt::Display) -> bool {
        if self == CgroupPolicy::BestEffort {
            crate::log::debug(&format!(
                "{what}: the process stays outside the container's cgroup: {e:#}"
            ));
        }
        self == CgroupPolicy::BestEffort
    }
}

/// A child forked into a container, and the channel to it.
pub struct Child {
    /// "init" or "the exec process", for messages.
    what: &'static str,
    /// The process clone3 made, and a pidfd of it.
    first: (Pid, OwnedFd),
    /// The process that runs the program: `first`, unless an intermediate process forked it
    /// into a pid namespace (then its pidfd, if it still existed when it was named).
    pub pid: Pid,
    pidfd: Option<OwnedFd>,
    channel: Channel,
    /// The parent moves it into the cgroup ([`Child::join_cgroup`]).
    by_parent: bool,
}

/// Fork the child that becomes `ctx.role`, into `cgroup` as far as the kernel allows: cloned
/// into it (cgroup v2), moving itself in (v1), or moved by the parent (systemd; see
/// [`Child::join_cgroup`]). `flags`: namespaces clone3 makes. `parent`: the channel's other end.
pub fn fork(
    what: &'static str,
    ctx: ChildContext,
    parent: Channel,
    flags: u64,
    cgroup: Option<&dyn Manager>,
    policy: CgroupPolicy,
) -> Result<Child> {
    let target = cgroup.and_then(|c| c.clone_target());
    let mut tasks = match cgroup {
        Some(c) => match c.self_join_files() {
            Err(e) if policy.excuses(what, &e) => Vec::new(),
            other => other?,
        },
        None => Vec::new(),
    };
    let into = target.as_ref().map(|t| t.as_fd());
    let (forked, cloned_in) = match sys::clone_fork_into(flags, into) {
        Err(e @ (nix::errno::Errno::EACCES | nix::errno::Errno::EPERM))
            if into.is_some() && policy.excuses(what, &e) =>
        {
            sys::clone_fork_into(flags, None)
        }
        other => other,
    }
    .with_context(|| format!("clone3 of {what}"))?;
    if cloned_in {
        // In the cgroup2 directory already: only v1's `tasks` files are left to write.
        tasks.retain(|(file, _)| !file.ends_with("cgroup.procs"));
    }
    let join = match cgroup {
        Some(_) => CgroupJoin::after_clone(cloned_in, &tasks),
        None => CgroupJoin::Done,
    };
    let first = match forked {
        sys::Forked::Child => init::run(ChildContext {
            cgroup: join,
            ..ctx
        }),
        sys::Forked::Parent { child, pidfd } => (child, pidfd),
    };
    // Our copies of the child's channel end (and init's fifo) must go, or EOF would never come.
    drop(ctx);
    Ok(Child {
        what,
        pid: first.0,
        first,
        pidfd: None,
        channel: parent,
        by_parent: matches!(join, CgroupJoin::ByParent),
    })
}

impl Child {
    /// The process clone3 made.
    pub fn first(&self) -> Pid {
        self.first.0
    }

    /// A pidfd of the process that runs the program (of the first one until it is named).
    pub fn pidfd(&self) -> &OwnedFd {
        self.pidfd.as_ref().unwrap_or(&self.first.1)
    }

    /// The process that runs the program and its pidfd, once the conversation is over.
    pub fn into_process(self) -> (Pid, OwnedFd) {
        (self.pid, self.pidfd.unwrap_or(self.first.1))
    }

    /// Move the child into `cgroup` when it waits for the parent to (and tell it).
    pub fn join_cgroup(&self, cgroup: Option<&dyn Manager>, policy: CgroupPolicy) -> Result<()> {
        let Some(cgroup) = cgroup.filter(|_| self.by_parent) else {
            return Ok(());
        };
        match cgroup.add(self.first.0) {
            Ok(()) => {}
            Err(e) if is_denied(&e) && policy.excuses(self.what, &e) => {}
            // If the child is already gone, what it said, or how it ended, says more than the
            // cgroup write.
            Err(e) => return Err(self.why_gone(e)),
        }
        self.channel.send_to_init(ToInit::CgroupJoined)
    }

    fn why_gone(&self, e: anyhow::Error) -> anyhow::Error {
        let what = self.what;
        if let Some(ToParent::Error(msg)) = self.channel.try_recv_from_init(100) {
            return e.context(format!("{what} failed before it joined the cgroup: {msg}"));
        }
        match waitpid(self.first.0, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Signaled(_, sig, _)) => e.context(format!(
                "{what} was killed by {sig} before it joined the cgroup"
            )),
            Ok(WaitStatus::Exited(_, code)) => e.context(format!(
                "{what} exited ({code}) before it joined the cgroup"
            )),
            other => e.context(format!("{what}: {other:?}")),
        }
    }

    /// Take the child's messages until `answer` says the conversation is over, or the channel
    /// closes (the program's execve) after the last step. Steps out of `handshake`'s order are
    /// refused; the child's pid, its id maps, its log lines and its error are handled here,
    /// the rest by `answer` (the channel, the program's pid, the message) → done?
    pub fn converse(
        &mut self,
        mut handshake: Handshake,
        asks: Asks,
        mut answer: impl FnMut(&Channel, Pid, ToParent) -> Result<bool>,
    ) -> Result<()> {
        loop {
            let Some(msg) = self.channel.recv_from_init()? else {
                if handshake.done() {
                    return Ok(());
                }
                bail!("{} ended before it was ready ({})", self.what, self.exit());
            };
            if let Some(step) = msg.step() {
                handshake.accept(step)?;
            }
            match msg {
                ToParent::NeedIdMaps => {
                    id_maps::write(self.first.0, asks.namespaces)?;
                    self.channel.send_to_init(ToInit::IdMapsWritten)?;
                }
                ToParent::NeedRlimits => {
                    security::user::apply_rlimits_of(self.pid, asks.rlimits)?;
                    self.channel.send_to_init(ToInit::RlimitsSet)?;
                }
                ToParent::InitPid(pid) => {
                    // Forked after its parent joined the cgroup: it is in it already. It may
                    // even be gone (a quick program, or one that failed: its message follows).
                    self.pid = Pid::from_raw(pid);
                    self.pidfd = sys::pidfd_open(self.pid).ok();
                    // The intermediate process exits right after; reap it.
                    let _ = waitpid(self.first.0, None);
                }
                ToParent::Error(msg) => return Err(anyhow!(msg)),
                ToParent::Log { level, msg } => crate::log::from_child(&level, &msg),
                other => {
                    if answer(&self.channel, self.pid, other)? {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// How the first process ended (it is reaped).
    fn exit(&self) -> String {
        match waitpid(self.first.0, None) {
            Ok(WaitStatus::Exited(_, code)) => format!("exit status {code}"),
            Ok(WaitStatus::Signaled(_, sig, _)) => format!("killed by {sig}"),
            _ => "status unknown".into(),
        }
    }

    /// Kill what was started and reap what is ours to reap.
    pub fn kill(&self) {
        for fd in [Some(&self.first.1), self.pidfd.as_ref()]
            .into_iter()
            .flatten()
        {
            let _ = sys::pidfd_send_signal(fd.as_fd(), Signal::SIGKILL as i32);
        }
        let _ = waitpid(self.first.0, None);
        if self.pid != self.first.0 {
            let _ = waitpid(self.pid, None);
        }
    }
}

fn is_denied(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
    })
}

/// The session keyring's name as the child needs it.
pub fn keyring_name(name: Option<&str>) -> Result<Option<std::ffi::CString>> {
    name.map(|n| std::ffi::CString::new(n).context("the session keyring's name"))
        .transpose()
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
