//! cgroups: one `Manager` trait in front of the v1 (cgroupfs per controller; hybrid hosts are
//! v1 hosts) and v2 (unified) drivers, and the systemd driver that has systemd make the
//! cgroup (a transient scope) and then writes it through them.
//!
//! Why not cgroups-rs: it wants to own the hierarchy layout and hides the per-file errors we
//! report by path; the file writes a runtime needs are few, so they are written here.

mod device_filter;
mod disabled;
mod fs;
pub mod oom_watch;
mod systemd;
#[cfg(test)]
mod test_support;
mod v1;
mod v2;
mod values;

use std::path::{Path, PathBuf};

use anyhow::Result;
use nix::unistd::Pid;

use crate::plan::{CgroupPath, ResourcesPlan};

const ROOT: &str = "/sys/fs/cgroup";

pub use crate::state::CgroupRecord;

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
    /// Processes in any of its directories that exist, in every hierarchy: before the
    /// container has any, they are someone else's (see `refuse_occupied`). systemd refuses a scope that
    /// exists, and no cgroup holds nothing: none by default.
    fn occupants(&self) -> Result<Vec<(PathBuf, Pid)>> {
        Ok(Vec::new())
    }
    fn set_frozen(&self, frozen: bool) -> Result<()>;
    fn is_frozen(&self) -> bool;
    /// SIGKILL every process in it at once, where the kernel can (v2's `cgroup.kill`): no
    /// race with processes forking meanwhile. False when it cannot.
    fn kill_all(&self) -> bool {
        false
    }
    /// Remove the (empty) cgroup directories.
    fn destroy(&self) -> Result<()>;
    /// Usage figures in the shape of runc's `events --stats` data.
    fn stats(&self) -> Result<serde_json::Value>;
    /// How many processes the OOM killer has killed in the cgroup so far; `None` when the
    /// counter cannot be read (the cgroup is gone: a systemd scope whose last process died).
    fn oom_kills(&self) -> Option<u64>;
    /// A watch that wakes when the OOM killer strikes (cgroup v2); `None` where the counter
    /// outlives the container anyway (v1's cgroup stays until `delete`).
    fn oom_watch(&self) -> Option<oom_watch::OomWatch> {
        None
    }
    /// Memory in use now (bytes), if the memory controller is there.
    fn memory_usage(&self) -> Option<u64>;
    /// A directory fd for CLONE_INTO_CGROUP (a cgroup2 directory: v2's, or a hybrid host's
    /// unified one): the child starts in that cgroup.
    fn clone_target(&self) -> Option<std::os::fd::OwnedFd> {
        None
    }
    /// Files through which a new single-threaded child can move itself in by writing "0"
    /// (v1's `tasks`, opened by the parent): the kernel only skips its global threadgroup
    /// lock, and the RCU grace period that takes (~10 ms on an idle machine), for a thread
    /// moving itself. Empty when the parent must do it (`add`). A cgroup2 directory's file here
    /// (`cgroup.procs`) is used only when the clone into it (`clone_target`) was refused.
    fn self_join_files(&self) -> Result<Vec<(PathBuf, std::os::fd::OwnedFd)>> {
        Ok(Vec::new())
    }
}

/// A new container's cgroup must be its own: one that already holds processes (a cgroupsPath
/// naming another container's cgroup, or any busy one) would share its limits, and `pause`,
/// `kill --all` and `delete` would reach processes hull did not start. runc only warns.
pub fn refuse_occupied(cgroup: &dyn Manager) -> Result<()> {
    let occupants = cgroup.occupants()?;
    if let Some((dir, first)) = occupants.first() {
        anyhow::bail!(
            "linux.cgroupsPath: the cgroup {} already holds {} process(es) (pid {first}): a container's cgroup must be its own",
            dir.display(),
            occupants.len()
        );
    }
    Ok(())
}

/// A cgroup `key value` file (memory.stat, cpu.stat, cpuacct.stat) as a JSON object.
fn key_values(text: &str) -> serde_json::Map<String, serde_json::Value> {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(k, v)| {
            Some((
                k.to_owned(),
                serde_json::Value::from(v.trim().parse::<u64>().ok()?),
            ))
        })
        .collect()
}

/// A number from a cgroup file ("max" reads as u64::MAX, as runc reports it).
fn number(text: &str) -> u64 {
    let t = text.trim();
    if t == "max" {
        u64::MAX
    } else {
        t.parse().unwrap_or(0)
    }
}

/// The cgroup mode of this host: a cgroup2 filesystem at /sys/fs/cgroup means v2; anything
/// else (v1 controllers, with or without cgroup2 at /sys/fs/cgroup/unified) is v1.
pub fn host_is_v2() -> bool {
    nix::sys::statfs::statfs(ROOT)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// The manager for a new container's cgroup at `path`.
pub fn for_path(path: &CgroupPath) -> Result<Box<dyn Manager>> {
    if let CgroupPath::Systemd { slice, unit } = path {
        Ok(Box::new(systemd::Systemd::new(slice.as_deref(), unit)?))
    } else if host_is_v2() {
        Ok(Box::new(v2::V2::for_path(path)?))
    } else {
        Ok(Box::new(v1::V1::for_path(path)?))
    }
}

/// The manager for a new container: as [`for_path`] for root. A caller without root gets the
/// cgroup only if it may make it (one delegated to it); otherwise none, which is an error only
/// when the config asks for limits (runc's rule for rootless containers).
pub fn for_container(resources: &ResourcesPlan) -> Result<Box<dyn Manager>> {
    if resources.no_cgroup {
        return Ok(Box::new(disabled::Disabled));
    }
    let manager = for_path(&resources.path)?;
    if !crate::rootless::is_rootless() {
        return Ok(manager);
    }
    match manager.create() {
        Ok(()) => Ok(manager),
        Err(e) if resources.has_limits() => Err(e.context(format!(
            "linux.resources: running without root, limits need a cgroup delegated to uid {} (linux.cgroupsPath)",
            nix::unistd::geteuid()
        ))),
        Err(e) => {
            crate::log::debug(&format!("no cgroup for this rootless container: {e:#}"));
            Ok(Box::new(disabled::Disabled))
        }
    }
}

/// The manager of a container's recorded cgroup; `None` also for a rootless container that
/// runs without one.
pub fn of_container(record: Option<&CgroupRecord>) -> Option<Box<dyn Manager>> {
    record.filter(|c| c.version != 0).map(from_record)
}

/// The manager of a recorded cgroup.
pub fn from_record(record: &CgroupRecord) -> Box<dyn Manager> {
    if let Some(unit) = &record.systemd_unit {
        return Box::new(systemd::Systemd::from_record(unit, record));
    }
    from_fs_record(record)
}

/// The cgroupfs manager of a recorded cgroup, whoever made it.
fn from_fs_record(record: &CgroupRecord) -> Box<dyn Manager> {
    match record.version {
        0 => Box::new(disabled::Disabled),
        2 => Box::new(v2::V2::from_record(record)),
        _ => Box::new(v1::V1::from_record(record)),
    }
}

/// Make a cgroup directory and whatever is missing above it (up to the hierarchy's root);
/// returns the ancestors it made, deepest first. A concurrent `delete` removing an ancestor
/// it had made (now empty) is raced by trying again.
fn make_dir(dir: &Path, hierarchy_root: &Path, made: &mut Vec<PathBuf>) -> Result<()> {
    use anyhow::Context;
    // Usually its parent is there: one mkdir, nothing above it made.
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            return Err(e).with_context(|| format!("creating cgroup {}", dir.display()))
        }
        _ => return Ok(()),
    }
    for attempt in 0..5 {
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .skip(1)
            .take_while(|p| p.starts_with(hierarchy_root) && *p != hierarchy_root && !p.exists())
            .map(Path::to_owned)
            .collect();
        match std::fs::create_dir_all(dir) {
            Ok(()) => {
                made.extend(missing);
                return Ok(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempt < 4 => continue,
            Err(e) => return Err(e).with_context(|| format!("creating cgroup {}", dir.display())),
        }
    }
    Ok(())
}

/// Remove the parents hull made for a container, deepest first; one still in use (by
/// another container) stays.
fn remove_parents(parents: &[PathBuf]) {
    for p in parents {
        let _ = std::fs::remove_dir(p);
    }
}

/// `base` joined with a cgroup path that may start with "/".
fn join(base: &Path, path: &Path) -> PathBuf {
    base.join(path.strip_prefix("/").unwrap_or(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_made_are_recorded_deepest_first_and_removed_when_empty() {
        let base = std::env::temp_dir().join(format!("hull-cg-{}", std::process::id()));
        std::fs::create_dir_all(base.join("shared")).unwrap();
        let mut made = Vec::new();
        make_dir(&base.join("shared/a/b/leaf"), &base, &mut made).unwrap();
        assert_eq!(made, vec![base.join("shared/a/b"), base.join("shared/a")]);
        make_dir(&base.join("shared/a/other"), &base, &mut Vec::new()).unwrap();
        std::fs::remove_dir(base.join("shared/a/b/leaf")).unwrap();
        remove_parents(&made);
        assert!(!base.join("shared/a/b").exists(), "made and empty: removed");
        assert!(
            base.join("shared/a").exists(),
            "still holds another container's cgroup"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
