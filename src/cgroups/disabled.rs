//! No cgroup: a rootless container whose user has no delegated cgroup, or `--cgroup-manager
//! disabled`. Limits cannot be set (create refuses configs that ask), processes cannot be frozen or
//! listed by cgroup.

use anyhow::{bail, Result};
use nix::unistd::Pid;

use super::{CgroupRecord, Manager};
use crate::plan::ResourcesPlan;

pub struct Disabled;

const WHY: &str = "the container has no cgroup (rootless with none delegated to its user, or --cgroup-manager disabled)";

impl Manager for Disabled {
    fn record(&self) -> CgroupRecord {
        CgroupRecord {
            version: 0,
            dirs: Vec::new(),
            parents: Vec::new(),
            systemd_unit: None,
        }
    }
    fn create(&self) -> Result<()> {
        Ok(())
    }
    fn apply(&self, resources: &ResourcesPlan) -> Result<()> {
        if resources.has_limits() {
            bail!("linux.resources: {WHY}");
        }
        Ok(())
    }
    fn add(&self, _pid: Pid) -> Result<()> {
        Ok(())
    }
    fn pids(&self) -> Result<Vec<Pid>> {
        bail!("listing processes: {WHY}")
    }
    fn set_frozen(&self, _frozen: bool) -> Result<()> {
        bail!("freezing: {WHY}")
    }
    fn is_frozen(&self) -> bool {
        false
    }
    fn destroy(&self) -> Result<()> {
        Ok(())
    }
    fn stats(&self) -> Result<serde_json::Value> {
        bail!("stats: {WHY}")
    }
    fn oom_kills(&self) -> Option<u64> {
        Some(0)
    }
    fn memory_usage(&self) -> Option<u64> {
        None
    }
}
