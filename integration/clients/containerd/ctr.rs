//! `ctr` through the shim: output, exit codes, stdin and terminals, a detached task's life,
//! limits, security options, mounts, seccomp, namespaces, and hull's errors.

use std::process::Command;

use super::*;

#[test]
fn containerd_runs_through_the_shim_with_output_and_exit_code() {
    let Some(c) = Containerd::new("ctrrun") else {
        return;
    };
    assert_eq!(
        c.run_ok(&[], "echo", &["echo", "hello from containerd"]),
        "hello from containerd\n"
    );
    let out = c.run(&["--rm"], "code", &["sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // stdin reaches the container (ctr run attaches it). `head -n1`, not `cat`: ctr 1.6 sends
    // the shim CloseIO at stdin's EOF only if that comes after its task create returned (a
    // race in ctr that runc loses as often as hull); otherwise the container never sees EOF.
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(format!(
        "echo typed | timeout -k 5 60 ctr --address {}/c.sock run --rm --runc-binary {HULL} --runc-root {} --cgroup {}/stdin {IMAGE} stdin head -n1",
        c.dir.display(),
        c.runc_root(),
        c.cgroup_base
    ));
    let out = run(&c.dir, &mut cmd);
    assert_eq!(stdout(&out), "typed\n", "{}", stderr(&out));
    // A terminal (ctr -t needs one on its own stdin: script gives it a pty).
    let mut cmd = tty_command(&format!(
        "ctr --address {}/c.sock run --rm -t --runc-binary {HULL} --runc-root {} --cgroup {}/tty {IMAGE} tty tty",
        c.dir.display(),
        c.runc_root(),
        c.cgroup_base
    ));
    let out = run_tty(&c.dir, &mut cmd);
    assert!(
        stdout(&out).contains("/dev/pts/0"),
        "{} {}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn containerd_detached_exec_ps_pause_kill_delete() {
    let Some(c) = Containerd::new("ctrlife") else {
        return;
    };
    let out = c.run(&["-d"], "life", &["sleep", "300"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shim_root = Path::new(&c.runc_root()).join("default/life/state.json");
    // The shim really runs hull: the state is hull's (runc's has init_process_pid).
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&shim_root).unwrap()).unwrap();
    assert!(
        record.get("initStartTime").is_some(),
        "hull's state.json, not runc's: {record}"
    );
    let out = c.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        "life",
        "sh",
        "-c",
        "echo exec-ok; cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert_eq!(stdout(&out), "exec-ok\nsleep 300 ", "{}", stderr(&out));
    let ps = stdout(&c.ctr(&["task", "ps", "life"]));
    assert_eq!(ps.lines().count(), 2, "{ps}");
    assert!(c.ctr(&["task", "pause", "life"]).status.success());
    assert_eq!(c.status("life"), "PAUSED");
    assert!(c.ctr(&["task", "resume", "life"]).status.success());
    assert_eq!(c.status("life"), "RUNNING");
    let metrics = stdout(&c.ctr(&["task", "metrics", "life"]));
    assert!(metrics.contains("memory.usage_in_bytes"), "{metrics}");
    // `task kill` sends SIGTERM by default: a pid 1 that handles it exits with its own code.
    let mut fg = Command::new("timeout");
    fg.args(["-k", "5", "60", "ctr", "--address"])
        .arg(c.dir.join("c.sock"))
        .args([
            "run",
            "--rm",
            "--runc-binary",
            HULL,
            "--runc-root",
            &c.runc_root(),
            "--cgroup",
        ]);
    fg.arg(format!("{}/term", c.cgroup_base)).args([
        IMAGE,
        "term",
        "sh",
        "-c",
        "trap 'echo got-term; exit 7' TERM; while :; do sleep 0.1; done",
    ]);
    let fg_out = c.dir.join("term.out");
    let mut fg = fg
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&fg_out).unwrap())
        .spawn()
        .unwrap();
    poll_until(200, 20, || c.status("term") == "RUNNING");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(c.ctr(&["task", "kill", "term"]).status.success());
    assert_eq!(fg.wait().unwrap().code(), Some(7));
    assert_eq!(std::fs::read_to_string(&fg_out).unwrap(), "got-term\n");
    // Stop: SIGTERM (ignored by sleep as pid 1), then SIGKILL after a grace time.
    assert!(c.ctr(&["task", "kill", "life"]).status.success());
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(c.status("life"), "RUNNING");
    c.remove("life");
    assert!(!shim_root.exists(), "hull's state is gone");
    assert!(stdout(&c.ctr(&["container", "ls", "-q"])).trim().is_empty());
}

#[test]
fn containerd_limits_and_security_options_are_seen_inside() {
    let Some(c) = Containerd::new("ctrres") else {
        return;
    };
    // ctr's default spec mounts no cgroupfs: read the container's cgroup files on the host.
    let out = c.run(
        &[
            "-d",
            "--memory-limit",
            "67108864",
            "--cpu-quota",
            "50000",
            "--cpu-period",
            "100000",
        ],
        "res",
        &["sleep", "300"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let cg = |ctl: &str, file: &str| {
        let path = Path::new("/sys/fs/cgroup")
            .join(ctl)
            .join(c.cgroup_base.trim_start_matches('/'))
            .join("res")
            .join(file);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .trim()
            .to_owned()
    };
    assert_eq!(cg("memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(cg("cpu", "cpu.cfs_quota_us"), "50000");
    c.remove("res");
    let out = c.run_ok(
        &["--read-only", "--cap-drop", "CAP_CHOWN", "--env", "HULL_ENV=yes", "--cwd", "/tmp"],
        "sec",
        &["sh", "-c", "touch /x 2>&1; chown 1 /tmp 2>&1; echo $HULL_ENV; pwd; grep NoNewPrivs /proc/self/status"],
    );
    assert!(out.contains("touch: /x: Read-only file system"), "{out}");
    assert!(
        out.contains("chown: /tmp: Operation not permitted") || out.contains("Read-only"),
        "{out}"
    );
    assert!(
        out.contains("yes\n/tmp\nNoNewPrivs:\t1\n"),
        "ctr's default spec sets noNewPrivileges: {out}"
    );
    // The memory limit is enforced: a hog is OOM-killed (137).
    let out = c.run_ok(
        &["--memory-limit", "16777216"],
        "oom",
        &["sh", "-c", "tail /dev/zero; echo $?"],
    );
    assert_eq!(out, "137\n");
}

#[test]
fn containerd_mounts_and_seccomp() {
    let Some(c) = Containerd::new("ctrmnt") else {
        return;
    };
    let vol = c.dir.join("vol");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(vol.join("f"), "host file\n").unwrap();
    let mount = format!("type=bind,src={},dst=/data,options=rbind:ro", vol.display());
    let out = c.run_ok(
        &["--mount", &mount, "--seccomp"],
        "mnt",
        &[
            "sh",
            "-c",
            "cat /data/f; touch /data/g 2>&1; grep Seccomp: /proc/self/status",
        ],
    );
    assert_eq!(
        out,
        "host file\ntouch: /data/g: Read-only file system\nSeccomp:\t2\n"
    );
    // A tmpfs mount with options, and a custom seccomp profile (mkdir refused).
    let profile = c.dir.join("seccomp.json");
    std::fs::write(&profile, r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#).unwrap();
    let out = c.run_ok(
        &["--mount", "type=tmpfs,src=tmpfs,dst=/scratch,options=size=1m:mode=1777", "--seccomp", "--seccomp-profile", profile.to_str().unwrap()],
        "tmpfs",
        &["sh", "-c", "awk '$5 == \"/scratch\" {for (i = 7; $i != \"-\"; i++); print $(i+1), $(i+3)}' /proc/self/mountinfo; stat -c %a /scratch; mkdir /scratch/d 2>&1; true"],
    );
    assert_eq!(out, "tmpfs rw,size=1024k\n1777\nmkdir: can't create directory '/scratch/d': Operation not permitted\n");
}

#[test]
fn containerd_shows_hulls_errors() {
    let Some(c) = Containerd::new("ctrerr") else {
        return;
    };
    let out = c.run(&["--rm"], "missing", &["/no/such/program"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("process.args[0]: /no/such/program"),
        "{}",
        stderr(&out)
    );
    let out = c.run(&["-d"], "ok", &["sleep", "300"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = c.ctr(&["task", "exec", "--exec-id", "e2", "ok", "/no/such/program"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("process.args[0]"),
        "{:?} {} {}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    // A memory limit hull refuses: the shim hands hull's --log message to ctr.
    let out = c.run(&["--rm", "--memory-limit", "100"], "badmem", &["true"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("linux.resources.memory.limit: 100 is below the minimum of 256 KiB"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn containerd_user_namespace_joined_namespaces_privileged_host_network() {
    let Some(c) = Containerd::new("ctrns") else {
        return;
    };
    // --uidmap/--gidmap: a user namespace (ctr chowns a copy of the snapshot to match).
    let out = c.run_ok(
        &["--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536"],
        "userns",
        &[
            "sh",
            "-c",
            "cat /proc/self/uid_map; id -u; stat -c %u /bin/busybox",
        ],
    );
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536", "0", "0"],
        "{out}"
    );
    // --with-ns: join a running container's pid namespace by path.
    let out = c.run(&["-d"], "target", &["sleep", "300"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ls = stdout(&c.ctr(&["task", "ls"]));
    let pid = ls
        .lines()
        .find(|l| l.starts_with("target "))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_owned();
    let ns = format!("pid:/proc/{pid}/ns/pid");
    let out = c.run_ok(
        &["--with-ns", &ns],
        "joiner",
        &["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"],
    );
    assert_eq!(out, "sleep 300 ");
    c.remove("target");
    // --privileged: ctr asks for the capabilities it holds itself, and host devices.
    let out = c.run_ok(
        &["--privileged"],
        "priv",
        &[
            "sh",
            "-c",
            "grep CapEff /proc/self/status; test -e /dev/vda && echo host-devices",
        ],
    );
    let own = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("CapEff"))
        .unwrap()
        .to_owned();
    assert_eq!(out, format!("{own}\nhost-devices\n"));
    // --net-host: no network namespace of its own.
    let host = std::fs::read_link("/proc/self/ns/net").unwrap();
    let out = c.run_ok(&["--net-host"], "net", &["readlink", "/proc/self/ns/net"]);
    assert_eq!(out.trim(), host.to_str().unwrap());
}
