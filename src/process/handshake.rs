//! The order of the child's messages, derived from what the child was asked to do: the parent
//! accepts each step only where it is due. A message out of order, or one nothing called for
//! (id maps without a new user namespace, a seccomp listener without SCMP_ACT_NOTIFY), is an
//! error instead of being acted on: a child that has been tampered with gets nothing.
//! Log lines and errors may come at any time; they are not steps.

use anyhow::{bail, Result};

use crate::plan::{NamespacePlan, NsKind, Plan, ProcessPlan};

/// A step of the handshake, in the order the child takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// It made a user namespace: the parent writes the id maps.
    IdMaps,
    /// An intermediate process forked the real child into a pid namespace: its pid.
    InitPid,
    /// Init, in a new user namespace, asks for its bind sources (opened by the parent).
    MountSources,
    /// Init's mounts are made: the parent runs prestart and createRuntime hooks.
    Hooks,
    /// In a user namespace: the parent sets the process's rlimits.
    Rlimits,
    /// Its seccomp filter is loaded: the listener for `linux.seccomp.listenerPath`.
    SeccompListener,
    /// Init is ready and waits for `start`.
    Ready,
}

/// The steps still due.
#[derive(Debug, Clone)]
pub struct Handshake {
    due: Vec<Step>,
    next: usize,
}

impl Handshake {
    /// A container's init, for `plan`; `listener`: its compiled filter has SCMP_ACT_NOTIFY.
    pub fn for_init(plan: &Plan, listener: bool) -> Self {
        let ns = &plan.namespaces;
        let mut due = Vec::new();
        if ns.creates(NsKind::User) {
            due.push(Step::IdMaps);
        }
        if ns.needs_intermediate() {
            due.push(Step::InitPid);
        }
        if !plan.host_bind_sources().is_empty() {
            due.push(Step::MountSources);
        }
        if plan.hooks.init_needs_state() {
            due.push(Step::Hooks);
        }
        if plan
            .process
            .as_ref()
            .is_some_and(|p| p.rlimits_by_parent(ns))
        {
            due.push(Step::Rlimits);
        }
        if listener {
            due.push(Step::SeccompListener);
        }
        due.push(Step::Ready);
        Handshake { due, next: 0 }
    }

    /// A process exec'd into a container whose namespaces are `joined`: it loads its filter
    /// (and may send the listener) before it forks into the pid namespace. It ends with
    /// execve, which closes the channel: no step.
    pub fn for_exec(joined: &NamespacePlan, process: &ProcessPlan, listener: bool) -> Self {
        let mut due = Vec::new();
        if process.rlimits_by_parent(joined) {
            due.push(Step::Rlimits);
        }
        if listener {
            due.push(Step::SeccompListener);
        }
        if joined.needs_intermediate() {
            due.push(Step::InitPid);
        }
        Handshake { due, next: 0 }
    }

    /// Take `step` if it is the one due now.
    pub fn accept(&mut self, step: Step) -> Result<()> {
        match self.due.get(self.next) {
            Some(due) if *due == step => {
                self.next += 1;
                Ok(())
            }
            Some(due) => bail!("the child sent {step:?} where {due:?} was due"),
            None => bail!("the child sent {step:?} after its last step"),
        }
    }

    /// Whether every step is done.
    pub fn done(&self) -> bool {
        self.next == self.due.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid config with these top-level fields (and `linux`) added.
    fn plan(fields: &str) -> Plan {
        crate::plan::tests::plan(&format!(
            r#"{{"ociVersion":"1.2.1","root":{{"path":"rootfs"}},
                "process":{{"args":["/bin/true"],"cwd":"/","user":{{"uid":0,"gid":0}}}},{}"#,
            &fields[1..]
        ))
        .unwrap()
    }

    fn run(h: &mut Handshake, steps: &[Step]) -> Result<()> {
        steps.iter().try_for_each(|s| h.accept(*s))
    }

    /// Whether the plan's seccomp has a listener (in hull, the compiled filter says).
    const LISTENER: bool = false;

    const ALL_NS: &str = r#""namespaces":[{"type":"pid"},{"type":"mount"}]"#;

    #[test]
    fn a_plain_init_only_gets_ready() {
        let p = plan(&format!(r#"{{"linux":{{{ALL_NS}}}}}"#));
        let mut h = Handshake::for_init(&p, LISTENER);
        assert!(!h.done());
        run(&mut h, &[Step::Ready]).unwrap();
        assert!(h.done());
        assert!(h.accept(Step::Ready).is_err(), "twice");
    }

    #[test]
    fn steps_the_plan_does_not_call_for_are_refused() {
        let p = plan(&format!(r#"{{"linux":{{{ALL_NS}}}}}"#));
        for step in [
            Step::IdMaps,
            Step::InitPid,
            Step::Hooks,
            Step::SeccompListener,
        ] {
            let err = Handshake::for_init(&p, LISTENER).accept(step).unwrap_err();
            assert!(
                format!("{err}").contains("Ready was due"),
                "{step:?}: {err}"
            );
        }
    }

    /// An rlimit for a process (the parent sets it in a user namespace).
    fn with_rlimit(process: &mut ProcessPlan) {
        process.rlimits.push(crate::plan::Rlimit {
            resource: nix::sys::resource::Resource::RLIMIT_NOFILE,
            soft: 1024,
            hard: 1024,
        });
    }

    #[test]
    fn every_step_in_its_order_and_no_other() {
        let mut p = plan(
            r#"{"mounts":[{"destination":"/data","type":"bind","source":"/srv","options":["rbind"]}],
               "linux":{"namespaces":[{"type":"user"},{"type":"mount"},{"type":"pid","path":"/proc/1/ns/pid"}],
                "uidMappings":[{"containerID":0,"hostID":1000,"size":1}],
                "gidMappings":[{"containerID":0,"hostID":1000,"size":1}],
                "seccomp":{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock",
                           "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}},
               "hooks":{"createRuntime":[{"path":"/bin/true"}]}}"#,
        );
        with_rlimit(p.process.as_mut().unwrap());
        let order = [
            Step::IdMaps,
            Step::InitPid,
            Step::MountSources,
            Step::Hooks,
            Step::Rlimits,
            Step::SeccompListener,
            Step::Ready,
        ];
        run(&mut Handshake::for_init(&p, true), &order).unwrap();
        // Any two swapped: refused at the first out of place.
        for i in 0..order.len() - 1 {
            let mut swapped = order;
            swapped.swap(i, i + 1);
            assert!(
                run(&mut Handshake::for_init(&p, true), &swapped).is_err(),
                "{swapped:?}"
            );
        }
        // Ready before the rest; a listener the compiled filter did not call for.
        assert!(Handshake::for_init(&p, true).accept(Step::Ready).is_err());
        let mut h = Handshake::for_init(&p, false);
        run(&mut h, &order[..3]).unwrap();
        assert!(h.accept(Step::SeccompListener).is_err());
    }

    #[test]
    fn exec_asks_for_its_rlimits_sends_its_listener_then_its_pid() {
        let join = |kind, name: &str| crate::plan::Join {
            kind,
            path: format!("/proc/1/ns/{name}").into(),
        };
        let joined = NamespacePlan {
            join: vec![join(NsKind::Pid, "pid")],
            ..Default::default()
        };
        let mut process = plan(&format!(r#"{{"linux":{{{ALL_NS}}}}}"#))
            .process
            .unwrap();
        let mut h = Handshake::for_exec(&joined, &process, true);
        run(&mut h, &[Step::SeccompListener, Step::InitPid]).unwrap();
        assert!(h.done());
        let mut h = Handshake::for_exec(&joined, &process, false);
        assert!(h.accept(Step::SeccompListener).is_err());
        assert!(h.accept(Step::Ready).is_err(), "exec is never Ready");
        assert!(Handshake::for_exec(&NamespacePlan::default(), &process, false).done());
        // rlimits: set by the parent only in the container's user namespace.
        with_rlimit(&mut process);
        assert_eq!(
            Handshake::for_exec(&joined, &process, false).due,
            [Step::InitPid]
        );
        let in_userns = NamespacePlan {
            join: vec![join(NsKind::User, "user"), join(NsKind::Pid, "pid")],
            ..Default::default()
        };
        let mut h = Handshake::for_exec(&in_userns, &process, true);
        run(
            &mut h,
            &[Step::Rlimits, Step::SeccompListener, Step::InitPid],
        )
        .unwrap();
        assert!(h.done());
    }
}
