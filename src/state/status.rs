//! Container status, derived from the record, the init process and the exec fifo.

use std::fmt;

use nix::unistd::Pid;

use super::Record;
use crate::sys;

/// The runtime-spec statuses hull reports (`paused` comes with the freezer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerStatus {
    /// The state dir exists but `create` has not finished.
    Creating,
    /// Init is waiting on the exec fifo for `start`.
    Created,
    /// The user's process has been exec'd and is alive.
    Running,
    /// Running, but frozen by `pause`.
    Paused,
    /// The init process is gone (or a zombie).
    Stopped,
}

impl ContainerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
        }
    }
}

impl fmt::Display for ContainerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the process a record names is still the one `create` started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    Gone,
}

impl Liveness {
    /// Alive only if `pid` exists, is not a zombie, and started at the recorded time:
    /// a recycled pid belongs to a process with another start time.
    pub fn of(record: &Record) -> Self {
        let pid = Pid::from_raw(record.pid);
        if record.pid <= 0 || sys::process_start_time(pid) != Some(record.init_start_time) {
            return Self::Gone;
        }
        match sys::process_state(pid) {
            Some('Z') | Some('X') | None => Self::Gone,
            Some(_) => Self::Alive,
        }
    }
}

/// A pidfd on the record's init, or None if it is no longer that process.
pub fn open_init(record: &Record) -> Option<std::os::fd::OwnedFd> {
    let fd = sys::pidfd_open(Pid::from_raw(record.pid)).ok()?;
    // Checked after opening: from here on the fd pins this very process.
    (Liveness::of(record) == Liveness::Alive).then_some(fd)
}

impl ContainerStatus {
    /// Derive the status: no record yet → creating; init gone → stopped; exec fifo still
    /// present → created; `frozen` (its cgroup, asked only then) → paused; otherwise running.
    pub fn derive(
        record: Option<&Record>,
        fifo_present: bool,
        frozen: impl FnOnce(&Record) -> bool,
    ) -> Self {
        match record {
            None => Self::Creating,
            Some(r) if Liveness::of(r) == Liveness::Gone => Self::Stopped,
            Some(_) if fifo_present => Self::Created,
            Some(r) if frozen(r) => Self::Paused,
            Some(_) => Self::Running,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pid: i32, start: u64) -> Record {
        Record {
            state_version: 0,
            oci_version: "1.2.1".into(),
            id: "t".into(),
            pid,
            init_start_time: start,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: String::new(),
            owner: "root".into(),
            annotations: Default::default(),
            own_pid_namespace: true,
            own_mount_namespace: true,
            process: None,
            hooks: None,
            cgroup: None,
            seccomp: None,
            session_keyring: None,
            memory_policy: None,
            intel_rdt: None,
            notify_socket: None,
        }
    }

    #[test]
    fn no_record_is_creating() {
        assert_eq!(
            ContainerStatus::derive(None, true, |_| false),
            ContainerStatus::Creating
        );
    }

    #[test]
    fn live_process_with_fifo_is_created_without_is_running() {
        let me = nix::unistd::getpid();
        let r = record(me.as_raw(), sys::process_start_time(me).unwrap());
        assert_eq!(
            ContainerStatus::derive(Some(&r), true, |_| false),
            ContainerStatus::Created
        );
        assert_eq!(
            ContainerStatus::derive(Some(&r), false, |_| false),
            ContainerStatus::Running
        );
    }

    #[test]
    fn the_freezer_is_asked_only_of_a_started_live_container() {
        let me = nix::unistd::getpid();
        let r = record(me.as_raw(), sys::process_start_time(me).unwrap());
        let frozen = |_: &Record| true;
        assert_eq!(
            ContainerStatus::derive(Some(&r), false, frozen),
            ContainerStatus::Paused
        );
        assert_eq!(
            ContainerStatus::derive(Some(&r), true, frozen),
            ContainerStatus::Created
        );
        let gone = record(0, 0);
        let asked = |_: &Record| panic!("the freezer of a stopped container");
        assert_eq!(
            ContainerStatus::derive(Some(&gone), false, asked),
            ContainerStatus::Stopped
        );
    }

    #[test]
    fn reused_pid_is_stopped() {
        let me = nix::unistd::getpid();
        let r = record(me.as_raw(), sys::process_start_time(me).unwrap() + 1);
        assert_eq!(
            ContainerStatus::derive(Some(&r), false, |_| false),
            ContainerStatus::Stopped
        );
        assert_eq!(
            ContainerStatus::derive(Some(&record(0, 0)), true, |_| false),
            ContainerStatus::Stopped
        );
    }
}
