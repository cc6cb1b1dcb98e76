//! `process`: args, env, cwd, user, rlimits, noNewPrivileges, terminal.

use std::ffi::CString;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use nix::sys::resource::Resource;
use oci_spec::runtime::{PosixRlimitType, Process};

use super::{CapsPlan, PlanOptions};

#[derive(Debug, Clone)]
pub struct ProcessPlan {
    pub args: Vec<CString>,
    pub env: Vec<CString>,
    /// `PATH` from `env`, used to find `args[0]` inside the container.
    pub path_env: Option<String>,
    pub cwd: PathBuf,
    pub user: UserPlan,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    /// `process.terminal`: the process gets a pty, its master goes to --console-socket.
    pub terminal: bool,
    /// `process.consoleSize` as (rows, columns).
    pub console_size: Option<(u16, u16)>,
    /// `None`: no `capabilities` in the config, init's are left as they are.
    pub capabilities: Option<CapsPlan>,
    /// process.scheduler, ready for sched_setattr(2).
    pub scheduler: Option<SchedPlan>,
    /// process.ioPriority as the ioprio_set(2) value (class << 13 | level).
    pub io_priority: Option<u16>,
    /// process.execCPUAffinity (for `exec`'d processes only, as the spec says).
    pub exec_affinity: ExecAffinity,
    /// The spec object this plan came from, kept in the state as the defaults of `exec`.
    pub source: Process,
}

/// `process.execCPUAffinity`: the CPUs of hull's `exec` before the process enters the
/// container's cgroup (`initial`), and of the process once it is in (`final`); `None`: leave
/// the affinity as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecAffinity {
    pub initial: Option<Vec<u32>>,
    pub final_cpus: Option<Vec<u32>>,
}

impl ExecAffinity {
    fn from_spec(a: &oci_spec::runtime::ExecCPUAffinity) -> Result<Self> {
        let set = |list: &Option<String>, field: &str| {
            list.as_deref()
                .filter(|l| !l.is_empty())
                .map(|l| super::id_set(l, field))
                .transpose()
        };
        Ok(ExecAffinity {
            initial: set(a.initial(), "process.execCPUAffinity.initial")?,
            final_cpus: set(a.cpu_affinity_final(), "process.execCPUAffinity.final")?,
        })
    }
}

/// `struct sched_attr`'s fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedPlan {
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserPlan {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rlimit {
    pub resource: Resource,
    pub soft: u64,
    pub hard: u64,
}

impl ProcessPlan {
    /// Whether the parent sets this process's rlimits (prlimit), as runc does: in a user
    /// namespace other than hull's, the process may no longer raise a hard limit itself.
    pub fn rlimits_by_parent(&self, ns: &super::NamespacePlan) -> bool {
        !self.rlimits.is_empty() && ns.has(super::NsKind::User)
    }

    pub fn from_spec(p: &Process, opts: &PlanOptions) -> Result<Self> {
        opts.host_lsms.refuse_process(p, "process.")?;
        let args = p.args().as_deref().unwrap_or_default();
        if args.is_empty() || args[0].is_empty() {
            bail!("process.args: must name a program to run");
        }
        let args = cstrings(args, "process.args")?;
        let env_list = p.env().as_deref().unwrap_or_default();
        for (i, e) in env_list.iter().enumerate() {
            if !e.contains('=') {
                bail!("process.env[{i}]: {e:?} is not KEY=VALUE");
            }
        }
        let env_list = dedup_env(&[env_list, &opts.caller_env()].concat());
        let env = cstrings(&env_list, "process.env")?;
        let path_env = env_list
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .map(str::to_owned);
        if !p.cwd().is_absolute() {
            bail!(
                "process.cwd: {} must be an absolute path",
                p.cwd().display()
            );
        }
        let terminal = p.terminal().unwrap_or(false);
        if terminal && !opts.has_console {
            bail!("process.terminal: true needs --console-socket (or set terminal to false)");
        }
        if !terminal && opts.has_console {
            bail!("--console-socket: given, but process.terminal is false");
        }
        let console_size = p
            .console_size()
            .map(|b| (clamp16(b.height()), clamp16(b.width())));
        let user = p.user();
        valid_id(user.uid(), "process.user.uid")?;
        valid_id(user.gid(), "process.user.gid")?;
        for (i, g) in user.additional_gids().iter().flatten().enumerate() {
            valid_id(*g, &format!("process.user.additionalGids[{i}]"))?;
        }
        Ok(Self {
            args,
            env,
            path_env,
            cwd: p.cwd().clone(),
            user: UserPlan {
                uid: user.uid(),
                gid: user.gid(),
                additional_gids: user.additional_gids().clone().unwrap_or_default(),
                umask: user.umask(),
            },
            rlimits: rlimits(p)?,
            no_new_privileges: p.no_new_privileges().unwrap_or(false),
            oom_score_adj: p.oom_score_adj(),
            terminal,
            console_size,
            capabilities: p
                .capabilities()
                .as_ref()
                .map(CapsPlan::from_spec)
                .transpose()?,
            scheduler: p.scheduler().as_ref().map(scheduler).transpose()?,
            io_priority: p.io_priority().as_ref().map(io_priority).transpose()?,
            exec_affinity: p
                .exec_cpu_affinity()
                .as_ref()
                .map(ExecAffinity::from_spec)
                .transpose()?
                .unwrap_or_default(),
            source: p.clone(),
        })
    }
}

/// Each variable once, with its last value, at the place of its last occurrence (as runc and
/// Go's os/exec do): a program reading its environment sees what the config meant.
fn dedup_env(env: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = env
        .iter()
        .rev()
        .filter(|kv| seen.insert(kv.split_once('=').map_or(kv.as_str(), |(k, _)| k)))
        .cloned()
        .collect();
    out.reverse();
    out
}

/// The largest uid or gid hull takes (runc's bound). Above it are ids no user namespace can
/// map, and (uid_t)-1, which setresuid and setresgid read as "leave unchanged": a process
/// asked to run as 4294967295 would stay root.
pub const MAX_ID: u32 = i32::MAX as u32;

fn valid_id(id: u32, field: &str) -> Result<()> {
    if id > MAX_ID {
        bail!("{field}: {id} is out of range (0 to {MAX_ID})");
    }
    Ok(())
}

fn scheduler(s: &oci_spec::runtime::Scheduler) -> Result<SchedPlan> {
    use oci_spec::runtime::{LinuxSchedulerFlag as F, LinuxSchedulerPolicy as P};
    let policy = match s.policy() {
        P::SchedOther => 0,
        P::SchedFifo => 1,
        P::SchedRr => 2,
        P::SchedBatch => 3,
        P::SchedIso => 4,
        P::SchedIdle => 5,
        P::SchedDeadline => 6,
    };
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        bail!("process.scheduler.nice: {nice} is outside -20..19");
    }
    let priority = s.priority().unwrap_or(0);
    let realtime = matches!(policy, 1 | 2);
    if realtime && !(1..=99).contains(&priority) {
        bail!("process.scheduler.priority: {priority} must be 1..99 for SCHED_FIFO/SCHED_RR");
    }
    if !realtime && priority != 0 {
        bail!("process.scheduler.priority: must be 0 unless the policy is SCHED_FIFO or SCHED_RR");
    }
    if policy == 6 && (s.runtime().is_none() || s.deadline().is_none()) {
        bail!("process.scheduler: SCHED_DEADLINE needs runtime and deadline");
    }
    let flags = s.flags().iter().flatten().fold(0u64, |acc, f| {
        acc | match f {
            F::SchedResetOnFork => 0x01,
            F::SchedFlagReclaim => 0x02,
            F::SchedFlagDLOverrun => 0x04,
            F::SchedFlagKeepPolicy => 0x08,
            F::SchedFlagKeepParams => 0x10,
            F::SchedFlagUtilClampMin => 0x20,
            F::SchedFlagUtilClampMax => 0x40,
        }
    });
    Ok(SchedPlan {
        policy,
        flags,
        nice,
        priority: priority as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
    })
}

fn io_priority(p: &oci_spec::runtime::LinuxIOPriority) -> Result<u16> {
    use oci_spec::runtime::IOPriorityClass as C;
    let class = match p.class() {
        C::IoprioClassRt => 1u16,
        C::IoprioClassBe => 2,
        C::IoprioClassIdle => 3,
    };
    if !(0..=7).contains(&p.priority()) {
        bail!(
            "process.ioPriority.priority: {} is outside 0..7",
            p.priority()
        );
    }
    Ok(class << 13 | p.priority() as u16)
}

fn clamp16(v: u64) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

fn cstrings(list: &[String], field: &str) -> Result<Vec<CString>> {
    list.iter()
        .enumerate()
        .map(|(i, s)| {
            CString::new(s.as_str()).with_context(|| format!("{field}[{i}]: contains a NUL byte"))
        })
        .collect()
}

fn rlimits(p: &Process) -> Result<Vec<Rlimit>> {
    let mut out: Vec<Rlimit> = Vec::new();
    for (i, r) in p.rlimits().iter().flatten().enumerate() {
        let resource = rlimit_resource(r.typ());
        if r.soft() > r.hard() {
            bail!(
                "process.rlimits[{i}] ({}): soft limit {} is above hard limit {}",
                r.typ(),
                r.soft(),
                r.hard()
            );
        }
        if out.iter().any(|o| o.resource == resource) {
            bail!("process.rlimits[{i}]: {} appears twice", r.typ());
        }
        out.push(Rlimit {
            resource,
            soft: r.soft(),
            hard: r.hard(),
        });
    }
    Ok(out)
}

fn rlimit_resource(t: PosixRlimitType) -> Resource {
    use PosixRlimitType as T;
    match t {
        T::RlimitCpu => Resource::RLIMIT_CPU,
        T::RlimitFsize => Resource::RLIMIT_FSIZE,
        T::RlimitData => Resource::RLIMIT_DATA,
        T::RlimitStack => Resource::RLIMIT_STACK,
        T::RlimitCore => Resource::RLIMIT_CORE,
        T::RlimitRss => Resource::RLIMIT_RSS,
        T::RlimitNproc => Resource::RLIMIT_NPROC,
        T::RlimitNofile => Resource::RLIMIT_NOFILE,
        T::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        T::RlimitAs => Resource::RLIMIT_AS,
        T::RlimitLocks => Resource::RLIMIT_LOCKS,
        T::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        T::RlimitNice => Resource::RLIMIT_NICE,
        T::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        T::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{plan, MINIMAL};
    use super::*;

    #[test]
    fn each_variable_once_with_its_last_value() {
        let env: Vec<String> = ["A=1", "B=2", "A=3", "C=", "B=4"].map(String::from).into();
        assert_eq!(dedup_env(&env), ["A=3", "C=", "B=4"]);
    }

    #[test]
    fn ids_above_runcs_bound_are_refused_by_field() {
        for (user, field) in [
            (r#"{"uid":4294967295,"gid":0}"#, "process.user.uid"),
            (r#"{"uid":0,"gid":2147483648}"#, "process.user.gid"),
            (
                r#"{"uid":0,"gid":0,"additionalGids":[1,4294967295]}"#,
                "process.user.additionalGids[1]",
            ),
        ] {
            let p: oci_spec::runtime::Process = serde_json::from_str(&format!(
                r#"{{"args":["/bin/true"],"cwd":"/","user":{user}}}"#
            ))
            .unwrap();
            let err = format!(
                "{:#}",
                ProcessPlan::from_spec(&p, &PlanOptions::default()).unwrap_err()
            );
            assert!(err.contains(field) && err.contains("out of range"), "{err}");
        }
    }

    #[test]
    fn args_env_user_cwd() {
        let j = MINIMAL.replace(
            r#""process":{"args":["/bin/true"],"cwd":"/","user":{"uid":0,"gid":0}}"#,
            r#""process":{"args":["sh","-c","x"],"env":["A=1","PATH=/bin:/sbin"],"cwd":"/tmp",
              "user":{"uid":5,"gid":6,"additionalGids":[7,8],"umask":18}}"#,
        );
        let p = plan(&j).unwrap().process.unwrap();
        assert_eq!(p.args.len(), 3);
        assert_eq!(p.path_env.as_deref(), Some("/bin:/sbin"));
        assert_eq!(p.user.additional_gids, vec![7, 8]);
        assert_eq!(p.user.umask, Some(18));
        assert_eq!(p.cwd.to_str(), Some("/tmp"));
    }

    #[test]
    fn bad_process_fields_are_named() {
        for (from, to, field) in [
            (r#""args":["/bin/true"]"#, r#""args":[]"#, "process.args"),
            (r#""cwd":"/""#, r#""cwd":"rel""#, "process.cwd"),
            (
                r#""cwd":"/""#,
                r#""cwd":"/","env":["NOEQUALS"]"#,
                "process.env[0]",
            ),
            (
                r#""cwd":"/""#,
                r#""cwd":"/","terminal":true"#,
                "process.terminal",
            ),
            (
                r#""cwd":"/""#,
                r#""cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","soft":10,"hard":5}]"#,
                "process.rlimits[0]",
            ),
        ] {
            let err = plan(&MINIMAL.replace(from, to)).unwrap_err();
            assert!(format!("{err:#}").contains(field), "{field}: {err:#}");
        }
    }

    #[test]
    fn scheduler_and_io_priority() {
        let j = MINIMAL.replace(
            r#""cwd":"/""#,
            r#""cwd":"/","scheduler":{"policy":"SCHED_BATCH","nice":5},"ioPriority":{"class":"IOPRIO_CLASS_IDLE","priority":0}"#,
        );
        let p = plan(&j).unwrap().process.unwrap();
        assert_eq!(p.scheduler.unwrap().policy, 3);
        assert_eq!(p.io_priority, Some(3 << 13));
        let bad = MINIMAL.replace(
            r#""cwd":"/""#,
            r#""cwd":"/","scheduler":{"policy":"SCHED_FIFO","priority":0}"#,
        );
        assert!(format!("{:#}", plan(&bad).unwrap_err()).contains("process.scheduler.priority"));
    }

    #[test]
    fn rlimits_are_planned() {
        let j = MINIMAL.replace(
            r#""cwd":"/""#,
            r#""cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","soft":100,"hard":200}]"#,
        );
        let r = plan(&j).unwrap().process.unwrap().rlimits;
        assert_eq!(r[0].resource, nix::sys::resource::Resource::RLIMIT_NOFILE);
        assert_eq!((r[0].soft, r[0].hard), (100, 200));
    }
}
