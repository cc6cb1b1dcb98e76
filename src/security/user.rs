//! process.user, process.rlimits, process.noNewPrivileges, oomScoreAdj.

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sys::resource::{getrlimit, setrlimit};
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};

use std::ffi::CString;

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

/// `env` with `HOME` added when it lacks one or it is empty, as runc does: the home directory
/// of `uid` in the container's /etc/passwd, or `/` without an entry. Call it inside the
/// container's root.
pub fn with_home(env: &[CString], uid: u32) -> Vec<CString> {
    let mut env = env.to_vec();
    env.retain(|kv| kv.as_bytes() != b"HOME=");
    if !env.iter().any(|kv| kv.as_bytes().starts_with(b"HOME=")) {
        let home = std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|text| home_of(&text, uid))
            .unwrap_or_else(|| "/".into());
        if let Ok(kv) = CString::new(format!("HOME={home}")) {
            env.push(kv);
        }
    }
    env
}

/// The home directory of `uid` in passwd(5) text (name:pw:uid:gid:gecos:home:shell).
fn home_of(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 6 && fields[2].parse() == Ok(uid) && !fields[5].is_empty())
            .then(|| fields[5].to_string())
    })
}

/// As runc's fixStdioPermissions: the stdio the process gets (the caller's pipes or FIFOs, or
/// `run`'s own) becomes its user's, so that a process that is not root can reopen
/// /dev/stdout (images link their log files there). Character devices (/dev/null, terminals)
/// are left alone; an owner the user namespace does not map, or a read-only /dev, too.
pub fn own_stdio(uid: u32) -> Result<()> {
    use nix::sys::stat::{fstat, SFlag};
    use std::os::fd::AsFd;
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    for (fd, name) in [
        (stdin.as_fd(), "stdin"),
        (stdout.as_fd(), "stdout"),
        (stderr.as_fd(), "stderr"),
    ] {
        let Ok(st) = fstat(fd) else { continue };
        let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        if st.st_uid == uid || kind == SFlag::S_IFCHR {
            continue;
        }
        match nix::unistd::fchown(fd, Some(Uid::from_raw(uid)), None) {
            Ok(()) | Err(Errno::EINVAL | Errno::EPERM | Errno::EROFS) => {}
            Err(e) => return Err(e).with_context(|| format!("chown of the {name} to uid {uid}")),
        }
    }
    Ok(())
}

fn setgroups_denied() -> bool {
    match crate::sys::read_kernel_file("/proc/self/setgroups") {
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

/// The same limits for process `pid`, set by its parent: in a user namespace the process may
/// no longer raise a hard limit itself (runc sets them from the parent too).
pub fn apply_rlimits_of(pid: nix::unistd::Pid, limits: &[Rlimit]) -> Result<()> {
    for r in limits {
        crate::sys::prlimit(pid, r.resource, r.soft, r.hard).with_context(|| {
            format!(
                "prlimit {:?} soft {} hard {} (process.rlimits)",
                r.resource, r.soft, r.hard
            )
        })?;
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
    match crate::sys::sched_setattr(
        s.policy, s.flags, s.nice, s.priority, s.runtime, s.deadline, s.period,
    ) {
        // SCHED_FIFO (1) and SCHED_RR (2) in a v1 cpu cgroup need a realtime budget there,
        // which a new cgroup has none of: say which field gives it.
        Err(Errno::EPERM) if matches!(s.policy, 1 | 2) => bail!(
            "sched_setattr (process.scheduler): EPERM: a realtime policy needs a realtime budget in the container's cpu cgroup (linux.resources.cpu.realtimeRuntime and realtimePeriod on cgroup v1)"
        ),
        r => r.context("sched_setattr (process.scheduler)"),
    }
}

/// process.ioPriority.
pub fn set_io_priority(value: u16) -> Result<()> {
    crate::sys::ioprio_set(value).context("ioprio_set (process.ioPriority)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_comes_from_passwd_or_is_slash() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/false\nbad:x:7\n";
        assert_eq!(home_of(passwd, 0).as_deref(), Some("/root"));
        assert_eq!(home_of(passwd, 33).as_deref(), Some("/var/www"));
        assert_eq!(home_of(passwd, 7), None);
        assert_eq!(home_of(passwd, 1000), None);
    }
}
