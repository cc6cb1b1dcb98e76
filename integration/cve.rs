//! Regression tests for container-escape CVEs: each fails on a runtime without the defense.

use serde_json::json;

use crate::common::*;

/// runc's default capability set (no CAP_SYS_PTRACE, which would bypass non-dumpable).
fn default_caps() -> serde_json::Value {
    let caps = json!([
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE"
    ]);
    json!({"bounding": caps, "effective": caps, "permitted": caps})
}

/// A directory of the test, bind-mounted at /evil, holding a `#!/proc/self/exe` script.
fn with_hashbang_script(env: &Env, args: &[&str]) -> serde_json::Value {
    let dir = env.base.join("evil");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("run");
    std::fs::write(&script, "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut c = config(args);
    c["process"]["capabilities"] = default_caps();
    c["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/evil", "type": "bind", "source": dir, "options": ["rbind", "ro"]}),
    );
    c
}

/// CVE-2019-5736: a container program that is a `#!/proc/self/exe` script would run the host's
/// runtime binary inside the container (then open it through /proc/PID/exe and overwrite it).
/// hull's last exec goes through a sealed memfd trampoline, which refuses to run as a script.
#[test]
fn hashbang_proc_self_exe_never_runs_the_hull_binary() {
    let env = Env::new("cve5736");
    let (code, out, err) = env.run(&env.id("init"), &with_hashbang_script(&env, &["/evil/run"]));
    assert_eq!(code, 126, "stdout={out} stderr={err}");
    assert!(err.contains("only runs as hull's exec trampoline"), "{err}");
    assert!(
        !err.contains("Usage") && !out.contains("Usage"),
        "hull's binary ran in the container: {err}"
    );
    // The same for an exec'd process.
    let id = env.id("exec");
    env.run_detached(&id, &with_hashbang_script(&env, &["sleep", "30"]));
    let out = env.hull(&["exec", &id, "/evil/run"]);
    assert_eq!(out.status.code(), Some(126), "{}", stderr(&out));
    // And the program's own /proc/self/exe is the program, not hull.
    let out = env.hull(&["exec", &id, "readlink", "/proc/self/exe"]);
    assert_eq!(stdout(&out), "/bin/busybox\n");
}

/// CVE-2019-5736 through a hull process on the host: a container without its own pid
/// namespace sees `hull run` (its parent) in /proc and must not open its exe. The kernel lets
/// a process with all of hull's capabilities do that unless hull is non-dumpable: so hull runs
/// here without CAP_SYS_PTRACE (as under a manager with a bounded set) and the container gets
/// every other capability hull has.
#[test]
fn host_hull_processes_are_not_reachable_through_proc() {
    use std::os::unix::process::CommandExt;
    let env = Env::new("cve5736host");
    let id = env.id("a");
    let mut c = config(&[
        "sh",
        "-c",
        "cat /proc/$PPID/cmdline | tr '\\0' ' '; echo; \
         if head -c4 /proc/$PPID/exe >/dev/null 2>&1; then echo READABLE; else echo DENIED; fi",
    ]);
    let all_but_ptrace: Vec<String> = caps::read(None, caps::CapSet::Permitted)
        .unwrap()
        .into_iter()
        .filter(|c| *c != caps::Capability::CAP_SYS_PTRACE)
        .map(|c| c.to_string())
        .collect();
    c["process"]["capabilities"] = json!({"bounding": all_but_ptrace, "effective": all_but_ptrace, "permitted": all_but_ptrace});
    c["linux"]["namespaces"] =
        json!([{"type": "mount"}, {"type": "ipc"}, {"type": "uts"}, {"type": "network"}]);
    let bundle = env.bundle(&id, &c);
    let mut cmd = env.command(&["run", "-b", bundle.to_str().unwrap(), &id]);
    // SAFETY (test): between fork and exec only the capset syscalls of `caps::drop` run.
    unsafe {
        cmd.pre_exec(|| {
            // Root's permitted set is refilled from the bounding set at execve: drop it there.
            for set in [
                caps::CapSet::Bounding,
                caps::CapSet::Effective,
                caps::CapSet::Permitted,
                caps::CapSet::Inheritable,
            ] {
                caps::drop(None, set, caps::Capability::CAP_SYS_PTRACE)
                    .map_err(std::io::Error::other)?;
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text} {}", stderr(&out));
    assert!(
        text.contains("hull"),
        "the parent should be hull run: {text}"
    );
    assert!(text.contains("DENIED"), "{text}");
}

/// CVE-2024-21626: a cwd through a leaked fd (/proc/self/fd/N) must not reach the host.
#[test]
fn cwd_through_proc_self_fd_does_not_reach_the_host() {
    let env = Env::new("cve21626");
    for fd in 3..10 {
        let id = env.id(&format!("fd{fd}"));
        let mut c = config(&["sh", "-c", "pwd -P; ls /"]);
        c["process"]["cwd"] = json!(format!("/proc/self/fd/{fd}"));
        let (code, out, err) = env.run(&id, &c);
        if code == 0 {
            // Only possible if the path is a directory of the container itself.
            assert!(
                !out.contains("hull-test") && !out.contains("/run"),
                "fd {fd}: {out}"
            );
        } else {
            assert!(err.contains("process.cwd"), "fd {fd}: {err}");
        }
        assert!(!env.state_dir(&id).exists());
    }
}

/// Init stays non-dumpable until it execs the container's program: while it waits for
/// `start` (the trampoline, in init's place), its /proc files belong to the container's root,
/// not to the uid it already runs as (1000 → 101000), so that uid's processes cannot ptrace it
/// or open its fds. After the exec they are the uid's.
#[test]
fn init_is_not_dumpable_until_exec() {
    use std::os::unix::fs::MetadataExt;
    let env = Env::new("dumpable");
    let id = env.id("a");
    let mut c = with_user_namespace(config(&["sleep", "30"]));
    c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    env.create(&id, &c);
    let pid = env.pid(&id);
    let status = format!("/proc/{pid}/status");
    let owner = std::fs::metadata(&status).unwrap().uid();
    let uids = std::fs::read_to_string(&status).unwrap();
    assert!(
        uids.contains("Uid:\t101000"),
        "init already runs as 1000: {uids}"
    );
    assert_eq!(
        owner, 100000,
        "non-dumpable: the container's root's, not 101000's"
    );
    env.hull_ok(&["start", &id]);
    assert!(
        poll_until(50, 20, || std::fs::metadata(&status)
            .is_ok_and(|m| m.uid() == 101000)),
        "after exec: dumpable again"
    );
    env.hull_ok(&["delete", "--force", &id]);
}

/// CVE-2025-31133: a rootfs whose /dev/null is a symlink to a host-sensitive file must not
/// turn masking into a bind of that file. hull masks with its own, verified null device.
#[test]
fn a_dev_null_symlink_in_the_rootfs_does_not_redirect_masking() {
    let env = Env::new("fakenull");
    let root = env.base.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("dev")).unwrap();
    std::fs::create_dir_all(root.join("proc")).unwrap();
    std::fs::copy(rootfs().join("bin/busybox"), root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", root.join("dev/null")).unwrap();
    let before = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let mut c = config(&[
        "/bin/busybox",
        "sh",
        "-c",
        "wc -c < /proc/timer_list; echo '|/evil' > /proc/timer_list 2>/dev/null; true",
    ]);
    c["root"] = json!({"path": root, "readonly": false});
    // Only /proc: /dev stays the rootfs's own, with its planted /dev/null.
    c["mounts"] = json!([{"destination": "/proc", "type": "proc", "source": "proc"}]);
    c["linux"]["maskedPaths"] = json!(["/proc/timer_list"]);
    c["linux"]["readonlyPaths"] = json!([]);
    let (code, out, err) = env.run(&env.id("a"), &c);
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(
        out.trim(),
        "0",
        "the masked file is the real null device: {out}"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        before
    );
}

/// CVE-2019-5736 through `/proc/PID/exe`, played as the container: a container holding
/// `CAP_SYS_PTRACE` (non-dumpable does not stop it) watches its pid namespace for hull
/// processes — init between `create` and `start`, the children of a stream of `exec`s, and the
/// inits of containers created into its pid namespace —, tries to open each one's binary for
/// writing, keeps an `O_PATH` handle, tries to seize the process with ptrace, and once no hull
/// runs, reopens every handle for writing and writes. Init waits for `start` as the sealed
/// trampoline, not as hull; an exec'd process enters the pid namespace as the trampoline,
/// only once it holds the container's own privileges; every hull process a container can see
/// runs from a read-only view of its binary (EROFS).
fn attack_the_hull_binary(name: &str, caps: Vec<String>, init_waits_in_hull: bool) {
    use std::os::unix::fs::MetadataExt;
    let env = Env::new(name);
    // A private copy: only this test's processes run it, so "text busy" ends when they do.
    let hull = env.base.join("hull");
    std::fs::copy(HULL, &hull).unwrap();
    let before = std::fs::read(&hull).unwrap();
    let meta = std::fs::metadata(&hull).unwrap();
    let dir = env.base.join("attack");
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = config(&["sleep", "120"]);
    c["process"]["capabilities"] = json!({"bounding": caps, "effective": caps, "permitted": caps});
    if init_waits_in_hull {
        // A startContainer hook keeps init in hull's code until `start`.
        c["hooks"] = json!({"startContainer": [{"path": "/bin/true"}]});
    }
    c["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/attack", "type": "bind", "source": dir, "options": ["rbind", "rw"]}),
    );
    let id = env.id("a");
    let bundle = env.bundle(&id, &c);
    let hull_ok = |args: &[&str]| env.hull_ok_of(&hull, args);
    hull_ok(&["create", "-b", bundle.to_str().unwrap(), &id]);
    let (dev, ino) = (meta.dev().to_string(), meta.ino().to_string());
    hull_ok(&[
        "exec",
        "-d",
        &id,
        "hull-probe",
        "attack-exe",
        &dev,
        &ino,
        "/attack",
    ]);
    let report = || std::fs::read_to_string(dir.join("out")).unwrap_or_default();
    let seen = |r: &str| r.lines().filter(|l| l.contains(": seize")).count();
    // Window 1: from create until start, pid 1 is the sealed trampoline: no hull to attack
    // (the attacker has scanned /proc twice by "watching, seen 0"), and its exe takes no write.
    // Or, when init waits in hull, init itself.
    if init_waits_in_hull {
        assert!(
            poll_until(300, 100, || report().contains("pid 1: seize")),
            "the attacker never saw init: {}",
            report()
        );
    } else {
        assert!(
            poll_until(300, 100, || report().contains("watching")),
            "the attacker never scanned: {}",
            report()
        );
        assert_eq!(seen(&report()), 0, "{}", report());
        let pid1 = env.hull_of(&hull, &["exec", &id, "readlink", "/proc/1/exe"]);
        assert!(
            stdout(&pid1).contains("hull-trampoline"),
            "{}",
            stdout(&pid1)
        );
        let write = env.hull_of(&hull, &["exec", &id, "sh", "-c", "echo x >> /proc/1/exe"]);
        assert!(!write.status.success(), "pid 1's exe took a write");
    }
    hull_ok(&["start", &id]);
    // Window 2: exec'd processes, visible only briefly: the trampoline forks them into the
    // pid namespace, so what the attacker sees of each is the trampoline or the program, never
    // hull. As many as it takes to see three.
    let by_init = seen(&report());
    let others = |r: &str| r.lines().filter(|l| l.contains(": other exe")).count();
    let others_before = others(&report());
    poll_until(600, 0, || {
        others(&report()) >= others_before + 3 || {
            hull_ok(&["exec", &id, "true"]);
            false
        }
    });
    assert!(
        others(&report()) >= others_before + 3,
        "too few exec'd processes seen: {}",
        report()
    );
    assert_eq!(
        seen(&report()),
        by_init,
        "an exec'd hull process: {}",
        report()
    );
    // Window 3: the init of a container created into this one's pid namespace (a pod's
    // sharing), visible while it builds its container: as many as it takes to see two. (It
    // can be seized then, with all of init's privileges, as runc's and crun's can: a holder of
    // CAP_SYS_PTRACE in a shared pid namespace reaches whatever enters it. Its binary, not.)
    let windows_1_and_2 = report();
    let mut joined = config(&["true"]);
    joined["linux"]["namespaces"] = json!([
        {"type": "mount"},
        {"type": "uts"},
        {"type": "pid", "path": format!("/proc/{}/ns/pid", env.pid(&id))}
    ]);
    let mut n = 0;
    poll_until(300, 0, || {
        seen(&report()) >= by_init + 2 || {
            n += 1;
            let b = env.id(&format!("j{n}"));
            let bundle = env.bundle(&b, &joined);
            hull_ok(&["create", "-b", bundle.to_str().unwrap(), &b]);
            hull_ok(&["delete", "--force", &b]);
            false
        }
    });
    std::fs::write(dir.join("stop"), "").unwrap();
    assert!(
        poll_until(600, 100, || report().contains("done")),
        "the attacker did not finish: {}",
        report()
    );
    // With the original binary: the copy may be what the attack destroyed.
    env.hull_ok(&["delete", "--force", &id]);
    let r = report();
    assert!(seen(&r) >= by_init + 2, "too few joining inits seen: {r}");
    for bad in ["OPENED", "WROTE"] {
        assert!(!r.contains(bad), "{bad}: {r}");
    }
    assert!(!windows_1_and_2.contains("PRIVILEGED"), "{windows_1_and_2}");
    let kept: Vec<&str> = r.lines().filter(|l| l.starts_with("kept handle")).collect();
    assert!(!kept.is_empty(), "{r}");
    assert!(
        kept.iter().all(|l| l.ends_with("Read-only file system")),
        "{r}"
    );
    assert!(
        std::fs::read(&hull).unwrap() == before,
        "the binary changed"
    );
}

/// All capabilities a root container can have here (the caller's permitted set).
fn all_caps() -> Vec<String> {
    caps::read(None, caps::CapSet::Permitted)
        .unwrap()
        .into_iter()
        .map(|c| c.to_string())
        .collect()
}

#[test]
fn hull_binary_out_of_reach_of_cap_sys_ptrace() {
    let mut caps: Vec<String> = default_caps()["bounding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    caps.push("CAP_SYS_PTRACE".into());
    attack_the_hull_binary("exeattack", caps.clone(), false);
    attack_the_hull_binary("exeattackheld", caps, true);
}

#[test]
fn hull_binary_out_of_reach_of_all_capabilities() {
    attack_the_hull_binary("exeattackall", all_caps(), false);
}
