//! Docker (dockerd 20.10 from docker.io) with `"runtimes": {"hull": {"path": …}}` and
//! `docker run --runtime hull`: a private daemon (data root, exec root, socket in the test's
//! directory), no bridge and no iptables, cgroupfs driver, cgroups under the tests' base.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use super::*;

struct Docker {
    env: Env,
    dir: PathBuf,
    daemon: Child,
    cgroup_parent: String,
}

impl Docker {
    fn new(name: &str) -> Option<Docker> {
        if !have("dockerd")
            || !Command::new("/usr/bin/docker")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        {
            eprintln!("SKIPPED: docker.io is not installed (hack/test installs it)");
            return None;
        }
        let env = Env::new(name);
        let dir = env.base.join("docker");
        std::fs::create_dir_all(&dir).unwrap();
        let cgroup_parent = format!("{CGROUP_BASE}/docker-{}-{name}", std::process::id());
        let d = dir.display();
        // Root's hard nofile limit is 20000 here (no CAP_SYS_RESOURCE): a default ulimit
        // below it, set in the daemon's config rather than by weakening hull.
        let config = serde_json::json!({
            "data-root": format!("{d}/data"), "exec-root": format!("{d}/exec"), "pidfile": format!("{d}/docker.pid"),
            "hosts": [format!("unix://{d}/docker.sock")], "bridge": "none", "iptables": false, "ip-masq": false,
            "ip6tables": false, "exec-opts": ["native.cgroupdriver=cgroupfs"], "cgroup-parent": cgroup_parent,
            "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 1024, "Soft": 1024}},
            "runtimes": {"hull": {"path": HULL}}, "storage-driver": "overlay2"
        });
        std::fs::write(dir.join("daemon.json"), config.to_string()).unwrap();
        let daemon = Command::new("dockerd")
            .current_dir(&dir)
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .stdout(std::fs::File::create(dir.join("dockerd.log")).unwrap())
            .stderr(std::fs::File::create(dir.join("dockerd.err")).unwrap())
            .spawn()
            .unwrap();
        let dk = Docker {
            env,
            dir,
            daemon,
            cgroup_parent,
        };
        poll_until(300, 50, || dk.docker(&["version"]).status.success());
        let tar = busybox_tar(&dk.dir);
        let out = dk.docker(&["import", tar.to_str().unwrap(), IMAGE]);
        assert!(out.status.success(), "docker import: {}", stderr(&out));
        Some(dk)
    }

    fn docker(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("timeout");
        cmd.args(["-k", "5", "60", "/usr/bin/docker", "-H"])
            .arg(format!("unix://{}/docker.sock", self.dir.display()))
            .args(args);
        run(&self.dir, &mut cmd)
    }
}

impl Cli for Docker {
    fn cli(&self, args: &[&str]) -> Output {
        self.docker(args)
    }

    fn cli_line(&self) -> String {
        format!(
            "/usr/bin/docker -H unix://{}/docker.sock",
            self.dir.display()
        )
    }

    fn run_opts(&self) -> Vec<&str> {
        vec!["--runtime", "hull", "--network", "none"]
    }

    fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        let ids = stdout(&self.docker(&["ps", "-aq"]));
        for id in ids.lines() {
            let _ = self.docker(&["rm", "-f", id]);
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.daemon.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.daemon.wait();
        unmount_under(&self.dir);
        remove_cgroup_tree(&self.cgroup_parent);
        let _ = &self.env;
    }
}

#[test]
fn docker_runs_with_output_exit_code_stdin_and_tty() {
    let Some(d) = Docker::new("dkrun") else {
        return;
    };
    assert_eq!(
        d.run_ok(&[], &["echo", "hello from docker"]),
        "hello from docker\n"
    );
    assert_eq!(d.run(&[], &["sh", "-c", "exit 3"]).status.code(), Some(3));
    let out = d.piped(&format!(
        "run --rm -i --runtime hull --network none {IMAGE} cat"
    ));
    assert_eq!(stdout(&out), "typed\n");
    let out = d.with_tty(&format!(
        "run --rm -t --runtime hull --network none {IMAGE} tty"
    ));
    assert!(stdout(&out).contains("/dev/pts/0"));
}

#[test]
fn docker_detached_exec_top_stats_pause_stop_rm() {
    let Some(d) = Docker::new("dklife") else {
        return;
    };
    let id = d.run_detached(&[], &["sleep", "300"]);
    assert_eq!(
        stdout(&d.docker(&["exec", &id, "echo", "exec-ok"])),
        "exec-ok\n"
    );
    // `top` lists through ps(1) in the host's view; give a loaded machine a moment.
    let top = (0..20)
        .map(|_| stdout(&d.docker(&["top", &id])))
        .find(|t| t.contains("sleep 300"));
    assert!(top.is_some(), "docker top never showed the process");
    assert_eq!(
        stdout(&d.docker(&["stats", "--no-stream", "--format", "{{.PIDs}}", &id])).trim(),
        "1"
    );
    assert!(d.docker(&["pause", &id]).status.success());
    assert_eq!(d.inspect("{{.State.Status}}", &id), "paused");
    assert!(d.docker(&["unpause", &id]).status.success());
    // `update` goes to hull (`update --resources -`) and is seen inside.
    let out = d.docker(&[
        "update",
        "--memory",
        "32m",
        "--memory-swap",
        "32m",
        "--pids-limit",
        "20",
        "--cpus",
        "0.25",
        &id,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let seen = d.docker(&[
        "exec",
        &id,
        "cat",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "/sys/fs/cgroup/pids/pids.max",
        "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
    ]);
    assert_eq!(stdout(&seen), "33554432\n20\n25000\n");
    stop_sends_sigterm_then_sigkill(&d, &id);
}

#[test]
fn docker_limits_security_and_mounts_are_seen_inside() {
    let Some(d) = Docker::new("dkopts") else {
        return;
    };
    limits_are_written_and_enforced(&d);
    let out = d.run_ok(
        &[
            "--cap-drop",
            "ALL",
            "--cap-add",
            "NET_RAW",
            "--security-opt",
            "no-new-privileges",
            "--read-only",
            "--hostname",
            "dkhost",
        ],
        &[
            "sh",
            "-c",
            "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; hostname; touch /x 2>&1; true",
        ],
    );
    assert_eq!(
        out,
        "CapEff:\t0000000000002000\nNoNewPrivs:\t1\ndkhost\ntouch: /x: Read-only file system\n"
    );
    assert_eq!(
        d.run_ok(&["--user", "1000:1000"], &["sh", "-c", "id -u; id -g"]),
        "1000\n1000\n"
    );
    let vol = d.dir.join("vol");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(vol.join("f"), "host\n").unwrap();
    let bind = format!("{}:/data", vol.display());
    let out = d.run_ok(&["-v", &bind, "--tmpfs", "/scratch"], &["sh", "-c", "cat /data/f; awk '$5 == \"/scratch\" {for (i = 7; $i != \"-\"; i++); print $(i+1)}' /proc/self/mountinfo"]);
    assert_eq!(out, "host\ntmpfs\n");
    let opt = seccomp_refusing_mkdir(&d);
    let out = d.run_ok(
        &["--security-opt", &opt],
        &["sh", "-c", "mkdir /tmp/d 2>&1; true"],
    );
    assert_eq!(
        out,
        "mkdir: can't create directory '/tmp/d': Operation not permitted\n"
    );
}

#[test]
fn docker_shows_hulls_errors() {
    let Some(d) = Docker::new("dkerr") else {
        return;
    };
    let out = d.run(&[], &["/no/such/program"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("process.args[0]: /no/such/program"),
        "{}",
        stderr(&out)
    );
    let id = d.run_detached(&[], &["sleep", "300"]);
    let out = d.docker(&["exec", &id, "/no/such/program"]);
    assert!(
        stdout(&out).contains("process.args[0]") || stderr(&out).contains("process.args[0]"),
        "{} {}",
        stdout(&out),
        stderr(&out)
    );
    // Docker refuses a --memory below 6 MB itself; one it lets through but the kernel cannot
    // honour (an update below what the container holds in tmpfs, no swap) fails in hull, and
    // hull's message, naming the field, is what the user reads.
    let big = d.run_detached(
        &["--memory", "64m"],
        &[
            "sh",
            "-c",
            "dd if=/dev/zero of=/dev/shm/x bs=1M count=20; sleep 300",
        ],
    );
    poll_until(100, 50, || {
        stdout(&d.docker(&["exec", &big, "ls", "-l", "/dev/shm/x"])).contains("20971520")
    });
    let out = d.docker(&["update", "--memory", "8m", "--memory-swap", "8m", &big]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("linux.resources.memory.limit: writing \"8388608\""),
        "{}",
        stderr(&out)
    );
    // EBUSY, in the words of the libc hull is built with (musl: "Resource busy").
    assert!(stderr(&out).contains("esource busy"), "{}", stderr(&out));
    // Config errors from create: a sysctl the kernel does not have, a ulimit above root's.
    let out = d.run(&["--sysctl", "net.ipv4.no_such_sysctl=1"], &["true"]);
    assert!(
        stderr(&out).contains("linux.sysctl: writing \"1\" to /proc/sys/net/ipv4/no_such_sysctl"),
        "{}",
        stderr(&out)
    );
    let out = d.run(&["--ulimit", "nofile=30000:30000"], &["true"]);
    assert!(
        stderr(&out).contains("(process.rlimits): EPERM"),
        "{}",
        stderr(&out)
    );
    // --privileged asks for every capability Docker knows; root here lacks CAP_SYS_RESOURCE
    // (runc fails too: "unable to apply caps"): hull names the one it cannot grant.
    let out = d.run(&["--privileged"], &["true"]);
    assert!(
        stderr(&out).contains("process.capabilities: CAP_SYS_RESOURCE not held by hull"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn docker_more_run_options_are_seen_inside() {
    let Some(d) = Docker::new("dkmore") else {
        return;
    };
    let out = d.run_ok(
        &["--read-only", "--tmpfs", "/tmp"],
        &["sh", "-c", "touch /tmp/a && echo ok; stat -c %a /tmp"],
    );
    assert_eq!(out, "ok\n1777\n");
    let out = d.run_ok(
        &["--device", "/dev/null:/dev/xnull", "--ulimit", "nofile=1000:1000", "--oom-score-adj", "500", "--shm-size", "1m", "--sysctl", "net.ipv4.ip_forward=1"],
        &["sh", "-c", "stat -c '%F %t,%T' /dev/xnull; ulimit -n; cat /proc/self/oom_score_adj; df -k /dev/shm | awk 'NR==2 {print $2}'; cat /proc/sys/net/ipv4/ip_forward"],
    );
    assert_eq!(out, "character special file 1,3\n1000\n500\n1024\n1\n");
    assert_eq!(
        d.run_ok(
            &["--user", "1000:1000", "--group-add", "10"],
            &["grep", "Groups", "/proc/self/status"]
        ),
        "Groups:\t10 1000 \n"
    );
    // Mounts: a tmpfs with mode and size, a read-only bind.
    let out = d.run_ok(
        &["--mount", "type=tmpfs,dst=/scratch,tmpfs-mode=1770,tmpfs-size=1m", "-v", &format!("{}:/data:ro", d.dir.display())],
        &["sh", "-c", "stat -c %a /scratch; df -k /scratch | awk 'NR==2 {print $2}'; touch /data/x 2>&1; true"],
    );
    assert_eq!(out, "1770\n1024\ntouch: /data/x: Read-only file system\n");
    // More cgroup knobs (blkio weight needs CFQ/BFQ, absent here: Docker itself drops it).
    let out = d.run_ok(
        &["--cpu-shares", "512", "--cpuset-cpus", "0", "--device-read-bps", "/dev/vda:1mb", "--memory", "32m", "--memory-reservation", "16m", "--memory-swappiness", "10", "--oom-kill-disable"],
        &["sh", "-c", "cd /sys/fs/cgroup; cat cpu/cpu.shares cpuset/cpuset.cpus blkio/blkio.throttle.read_bps_device memory/memory.soft_limit_in_bytes memory/memory.swappiness; head -1 memory/memory.oom_control"],
    );
    assert_eq!(
        out,
        "512\n0\n254:0 1048576\n16777216\n10\noom_kill_disable 1\n"
    );
    let out = d.run_ok(
        &["--cgroupns", "private"],
        &["sh", "-c", "grep -vc ':/$' /proc/self/cgroup; true"],
    );
    assert_eq!(
        out, "0\n",
        "every hierarchy shows the container's cgroup as /"
    );
    if have("docker-init") {
        let out = d.run_ok(
            &["--init"],
            &["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"],
        );
        assert!(out.starts_with("/sbin/docker-init -- sh -c"), "{out}");
    }
}

#[test]
fn docker_exec_options_signals_restart_and_wait() {
    let Some(d) = Docker::new("dkexec") else {
        return;
    };
    exec_options_signals_restart_and_wait(&d, "-u");
}
