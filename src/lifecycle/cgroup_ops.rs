//! `pause`, `resume`, `ps`, `update`: operations on a running container's cgroup.

use anyhow::{bail, Context, Result};
use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;

use crate::cgroups::Manager;
use crate::plan::{CgroupPath, ResourcesPlan};
use crate::state::{ContainerStatus, Record, StateDir};

fn running_cgroup(
    dir: &StateDir,
    allowed: &[ContainerStatus],
    verb: &str,
) -> Result<(Record, Box<dyn Manager>)> {
    let record = dir
        .load()?
        .with_context(|| format!("container {:?} is still being created", dir.id()))?;
    let status = super::status(dir, Some(&record));
    if !allowed.contains(&status) {
        bail!("cannot {verb} container {:?}: it is {status}", dir.id());
    }
    let cgroup = crate::cgroups::of_container(record.cgroup.as_ref())
        .with_context(|| format!("container {:?} has no cgroup", dir.id()))?;
    Ok((record, cgroup))
}

pub fn pause(dir: &StateDir) -> Result<()> {
    let (_, cgroup) = running_cgroup(
        dir,
        &[ContainerStatus::Running, ContainerStatus::Created],
        "pause",
    )?;
    cgroup.set_frozen(true)
}

pub fn resume(dir: &StateDir) -> Result<()> {
    let (_, cgroup) = running_cgroup(dir, &[ContainerStatus::Paused], "resume")?;
    cgroup.set_frozen(false)
}

/// The pids in the container's cgroup.
pub fn pids(dir: &StateDir) -> Result<Vec<Pid>> {
    let record = dir
        .load()?
        .with_context(|| format!("container {:?} is still being created", dir.id()))?;
    super::container_pids(&record)
}

/// Apply new limits (a runtime-spec `linux.resources` object) to a live container.
pub fn update(dir: &StateDir, resources: &LinuxResources) -> Result<()> {
    let running = [
        ContainerStatus::Running,
        ContainerStatus::Created,
        ContainerStatus::Paused,
    ];
    let (_, cgroup) = running_cgroup(dir, &running, "update")?;
    // The path is already decided; only the limits matter here.
    let plan = ResourcesPlan::from_resources(resources, CgroupPath::Absolute("/".into()))?;
    if let (true, Some(limit), Some(usage)) = (
        plan.memory.check_before_update,
        plan.memory.limit,
        cgroup.memory_usage(),
    ) {
        if limit > 0 && (limit as u64) < usage {
            bail!("linux.resources.memory.limit: {limit} is below the current usage {usage} (checkBeforeUpdate)");
        }
    }
    cgroup.apply(&plan)
}

/// The container's OOM-kill count so far (0 without a cgroup); `None` once its cgroup is gone.
pub fn oom_kills(dir: &StateDir) -> Result<Option<u64>> {
    let record = dir
        .load()?
        .with_context(|| format!("container {:?} is still being created", dir.id()))?;
    Ok(crate::cgroups::of_container(record.cgroup.as_ref()).map_or(Some(0), |c| c.oom_kills()))
}

/// A watch on the container's OOM counter, where its cgroup has one to watch (v2).
pub fn oom_watch(dir: &StateDir) -> Result<Option<crate::cgroups::oom_watch::OomWatch>> {
    let record = dir
        .load()?
        .with_context(|| format!("container {:?} is still being created", dir.id()))?;
    Ok(crate::cgroups::of_container(record.cgroup.as_ref()).and_then(|c| c.oom_watch()))
}

/// `events --stats`: the container's usage, as runc prints it.
pub fn stats(dir: &StateDir) -> Result<serde_json::Value> {
    let running = [
        ContainerStatus::Running,
        ContainerStatus::Created,
        ContainerStatus::Paused,
    ];
    let (record, cgroup) = running_cgroup(dir, &running, "read the stats of")?;
    Ok(serde_json::json!({"type": "stats", "id": record.id, "data": cgroup.stats()?}))
}
