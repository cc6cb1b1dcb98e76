//! linux.seccomp: compiled to BPF with libseccomp in the parent, once, before the fork; the
//! child only hands the program to seccomp(2) (no library work after the fork). With
//! SCMP_ACT_NOTIFY the child sends the listener fd back, and the parent passes it on to
//! `listenerPath` with the container state.

use std::io::{IoSlice, Read, Seek};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::str::FromStr;

use anyhow::{Context, Result};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use oci_spec::runtime::{
    ContainerProcessState, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator,
    LinuxSyscall, State,
};

pub use crate::plan::Listener;
use crate::plan::SeccompPlan;
use crate::sys;

/// A compiled filter, ready to load.
#[derive(Debug, Clone, PartialEq)]
pub struct SeccompProgram {
    /// Raw `struct sock_filter` array.
    pub bpf: Vec<u8>,
    /// SECCOMP_FILTER_FLAG_* for seccomp(2).
    pub flags: u32,
    /// Where the notification listener goes, when a rule says SCMP_ACT_NOTIFY.
    pub listener: Option<Listener>,
    /// Whether the filter surely lets `execveat` through, which the exec trampoline needs.
    pub allows_execveat: bool,
    /// Whether it surely lets through what the trampoline does while it waits for `start`
    /// in init's place (`prctl`, `close`, `read`).
    pub allows_waiting: bool,
}

/// Compile the plan's filter (checked by `SeccompPlan::from_spec`). Unknown syscall names are
/// skipped (runc's rule: a profile may name syscalls this kernel or libseccomp does not know),
/// reported with `--debug`.
pub fn compile(plan: &SeccompPlan) -> Result<SeccompProgram> {
    let s = &plan.spec;
    let default = action(s.default_action(), s.default_errno_ret(), "linux.seccomp")?;
    let mut ctx = ScmpFilterContext::new(default).context("linux.seccomp: creating the filter")?;
    add_architectures(&mut ctx, s)?;
    for (i, rule) in s.syscalls().iter().flatten().enumerate() {
        add_rule(
            &mut ctx,
            rule,
            default,
            &format!("linux.seccomp.syscalls[{i}]"),
        )?;
    }
    Ok(SeccompProgram {
        bpf: export(&ctx)?,
        flags: plan.flags(),
        listener: plan.listener(),
        allows_execveat: allows(s, default, "execveat"),
        allows_waiting: ["prctl", "close", "read"]
            .iter()
            .all(|name| allows(s, default, name)),
    })
}

/// `architectures`, by libseccomp's names.
fn add_architectures(ctx: &mut ScmpFilterContext, s: &LinuxSeccomp) -> Result<()> {
    for arch in s.architectures().iter().flatten() {
        let name = serde_json::to_value(arch)?
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let a = ScmpArch::from_str(&name)
            .with_context(|| format!("linux.seccomp.architectures: unknown {name}"))?;
        ctx.add_arch(a)
            .with_context(|| format!("linux.seccomp.architectures: adding {name}"))?;
    }
    Ok(())
}

/// One `syscalls` entry: its action for each name this kernel knows, under its conditions.
fn add_rule(
    ctx: &mut ScmpFilterContext,
    rule: &LinuxSyscall,
    default: ScmpAction,
    field: &str,
) -> Result<()> {
    let act = action(rule.action(), rule.errno_ret(), field)?;
    // libseccomp refuses a rule that repeats the default action; it would be a no-op.
    if act == default {
        return Ok(());
    }
    let conds: Vec<ScmpArgCompare> = rule.args().iter().flatten().map(condition).collect();
    for name in rule.names() {
        let Ok(syscall) = ScmpSyscall::from_name(name) else {
            crate::log::debug(&format!("{field}: skipping unknown syscall {name:?}"));
            continue;
        };
        let added = if conds.is_empty() {
            ctx.add_rule(act, syscall)
        } else {
            ctx.add_rule_conditional(act, syscall, &conds)
        };
        added.with_context(|| format!("{field}: adding a rule for {name}"))?;
    }
    Ok(())
}

/// An `args` entry as libseccomp compares it.
fn condition(a: &LinuxSeccompArg) -> ScmpArgCompare {
    let op = match a.op() {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        // The spec's value is the mask and valueTwo the expected masked value.
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(a.value()),
    };
    let datum = match a.op() {
        LinuxSeccompOperator::ScmpCmpMaskedEq => a.value_two().unwrap_or(0),
        _ => a.value(),
    };
    ScmpArgCompare::new(a.index() as u32, op, datum)
}

/// Whether `name` is allowed whatever its arguments: by the default action and no rule of
/// another action, or by an unconditional allow rule.
fn allows(s: &oci_spec::runtime::LinuxSeccomp, default: ScmpAction, name: &str) -> bool {
    let passes = |a: LinuxSeccompAction| {
        matches!(
            a,
            LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
        )
    };
    let rules: Vec<_> = s
        .syscalls()
        .iter()
        .flatten()
        .filter(|r| r.names().iter().any(|n| n == name))
        .collect();
    if matches!(default, ScmpAction::Allow | ScmpAction::Log) {
        rules.iter().all(|r| passes(r.action()))
    } else {
        rules
            .iter()
            .any(|r| passes(r.action()) && r.args().as_ref().map_or(true, |a| a.is_empty()))
            && rules.iter().all(|r| passes(r.action()))
    }
}

fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>> {
    let mut mem =
        std::fs::File::from(sys::memfd("hull-seccomp").context("memfd for the seccomp program")?);
    ctx.export_bpf(&mem)
        .context("linux.seccomp: exporting the BPF program")?;
    mem.rewind()?;
    let mut bpf = Vec::new();
    mem.read_to_end(&mut bpf)?;
    Ok(bpf)
}

/// Every action `action` maps (its match is exhaustive: all of the spec's).
pub const ACTIONS: [LinuxSeccompAction; 9] = [
    LinuxSeccompAction::ScmpActAllow,
    LinuxSeccompAction::ScmpActErrno,
    LinuxSeccompAction::ScmpActKill,
    LinuxSeccompAction::ScmpActKillProcess,
    LinuxSeccompAction::ScmpActKillThread,
    LinuxSeccompAction::ScmpActLog,
    LinuxSeccompAction::ScmpActNotify,
    LinuxSeccompAction::ScmpActTrace,
    LinuxSeccompAction::ScmpActTrap,
];

/// Every comparison operator the rule compiler maps (its match is exhaustive).
pub const OPERATORS: [LinuxSeccompOperator; 7] = [
    LinuxSeccompOperator::ScmpCmpEq,
    LinuxSeccompOperator::ScmpCmpGe,
    LinuxSeccompOperator::ScmpCmpGt,
    LinuxSeccompOperator::ScmpCmpLe,
    LinuxSeccompOperator::ScmpCmpLt,
    LinuxSeccompOperator::ScmpCmpMaskedEq,
    LinuxSeccompOperator::ScmpCmpNe,
];

/// The architectures `features` names: the ones containers here run (x86, its 32-bit and x32
/// ABIs) and aarch64/arm. libseccomp knows each (a unit test checks); any name it knows works.
pub const ARCHS: [&str; 5] = [
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
];

fn action(a: LinuxSeccompAction, errno: Option<u32>, field: &str) -> Result<ScmpAction> {
    let errno = errno.unwrap_or(libc::EPERM as u32);
    Ok(match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(
            i32::try_from(errno).with_context(|| format!("{field}: errnoRet {errno}"))?,
        ),
        LinuxSeccompAction::ScmpActTrace => {
            ScmpAction::Trace(u16::try_from(errno).unwrap_or(u16::MAX))
        }
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
    })
}

/// In the child: install the program; returns the listener fd when it has one.
pub fn load(p: &SeccompProgram) -> Result<Option<OwnedFd>> {
    sys::seccomp_load(&p.bpf, p.flags).context("loading the seccomp filter (linux.seccomp)")
}

/// In the parent: hand the listener fd to `listenerPath` as the runtime-spec says: one message
/// holding the container process state as JSON, the fd in SCM_RIGHTS, named "seccompFd".
pub fn send_listener(listener: &Listener, fd: OwnedFd, pid: i32, state: State) -> Result<()> {
    let path = &listener.path;
    let sock = UnixStream::connect(path).with_context(|| {
        format!(
            "linux.seccomp.listenerPath: connecting to {}",
            path.display()
        )
    })?;
    let mut msg = ContainerProcessState::default();
    msg.set_version(state.version().clone());
    msg.set_fds(vec!["seccompFd".to_owned()]);
    msg.set_pid(pid);
    msg.set_metadata(listener.metadata.clone());
    msg.set_state(state);
    let json = serde_json::to_vec(&msg)?;
    let fds = [fd.as_raw_fd()];
    sendmsg::<UnixAddr>(
        sock.as_raw_fd(),
        &[IoSlice::new(&json)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .with_context(|| {
        format!(
            "linux.seccomp.listenerPath: sending the listener fd to {}",
            path.display()
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_features_lists_are_what_the_compiler_takes() {
        for a in ACTIONS {
            assert!(action(a, Some(1), "t").is_ok(), "{a:?}");
        }
        for arch in ARCHS {
            assert!(ScmpArch::from_str(arch).is_ok(), "{arch}");
        }
    }

    fn seccomp(json: &str) -> SeccompPlan {
        SeccompPlan {
            spec: serde_json::from_str(json).unwrap(),
            wait_killable_recv: false,
        }
    }

    #[test]
    fn compiles_a_profile_and_skips_unknown_syscalls() {
        let p = compile(&seccomp(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
                "flags":["SECCOMP_FILTER_FLAG_LOG"],
                "syscalls":[{"names":["mkdir","no_such_syscall_xyz"],"action":"SCMP_ACT_ERRNO","errnoRet":38},
                            {"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":255,"valueTwo":8,"op":"SCMP_CMP_MASKED_EQ"}]},
                            {"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}"#,
        ))
        .unwrap();
        assert!(
            !p.bpf.is_empty() && p.bpf.len() % 8 == 0,
            "whole sock_filter entries"
        );
        assert_eq!(p.flags, libc::SECCOMP_FILTER_FLAG_LOG as u32);
    }

    #[test]
    fn notify_rules_compile_with_the_listener_flag() {
        let p = compile(&seccomp(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/l","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        ))
        .unwrap();
        assert!(p.listener.is_some());
        assert_eq!(p.flags, libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32);
    }

    /// What the trampoline needs, known of the filter: (execveat, the waiting one's syscalls).
    #[test]
    fn knows_whether_the_trampoline_gets_through() {
        for (json, execveat, waiting) in [
            (r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#, true, true),
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["execveat"],"action":"SCMP_ACT_ERRNO"}]}"#,
                false,
                true,
            ),
            (r#"{"defaultAction":"SCMP_ACT_ERRNO"}"#, false, false),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["execve","execveat"],"action":"SCMP_ACT_ALLOW"}]}"#,
                true,
                false,
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["execveat"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
                false,
                false,
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["prctl"],"action":"SCMP_ACT_ERRNO"}]}"#,
                true,
                false,
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","close","prctl","execveat"],"action":"SCMP_ACT_ALLOW"}]}"#,
                true,
                true,
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","close","execveat"],"action":"SCMP_ACT_ALLOW"}]}"#,
                true,
                false,
            ),
        ] {
            let p = compile(&seccomp(json)).unwrap();
            assert_eq!(
                (p.allows_execveat, p.allows_waiting),
                (execveat, waiting),
                "{json}"
            );
        }
    }
}
