//! process.user, process.rlimits, process.noNewPrivileges, oomScoreAdj.

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sys::resource::{getrlimit, setrlimit};
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};

use crate::plan::{Rlimit, UserPlan};

/// Become uid/gid with exactly the additional gids (an empty list drops the caller's groups).
pub fn switch(user: &UserPlan) -> Result<()> {
    let groups: Vec<Gid> = user
        .additional_gids
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    match setgroups(&groups) {
        // A user namespace mapped without root has setgroups denied (and no groups to drop).
        Err(Errno::EPERM) if groups.is_empty() && setgroups_denied() => {}
        r => r.with_context(|| {
            format!(
                "setgroups {:?} (process.user.additionalGids)",
                user.additional_gids
            )
        })?,
    }
    let gid = Gid::from_raw(user.gid);
    setresgid(gid, gid, gid).with_context(|| format!("setgid {} (process.user.gid)", user.gid))?;
    let uid = Uid::from_raw(user.uid);
    setresuid(uid, uid, uid).with_context(|| format!("setuid {} (process.user.uid)", user.uid))?;
    Ok(())
}

fn setgroups_denied() -> bool {
    match std::fs::read_to_string("/proc/self/setgroups") {
        Ok(s) => s.trim() == "deny",
        // An exec'd process drops privileges before it forks into the container's pid
        // namespace, where the container's /proc has no `self` for it yet. Holding CAP_SETGID,
        // setgroups fails with EPERM only when the user namespace denies it.
        Err(_) => caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_SETGID)
            .unwrap_or(false),
    }
}

pub fn apply_rlimits(limits: &[Rlimit]) -> Result<()> {
    for r in limits {
        let set = setrlimit(r.resource, r.soft, r.hard);
        let why = match (set, getrlimit(r.resource)) {
            (Ok(()), _) => continue,
            // The usual cause, worth naming: raising a hard limit needs CAP_SYS_RESOURCE.
            (Err(Errno::EPERM), Ok((_, current))) if r.hard > current => format!(
                "EPERM: the hard limit {} is above hull's own ({current}), and raising it needs CAP_SYS_RESOURCE",
                r.hard
            ),
            (Err(e), _) => e.to_string(),
        };
        bail!(
            "setrlimit {:?} soft {} hard {} (process.rlimits): {why}",
            r.resource,
            r.soft,
            r.hard
        );
    }
    Ok(())
}

pub fn set_oom_score_adj(adj: i32) -> Result<()> {
    crate::security::procfs::write("/proc/self/oom_score_adj", adj.to_string().as_bytes())
        .with_context(|| format!("writing {adj} to /proc/self/oom_score_adj (process.oomScoreAdj)"))
}

/// Run the calling thread on these CPUs only (process.execCPUAffinity).
pub fn set_affinity(cpus: &[u32], field: &str) -> Result<()> {
    let mut set = nix::sched::CpuSet::new();
    for &cpu in cpus {
        set.set(cpu as usize)
            .with_context(|| format!("{field}: CPU {cpu}"))?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .with_context(|| format!("{field}: sched_setaffinity"))
}

/// process.scheduler.
pub fn set_scheduler(s: &crate::plan::SchedPlan) -> Result<()> {
    crate::sys::sched_setattr(
        s.policy, s.flags, s.nice, s.priority, s.runtime, s.deadline, s.period,
    )
    .context("sched_setattr (process.scheduler)")
}

/// process.ioPriority.
pub fn set_io_priority(value: u16) -> Result<()> {
    crate::sys::ioprio_set(value).context("ioprio_set (process.ioPriority)")
}
