//! process: user, groups, cwd, env, args, rlimits, noNewPrivileges, fds and umask, seen from
//! inside the container.

use serde_json::json;

use crate::common::*;

/// hull with `file` as its fd 3 (inheritable), as a caller passing an fd would run it.
fn hull_with_fd3(file: &std::fs::File, args: &[&str]) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let raw = std::os::fd::AsRawFd::as_raw_fd(file);
    let mut cmd = std::process::Command::new(HULL);
    cmd.args(args);
    // SAFETY: dup2/fcntl in the forked child before exec, on fds we own; dup2 onto itself
    // keeps CLOEXEC, hence the explicit F_SETFD.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, 3) < 0 || libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

fn status_field(status: &str, name: &str) -> Vec<String> {
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name}"));
    line.split_whitespace().skip(1).map(str::to_owned).collect()
}

#[test]
fn user_groups_cwd_env_args() {
    let env = Env::new("user");
    let mut c = config(&[]);
    c["process"]["user"] =
        json!({"uid": 1000, "gid": 1001, "additionalGids": [20, 30], "umask": 63});
    c["process"]["cwd"] = json!("/tmp");
    c["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push(json!("GREETING=hello world"));
    let out = env.sh(
        &env.id("a"),
        c,
        "cat /proc/self/status; echo CWD=$(pwd); echo \"ENV=$GREETING\"; echo UMASK=$(umask)",
    );
    assert_eq!(status_field(&out, "Uid"), vec!["1000"; 4]);
    assert_eq!(status_field(&out, "Gid"), vec!["1001"; 4]);
    assert_eq!(status_field(&out, "Groups"), vec!["20", "30"]);
    assert!(out.contains("CWD=/tmp\n"), "{out}");
    assert!(out.contains("ENV=hello world\n"), "{out}");
    assert!(out.contains("UMASK=0077\n"), "{out}");
}

#[test]
fn root_has_no_supplementary_groups_by_default() {
    let env = Env::new("groups");
    let out = env.sh(&env.id("a"), config(&[]), "cat /proc/self/status");
    assert_eq!(status_field(&out, "Uid"), vec!["0"; 4]);
    assert!(status_field(&out, "Groups").is_empty());
}

/// The configured environment and nothing of hull's; HOME added as runc adds it.
#[test]
fn env_is_exactly_the_configured_one() {
    let env = Env::new("env");
    let out = env.sh(&env.id("a"), config(&[]), "env | sort");
    let vars: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with("PWD=") && !l.starts_with("SHLVL="))
        .collect();
    assert_eq!(
        vars,
        vec![
            "HOME=/root",
            "HULL_TEST=1",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        ]
    );
}

#[test]
fn rlimits_and_no_new_privileges() {
    let env = Env::new("rlimit");
    let mut c = config(&[]);
    c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000}]);
    c["process"]["noNewPrivileges"] = json!(true);
    let out = env.sh(
        &env.id("a"),
        c,
        "ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "512");
    assert_eq!(lines[1], "1000");
    assert_eq!(status_field(lines[2], "NoNewPrivs"), vec!["1"]);
}

#[test]
fn no_new_privileges_stops_a_setuid_binary_from_gaining_root() {
    let env = Env::new("setuid");
    for (nnp, euid) in [(false, "0"), (true, "1000")] {
        let mut c = config(&["/bin/hull-probe-suid", "ids"]);
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["process"]["noNewPrivileges"] = json!(nnp);
        let (code, out, err) = env.run(&env.id(&format!("nnp{nnp}")), &c);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            format!("ruid=1000 euid={euid} suid={euid}\n"),
            "noNewPrivileges={nnp}"
        );
    }
}

#[test]
fn rlimit_above_hulls_own_hard_limit_is_a_clear_error() {
    let env = Env::new("rlimithard");
    let id = env.id("a");
    let (_, host_hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    let mut c = config(&["true"]);
    c["process"]["rlimits"] =
        json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": host_hard + 1000}]);
    let bundle = env.bundle(&id, &c);
    let out = env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]);
    if caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_RESOURCE,
    )
    .unwrap()
    {
        // Hosts where root may raise it (not this one): then it simply works.
        assert!(out.status.success(), "{}", stderr(&out));
        return;
    }
    assert_fails(&out, "process.rlimits");
    assert!(
        stderr(&out).contains("needs CAP_SYS_RESOURCE"),
        "{}",
        stderr(&out)
    );
    assert!(!env.state_dir(&id).exists());
}

#[test]
fn only_stdio_reaches_the_container() {
    let env = Env::new("fds");
    // `ls` itself holds one fd for the directory it lists.
    let out = env.sh(
        &env.id("a"),
        config(&[]),
        "ls /proc/self/fd | sort -n | tr '\\n' ' '",
    );
    assert_eq!(out.trim(), "0 1 2 3", "{out}");
}

#[test]
fn preserve_fds_passes_extra_fds() {
    let env = Env::new("preserve");
    let id = env.id("a");
    let bundle = env.bundle(&id, &config(&["sh", "-c", "cat <&3"]));
    let data = env.base.join("data");
    std::fs::write(&data, "through fd 3\n").unwrap();
    let file = std::fs::File::open(&data).unwrap();
    let root = env.root.to_str().unwrap();
    let out = hull_with_fd3(
        &file,
        &[
            "--root",
            root,
            "run",
            "--preserve-fds",
            "1",
            "-b",
            bundle.to_str().unwrap(),
            &id,
        ],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "through fd 3\n");
}

fn cap_hex(status: &str, name: &str) -> u64 {
    u64::from_str_radix(&status_field(status, name)[0], 16).unwrap()
}

#[test]
fn capabilities_are_exact_for_root_and_survive_setuid() {
    let env = Env::new("caps");
    // CAP_CHOWN=0, CAP_KILL=5, CAP_NET_BIND_SERVICE=10.
    let set = json!(["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    for uid in [0, 1000] {
        let mut c = config(&[]);
        c["process"]["user"] = json!({"uid": uid, "gid": uid});
        c["process"]["capabilities"] = json!({
            "bounding": set, "effective": set, "permitted": set, "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]
        });
        let out = env.sh(&env.id(&format!("u{uid}")), c, "cat /proc/self/status");
        let want = (1 << 0) | (1 << 5) | (1 << 10);
        assert_eq!(cap_hex(&out, "CapBnd"), want, "uid {uid}");
        // After execve a non-root user keeps only the ambient caps in its permitted/effective set.
        let (eff, prm) = if uid == 0 {
            (want, want)
        } else {
            (1 << 5, 1 << 5)
        };
        assert_eq!(cap_hex(&out, "CapEff"), eff, "uid {uid}");
        assert_eq!(cap_hex(&out, "CapPrm"), prm, "uid {uid}");
        assert_eq!(cap_hex(&out, "CapInh"), 1 << 5, "uid {uid}");
        assert_eq!(cap_hex(&out, "CapAmb"), 1 << 5, "uid {uid}");
    }
}

#[test]
fn capabilities_the_caller_lacks_are_named() {
    let env = Env::new("capsmissing");
    let id = env.id("a");
    let held = std::fs::read_to_string("/proc/self/status").unwrap();
    let prm = cap_hex(&held, "CapPrm");
    // CAP_SYS_RESOURCE (24): this host's root lacks it; elsewhere the test has nothing to show.
    if prm & (1 << 24) != 0 {
        return;
    }
    let mut c = config(&["true"]);
    c["process"]["capabilities"] = json!({"bounding": ["CAP_SYS_RESOURCE"], "effective": ["CAP_SYS_RESOURCE"], "permitted": ["CAP_SYS_RESOURCE"]});
    env.assert_create_refused(&id, &c, "CAP_SYS_RESOURCE");
}

#[test]
fn scheduler_io_priority_and_personality() {
    let env = Env::new("sched");
    let mut c = config(&[]);
    c["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 7});
    c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0});
    c["linux"]["personality"] = json!({"domain": "LINUX32"});
    // /proc/self/stat: field 19 is nice, 41 the policy; uname -m shows the 32-bit persona.
    let out = env.sh(
        &env.id("a"),
        c,
        "cut -d' ' -f19,41 /proc/self/stat; uname -m; ionice -p $$",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "7 3", "nice 7, SCHED_BATCH (3): {out}");
    assert_eq!(lines[1], "i686", "{out}");
    assert_eq!(lines[2], "idle", "{out}");
}

#[test]
fn listen_fds_are_passed_and_renumbered_for_the_container() {
    let env = Env::new("listenfds");
    let id = env.id("a");
    let bundle = env.bundle(
        &id,
        &config(&["sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; cat <&3"]),
    );
    let data = env.base.join("activated");
    std::fs::write(&data, "socket-activated\n").unwrap();
    let file = std::fs::File::open(&data).unwrap();
    let root = env.root.to_str().unwrap();
    let out = hull_with_fd3(
        &file,
        &["--root", root, "run", "-b", bundle.to_str().unwrap(), &id],
    )
    .env("LISTEN_FDS", "1")
    .output()
    .unwrap();
    assert_eq!(stdout(&out), "1 1\nsocket-activated\n", "{}", stderr(&out));
}

#[test]
fn notify_socket_ready_reaches_the_caller() {
    use std::os::unix::net::UnixDatagram;
    let env = Env::new("notify");
    let id = env.id("a");
    // A private rootfs with the host's /usr, so the container has python3 to call sd_notify.
    let root = env.base.join("rootfs-notify");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("usr")).unwrap();
    std::fs::copy(rootfs().join("bin/busybox"), root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    for l in ["lib", "lib64"] {
        std::os::unix::fs::symlink(format!("usr/{l}"), root.join(l)).unwrap();
    }
    let script = "import os, socket, time; time.sleep(0.3); s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); \
                  s.sendto(b'STATUS=up\\nREADY=1', os.environ['NOTIFY_SOCKET']); time.sleep(30)";
    let mut c = config(&["/usr/bin/python3", "-c", script]);
    c["root"] = json!({"path": root, "readonly": false});
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro"]}));
    c["linux"]["maskedPaths"] = json!([]);
    c["linux"]["readonlyPaths"] = json!([]);
    let bundle = env.bundle(&id, &c);
    let host_socket = env.base.join("host-notify.sock");
    let listener = UnixDatagram::bind(&host_socket).unwrap();
    listener
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    // stderr through a file: the detached container keeps it open.
    let err_file = env.base.join("notify.err");
    let status = env
        .command(&["run", "-d", "-b", bundle.to_str().unwrap(), &id])
        .env("NOTIFY_SOCKET", &host_socket)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err_file).unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&err_file).unwrap()
    );
    // `run -d` returned only after the container said READY=1; it is waiting for us already.
    let mut buf = [0u8; 256];
    let n = listener
        .recv(&mut buf)
        .expect("READY=1 forwarded to NOTIFY_SOCKET");
    assert_eq!(&buf[..n], b"STATUS=up\nREADY=1");
}

#[test]
fn signals_reach_the_container_with_default_dispositions() {
    // Ignored signals survive execve: hull must not hand its own SIG_IGN (SIGPIPE) down.
    let env = Env::new("sigdfl");
    let out = env.sh(&env.id("a"), config(&[]), "grep SigIgn /proc/self/status");
    let ignored = u64::from_str_radix(out.trim().trim_start_matches("SigIgn:").trim(), 16).unwrap();
    assert_eq!(
        ignored & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE is ignored in the container: {out}"
    );
}

/// Every RLIMIT_* name the spec lists, read back from the container's /proc/self/limits (all
/// at or below this host's hard limits: root here lacks CAP_SYS_RESOURCE), and oomScoreAdj.
#[test]
fn every_rlimit_and_oom_score_adj_are_seen_inside() {
    let env = Env::new("rlimits");
    // (name, soft, hard, the row of /proc/self/limits)
    let limits = [
        ("RLIMIT_CPU", 100u64, 200u64, "Max cpu time"),
        ("RLIMIT_FSIZE", 1 << 30, 1 << 31, "Max file size"),
        ("RLIMIT_DATA", 1 << 32, 1 << 33, "Max data size"),
        ("RLIMIT_STACK", 4 << 20, 8 << 20, "Max stack size"),
        ("RLIMIT_CORE", 0, 1 << 20, "Max core file size"),
        ("RLIMIT_RSS", 1 << 30, 1 << 31, "Max resident set"),
        ("RLIMIT_NPROC", 500, 600, "Max processes"),
        ("RLIMIT_NOFILE", 1000, 2000, "Max open files"),
        ("RLIMIT_MEMLOCK", 65536, 131072, "Max locked memory"),
        ("RLIMIT_AS", 1 << 34, 1 << 35, "Max address space"),
        ("RLIMIT_LOCKS", 300, 400, "Max file locks"),
        ("RLIMIT_SIGPENDING", 700, 800, "Max pending signals"),
        ("RLIMIT_MSGQUEUE", 8192, 16384, "Max msgqueue size"),
        ("RLIMIT_NICE", 0, 0, "Max nice priority"),
        ("RLIMIT_RTPRIO", 0, 0, "Max realtime priority"),
        ("RLIMIT_RTTIME", 1000, 2000, "Max realtime timeout"),
    ];
    let mut c = config(&[]);
    c["process"]["rlimits"] = limits
        .iter()
        .map(|(name, soft, hard, _)| json!({"type": name, "soft": soft, "hard": hard}))
        .collect();
    c["process"]["oomScoreAdj"] = json!(500);
    let out = env.sh(
        &env.id("a"),
        c,
        "cat /proc/self/limits; echo oom=$(cat /proc/self/oom_score_adj)",
    );
    for (name, soft, hard, row) in limits {
        let line = out
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("{row}: {out}"));
        let fields: Vec<&str> = line[row.len()..].split_whitespace().collect();
        assert_eq!(
            (fields[0], fields[1]),
            (soft.to_string().as_str(), hard.to_string().as_str()),
            "{name}: {line}"
        );
    }
    assert!(out.contains("oom=500"), "{out}");
}

/// An exec'd process gets stdio and nothing else of hull's (CVE-2024-21626 for exec).
#[test]
fn only_stdio_reaches_an_exec_process() {
    let env = Env::new("execfds");
    let id = env.id("a");
    env.run_detached(&id, &config(&["sleep", "30"]));
    let out = env.hull(&[
        "exec",
        &id,
        "sh",
        "-c",
        "ls /proc/self/fd | sort -n | tr '\\n' ' '",
    ]);
    assert_eq!(stdout(&out).trim(), "0 1 2 3", "{}", stderr(&out));
    // A cwd through a leaked fd is refused, as for init.
    assert_fails(
        &env.hull(&["exec", "--cwd", "/proc/self/fd/5", &id, "true"]),
        "cwd",
    );
    env.hull_ok(&["delete", "--force", &id]);
}

/// linux.memoryPolicy: set_mempolicy(2) before the program runs, seen in its numa_maps, for
/// init and for an exec'd process (as runc's).
#[test]
fn memory_policy_is_the_processs() {
    let env = Env::new("mempolicy");
    for (policy, want) in [
        (json!({"mode": "MPOL_BIND", "nodes": "0"}), "bind:0"),
        (
            json!({"mode": "MPOL_INTERLEAVE", "nodes": "0"}),
            "interleave:0",
        ),
        (
            json!({"mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
            "prefer=static:0",
        ),
    ] {
        let mut c = config(&[]);
        c["linux"]["memoryPolicy"] = policy;
        let out = env.sh(
            &env.id(&want.replace([':', '='], "-")),
            c.clone(),
            "head -1 /proc/self/numa_maps",
        );
        assert!(out.contains(want), "{want}: {out}");
        let id = env.id(&format!("exec-{}", want.replace([':', '='], "-")));
        c["process"]["args"] = json!(["sleep", "60"]);
        env.run_detached(&id, &c);
        let out = env.hull_ok(&["exec", &id, "head", "-1", "/proc/self/numa_maps"]);
        assert!(out.contains(want), "exec, {want}: {out}");
        env.hull_ok(&["delete", "--force", &id]);
    }
}
