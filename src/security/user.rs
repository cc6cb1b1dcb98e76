//! process.user, process.rlimits, process.noNewPrivileges, oomScoreAdj.

use anyhow::{Context, Result};
use nix::sys::resource::setrlimit;
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};

use crate::plan::{Rlimit, UserPlan};

/// Become uid/gid with exactly the additional gids (an empty list drops the caller's groups).
pub fn switch(user: &UserPlan) -> Result<()> {
    let groups: Vec<Gid> = user.additional_gids.iter().map(|g| Gid::from_raw(*g)).collect();
    setgroups(&groups).with_context(|| format!("setgroups {:?} (process.user.additionalGids)", user.additional_gids))?;
    let gid = Gid::from_raw(user.gid);
    setresgid(gid, gid, gid).with_context(|| format!("setgid {} (process.user.gid)", user.gid))?;
    let uid = Uid::from_raw(user.uid);
    setresuid(uid, uid, uid).with_context(|| format!("setuid {} (process.user.uid)", user.uid))?;
    Ok(())
}

pub fn apply_rlimits(limits: &[Rlimit]) -> Result<()> {
    for r in limits {
        setrlimit(r.resource, r.soft, r.hard)
            .with_context(|| format!("setrlimit {:?} soft {} hard {} (process.rlimits)", r.resource, r.soft, r.hard))?;
    }
    Ok(())
}

pub fn set_oom_score_adj(adj: i32) -> Result<()> {
    std::fs::write("/proc/self/oom_score_adj", adj.to_string())
        .with_context(|| format!("writing {adj} to /proc/self/oom_score_adj (process.oomScoreAdj)"))
}

/// process.scheduler.
pub fn set_scheduler(s: &crate::plan::SchedPlan) -> Result<()> {
    crate::sys::sched_setattr(s.policy, s.flags, s.nice, s.priority, s.runtime, s.deadline, s.period)
        .context("sched_setattr (process.scheduler)")
}

/// process.ioPriority.
pub fn set_io_priority(value: u16) -> Result<()> {
    crate::sys::ioprio_set(value).context("ioprio_set (process.ioPriority)")
}
