//! `state.json`: what `create` learned and later commands need, written atomically.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The persistent record of one container. Status is not stored: it is derived each time
/// (see `status.rs`), so a crash can never leave a stale "running" behind.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub oci_version: String,
    pub id: String,
    /// The init process's pid in hull's pid namespace.
    pub pid: i32,
    /// Start time of `pid` (clock ticks since boot): guards against pid reuse.
    pub init_start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Whether the container has its own pid namespace: then killing init ends every process.
    #[serde(default)]
    pub own_pid_namespace: bool,
    /// Whether the container has a mount namespace of its own (new or joined). Without one
    /// its mounts live in hull's namespace, under the rootfs, and `delete` detaches them.
    #[serde(default = "yes")]
    pub own_mount_namespace: bool,
    /// config.json's `process` as it was at `create` (the defaults of `exec`); without one,
    /// `start` is an error.
    #[serde(default)]
    pub process: Option<oci_spec::runtime::Process>,
    /// config.json's `hooks` (poststart for `start`, poststop for `delete`).
    #[serde(default)]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// The container's cgroup directories.
    #[serde(default)]
    pub cgroup: Option<crate::cgroups::CgroupRecord>,
    /// The caller's NOTIFY_SOCKET at create: `start` forwards READY=1 there.
    #[serde(default)]
    pub notify_socket: Option<std::path::PathBuf>,
    /// linux.seccomp, applied to `exec`'d processes too.
    #[serde(default)]
    pub seccomp: Option<crate::plan::SeccompPlan>,
    /// The session keyring init joined, which `exec`'d processes join too.
    #[serde(default)]
    pub session_keyring: Option<String>,
}

fn yes() -> bool {
    true
}

impl Record {
    /// The manager of the container's cgroup, if it has one.
    /// The container's cgroup; `None` also for a rootless container that runs without one.
    pub fn cgroup(&self) -> Option<Box<dyn crate::cgroups::Manager>> {
        self.cgroup
            .as_ref()
            .filter(|c| c.version != 0)
            .map(crate::cgroups::from_record)
    }

    /// The hooks as planned (validated at create, so this cannot fail on a record we wrote).
    pub fn hooks(&self) -> crate::plan::HooksPlan {
        self.hooks
            .as_ref()
            .and_then(|h| crate::plan::HooksPlan::from_spec(h).ok())
            .unwrap_or_default()
    }

    /// The state hooks see.
    pub fn hook_state(&self) -> oci_spec::runtime::State {
        crate::hooks::state(
            &self.oci_version,
            &self.id,
            self.pid,
            &self.bundle,
            &self.annotations,
        )
    }
}
