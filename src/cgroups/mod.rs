//! cgroups: one `Manager` trait in front of the v1 (cgroupfs per controller; hybrid hosts are
//! v1 hosts) and v2 (unified) drivers. The systemd driver is not written yet.
//!
//! Why not cgroups-rs: it wants to own the hierarchy layout and hides the per-file errors we
//! report by path; the file writes a runtime needs are few, so they are written here.

mod device_filter;
mod disabled;
mod fs;
pub mod mounts;
mod v1;
mod v2;

use std::path::{Path, PathBuf};

use anyhow::Result;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::plan::{CgroupPath, ResourcesPlan};

const ROOT: &str = "/sys/fs/cgroup";

/// What the state keeps to find a container's cgroup again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupRecord {
    pub version: u8,
    pub dirs: Vec<PathBuf>,
}

/// A container's cgroup, whatever the driver.
pub trait Manager {
    fn record(&self) -> CgroupRecord;
    /// Make the cgroup directories (and what they need from their parents).
    fn create(&self) -> Result<()>;
    /// Write the limits.
    fn apply(&self, resources: &ResourcesPlan) -> Result<()>;
    /// Move a process in.
    fn add(&self, pid: Pid) -> Result<()>;
    /// The processes in it.
    fn pids(&self) -> Result<Vec<Pid>>;
    fn set_frozen(&self, frozen: bool) -> Result<()>;
    fn is_frozen(&self) -> bool;
    /// Remove the (empty) cgroup directories.
    fn destroy(&self) -> Result<()>;
    /// Usage figures in the shape of runc's `events --stats` data.
    fn stats(&self) -> Result<serde_json::Value>;
    /// How many processes the OOM killer has killed in the cgroup so far.
    fn oom_kills(&self) -> u64;
    /// A directory fd for CLONE_INTO_CGROUP (v2 only): the child starts in the cgroup.
    fn clone_target(&self) -> Option<std::os::fd::OwnedFd> {
        None
    }
}

/// A cgroup `key value` file (memory.stat, cpu.stat, cpuacct.stat) as a JSON object.
fn key_values(text: &str) -> serde_json::Map<String, serde_json::Value> {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(k, v)| Some((k.to_owned(), serde_json::Value::from(v.trim().parse::<u64>().ok()?))))
        .collect()
}

/// A number from a cgroup file ("max" reads as u64::MAX, as runc reports it).
fn number(text: &str) -> u64 {
    let t = text.trim();
    if t == "max" { u64::MAX } else { t.parse().unwrap_or(0) }
}

/// The cgroup mode of this host: a cgroup2 filesystem at /sys/fs/cgroup means v2; anything
/// else (v1 controllers, with or without cgroup2 at /sys/fs/cgroup/unified) is v1.
pub fn host_is_v2() -> bool {
    nix::sys::statfs::statfs(ROOT).is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// The manager for a new container's cgroup at `path`.
pub fn for_path(path: &CgroupPath) -> Result<Box<dyn Manager>> {
    if host_is_v2() {
        Ok(Box::new(v2::V2::for_path(path)?))
    } else {
        Ok(Box::new(v1::V1::for_path(path)?))
    }
}

/// The manager for a new container: as [`for_path`] for root. A caller without root gets the
/// cgroup only if it may make it (one delegated to it); otherwise none, which is an error only
/// when the config asks for limits (runc's rule for rootless containers).
pub fn for_container(resources: &ResourcesPlan) -> Result<Box<dyn Manager>> {
    let manager = for_path(&resources.path)?;
    if nix::unistd::geteuid().is_root() {
        return Ok(manager);
    }
    match manager.create() {
        Ok(()) => Ok(manager),
        Err(e) if resources.has_limits() => Err(e.context(format!(
            "linux.resources: running without root, limits need a cgroup delegated to uid {} (linux.cgroupsPath)",
            nix::unistd::geteuid()
        ))),
        Err(e) => {
            crate::cli::log::debug(&format!("no cgroup for this rootless container: {e:#}"));
            Ok(Box::new(disabled::Disabled))
        }
    }
}

/// The manager of a recorded cgroup.
pub fn from_record(record: &CgroupRecord) -> Box<dyn Manager> {
    match record.version {
        0 => Box::new(disabled::Disabled),
        2 => Box::new(v2::V2::from_dir(record.dirs.first().cloned().unwrap_or_default())),
        _ => Box::new(v1::V1::from_dirs(&record.dirs)),
    }
}

/// `base` joined with a cgroup path that may start with "/".
fn join(base: &Path, path: &Path) -> PathBuf {
    base.join(path.strip_prefix("/").unwrap_or(path))
}
