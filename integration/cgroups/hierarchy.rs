//! Where the container's cgroup is and what it sees of it: parents made and removed, relative
//! paths, nested and occupied cgroups, the unified hierarchy of a hybrid host, cgroup mounts
//! and namespaces.

use std::path::Path;

use serde_json::json;

use super::*;

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
