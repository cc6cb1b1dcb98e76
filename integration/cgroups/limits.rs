//! The limits of linux.resources (memory, cpu, pids, realtime), each read back from its cgroup
//! file or seen enforced inside, their refusals by name, and `update`.

use std::path::Path;

use serde_json::json;

use super::*;

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
    // The 4 MiB in /dev/shm are the container's use that checkBeforeUpdate sees below.
    let shm = format!("/proc/{}/root/dev/shm/f", env.pid(&id));
    assert!(
        poll_until(300, 20, || std::fs::metadata(&shm)
            .is_ok_and(|m| m.len() == 4 << 20)),
        "dd did not write /dev/shm/f"
    );
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
