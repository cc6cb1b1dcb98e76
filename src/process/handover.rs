//! When init leaves hull's code for the exec trampoline, and so whether hull must run from a
//! protected view of its binary (CVE-2019-5736, `security::exe`) to start this container;
//! the same question for an exec'd process (`exec_child_in_sight`).
//!
//! A process of the container that can see a hull process could open its `/proc/PID/exe` (the
//! host binary) and write it once hull is gone. Init is such a process unless (1) nothing but
//! init lives in its pid namespace while it runs hull's code and (2) it leaves hull's code
//! before anything else can enter: a new pid namespace, no createContainer hooks (processes
//! init starts in there), and init handing over to the trampoline as soon as the container
//! is built — `create` returns only once it has, so even a process `exec`'d into the created
//! container finds the sealed trampoline as pid 1, not hull. Then the re-exec (a second exec
//! of hull's 3.8 MB binary, ~1.5 ms) is not needed. Otherwise it is: a joined pid namespace
//! (a pod's), the host's, hooks that run in there, or init that must still wait in hull.
//!
//! What still sees init and hull's parent process then: the pid namespace hull runs in (the
//! host's, as runc's parent process is seen), where every hull process is non-dumpable and
//! holds more capabilities than anything unprivileged there.

use std::path::Path;

use anyhow::Result;

use super::pidfd_socket::PidfdSocket;
use crate::plan::{NamespacePlan, NsKind, Plan};
use crate::security::seccomp::SeccompProgram;

/// When init hands over to the trampoline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handover {
    /// As soon as it is ready: the trampoline waits for `start` in init's place.
    AtReady,
    /// After `start`: hull's code has work left then (startContainer hooks; no program to
    /// exec), or the seccomp filter would stop the trampoline from waiting (or from running).
    AtStart,
}

impl Handover {
    pub fn of(plan: &Plan, seccomp: Option<&SeccompProgram>) -> Self {
        let trampoline_can_wait = seccomp.map_or(true, |s| s.allows_execveat && s.allows_waiting);
        if trampoline_can_wait && plan.process.is_some() && plan.hooks.start_container.is_empty() {
            Handover::AtReady
        } else {
            Handover::AtStart
        }
    }
}

/// Whether a process of the container could see init while it runs hull's code.
pub fn init_in_sight(plan: &Plan, handover: Handover) -> bool {
    handover == Handover::AtStart
        || !plan.namespaces.creates(NsKind::Pid)
        || !plan.hooks.create_container.is_empty()
}

/// Whether the container could see an exec'd process while it runs hull's code. It joins the
/// namespaces from outside the container's pid namespace (joining one moves only children),
/// and the trampoline makes the fork into it: the first process the container sees is the
/// trampoline's. Not so when the container's pid namespace is hull's own (nothing to fork
/// into), or without the trampoline.
pub fn exec_child_in_sight(joined: &NamespacePlan, trampoline: bool) -> bool {
    !joined.joins(NsKind::Pid) || !trampoline
}

/// Re-exec hull from its protected binary when a container could see it (`in_sight`), then
/// connect `--pidfd-socket`: in this order, or the connection would end at that exec and the
/// caller read its end as the answer.
pub fn protect_then_connect(
    in_sight: bool,
    pidfd_socket: Option<&Path>,
) -> Result<Option<PidfdSocket>> {
    if in_sight {
        crate::security::exe::ensure_protected()?;
    }
    pidfd_socket.map(PidfdSocket::connect).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{plan, MINIMAL};
    use serde_json::json;

    /// The minimal config with these top-level fields (and linux.namespaces) replaced.
    fn plan_of(fields: serde_json::Value) -> Plan {
        let mut config: serde_json::Value = serde_json::from_str(MINIMAL).unwrap();
        for (k, v) in fields.as_object().unwrap() {
            config[k] = v.clone();
        }
        plan(&config.to_string()).unwrap()
    }

    fn seccomp(allow_wait: bool) -> SeccompProgram {
        SeccompProgram {
            bpf: vec![],
            flags: 0,
            listener: None,
            allows_execveat: true,
            allows_waiting: allow_wait,
        }
    }

    #[test]
    fn init_alone_in_a_new_pid_namespace_hands_over_at_ready_out_of_sight() {
        let plan = plan_of(json!({}));
        assert_eq!(Handover::of(&plan, None), Handover::AtReady);
        assert!(!init_in_sight(&plan, Handover::AtReady));
        assert_eq!(Handover::of(&plan, Some(&seccomp(true))), Handover::AtReady);
    }

    #[test]
    fn anything_that_keeps_init_in_hull_or_in_sight_needs_the_protected_binary() {
        let plan = plan_of(json!({}));
        let held = Handover::of(&plan, Some(&seccomp(false)));
        assert_eq!(held, Handover::AtStart);
        assert!(init_in_sight(&plan, held));
        let hooked = plan_of(json!({"hooks": {"startContainer": [{"path": "/bin/true"}]}}));
        assert_eq!(Handover::of(&hooked, None), Handover::AtStart);
        let in_there = plan_of(json!({"hooks": {"createContainer": [{"path": "/bin/true"}]}}));
        assert!(init_in_sight(&in_there, Handover::of(&in_there, None)));
        let host_pids = plan_of(json!({"linux": {"namespaces": [{"type": "mount"}]}}));
        assert!(init_in_sight(&host_pids, Handover::AtReady));
        let joined = plan_of(
            json!({"linux": {"namespaces": [{"type": "mount"}, {"type": "pid", "path": "/proc/1/ns/pid"}]}}),
        );
        assert!(init_in_sight(&joined, Handover::AtReady));
    }

    #[test]
    fn an_exec_child_is_out_of_sight_when_the_trampoline_forks_it_into_the_pid_namespace() {
        let joins = |kinds: &[NsKind]| NamespacePlan {
            join: kinds
                .iter()
                .map(|&kind| crate::plan::Join {
                    kind,
                    path: "/proc/1/ns/x".into(),
                })
                .collect(),
            ..Default::default()
        };
        assert!(!exec_child_in_sight(
            &joins(&[NsKind::Pid, NsKind::Mount]),
            true
        ));
        assert!(exec_child_in_sight(
            &joins(&[NsKind::Pid, NsKind::Mount]),
            false
        ));
        assert!(exec_child_in_sight(&joins(&[NsKind::Mount]), true));
    }
}
