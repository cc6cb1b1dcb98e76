//! `--systemd-cgroup`: the container's cgroup is a transient systemd scope. The host has no
//! systemd, so these run in the cgroup v2 guest where `hack/test-v2` starts one (as pid 1 of
//! its own pid, mount and cgroup namespaces) and runs them with HULL_TEST_SYSTEMD=1: there a
//! missing systemd is a failure, not a skip. On the host only the clear refusal is checked.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::common::*;

/// Whether systemd runs here; with HULL_TEST_SYSTEMD=1 it must.
fn have_systemd() -> bool {
    let running = Path::new("/run/systemd/private").exists();
    if std::env::var_os("HULL_TEST_SYSTEMD").is_some() {
        assert!(
            running,
            "HULL_TEST_SYSTEMD=1 but systemd's /run/systemd/private is missing"
        );
    } else if !running {
        eprintln!("SKIPPED: no systemd here (hack/test-v2 runs these under systemd in the guest)");
    }
    running
}

/// `systemctl show -p PROPERTY --value UNIT`.
fn unit_property(unit: &str, property: &str) -> String {
    let out = Command::new("systemctl")
        .args(["show", "-p", property, "--value", unit])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `hull GLOBAL... COMMAND -b BUNDLE ID` fails naming `needle` and leaves no state dir.
fn assert_refused(
    env: &Env,
    global: &[&str],
    command: &str,
    bundle: &Path,
    id: &str,
    needle: &str,
) {
    let mut args = global.to_vec();
    args.extend_from_slice(&[command, "-b", bundle.to_str().unwrap(), id]);
    assert_fails(&env.hull(&args), needle);
    assert!(!env.state_dir(id).exists(), "state dir left behind");
}

#[test]
fn without_systemd_the_error_says_so_and_nothing_is_left() {
    if Path::new("/run/systemd/private").exists() {
        return;
    }
    let env = Env::new("sdnone");
    let id = env.id("a");
    let mut c = config(&["true"]);
    c["linux"]["cgroupsPath"] = json!(format!("hulltest.slice:hull:{id}"));
    let bundle = env.bundle(&id, &c);
    let systemd = &["--systemd-cgroup"][..];
    assert_refused(&env, systemd, "run", &bundle, &id, "is systemd running?");
    // crun's spelling, as podman passes it.
    let crun = &["--cgroup-manager", "systemd"][..];
    assert_refused(&env, crun, "run", &bundle, &id, "is systemd running?");
    // A cgroupfs path with --systemd-cgroup names the field and the form wanted (runc's rule).
    c["linux"]["cgroupsPath"] = json!("/hull-test/x");
    let bundle = env.bundle(&id, &c);
    let needle = "linux.cgroupsPath: expected \"slice:prefix:name\"";
    assert_refused(&env, systemd, "run", &bundle, &id, needle);
    // A systemd cgroupsPath without --systemd-cgroup names the field.
    let mut c = config(&["true"]);
    c["linux"]["cgroupsPath"] = json!("system.slice:hull:x");
    let id = format!("{id}-b");
    let bundle = env.bundle(&id, &c);
    assert_refused(&env, &[], "run", &bundle, &id, "linux.cgroupsPath");
}

#[test]
fn the_container_runs_in_a_scope_with_its_limits_and_update_pause_exec_delete_work() {
    if !have_systemd() {
        return;
    }
    let env = Env::new("sdscope");
    let id = env.id("a");
    let unit = format!("hull-{id}.scope");
    let dir = Path::new("/sys/fs/cgroup/hulltest.slice").join(&unit);
    let mut c = config(&[
        "sh",
        "-c",
        "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done",
    ]);
    // No cgroup namespace: /proc/self/cgroup inside shows the scope's full path.
    c["linux"]["namespaces"] =
        json!([{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]);
    c["linux"]["cgroupsPath"] = json!(format!("hulltest.slice:hull:{id}"));
    c["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "pids": {"limit": 40}, "cpu": {"quota": 50000, "period": 100000}});
    let bundle = env.bundle(&id, &c);
    env.hull_ok(&[
        "--systemd-cgroup",
        "run",
        "-d",
        "-b",
        bundle.to_str().unwrap(),
        &id,
    ]);
    // systemd made the scope, holds the limits as unit properties, and delegated it.
    assert_eq!(unit_property(&unit, "ActiveState"), "active");
    assert_eq!(unit_property(&unit, "Slice"), "hulltest.slice");
    assert_eq!(unit_property(&unit, "Delegate"), "yes");
    assert_eq!(unit_property(&unit, "MemoryMax"), "67108864");
    assert_eq!(unit_property(&unit, "TasksMax"), "40");
    assert_eq!(unit_property(&unit, "CPUQuotaPerSecUSec"), "500ms");
    // The cgroup files, and the container inside (init and an exec'd process).
    assert_eq!(read_file(&dir, "memory.max"), "67108864");
    assert_eq!(read_file(&dir, "pids.max"), "40");
    assert_eq!(read_file(&dir, "cpu.max"), "50000 100000");
    let pid = env.pid(&id).to_string();
    assert!(read_file(&dir, "cgroup.procs").lines().any(|l| l == pid));
    let out = env.hull(&["exec", &id, "cat", "/proc/self/cgroup"]);
    assert_eq!(
        stdout(&out),
        format!("0::/hulltest.slice/{unit}\n"),
        "{}",
        stderr(&out)
    );
    // update goes to systemd and to the files.
    let out = env.hull(&["update", "--memory", "134217728", "--pids-limit", "60", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(unit_property(&unit, "MemoryMax"), "134217728");
    assert_eq!(read_file(&dir, "memory.max"), "134217728");
    assert_eq!(read_file(&dir, "pids.max"), "60");
    // pause freezes (the counter stops), resume continues.
    env.hull_ok(&["pause", &id]);
    assert_eq!(env.status(&id), "paused");
    assert_eq!(read_file(&dir, "cgroup.freeze"), "1");
    env.hull_ok(&["resume", &id]);
    assert_eq!(env.status(&id), "running");
    // delete: the scope and its cgroup are gone.
    env.hull_ok(&["delete", "--force", &id]);
    assert!(
        poll_until(100, 20, || !dir.exists()),
        "{} left behind",
        dir.display()
    );
    assert_eq!(unit_property(&unit, "LoadState"), "not-found");
}

#[test]
fn a_refused_limit_fails_create_and_leaves_no_scope() {
    if !have_systemd() {
        return;
    }
    let env = Env::new("sdbad");
    let id = env.id("a");
    let unit = format!("hull-{id}.scope");
    let mut c = config(&["true"]);
    c["linux"]["resources"] = json!({"cpu": {"cpus": "999"}});
    let bundle = env.bundle(&id, &c);
    // No cgroupsPath: system.slice:hull:ID.
    let mut c2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    c2["linux"].as_object_mut().unwrap().remove("cgroupsPath");
    std::fs::write(bundle.join("config.json"), c2.to_string()).unwrap();
    let needle = "linux.resources.cpu.cpus";
    assert_refused(&env, &["--systemd-cgroup"], "create", &bundle, &id, needle);
    assert!(
        !Path::new("/sys/fs/cgroup/system.slice")
            .join(&unit)
            .exists(),
        "cgroup left behind"
    );
    assert_eq!(unit_property(&unit, "LoadState"), "not-found");
}

/// OOM with the systemd driver (in the guest, under systemd), 20 times in a row.
#[test]
fn oom_is_reported_every_time_with_systemd() {
    if !have_systemd() {
        return;
    }
    oom_is_reported_every_time(
        "sdoom20",
        &["--systemd-cgroup"],
        |id| format!("hulltest.slice:hull:{id}"),
        20,
    );
}
