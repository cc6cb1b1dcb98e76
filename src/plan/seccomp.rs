//! linux.seccomp: the profile checked for what the kernel would refuse or what would deadlock,
//! before anything is made. `security::seccomp` compiles it to BPF (in the parent, before
//! each fork: create's and every exec's).

use std::path::PathBuf;

use anyhow::{bail, Result};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag};

/// linux.seccomp as configured; kept in the container's record for `exec`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SeccompPlan {
    #[serde(flatten)]
    pub spec: LinuxSeccomp,
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`, which oci-spec cannot hold (see spec::Extras).
    #[serde(default, rename = "hullWaitKillableRecv")]
    pub wait_killable_recv: bool,
}

/// `linux.seccomp.listenerPath` and `listenerMetadata`.
#[derive(Debug, Clone, PartialEq)]
pub struct Listener {
    pub path: PathBuf,
    pub metadata: Option<String>,
}

/// The filter flags hull sets, with their bits (`features` lists these, and
/// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, which the spec layer carries apart).
pub const FILTER_FLAGS: [(LinuxSeccompFilterFlag, u32); 3] = [
    (
        LinuxSeccompFilterFlag::SeccompFilterFlagTsync,
        libc::SECCOMP_FILTER_FLAG_TSYNC as u32,
    ),
    (
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow,
        libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32,
    ),
    (
        LinuxSeccompFilterFlag::SeccompFilterFlagLog,
        libc::SECCOMP_FILTER_FLAG_LOG as u32,
    ),
];

/// The syscall the child passes the listener fd with: notifying it would wait for a listener
/// that cannot exist yet.
const HAND_OVER_SYSCALL: &str = "sendmsg";

impl SeccompPlan {
    pub fn from_spec(spec: &LinuxSeccomp, wait_killable_recv: bool) -> Result<Self> {
        let notify = LinuxSeccompAction::ScmpActNotify;
        if spec.default_action() == notify {
            bail!("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action (the runtime's own syscalls after the filter would wait for a listener that has no fd yet)");
        }
        errno_ret(
            spec.default_action(),
            spec.default_errno_ret(),
            "linux.seccomp",
        )?;
        for (i, rule) in spec.syscalls().iter().flatten().enumerate() {
            let field = format!("linux.seccomp.syscalls[{i}]");
            errno_ret(rule.action(), rule.errno_ret(), &field)?;
            if rule.action() == notify && rule.names().iter().any(|n| n == HAND_OVER_SYSCALL) {
                bail!("{field}: SCMP_ACT_NOTIFY cannot be used for {HAND_OVER_SYSCALL} (hull passes the listener fd with it)");
            }
            if let Some(a) = rule.args().iter().flatten().find(|a| a.index() > 5) {
                bail!("{field}.args: index {} is above 5", a.index());
            }
        }
        for f in spec.flags().iter().flatten() {
            if !FILTER_FLAGS.iter().any(|(known, _)| known == f) {
                bail!("linux.seccomp.flags: {f:?} is not supported");
            }
        }
        let plan = SeccompPlan {
            spec: spec.clone(),
            wait_killable_recv,
        };
        let notifies = plan.notifies();
        match spec.listener_path() {
            None if notifies => {
                bail!("linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY")
            }
            Some(path) if notifies && !path.is_absolute() => bail!(
                "linux.seccomp.listenerPath: {} must be an absolute path",
                path.display()
            ),
            _ => {}
        }
        if wait_killable_recv && !notifies {
            bail!("linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a rule with SCMP_ACT_NOTIFY");
        }
        if notifies && plan.flags() & libc::SECCOMP_FILTER_FLAG_TSYNC as u32 != 0 {
            bail!("linux.seccomp.flags: SECCOMP_FILTER_FLAG_TSYNC cannot be combined with SCMP_ACT_NOTIFY (the kernel refuses it)");
        }
        Ok(plan)
    }

    /// Whether a rule says SCMP_ACT_NOTIFY: then the filter has a listener.
    pub fn notifies(&self) -> bool {
        let notify = LinuxSeccompAction::ScmpActNotify;
        (self.spec.syscalls().iter().flatten()).any(|r| r.action() == notify)
    }

    /// Where the listener goes, when there is one.
    pub fn listener(&self) -> Option<Listener> {
        let path = self.spec.listener_path().as_ref()?;
        self.notifies().then(|| Listener {
            path: path.clone(),
            metadata: self.spec.listener_metadata().clone(),
        })
    }

    /// SECCOMP_FILTER_FLAG_* for seccomp(2).
    pub fn flags(&self) -> u32 {
        let mut flags = (self.spec.flags().iter().flatten())
            .filter_map(|f| FILTER_FLAGS.iter().find(|(known, _)| known == f))
            .fold(0, |bits, (_, bit)| bits | bit);
        if self.notifies() {
            flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32;
        }
        if self.wait_killable_recv {
            flags |= libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u32;
        }
        flags
    }
}

/// SCMP_ACT_ERRNO's errnoRet must be an errno (an int).
fn errno_ret(action: LinuxSeccompAction, errno: Option<u32>, field: &str) -> Result<()> {
    match errno {
        Some(e) if action == LinuxSeccompAction::ScmpActErrno && i32::try_from(e).is_err() => {
            bail!("{field}: errnoRet {e} is not an errno")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(json: &str, wait_killable_recv: bool) -> Result<SeccompPlan> {
        SeccompPlan::from_spec(&serde_json::from_str(json).unwrap(), wait_killable_recv)
    }

    fn notify(extra: &str) -> Result<SeccompPlan> {
        plan(
            &format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW",{extra}"syscalls":[{{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}}]}}"#
            ),
            false,
        )
    }

    #[test]
    fn notify_gets_a_listener_and_its_flag() {
        let p = notify(r#""listenerPath":"/run/l.sock","listenerMetadata":"m","#).unwrap();
        assert_eq!(
            p.listener(),
            Some(Listener {
                path: "/run/l.sock".into(),
                metadata: Some("m".into())
            })
        );
        assert_eq!(p.flags(), libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32);
        let p = plan(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/l"}"#,
            false,
        )
        .unwrap();
        assert_eq!((p.listener(), p.flags()), (None, 0), "no rule notifies");
    }

    #[test]
    fn a_listener_needs_an_absolute_path_and_no_tsync() {
        for (extra, field) in [
            ("", "listenerPath: required"),
            (r#""listenerPath":"l.sock","#, "must be an absolute path"),
            (
                r#""listenerPath":"/l","flags":["SECCOMP_FILTER_FLAG_TSYNC"],"#,
                "TSYNC cannot",
            ),
        ] {
            let err = format!("{:#}", notify(extra).unwrap_err());
            assert!(err.contains(field), "{err}");
        }
    }

    #[test]
    fn wait_killable_recv_needs_a_listener() {
        let with = r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/l","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#;
        let bit = libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u32;
        assert!(plan(with, true).unwrap().flags() & bit != 0);
        assert!(plan(with, false).unwrap().flags() & bit == 0);
        let err = plan(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#, true).unwrap_err();
        assert!(format!("{err:#}").contains("WAIT_KILLABLE_RECV needs"));
    }

    #[test]
    fn notify_is_refused_where_it_would_deadlock() {
        let err = plan(
            r#"{"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/l"}"#,
            false,
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("linux.seccomp.defaultAction"));
        let err = plan(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/l","syscalls":[{"names":["sendmsg"],"action":"SCMP_ACT_NOTIFY"}]}"#,
            false,
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("syscalls[0]: SCMP_ACT_NOTIFY cannot be used for sendmsg")
        );
    }

    #[test]
    fn args_flags_and_errnos_the_kernel_cannot_take_are_refused_by_field() {
        for (json, field) in [
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
                "linux.seccomp.syscalls[0].args: index 6",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":4294967295}]}"#,
                "linux.seccomp.syscalls[0]: errnoRet",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":4294967295}"#,
                "linux.seccomp: errnoRet",
            ),
        ] {
            let err = format!("{:#}", plan(json, false).unwrap_err());
            assert!(err.starts_with(field), "{err}");
        }
    }
}
