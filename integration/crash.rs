//! Crash safety: hull SIGKILLed at each phase boundary (`HULL_CRASH_AT`, debug builds), then
//! `state`/`list` still answer and `delete --force` removes every trace: state dir, cgroup,
//! processes, mounts.

use std::process::Stdio;

use crate::common::*;

fn hull_crashing_at(env: &Env, phase: &str, args: &[&str]) -> std::process::ExitStatus {
    env.command(args)
        .env("HULL_CRASH_AT", phase)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
}

/// Crash hull at `phase`, then check what is left and that `delete --force` removes it.
fn crash_and_clean(phase: &str) {
    assert!(
        hull::crash::PHASES.contains(&phase),
        "{phase} is a crash point"
    );
    if !cfg!(debug_assertions) {
        return; // crash points exist in debug builds only (hack/test builds those)
    }
    let env = Env::new("crash");
    {
        let id = env.id(&phase.replace(':', "-"));
        let bundle = env.bundle(&id, &config(&["sleep", "30"]));
        let b = bundle.to_str().unwrap();
        let status = match phase.split(':').next().unwrap() {
            "create" => hull_crashing_at(&env, phase, &["create", "-b", b, &id]),
            other => {
                env.hull_ok(&["create", "-b", b, &id]);
                match other {
                    "start" => hull_crashing_at(&env, phase, &["start", &id]),
                    "exec" => {
                        env.hull_ok(&["start", &id]);
                        hull_crashing_at(&env, phase, &["exec", &id, "sleep", "30"])
                    }
                    _ => hull_crashing_at(&env, phase, &["delete", "--force", &id]),
                }
            }
        };
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "{phase}: hull did not crash there"
        );
        // The survivors of the crash still get sensible answers...
        let list = env.hull(&["list", "--format", "json"]);
        assert!(list.status.success(), "{phase}: list: {}", stderr(&list));
        let state = env.hull(&["state", &id]);
        assert!(
            state.status.success() || stderr(&state).contains("does not exist"),
            "{phase}: {}",
            stderr(&state)
        );
        // ...and delete --force leaves nothing.
        let out = env.hull(&["delete", "--force", &id]);
        assert!(
            out.status.success(),
            "{phase}: delete --force: {}",
            stderr(&out)
        );
        assert!(!env.state_dir(&id).exists(), "{phase}: state dir left");
        let cgroup = format!("/sys/fs/cgroup/pids{CGROUP_BASE}/{id}");
        assert!(
            !std::path::Path::new(&cgroup).exists(),
            "{phase}: cgroup left"
        );
        assert!(
            poll_until(100, 20, || !process_with(&bundle.display().to_string())),
            "{phase}: a hull process left"
        );
        // A killed init the crash orphaned may wait as a zombie for the machine's pid 1 to
        // reap it (cgroup2 lists a zombie in its cgroup until then): not a running process.
        let sleepers = std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            let zombie = std::fs::read_to_string(e.path().join("stat"))
                .is_ok_and(|s| s.rsplit(") ").next().is_some_and(|r| r.starts_with('Z')));
            !zombie
                && std::fs::read_to_string(e.path().join("cgroup"))
                    .is_ok_and(|c| c.contains(&format!("{CGROUP_BASE}/{id}")))
        });
        assert!(!sleepers, "{phase}: a container process left");
    }
}

macro_rules! crash_tests {
    ($($name:ident => $phase:literal),* $(,)?) => {
        $(#[test] fn $name() { crash_and_clean($phase) })*
        /// Every crash point has its test.
        #[test]
        fn every_phase_has_a_test() {
            let tested = [$($phase),*];
            assert_eq!(tested.len(), hull::crash::PHASES.len());
            assert!(hull::crash::PHASES.iter().all(|p| tested.contains(p)));
        }
    };
}

crash_tests! {
    crash_create_state_dir => "create:state-dir",
    crash_create_cgroup => "create:cgroup",
    crash_create_clone => "create:clone",
    crash_create_ready => "create:ready",
    crash_create_record => "create:record",
    crash_start_signalled => "start:signalled",
    crash_exec_forked => "exec:forked",
    crash_delete_loaded => "delete:loaded",
    crash_delete_killed => "delete:killed",
    crash_delete_cleaned => "delete:cleaned",
}

/// Where no cgroup remembers the container, create notes what `delete --force` needs before
/// init exists: init itself (`--cgroup-manager disabled`) and the mounts it makes in hull's
/// namespace (no mount namespace). SIGKILLed once init waits for `start`, neither may leak.
#[test]
fn crash_without_cgroup_or_mount_namespace_leaves_nothing() {
    if !cfg!(debug_assertions) {
        return;
    }
    let env = Env::new("crashnote");
    // A private rootfs copy: the mounts under it are this test's alone.
    let rootfs_copy = env.base.join("rootfs");
    assert!(std::process::Command::new("cp")
        .args(["-a"])
        .arg(rootfs())
        .arg(&rootfs_copy)
        .status()
        .unwrap()
        .success());
    for (name, global, mount_ns) in [
        ("nomntns", &[][..], false),
        ("nocgroup", &["--cgroup-manager", "disabled"][..], true),
    ] {
        let id = env.id(name);
        let mut c = config(&["sleep", "30"]);
        c["root"]["path"] = serde_json::json!(rootfs_copy);
        if !mount_ns {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "mount");
        }
        let bundle = env.bundle(&id, &c);
        let mut args = global.to_vec();
        args.extend_from_slice(&["create", "-b", bundle.to_str().unwrap(), &id]);
        let status = hull_crashing_at(&env, "create:ready", &args);
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "{name}: hull did not crash"
        );
        let mut delete = global.to_vec();
        delete.extend_from_slice(&["delete", "--force", &id]);
        let out = env.hull(&delete);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(!env.state_dir(&id).exists(), "{name}: state dir left");
        assert!(
            poll_until(100, 20, || !process_with(&bundle.display().to_string())),
            "{name}: init left running"
        );
        assert!(
            !mount_with(&rootfs_copy.display().to_string()),
            "{name}: mounts left under the rootfs"
        );
    }
}

/// A state.json gone bad: `list` still shows the container (status unknown, the reason on
/// stderr), and `delete --force` cleans it from what create wrote before the record.
#[test]
fn a_garbage_record_is_listed_and_force_deleted() {
    let env = Env::new("garbage");
    let id = env.id("a");
    env.run_detached(&id, &config(&["sleep", "30"]));
    let pid = env.pid(&id);
    std::fs::write(env.state_dir(&id).join("state.json"), "{not json").unwrap();
    let out = env.hull(&["list", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not listed: {listed}"));
    assert_eq!(entry["status"], "unknown", "{entry}");
    assert!(stderr(&out).contains("state.json"), "{}", stderr(&out));
    assert_fails(&env.hull(&["delete", &id]), "state.json");
    let out = env.hull(&["delete", "--force", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!env.state_dir(&id).exists());
    assert!(
        poll_until(100, 20, || !std::path::Path::new(&format!("/proc/{pid}"))
            .exists()),
        "the container's process is still running"
    );
}
