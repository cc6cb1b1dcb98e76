//! linux.resources and cgroupsPath on this host's cgroups (v1 hybrid here; v2 in the guest
//! of `shared/vm-run`), checked in the cgroup files and from inside the container; pause,
//! resume, ps, update, kill --all, and that delete removes the cgroup.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::common::*;

const V1: &str = "/sys/fs/cgroup";

fn is_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The container's directory for `controller` (v1) or its one directory (v2).
fn cgroup_dir(controller: &str, path: &str) -> PathBuf {
    if is_v2() {
        Path::new(V1).join(path.trim_start_matches('/'))
    } else {
        Path::new(V1)
            .join(controller)
            .join(path.trim_start_matches('/'))
    }
}

#[test]
fn limits_are_written_and_the_container_is_inside() {
    let env = Env::new("cglimits");
    let id = env.id("a");
    let path = format!("{CGROUP_BASE}/{id}");
    let mut c = config(&["sleep", "60"]);
    c["linux"]["resources"] = json!({
        "memory": {"limit": 67108864, "reservation": 33554432},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000},
        "pids": {"limit": 32}
    });
    env.run_detached(&id, &c);
    let pid = env.pid(&id).to_string();
    if is_v2() {
        let d = cgroup_dir("", &path);
        assert_eq!(read_file(&d, "memory.max"), "67108864");
        assert_eq!(read_file(&d, "memory.low"), "33554432");
        assert_eq!(read_file(&d, "cpu.max"), "50000 100000");
        assert_eq!(read_file(&d, "cpu.weight"), "20");
        assert_eq!(read_file(&d, "pids.max"), "32");
        assert!(read_file(&d, "cgroup.procs").lines().any(|l| l == pid));
    } else {
        assert_eq!(
            read_file(&cgroup_dir("memory", &path), "memory.limit_in_bytes"),
            "67108864"
        );
        assert_eq!(
            read_file(&cgroup_dir("memory", &path), "memory.soft_limit_in_bytes"),
            "33554432"
        );
        assert_eq!(read_file(&cgroup_dir("cpu", &path), "cpu.shares"), "512");
        assert_eq!(
            read_file(&cgroup_dir("cpu", &path), "cpu.cfs_quota_us"),
            "50000"
        );
        assert_eq!(read_file(&cgroup_dir("pids", &path), "pids.max"), "32");
        for controller in [
            "memory", "cpu", "pids", "freezer", "devices", "blkio", "cpuset",
        ] {
            let procs = read_file(&cgroup_dir(controller, &path), "cgroup.procs");
            assert!(procs.lines().any(|l| l == pid), "{controller}: {procs}");
        }
    }
    // Its own cgroup namespace is rooted at the container's cgroup.
    let out = env.hull(&["exec", &id, "cat", "/proc/self/cgroup"]);
    let text = stdout(&out);
    assert!(text.lines().all(|l| l.ends_with(":/")), "{text}");
    env.hull_ok(&["delete", "--force", &id]);
    for controller in ["memory", "cpu", "pids"] {
        assert!(
            !cgroup_dir(controller, &path).exists(),
            "{controller} cgroup left behind"
        );
    }
}

#[test]
fn pids_limit_is_enforced_inside() {
    let env = Env::new("cgpids");
    let mut c = config(&[
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo all-started",
    ]);
    c["linux"]["resources"] = json!({"pids": {"limit": 5}});
    let (code, out, err) = env.run(&env.id("a"), &c);
    assert_ne!(code, 0);
    assert!(
        err.contains("can't fork") && !out.contains("all-started"),
        "{out} {err}"
    );
}

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
fn update_changes_limits() {
    let env = Env::new("cgupdate");
    let id = env.id("a");
    // 4 MB in its /dev/shm (tmpfs pages are charged to it): usage well above the 1 MiB below.
    let mut c = config(&[
        "sh",
        "-c",
        "dd if=/dev/zero of=/dev/shm/f bs=1M count=4 2>/dev/null; sleep 60",
    ]);
    c["linux"]["resources"] = json!({"pids": {"limit": 10}});
    env.run_detached(&id, &c);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let res = env.base.join("res.json");
    std::fs::write(
        &res,
        r#"{"pids":{"limit":20},"memory":{"limit":134217728}}"#,
    )
    .unwrap();
    let out = env.hull(&["update", "--resources", res.to_str().unwrap(), &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let path = format!("{CGROUP_BASE}/{id}");
    assert_eq!(read_file(&cgroup_dir("pids", &path), "pids.max"), "20");
    let mem = if is_v2() {
        "memory.max"
    } else {
        "memory.limit_in_bytes"
    };
    assert_eq!(read_file(&cgroup_dir("memory", &path), mem), "134217728");
    std::fs::write(&res, r#"{"pids":{"limit":-9}}"#).unwrap();
    assert_fails(
        &env.hull(&["update", "--resources", res.to_str().unwrap(), &id]),
        "pids.limit",
    );
    // checkBeforeUpdate: a limit below what the container uses now is refused, unchanged.
    std::fs::write(
        &res,
        r#"{"memory":{"limit":1048576,"checkBeforeUpdate":true}}"#,
    )
    .unwrap();
    assert_fails(
        &env.hull(&["update", "--resources", res.to_str().unwrap(), &id]),
        "is below the current usage",
    );
    assert_eq!(read_file(&cgroup_dir("memory", &path), mem), "134217728");
    // runc's flags, over the fields of --resources.
    std::fs::write(
        &res,
        r#"{"pids":{"limit":30},"memory":{"limit":134217728}}"#,
    )
    .unwrap();
    let out = env.hull(&[
        "update",
        "-r",
        res.to_str().unwrap(),
        "--memory",
        "96m",
        "--cpu-quota",
        "20000",
        "--cpu-period",
        "100000",
        "--cpu-share",
        "512",
        &id,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read_file(&cgroup_dir("memory", &path), mem), "100663296");
    assert_eq!(read_file(&cgroup_dir("pids", &path), "pids.max"), "30");
    if is_v2() {
        assert_eq!(
            read_file(&cgroup_dir("cpu", &path), "cpu.max"),
            "20000 100000"
        );
    } else {
        assert_eq!(
            read_file(&cgroup_dir("cpu", &path), "cpu.cfs_quota_us"),
            "20000"
        );
        assert_eq!(read_file(&cgroup_dir("cpu", &path), "cpu.shares"), "512");
    }
    let out = env.hull(&["update", "--pids-limit", "12", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read_file(&cgroup_dir("pids", &path), "pids.max"), "12");
    assert_fails(
        &env.hull(&["update", "--memory", "lots", &id]),
        "--memory \"lots\"",
    );
    // The rest of runc's flags.
    let cpu = last_online_cpu();
    let out = env.hull(&[
        "update",
        "--memory",
        "96m",
        "--memory-reservation",
        "32m",
        "--memory-swap",
        "256m",
        "--cpuset-cpus",
        &cpu,
        "--cpuset-mems",
        "0",
        &id,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read_file(&cgroup_dir("cpuset", &path), "cpuset.cpus"), cpu);
    assert_eq!(read_file(&cgroup_dir("cpuset", &path), "cpuset.mems"), "0");
    if is_v2() {
        assert_eq!(
            read_file(&cgroup_dir("memory", &path), "memory.low"),
            "33554432"
        );
        // swap alone: 256m of memory+swap minus the 96m limit
        assert_eq!(
            read_file(&cgroup_dir("memory", &path), "memory.swap.max"),
            "167772160"
        );
    } else {
        let m = cgroup_dir("memory", &path);
        assert_eq!(read_file(&m, "memory.soft_limit_in_bytes"), "33554432");
        assert_eq!(read_file(&m, "memory.memsw.limit_in_bytes"), "268435456");
        let out = env.hull(&[
            "update",
            "--kernel-memory-tcp",
            "8m",
            "--cpu-rt-period",
            "100000",
            &id,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(read_file(&m, "memory.kmem.tcp.limit_in_bytes"), "8388608");
        assert_eq!(
            read_file(&cgroup_dir("cpu", &path), "cpu.rt_period_us"),
            "100000"
        );
    }
}

/// memory.useHierarchy: written on v1 (where this kernel keeps it on; turning it off is refused
/// by name), and ignored on v2, which is always hierarchical.
#[test]
fn memory_use_hierarchy() {
    let env = Env::new("cghier");
    let mut c = config(&["true"]);
    c["linux"]["resources"] = json!({"memory": {"useHierarchy": true}});
    let (code, _, err) = env.run(&env.id("on"), &c);
    assert_eq!(code, 0, "{err}");
    if is_v2() {
        return;
    }
    let id = env.id("off");
    c["linux"]["resources"] = json!({"memory": {"useHierarchy": false}});
    let bundle = env.bundle(&id, &c);
    let out = env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]);
    if out.status.success() {
        // An older kernel that still lets it be turned off.
        assert_eq!(
            read_file(
                &cgroup_dir("memory", &format!("{CGROUP_BASE}/{id}")),
                "memory.use_hierarchy"
            ),
            "0"
        );
    } else {
        assert_fails(&out, "linux.resources.memory.useHierarchy");
        assert!(!env.state_dir(&id).exists());
    }
}

#[test]
fn kill_all_reaches_processes_of_a_shared_pid_namespace() {
    let env = Env::new("cgkillall");
    let id = env.id("a");
    let mut c = config(&["sh", "-c", "sleep 61 & exec sleep 62"]);
    c["linux"]["namespaces"] = json!([{"type": "mount"}]);
    c.as_object_mut().unwrap().remove("hostname");
    env.run_detached(&id, &c);
    std::thread::sleep(std::time::Duration::from_millis(100));
    let pids: Vec<i64> =
        serde_json::from_slice(&env.hull(&["ps", "--format", "json", &id]).stdout).unwrap();
    assert_eq!(pids.len(), 2);
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
fn bad_resources_fail_create_cleanly() {
    let env = Env::new("cgbad");
    for (name, resources, field) in [
        (
            "mem",
            json!({"memory": {"limit": 1000}}),
            "linux.resources.memory.limit",
        ),
        (
            "cpus",
            json!({"cpu": {"cpus": "999"}}),
            "linux.resources.cpu.cpus",
        ),
        (
            "shares",
            json!({"cpu": {"shares": 1}}),
            "linux.resources.cpu.shares",
        ),
    ] {
        let id = env.id(name);
        let mut c = config(&["true"]);
        c["linux"]["resources"] = resources;
        let bundle = env.bundle(&id, &c);
        assert_fails(
            &env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]),
            field,
        );
        assert!(!env.state_dir(&id).exists());
        assert!(
            !cgroup_dir("cpuset", &format!("{CGROUP_BASE}/{id}")).exists(),
            "{name}: cgroup left behind"
        );
    }
}

#[test]
fn device_rules_deny_all_but_the_default_devices() {
    let env = Env::new("cgdevices");
    let mut c = config(&[]);
    c["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
    let out = env.sh(
        &env.id("a"),
        c,
        "echo x > /dev/null && head -c1 /dev/zero | wc -c; mknod /dev/sda-test b 8 0 && head -c1 /dev/sda-test 2>&1; true",
    );
    assert!(out.starts_with("1\n"), "default devices work: {out}");
    // v1: devices.deny; v2: the eBPF device filter. (Unfiltered, the open would fail with
    // ENXIO: there is no 8:0 disk here.)
    assert!(
        out.contains("head: /dev/sda-test: Operation not permitted"),
        "{out}"
    );
}

#[test]
fn events_stats_report_usage() {
    let env = Env::new("cgstats");
    let id = env.id("a");
    let mut c = config(&["sh", "-c", "sleep 60 & sleep 60"]);
    c["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "pids": {"limit": 40}});
    env.run_detached(&id, &c);
    std::thread::sleep(std::time::Duration::from_millis(100));
    let ps: Vec<i64> =
        serde_json::from_slice(&env.hull(&["ps", "--format", "json", &id]).stdout).unwrap();
    let out = env.hull(&["events", "--stats", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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

/// The machine's first block device (a disk, else a loop device), as (major, minor).
fn a_disk() -> Option<(i64, i64)> {
    let mut disks: Vec<_> = std::fs::read_dir("/sys/block")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    disks.sort_by_key(|d| (d.starts_with("loop"), d.clone()));
    let disk = disks
        .iter()
        .find(|d| !d.starts_with("ram") && !d.starts_with("zram"))?;
    let dev = std::fs::read_to_string(format!("/sys/block/{disk}/dev")).unwrap();
    let (major, minor) = dev.trim().split_once(':').unwrap();
    Some((major.parse().unwrap(), minor.parse().unwrap()))
}

#[test]
fn block_io_throttles_are_written() {
    let env = Env::new("cgblkio");
    let id = env.id("a");
    let path = format!("{CGROUP_BASE}/{id}");
    let Some((major, minor)) = a_disk() else {
        // The host (v1) always has a disk; hack/guest-v2 gives the v2 guest a loop device and
        // says so with HULL_TEST_DISK=1.
        assert!(
            is_v2() && std::env::var_os("HULL_TEST_DISK").is_none(),
            "no block device in /sys/block"
        );
        eprintln!("SKIPPED: no block device to throttle on this machine");
        return;
    };
    let mut c = config(&["sleep", "60"]);
    c["linux"]["resources"] = json!({"blockIO": {
        "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}],
        "throttleWriteBpsDevice": [{"major": major, "minor": minor, "rate": 2097152}],
        "throttleReadIOPSDevice": [{"major": major, "minor": minor, "rate": 300}],
        "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 200}]
    }});
    env.run_detached(&id, &c);
    let dev = format!("{major}:{minor}");
    if is_v2() {
        let max = read_file(&cgroup_dir("", &path), "io.max");
        assert_eq!(
            max,
            format!("{dev} rbps=1048576 wbps=2097152 riops=300 wiops=200")
        );
    } else {
        let d = cgroup_dir("blkio", &path);
        assert_eq!(
            read_file(&d, "blkio.throttle.read_bps_device"),
            format!("{dev} 1048576")
        );
        assert_eq!(
            read_file(&d, "blkio.throttle.write_bps_device"),
            format!("{dev} 2097152")
        );
        assert_eq!(
            read_file(&d, "blkio.throttle.read_iops_device"),
            format!("{dev} 300")
        );
        assert_eq!(
            read_file(&d, "blkio.throttle.write_iops_device"),
            format!("{dev} 200")
        );
    }
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

/// network (net_cls/net_prio) and rdma: written where the host has the controller, else a
/// clear error naming the field, and nothing left behind.
#[test]
fn network_and_rdma_limits_are_written_or_refused_by_name() {
    let env = Env::new("cgnetrdma");
    for (name, resources, field, controller, file, value) in [
        (
            "net",
            json!({"network": {"classID": 1048577}}),
            "linux.resources.network",
            "net_cls",
            "net_cls.classid",
            "1048577",
        ),
        (
            "rdma",
            json!({"rdma": {"hull_test_dev": {"hcaHandles": 2, "hcaObjects": 20}}}),
            "linux.resources.rdma.hull_test_dev",
            "rdma",
            "rdma.max",
            "",
        ),
    ] {
        let id = env.id(name);
        let mut c = config(&["sleep", "30"]);
        c["linux"]["resources"] = resources;
        let bundle = env.bundle(&id, &c);
        let out = env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]);
        let has_controller = !is_v2() && Path::new(V1).join(controller).is_dir();
        if has_controller && !value.is_empty() {
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(
                read_file(
                    &cgroup_dir(controller, &format!("{CGROUP_BASE}/{id}")),
                    file
                ),
                value
            );
            continue;
        }
        // No such controller here (v1 host without it; v2 has no net_cls), or no such device.
        assert_fails(&out, field);
        assert!(!env.state_dir(&id).exists());
    }
}

/// Parents hull made for a container's cgroup go with it, unless another container still
/// uses them (then they stay: only the container that made a parent removes it, runc removes
/// none).
#[test]
fn delete_removes_the_parents_it_made() {
    let env = Env::new("cgparents");
    let nest = format!("{CGROUP_BASE}/nest-{}", std::process::id());
    let (a, b) = (env.id("a"), env.id("b"));
    for id in [&a, &b] {
        let mut c = config(&["sleep", "30"]);
        c["linux"]["cgroupsPath"] = json!(format!("{nest}/{id}/leaf"));
        env.run_detached(id, &c);
    }
    let parent = cgroup_dir("pids", &nest);
    assert!(cgroup_dir("pids", &format!("{nest}/{a}/leaf")).is_dir());
    // a made `nest`; b found it.
    env.hull_ok(&["delete", "--force", &b]);
    assert!(
        !cgroup_dir("pids", &format!("{nest}/{b}")).exists(),
        "b's own parent is gone"
    );
    assert!(parent.is_dir(), "the shared parent stays while a uses it");
    env.hull_ok(&["delete", "--force", &a]);
    assert!(
        !parent.exists(),
        "a removes the shared parent it made, now empty"
    );
}

/// The memory and cpu fields the first test leaves out, each read back from its file: swap,
/// swappiness, disableOOMKiller, kernelTCP, period, burst, idle, cpus, mems (v1); on v2 their
/// conversions (swap is memory+swap in the spec, swap alone in memory.swap.max) and `unified`.
#[test]
fn every_memory_and_cpu_field_is_written() {
    let env = Env::new("cgevery");
    let id = env.id("a");
    let path = format!("{CGROUP_BASE}/{id}");
    let cpu = last_online_cpu();
    let mut c = config(&["sleep", "60"]);
    c["linux"]["resources"] = json!({
        "memory": {"limit": 67108864, "swap": 134217728, "swappiness": 20,
                   "disableOOMKiller": true, "kernelTCP": 16777216},
        "cpu": {"quota": 20000, "period": 50000, "burst": 10000, "idle": 1,
                "cpus": cpu, "mems": "0"}
    });
    if is_v2() {
        c["linux"]["resources"]["memory"]
            .as_object_mut()
            .unwrap()
            .retain(|k, _| k == "limit" || k == "swap");
        c["linux"]["resources"]["unified"] = json!({"memory.high": "50331648"});
    }
    env.run_detached(&id, &c);
    if is_v2() {
        let d = cgroup_dir("", &path);
        assert_eq!(read_file(&d, "memory.max"), "67108864");
        assert_eq!(read_file(&d, "memory.swap.max"), "67108864");
        assert_eq!(read_file(&d, "memory.high"), "50331648");
        assert_eq!(read_file(&d, "cpu.max"), "20000 50000");
        assert_eq!(read_file(&d, "cpu.max.burst"), "10000");
        assert_eq!(read_file(&d, "cpu.idle"), "1");
        assert_eq!(read_file(&d, "cpuset.cpus"), cpu);
        assert_eq!(read_file(&d, "cpuset.mems"), "0");
    } else {
        let mem = cgroup_dir("memory", &path);
        assert_eq!(read_file(&mem, "memory.memsw.limit_in_bytes"), "134217728");
        assert_eq!(read_file(&mem, "memory.swappiness"), "20");
        assert!(read_file(&mem, "memory.oom_control").contains("oom_kill_disable 1"));
        assert_eq!(
            read_file(&mem, "memory.kmem.tcp.limit_in_bytes"),
            "16777216"
        );
        let cpu_dir = cgroup_dir("cpu", &path);
        assert_eq!(read_file(&cpu_dir, "cpu.cfs_period_us"), "50000");
        assert_eq!(read_file(&cpu_dir, "cpu.cfs_quota_us"), "20000");
        assert_eq!(read_file(&cpu_dir, "cpu.cfs_burst_us"), "10000");
        assert_eq!(read_file(&cpu_dir, "cpu.idle"), "1");
        let set = cgroup_dir("cpuset", &path);
        assert_eq!(read_file(&set, "cpuset.cpus"), cpu);
        assert_eq!(read_file(&set, "cpuset.mems"), "0");
    }
    // The cpuset is the one the container's processes get.
    let out = env.hull(&[
        "exec",
        &id,
        "grep",
        "Cpus_allowed_list",
        "/proc/self/status",
    ]);
    assert_eq!(
        stdout(&out).split_whitespace().last(),
        Some(cpu.as_str()),
        "{}",
        stderr(&out)
    );
    env.hull_ok(&["delete", "--force", &id]);

    // `unified` is for v2 only: on v1 it is refused by name, as runc does.
    if !is_v2() {
        let id = env.id("unified");
        let mut c = config(&["true"]);
        c["linux"]["resources"] = json!({"unified": {"memory.high": "50331648"}});
        env.assert_create_refused(&id, &c, "linux.resources.unified");
    }
}

/// Realtime runtime/period (v1 with RT group scheduling, as here): the kernel takes a child's
/// runtime only when every parent has that much, so the test gives its own parent a budget.
#[test]
fn realtime_cpu_budget_is_written_on_v1() {
    let parent = Path::new(V1).join("cpu/hull-test-rt");
    if is_v2() || !Path::new(V1).join("cpu/cpu.rt_runtime_us").exists() {
        return; // v2 has no realtime group scheduling (runc ignores the fields there too)
    }
    let env = Env::new("cgrt");
    let id = env.id("a");
    std::fs::create_dir_all(&parent).unwrap();
    // 10% of each second; the kernel compares runtime/period ratios down the tree.
    std::fs::write(parent.join("cpu.rt_runtime_us"), "100000").unwrap();
    let mut c = config(&["sleep", "60"]);
    c["linux"]["cgroupsPath"] = json!(format!("/hull-test-rt/{id}"));
    c["linux"]["resources"] = json!({"cpu": {"realtimePeriod": 100000, "realtimeRuntime": 5000}});
    env.run_detached(&id, &c);
    let d = parent.join(&id);
    assert_eq!(read_file(&d, "cpu.rt_period_us"), "100000");
    assert_eq!(read_file(&d, "cpu.rt_runtime_us"), "5000");
    env.hull_ok(&["delete", "--force", &id]);
    assert!(!d.exists());
    // process.scheduler SCHED_FIFO works with that budget (policy 1 in /proc/self/stat), and
    // without one fails naming the fields that give it.
    let mut fifo = c.clone();
    fifo["process"]["args"] = json!(["sh", "-c", "cut -d' ' -f41 /proc/self/stat"]);
    fifo["process"]["scheduler"] = json!({"policy": "SCHED_FIFO", "priority": 1});
    let id = env.id("fifo");
    fifo["linux"]["cgroupsPath"] = json!(format!("/hull-test-rt/{id}"));
    let (code, out, err) = env.run(&id, &fifo);
    assert_eq!((code, out.as_str()), (0, "1\n"), "{err}");
    let id = env.id("nobudget");
    fifo["linux"]["resources"] = json!({});
    fifo["linux"]["cgroupsPath"] = json!(format!("/hull-test-rt/{id}"));
    env.assert_create_refused(&id, &fifo, "linux.resources.cpu.realtimeRuntime");
    // Over the parent's budget: the kernel's EINVAL, named by field and file.
    let id = env.id("over");
    c["linux"]["cgroupsPath"] = json!(format!("/hull-test-rt/{id}"));
    c["linux"]["resources"]["cpu"]["realtimeRuntime"] = json!(50000);
    let bundle = env.bundle(&id, &c);
    assert_fails(
        &env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]),
        "linux.resources.cpu.realtimeRuntime",
    );
    assert!(!parent.join(&id).exists());
    for h in [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd",
    ] {
        let _ = std::fs::remove_dir(Path::new(V1).join(h).join("hull-test-rt"));
    }
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
    let value = || -> u64 {
        std::fs::read_to_string(&counter)
            .unwrap_or_default()
            .trim()
            .parse()
            .unwrap_or(0)
    };
    let sleep = |ms| std::thread::sleep(std::time::Duration::from_millis(ms));
    sleep(200);
    env.hull_ok(&["pause", &id]);
    sleep(100);
    let frozen = value();
    sleep(400);
    assert_eq!(value(), frozen, "the counter moved while paused");
    assert!(frozen > 0);
    env.hull_ok(&["resume", &id]);
    // Wait for it to move (a loaded machine or an emulated guest is slow to schedule it).
    assert!(
        poll_until(300, 100, || value() > frozen),
        "the counter did not go on after resume"
    );
    env.hull_ok(&["delete", "--force", &id]);
}

/// hugepageLimits: written where the host has the hugetlb controller, else refused by name.
#[test]
fn hugepage_limits_are_written_or_refused_by_name() {
    let env = Env::new("cghuge");
    let id = env.id("a");
    let mut c = config(&["sleep", "30"]);
    c["linux"]["resources"] = json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]});
    let bundle = env.bundle(&id, &c);
    let out = env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]);
    let (has, file) = if is_v2() {
        let controllers =
            std::fs::read_to_string(Path::new(V1).join("cgroup.controllers")).unwrap();
        (
            controllers.split_whitespace().any(|c| c == "hugetlb"),
            "hugetlb.2MB.max",
        )
    } else {
        (
            Path::new(V1).join("hugetlb").is_dir(),
            "hugetlb.2MB.limit_in_bytes",
        )
    };
    if has {
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            read_file(&cgroup_dir("hugetlb", &format!("{CGROUP_BASE}/{id}")), file),
            "4194304"
        );
        env.hull_ok(&["delete", "--force", &id]);
    } else {
        assert_fails(&out, "linux.resources.hugepageLimits");
        assert!(!env.state_dir(&id).exists());
    }
}

/// blockIO.weight: written (v2's io.weight, converted from the v1 range) where the host has
/// a weight file, else refused by name (this v1 host has no BFQ, so no blkio.weight).
#[test]
fn block_io_weight_is_written_or_refused_by_name() {
    let env = Env::new("cgweight");
    let id = env.id("a");
    let mut c = config(&["sleep", "30"]);
    c["linux"]["resources"] = json!({"blockIO": {"weight": 500}});
    let bundle = env.bundle(&id, &c);
    let out = env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]);
    if out.status.success() {
        let path = format!("{CGROUP_BASE}/{id}");
        if is_v2() {
            assert_eq!(
                read_file(&cgroup_dir("", &path), "io.weight"),
                "default 4950"
            );
        } else {
            assert_eq!(
                read_file(&cgroup_dir("blkio", &path), "blkio.weight"),
                "500"
            );
        }
        env.hull_ok(&["delete", "--force", &id]);
    } else {
        assert_fails(&out, "linux.resources.blockIO.weight");
        assert!(!env.state_dir(&id).exists());
        assert!(!cgroup_dir("blkio", &format!("{CGROUP_BASE}/{id}")).exists());
    }
}

/// A relative cgroupsPath is under the caller's own cgroup (runc's rule), per hierarchy: the
/// caller here sits in a memory cgroup of its own, and the container's memory cgroup is made
/// below it while the other hierarchies' are below their roots (v1; on v2 the caller's cgroup
/// could not also have children with controllers).
#[test]
fn a_relative_cgroups_path_is_under_the_callers_cgroup() {
    if is_v2() {
        return;
    }
    let env = Env::new("cgrel");
    let id = env.id("a");
    let caller = Path::new(V1)
        .join("memory")
        .join(CGROUP_BASE.trim_start_matches('/'))
        .join(format!("caller-{id}"));
    std::fs::create_dir_all(&caller).unwrap();
    let mut c = config(&["sleep", "30"]);
    let relative = format!("{}/{id}", CGROUP_BASE.trim_start_matches('/'));
    c["linux"]["cgroupsPath"] = json!(relative);
    c["linux"]["resources"] = json!({"memory": {"limit": 67108864}});
    let bundle = env.bundle(&id, &c);
    // stderr through a file: the detached container holds what it inherits.
    let err = env.base.join("run.err");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/cgroup.procs && exec \"$@\"",
            caller.display()
        ))
        .args([
            "sh",
            HULL,
            "--root",
            env.root.to_str().unwrap(),
            "run",
            "-d",
            "-b",
            bundle.to_str().unwrap(),
            &id,
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&err).unwrap()
    );
    let mem = caller.join(&relative);
    assert_eq!(read_file(&mem, "memory.limit_in_bytes"), "67108864");
    let pid = env.pid(&id).to_string();
    assert!(read_file(&mem, "cgroup.procs").lines().any(|l| l == pid));
    assert!(
        read_file(&cgroup_dir("pids", &format!("/{relative}")), "cgroup.procs")
            .lines()
            .any(|l| l == pid)
    );
    env.hull_ok(&["delete", "--force", &id]);
    assert!(!mem.exists());
    let _ = std::fs::remove_dir(caller.join(CGROUP_BASE.trim_start_matches('/')));
    // The caller's exited hull may still be uncharging from it for a moment.
    assert!(poll_until(50, 20, || std::fs::remove_dir(&caller).is_ok()
        || !caller.exists()));
}

/// A `cgroup` mount is the container's own view: with its cgroup namespace, each hierarchy is
/// rooted at the container's cgroup, so its limit is at the top; devpts has the modes asked.
#[test]
fn cgroup_mount_shows_the_containers_own_cgroup_and_devpts_modes() {
    let env = Env::new("cgmount");
    let mut c = config(&[]);
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}));
    c["linux"]["resources"] = json!({"memory": {"limit": 67108864}});
    let out = env.sh(
        &env.id("a"),
        c,
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; \
         stat -c '%a' /dev/pts/ptmx; touch /sys/fs/cgroup/x 2>/dev/null || echo RO",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "67108864", "{out}");
    assert_eq!(lines[1], "666", "ptmxmode=0666: {out}");
    assert_eq!(lines[2], "RO", "{out}");
}

/// The container's namespaces are made once init is in its cgroup, so their kernel memory
/// is the container's, not its caller's: a container with a network namespace has ~90 kB
/// more kernel memory in its own cgroup than one without (made by the caller, the netns would
/// be charged there and both would show the same).
#[test]
fn namespaces_kernel_memory_is_charged_to_the_container() {
    let env = Env::new("cgkmem");
    let kernel = |id: &str, net: bool| -> u64 {
        let mut c = config(&["sleep", "30"]);
        if !net {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "network");
        }
        env.run_detached(id, &c);
        let dir = cgroup_dir("memory", &format!("{CGROUP_BASE}/{id}"));
        let bytes = if is_v2() {
            let stat = read_file(&dir, "memory.stat");
            let line = stat
                .lines()
                .find(|l| l.starts_with("kernel "))
                .expect("memory.stat: kernel");
            line[7..].trim().parse().unwrap()
        } else {
            read_file(&dir, "memory.kmem.usage_in_bytes")
                .parse()
                .unwrap()
        };
        env.hull_ok(&["delete", "--force", id]);
        bytes
    };
    let (with, without) = (
        kernel(&env.id("net"), true),
        kernel(&env.id("nonet"), false),
    );
    assert!(
        with >= without + 48 * 1024,
        "kernel memory with a netns {with}, without {without}"
    );
}

/// A container cannot lift its own limits through its `cgroup` mount: every hierarchy in it
/// honours the config's `ro` (and nosuid, nodev, noexec) — fresh mounts in a cgroup namespace,
/// binds of its own cgroup without one, host binds in a user namespace — so writing a limit
/// file fails and the limits stay.
#[test]
fn cgroup_mount_flags_hold_for_every_hierarchy() {
    let env = Env::new("cgmountro");
    let script = "for f in memory/memory.limit_in_bytes memory.max pids/pids.max pids.max; do \
         [ -e /sys/fs/cgroup/$f ] || continue; \
         if echo max > /sys/fs/cgroup/$f 2>/dev/null; then echo WROTE $f; else echo refused $f; fi; done; \
         grep ' /sys/fs/cgroup' /proc/self/mountinfo | cut -d' ' -f5,6";
    for (name, namespaces, userns) in [
        ("cgns", true, false),
        ("nocgns", false, false),
        ("userns", true, true),
    ] {
        let id = env.id(name);
        let mut c = config(&["sh", "-c", script]);
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}));
        c["linux"]["resources"] = json!({"memory": {"limit": 33554432}, "pids": {"limit": 20}});
        if !namespaces {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "cgroup");
        }
        if userns {
            c = with_user_namespace(c);
        }
        let (code, out, err) = env.run(&id, &c);
        assert_eq!(code, 0, "{name}: {out} {err}");
        assert!(!out.contains("WROTE"), "{name}: {out}");
        assert!(out.contains("refused"), "{name}: {out}");
        let mounts: Vec<&str> = out.lines().filter(|l| l.starts_with('/')).collect();
        assert!(!mounts.is_empty(), "{name}: {out}");
        for m in mounts {
            let opts = m.split_once(' ').unwrap().1;
            for flag in ["ro", "nosuid", "nodev", "noexec"] {
                assert!(
                    opts.split(',').any(|o| o == flag),
                    "{name}: {m} lacks {flag}"
                );
            }
        }
    }
}

/// A cgroup that already holds processes is not the container's to take: `create` refuses it
/// by path, and nothing of hull signals the process that was there (runc only warns, then
/// its `delete` kills everything in the cgroup). Two containers cannot share one cgroupsPath.
#[test]
fn an_occupied_cgroup_is_refused_and_its_processes_left_alone() {
    let env = Env::new("cgbusy");
    let path = format!("{CGROUP_BASE}/{}", env.id("busy"));
    let dir = cgroup_dir("pids", &path);
    std::fs::create_dir_all(&dir).unwrap();
    let mut other = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    std::fs::write(dir.join("cgroup.procs"), other.id().to_string()).unwrap();
    let id = env.id("a");
    let mut c = config(&["sleep", "30"]);
    c["linux"]["cgroupsPath"] = json!(path);
    let bundle = env.bundle(&id, &c);
    for cmd in ["create", "run"] {
        let out = env.hull(&[cmd, "-b", bundle.to_str().unwrap(), &id]);
        assert_fails(&out, "linux.cgroupsPath");
        assert_fails(&out, "already holds");
        assert!(!env.state_dir(&id).exists(), "{cmd}: state dir left");
    }
    let _ = env.hull(&["delete", "--force", &id]);
    assert!(
        other.try_wait().unwrap().is_none(),
        "the process that was in the cgroup was killed"
    );
    assert!(read_file(&dir, "cgroup.procs").contains(&other.id().to_string()));
    let _ = other.kill();
    let _ = other.wait();
    assert!(poll_until(100, 20, || std::fs::remove_dir(&dir).is_ok()));
    // Two containers, one cgroupsPath: the second is refused, the first runs on.
    let shared = format!("{CGROUP_BASE}/{}", env.id("shared"));
    let (first, second) = (env.id("first"), env.id("second"));
    let mut c = config(&["sleep", "30"]);
    c["linux"]["cgroupsPath"] = json!(shared);
    env.run_detached(&first, &c);
    let bundle = env.bundle(&second, &c);
    assert_fails(
        &env.hull(&["run", "-d", "-b", bundle.to_str().unwrap(), &second]),
        "already holds",
    );
    assert_eq!(env.status(&first), "running");
    env.hull_ok(&["delete", "--force", &first]);
}

/// runtime-spec 1.3.0's pids limit: -1 is no limit, 0 is a real limit (the container cannot
/// fork), and a `pids` object without a limit sets none.
#[test]
fn pids_limit_zero_is_a_limit_and_minus_one_none() {
    let env = Env::new("cgpids");
    for (name, pids, want) in [
        ("zero", json!({"limit": 0}), "0"),
        ("minus", json!({"limit": -1}), "max"),
        ("empty", json!({}), "max"),
    ] {
        let id = env.id(name);
        let mut c = config(&["sh", "-c", "sleep 30 & wait"]);
        c["linux"]["resources"] = json!({"pids": pids});
        env.create(&id, &c);
        let dir = cgroup_dir("pids", &format!("{CGROUP_BASE}/{id}"));
        assert_eq!(read_file(&dir, "pids.max"), want, "{name}");
        env.hull_ok(&["delete", "--force", &id]);
    }
}

/// A container that made cgroups of its own below its cgroup (systemd, Docker-in-Docker):
/// `ps` lists the processes in them, and `delete` kills them and removes the nested cgroups
/// deepest first, in every hierarchy.
#[test]
fn delete_removes_cgroups_the_container_made_below_its_own() {
    let env = Env::new("cgnested");
    let id = env.id("a");
    env.run_detached(&id, &config(&["sleep", "60"]));
    let path = format!("{CGROUP_BASE}/{id}");
    let pid = env.exec_detached(&id, &["sleep", "60"]);
    let controllers: &[&str] = if is_v2() {
        &[""]
    } else {
        &["pids", "memory", "cpu"]
    };
    for c in controllers {
        let deep = cgroup_dir(c, &path).join("system.slice/inner.scope");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("cgroup.procs"), &pid).unwrap();
    }
    let ps: Vec<i64> =
        serde_json::from_slice(&env.hull(&["ps", "--format", "json", &id]).stdout).unwrap();
    assert!(
        ps.contains(&pid.trim().parse().unwrap()),
        "{ps:?} lacks {pid}"
    );
    let out = env.hull(&["delete", "--force", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    for c in controllers {
        assert!(
            !cgroup_dir(c, &path).exists(),
            "{c}: the container's cgroup is left"
        );
    }
    assert!(
        poll_until(100, 20, || !Path::new(&format!("/proc/{}", pid.trim()))
            .exists()),
        "the process in the nested cgroup still runs"
    );
}

/// On a hybrid host (v1 controllers, cgroup2 at /sys/fs/cgroup/unified) the container and its
/// exec'd processes are in the container's cgroup in the cgroup2 hierarchy too, not left in
/// the caller's (as runc puts them): systemd in a container finds its own cgroup there.
#[test]
fn hybrid_hosts_put_the_container_in_the_unified_hierarchy_too() {
    if is_v2() || !Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists() {
        return; // not a hybrid host
    }
    let env = Env::new("cghybrid");
    let id = env.id("a");
    env.run_detached(&id, &config(&["sleep", "60"]));
    let path = format!("{CGROUP_BASE}/{id}");
    let unified_of = |pid: &str| {
        std::fs::read_to_string(format!("/proc/{}/cgroup", pid.trim()))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("0::").map(str::to_owned))
            .unwrap()
    };
    let init = env.pid(&id).to_string();
    assert_eq!(unified_of(&init), path);
    assert_eq!(unified_of(&env.exec_detached(&id, &["sleep", "60"])), path);
    env.hull_ok(&["delete", "--force", &id]);
    assert!(!Path::new("/sys/fs/cgroup/unified")
        .join(path.trim_start_matches('/'))
        .exists());
}

/// OOM with the cgroupfs driver (v1 here, v2 in the guest), 20 times in a row.
#[test]
fn oom_is_reported_every_time_with_cgroupfs() {
    oom_is_reported_every_time("cgoom20", &[], |id| format!("{CGROUP_BASE}/{id}"), 20);
}
