//! linux.seccomp: compiled to BPF with libseccomp in the parent, once, before the fork; the
//! child only hands the program to seccomp(2) (no library work after the fork).

use std::io::{Read, Seek};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator};

use crate::sys;

/// A compiled filter, ready to load.
#[derive(Debug, Clone, PartialEq)]
pub struct SeccompProgram {
    /// Raw `struct sock_filter` array.
    pub bpf: Vec<u8>,
    /// SECCOMP_FILTER_FLAG_* for seccomp(2).
    pub flags: u32,
}

/// Compile the spec's filter. Unknown syscall names are skipped (runc's rule: a profile may
/// name syscalls this kernel or libseccomp does not know), reported with `--debug`.
pub fn compile(s: &LinuxSeccomp) -> Result<SeccompProgram> {
    let default_errno = s.default_errno_ret();
    let default = action(s.default_action(), default_errno, "linux.seccomp.defaultAction")?;
    let mut ctx = ScmpFilterContext::new(default).context("linux.seccomp: creating the filter")?;
    for arch in s.architectures().iter().flatten() {
        let name = serde_json::to_value(arch)?.as_str().unwrap_or_default().to_owned();
        let a = ScmpArch::from_str(&name).with_context(|| format!("linux.seccomp.architectures: unknown {name}"))?;
        ctx.add_arch(a).with_context(|| format!("linux.seccomp.architectures: adding {name}"))?;
    }
    for (i, rule) in s.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let act = action(rule.action(), rule.errno_ret().or(None), &format!("{field}.action"))?;
        // libseccomp refuses a rule that repeats the default action; it would be a no-op.
        if act == default {
            continue;
        }
        let conds = rule
            .args()
            .iter()
            .flatten()
            .map(|a| {
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
                if a.index() > 5 {
                    bail!("{field}.args: index {} is above 5", a.index());
                }
                Ok(ScmpArgCompare::new(a.index() as u32, op, datum))
            })
            .collect::<Result<Vec<_>>>()?;
        for name in rule.names() {
            let Ok(syscall) = ScmpSyscall::from_name(name) else {
                crate::cli::log::debug(&format!("{field}: skipping unknown syscall {name:?}"));
                continue;
            };
            let added = if conds.is_empty() {
                ctx.add_rule(act, syscall)
            } else {
                ctx.add_rule_conditional(act, syscall, &conds)
            };
            added.with_context(|| format!("{field}: adding a rule for {name}"))?;
        }
    }
    let mut flags = 0u32;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG as u32,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC as u32,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32,
            #[allow(unreachable_patterns)]
            other => bail!("linux.seccomp.flags: {other:?} is not supported"),
        };
    }
    Ok(SeccompProgram { bpf: export(&ctx)?, flags })
}

fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>> {
    let mut mem = std::fs::File::from(sys::memfd("hull-seccomp").context("memfd for the seccomp program")?);
    ctx.export_bpf(&mem).context("linux.seccomp: exporting the BPF program")?;
    mem.rewind()?;
    let mut bpf = Vec::new();
    mem.read_to_end(&mut bpf)?;
    Ok(bpf)
}

fn action(a: LinuxSeccompAction, errno: Option<u32>, field: &str) -> Result<ScmpAction> {
    let errno = errno.unwrap_or(libc::EPERM as u32);
    Ok(match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => ScmpAction::KillThread,
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(i32::try_from(errno).with_context(|| format!("{field}: errnoRet {errno}"))?),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(u16::try_from(errno).unwrap_or(u16::MAX)),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActNotify => {
            bail!("{field}: SCMP_ACT_NOTIFY (listenerPath) is not supported by this hull build yet")
        }
    })
}

/// In the child: install the program.
pub fn load(p: &SeccompProgram) -> Result<()> {
    sys::seccomp_load(&p.bpf, p.flags).context("loading the seccomp filter (linux.seccomp)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seccomp(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).unwrap()
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
        assert!(!p.bpf.is_empty() && p.bpf.len() % 8 == 0, "whole sock_filter entries");
        assert_eq!(p.flags, libc::SECCOMP_FILTER_FLAG_LOG as u32);
    }

    #[test]
    fn notify_is_refused_by_name() {
        let err = compile(&seccomp(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#)).unwrap_err();
        assert!(format!("{err:#}").contains("linux.seccomp.defaultAction"));
    }
}
