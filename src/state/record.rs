//! `state.json`: what `create` learned and later commands need, written atomically.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The persistent record of one container. Status is not stored: it is derived each time
/// (see `status.rs`), so a crash can never leave a stale "running" behind.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The layout of this file ([`STATE_VERSION`] when hull wrote it; 0 before it had one).
    /// A hull meeting a newer one says so instead of misreading it.
    #[serde(default)]
    pub state_version: u32,
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
    pub cgroup: Option<CgroupRecord>,
    /// The caller's NOTIFY_SOCKET at create: `start` forwards READY=1 there.
    #[serde(default)]
    pub notify_socket: Option<std::path::PathBuf>,
    /// linux.seccomp, applied to `exec`'d processes too.
    #[serde(default)]
    pub seccomp: Option<crate::plan::SeccompPlan>,
    /// The session keyring init joined, which `exec`'d processes join too.
    #[serde(default)]
    pub session_keyring: Option<String>,
    /// linux.intelRdt: the resctrl group every process of the container joins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel_rdt: Option<RdtRecord>,
    /// linux.memoryPolicy, which `exec`'d processes get too (as runc's setns init).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_policy: Option<crate::plan::MemoryPolicyPlan>,
}

/// What the state keeps to find a container's cgroup again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupRecord {
    pub version: u8,
    pub dirs: Vec<PathBuf>,
    /// Directories above `dirs` that hull made for this container, removed with it if no
    /// other container uses them by then.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<PathBuf>,
    /// The systemd scope holding `dirs`, with `--systemd-cgroup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_unit: Option<String>,
}

/// The container's resctrl group (linux.intelRdt), for exec and delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RdtRecord {
    pub group: PathBuf,
    /// hull made the group (the container's own, or a missing closID's): `delete` removes it.
    pub made: bool,
    /// The container's MON group (`enableMonitoring`), removed with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mon_group: Option<PathBuf>,
}

fn yes() -> bool {
    true
}

/// The state.json layout this hull writes and reads (older ones, from 0, it reads too).
pub const STATE_VERSION: u32 = 1;

impl Record {
    /// The hooks as planned. They were validated at create, so an error means the record was
    /// changed since: it is reported, never read as "no hooks".
    pub fn hooks(&self) -> anyhow::Result<crate::plan::HooksPlan> {
        match &self.hooks {
            Some(h) => crate::plan::HooksPlan::from_spec(h)
                .map_err(|e| e.context("the hooks recorded in state.json")),
            None => Ok(Default::default()),
        }
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
