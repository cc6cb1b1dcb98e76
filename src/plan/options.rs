//! What the caller decides besides config.json: its flags, its environment (NOTIFY_SOCKET,
//! LISTEN_FDS) and facts of the host, all going through the plan.

use std::path::PathBuf;

use super::HostLsms;

/// Caller choices that shape the plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub no_pivot: bool,
    /// `--no-new-keyring`: the container keeps the caller's session keyring.
    pub no_new_keyring: bool,
    /// A console socket (or hull's own terminal proxy) will receive the pty.
    pub has_console: bool,
    /// What the config said that oci-spec's types cannot hold.
    pub extras: crate::spec::Extras,
    /// Which cgroup driver makes the container's cgroup.
    pub cgroup_driver: CgroupDriver,
    /// The labelling security modules the host has (labels are refused either way).
    pub host_lsms: HostLsms,
    /// The caller's `NOTIFY_SOCKET` and the container's state dir: the container gets a
    /// socket of its own, which `start` listens on.
    pub notify: Option<NotifyOptions>,
    /// Socket activation's `LISTEN_FDS` for this process: that many fds follow stdio.
    pub listen_fds: u32,
}

impl PlanOptions {
    /// What the caller's environment adds to the process's (after its own, so these win):
    /// socket activation's fds, which follow stdio in a process that is pid 1, and the
    /// container's notify socket.
    pub(super) fn caller_env(&self) -> Vec<String> {
        let mut env = Vec::new();
        if self.listen_fds > 0 {
            env.push(format!("LISTEN_FDS={}", self.listen_fds));
            env.push("LISTEN_PID=1".to_owned());
        }
        if self.notify.is_some() {
            env.push(format!("NOTIFY_SOCKET={NOTIFY_SOCKET}"));
        }
        env
    }
}

/// The cgroup driver the caller chose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CgroupDriver {
    /// cgroupfs: hull makes the directories itself.
    #[default]
    Fs,
    /// `--systemd-cgroup`: a transient systemd scope.
    Systemd,
    /// `--cgroup-manager disabled`: no cgroup at all.
    Disabled,
}

/// `NOTIFY_SOCKET` (sd_notify) for a container run by a systemd unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyOptions {
    /// The caller's socket, to which `start` forwards READY=1.
    pub host_socket: PathBuf,
    /// The directory (in the container's state dir) of the container's own socket.
    pub socket_dir: PathBuf,
}

/// Where the container's notify socket appears inside it, and the variable that says so.
pub const NOTIFY_DIR: &str = "/run/notify";
pub const NOTIFY_SOCKET: &str = "/run/notify/notify.sock";
