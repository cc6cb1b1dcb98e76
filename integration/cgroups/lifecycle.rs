//! What the cgroup gives the running container's lifecycle: pause and resume (the freezer),
//! ps, kill --all, and `events` (stats, OOM).

use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;

#[test]
fn pause_resume_ps_and_exec_into_paused() {
    let env = Env::new("cgpause");
    let id = env.id("a");
    env.run_detached(&id, &config(&["sh", "-c", "sleep 60 & sleep 60"]));
    let ps: Vec<i64> =
        serde_json::from_slice(&env.hull(&["ps", "--format", "json", &id]).stdout).unwrap();
    assert_eq!(ps.len(), 2, "{ps:?}");
    assert!(ps.contains(&env.pid(&id)));
    assert!(stdout(&env.hull(&["ps", &id])).contains("sleep 60"));
    // runc's form: the host's ps with the given options, only the container's rows.
    let table = stdout(&env.hull(&["ps", &id, "-o", "pid,args"]));
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(
        rows[0].contains("PID") && rows[1..].iter().all(|r| r.contains("sleep 60")),
        "{table}"
    );
    assert_fails(
        &env.hull(&["ps", "--format", "json", &id, "-ef"]),
        "--format json",
    );

    env.hull_ok(&["pause", &id]);
    assert_eq!(env.status(&id), "paused");
    assert_fails(&env.hull(&["pause", &id]), "paused");
    assert_fails(&env.hull(&["exec", &id, "true"]), "paused");
    env.hull_ok(&["resume", &id]);
    assert_eq!(env.status(&id), "running");
    assert_fails(&env.hull(&["resume", &id]), "running");
    env.hull_ok(&["exec", &id, "true"]);

    // delete --force of a paused container still ends everything.
    env.hull_ok(&["pause", &id]);
    env.hull_ok(&["delete", "--force", &id]);
    assert!(!cgroup_dir("freezer", &format!("{CGROUP_BASE}/{id}")).exists());
}

#[test]
fn kill_all_reaches_processes_of_a_shared_pid_namespace() {
    let env = Env::new("cgkillall");
    let id = env.id("a");
    let mut c = config(&["sh", "-c", "sleep 61 & exec sleep 62"]);
    c["linux"]["namespaces"] = json!([{"type": "mount"}]);
    c.as_object_mut().unwrap().remove("hostname");
    env.run_detached(&id, &c);
    // Both sleeps, once the shell has forked the first (wait for it, not for a time).
    let mut pids: Vec<i64> = Vec::new();
    assert!(
        poll_until(300, 20, || {
            pids =
                serde_json::from_slice(&env.hull(&["ps", "--format", "json", &id]).stdout).unwrap();
            pids.len() == 2
        }),
        "{pids:?}"
    );
    env.hull_ok(&["kill", "--all", &id, "KILL"]);
    wait_status(&env, &id, "stopped");
    std::thread::sleep(std::time::Duration::from_millis(100));
    for pid in pids {
        let alive =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "));
        assert!(!alive, "pid {pid} survived kill --all");
    }
}

#[test]
fn events_stats_report_usage() {
    let env = Env::new("cgstats");
    let id = env.id("a");
    let mut c = config(&["sh", "-c", "sleep 60 & sleep 60"]);
    c["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "pids": {"limit": 40}});
    env.run_detached(&id, &c);
    // Once the shell has forked its first sleep and exec'd the second: two processes.
    let ps = || -> Vec<i64> {
        serde_json::from_slice(&env.hull(&["ps", "--format", "json", &id]).stdout).unwrap()
    };
    assert!(poll_until(300, 20, || ps().len() == 2), "{:?}", ps());
    let out = env.hull(&["events", "--stats", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ps = ps();
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], id.as_str());
    let data = &v["data"];
    assert_eq!(data["pids"]["current"], ps.len(), "{data}");
    assert_eq!(data["pids"]["limit"], 40);
    assert_eq!(data["memory"]["usage"]["limit"], 67108864);
    assert!(data["memory"]["usage"]["usage"].as_u64().unwrap() > 0);
    assert!(data["cpu"]["usage"]["total"].as_u64().is_some());
    // Without --stats: a stats line every --interval (a Go duration, as runc takes it) until
    // the container is gone.
    let lines = env.base.join("events.out");
    let mut events = env
        .command(&["events", "--interval", "500ms", &id])
        .stdout(std::fs::File::create(&lines).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the lines themselves (never count them against the clock: a loaded machine
    // or an emulated guest stretches every second).
    let stats = || {
        std::fs::read_to_string(&lines)
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"type\":\"stats\""))
            .count()
    };
    let repeated = poll_until(600, 100, || stats() >= 2);
    env.hull_ok(&["delete", "--force", &id]);
    let ended = poll_until(300, 100, || events.try_wait().unwrap().is_some());
    if !ended {
        let _ = events.kill();
    }
    let _ = events.wait();
    let text = std::fs::read_to_string(&lines).unwrap();
    assert!(repeated, "a stats line every --interval: {text}");
    assert!(ended, "events went on after the container was deleted");
}

/// A process over the memory limit is OOM-killed, and `events` reports it as runc does.
#[test]
fn oom_kill_is_reported_by_events() {
    let env = Env::new("cgoom");
    let id = env.id("a");
    let mut c = config(&["sh", "-c", "sleep 0.5; tail /dev/zero; sleep 0.5"]);
    let limit = 33554432;
    c["linux"]["resources"] = json!({"memory": {"limit": limit}});
    // No swap to escape to, where the host can say so.
    let memsw = Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists();
    if is_v2() || memsw {
        c["linux"]["resources"]["memory"]["swap"] = json!(limit);
    }
    env.run_detached(&id, &c);
    let events = env
        .command(&["events", "--interval", "60", &id])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&events.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "oom" && l["id"] == id.as_str()),
        "{text}"
    );
    assert_eq!(lines[0]["type"], "stats", "a stats line first: {text}");
}

/// Pause really freezes: a counter the container writes stops while paused and goes on after
/// resume (read from the host through /proc/PID/root, since exec into a paused container waits).
#[test]
fn pause_stops_a_counter_and_resume_restarts_it() {
    let env = Env::new("cgcounter");
    let id = env.id("a");
    env.run_detached(
        &id,
        &config(&[
            "sh",
            "-c",
            "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.02; done",
        ]),
    );
    let pid = env.pid(&id);
    let counter = PathBuf::from(format!("/proc/{pid}/root/tmp/n"));
    let text = || std::fs::read_to_string(&counter).unwrap_or_default();
    let value = || -> u64 { text().trim().parse().unwrap_or(0) };
    // Wait for it to count (never for a time: an emulated guest is slow to start a shell).
    assert!(
        poll_until(300, 50, || value() > 0),
        "the counter never started"
    );
    env.hull_ok(&["pause", &id]);
    // Frozen maybe between the shell's truncate and its write: then the file stays empty.
    let frozen = text();
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(text(), frozen, "the counter moved while paused");
    let last = frozen.trim().parse().unwrap_or(0);
    env.hull_ok(&["resume", &id]);
    assert!(
        poll_until(300, 100, || value() > last),
        "the counter did not go on after resume"
    );
    env.hull_ok(&["delete", "--force", &id]);
}

/// OOM with the cgroupfs driver (v1 here, v2 in the guest), 20 times in a row.
#[test]
fn oom_is_reported_every_time_with_cgroupfs() {
    oom_is_reported_every_time("cgoom20", &[], |id| format!("{CGROUP_BASE}/{id}"), 20);
}
