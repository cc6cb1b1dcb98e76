//! podman (with conmon) running containers through hull: `--runtime` is hull's path, set in a
//! private containers.conf; storage, run dir and events in the test's directory.

use std::path::PathBuf;
use std::process::{Command, Output};

use super::{busybox_tar, have, remove_cgroup_tree, run, run_tty, tty_command, unmount_under};
use crate::common::*;

const IMAGE: &str = "localhost/hull-busybox:latest";

struct Podman {
    env: Env,
    dir: PathBuf,
    conf: PathBuf,
    cgroup_parent: String,
}

impl Podman {
    /// None (and a SKIPPED line) where podman is not installed.
    fn new(name: &str) -> Option<Podman> {
        Self::with(name, "")
    }

    /// `engine`: more lines for containers.conf's [engine] table, e.g. `runtime_supports_json
    /// = ["hull"]`, so that conmon calls hull with `--log-format=json --log FILE` and podman
    /// reads errors from that file, as for runc.
    fn with(name: &str, engine: &str) -> Option<Podman> {
        if !have("podman") || !have("conmon") {
            return None;
        }
        let env = Env::new(name);
        let dir = env.base.join("podman");
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("containers.conf");
        // Root's hard nofile limit here is 20000 and root lacks CAP_SYS_RESOURCE: no default
        // ulimits above it (set here, not by weakening hull).
        std::fs::write(
            &conf,
            format!(
                "[containers]\ndefault_ulimits = []\nnetns = \"none\"\nlog_driver = \"k8s-file\"\n\
                 [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nevents_logfile_path = \"{}/events.log\"\n\
                 runtime = \"hull\"\n{engine}[engine.runtimes]\nhull = [\"{HULL}\"]\n",
                dir.display(),
            ),
        )
        .unwrap();
        let cgroup_parent = format!("{CGROUP_BASE}/podman-{}-{name}", std::process::id());
        let p = Podman {
            env,
            dir,
            conf,
            cgroup_parent,
        };
        let tar = busybox_tar(&p.dir);
        let out = p.podman(&["import", tar.to_str().unwrap(), IMAGE]);
        assert!(out.status.success(), "podman import: {}", stderr(&out));
        Some(p)
    }

    fn podman(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("timeout");
        cmd.args(["-k", "5", "60", "podman", "--root"])
            .arg(self.dir.join("storage"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .args(["--storage-driver", "overlay"])
            .env("CONTAINERS_CONF", &self.conf)
            // conmon writes a file "oom" into its working directory when the container is OOM-killed.
            .current_dir(&self.dir)
            .args(args);
        run(&self.dir, &mut cmd)
    }

    /// `podman run --rm` of the image with `opts` and `cmd`; asserts success, returns stdout.
    fn run_ok(&self, opts: &[&str], cmd: &[&str]) -> String {
        let out = self.run(opts, cmd);
        assert!(
            out.status.success(),
            "podman run {opts:?} {cmd:?}: {}",
            stderr(&out)
        );
        stdout(&out)
    }

    fn run(&self, opts: &[&str], cmd: &[&str]) -> Output {
        let mut args = vec!["run", "--rm", "--cgroup-parent", &self.cgroup_parent];
        args.extend_from_slice(opts);
        args.push(IMAGE);
        args.extend_from_slice(cmd);
        self.podman(&args)
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.podman(&["rm", "-a", "-f", "-t", "0"]);
        let _ = self.podman(&["rmi", "-a", "-f"]);
        unmount_under(&self.dir);
        remove_cgroup_tree(&self.cgroup_parent);
        // Rootful podman gives its runtime the state root /run/<runtime>: hull makes it at
        // podman's first call. The test's containers are gone, so it is empty: ours to remove.
        let _ = std::fs::remove_dir("/run/hull");
        let _ = &self.env;
    }
}

#[test]
fn podman_runs_a_container_and_returns_its_output_and_exit_code() {
    let Some(p) = Podman::new("pmrun") else {
        return;
    };
    assert_eq!(
        p.run_ok(&[], &["echo", "hello from podman"]),
        "hello from podman\n"
    );
    assert_eq!(p.run(&[], &["sh", "-c", "exit 3"]).status.code(), Some(3));
    // -i: stdin reaches the container; -t: it gets a terminal.
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(format!(
        "echo typed | timeout -k 5 60 podman --root {0}/storage --runroot {0}/run --tmpdir {0}/tmp --storage-driver overlay run --rm -i --cgroup-parent {1} {IMAGE} cat",
        p.dir.display(),
        p.cgroup_parent
    ));
    cmd.env("CONTAINERS_CONF", &p.conf);
    let out = run(&p.dir, &mut cmd);
    assert_eq!(stdout(&out), "typed\n", "{}", stderr(&out));
    assert!(p.run_ok(&["-t"], &["tty"]).starts_with("/dev/pts/"));
}

#[test]
fn podman_detached_exec_top_pause_stop_rm() {
    let Some(p) = Podman::new("pmlife") else {
        return;
    };
    let out = p.podman(&[
        "run",
        "-d",
        "--cgroup-parent",
        &p.cgroup_parent,
        IMAGE,
        "sleep",
        "300",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out).trim().to_owned();
    let out = p.podman(&[
        "exec",
        &id,
        "sh",
        "-c",
        "echo in-exec; cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert_eq!(stdout(&out), "in-exec\nsleep 300 ", "{}", stderr(&out));
    let top = stdout(&p.podman(&["top", &id]));
    assert!(top.contains("sleep 300"), "{top}");
    let stats = p.podman(&["stats", "--no-stream", "--format", "{{.PIDs}}", &id]);
    assert_eq!(stdout(&stats).trim(), "1", "{}", stderr(&stats));
    assert!(p.podman(&["pause", &id]).status.success());
    assert_eq!(
        stdout(&p.podman(&["inspect", "-f", "{{.State.Status}}", &id])).trim(),
        "paused"
    );
    assert!(p.podman(&["unpause", &id]).status.success());
    assert_eq!(
        stdout(&p.podman(&["inspect", "-f", "{{.State.Status}}", &id])).trim(),
        "running"
    );
    // A pid 1 that handles SIGTERM gets it from `stop` and exits by itself, with its code.
    let out = p.podman(&[
        "run",
        "-d",
        "--cgroup-parent",
        &p.cgroup_parent,
        IMAGE,
        "sh",
        "-c",
        "trap 'echo got-term; exit 7' TERM; while :; do sleep 0.1; done",
    ]);
    let trap = stdout(&out).trim().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let t0 = std::time::Instant::now();
    assert!(p.podman(&["stop", "-t", "30", &trap]).status.success());
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(10),
        "stopped by SIGTERM, not after the grace time"
    );
    assert_eq!(
        stdout(&p.podman(&["inspect", "-f", "{{.State.ExitCode}}", &trap])).trim(),
        "7"
    );
    assert_eq!(stdout(&p.podman(&["logs", &trap])), "got-term\n");
    assert!(p.podman(&["rm", &trap]).status.success());
    // sleep as pid 1 ignores SIGTERM: podman stops it with SIGKILL after the grace time.
    let t0 = std::time::Instant::now();
    assert!(p.podman(&["stop", "-t", "1", &id]).status.success());
    assert!(t0.elapsed() >= std::time::Duration::from_millis(900));
    assert_eq!(
        stdout(&p.podman(&["inspect", "-f", "{{.State.Status}}", &id])).trim(),
        "exited"
    );
    assert!(p.podman(&["rm", &id]).status.success());
}

#[test]
fn podman_resource_limits_are_seen_inside() {
    let Some(p) = Podman::new("pmres") else {
        return;
    };
    let out = p.run_ok(
        &["--memory", "64m", "--pids-limit", "50", "--cpus", "0.5"],
        &["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us"],
    );
    assert_eq!(out, "67108864\n50\n50000\n");
    // Enforced, not just written: the 6th fork fails; a memory hog is OOM-killed (137).
    let out = p.run(
        &["--pids-limit", "5"],
        &["sh", "-c", "for i in 1 2 3 4 5 6; do sleep 2 & done; wait"],
    );
    assert!(stderr(&out).contains("can't fork"), "{}", stderr(&out));
    let out = p.run_ok(
        &["--memory", "16m", "--memory-swap", "16m"],
        &["sh", "-c", "tail /dev/zero; echo $?"],
    );
    assert_eq!(out, "137\n");
}

#[test]
fn podman_security_options_are_applied() {
    let Some(p) = Podman::new("pmsec") else {
        return;
    };
    let out = p.run_ok(
        &["--cap-drop", "ALL", "--cap-add", "NET_RAW", "--user", "1000:1000", "--security-opt", "no-new-privileges", "--read-only", "--hostname", "pmhost"],
        &["sh", "-c", "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; id -u; id -g; hostname; touch /x 2>&1; true"],
    );
    assert_eq!(out, "CapEff:\t0000000000002000\nNoNewPrivs:\t1\n1000\n1000\npmhost\ntouch: /x: Read-only file system\n");
    // A seccomp profile: mkdir refused with EPERM.
    let profile = p.dir.join("seccomp.json");
    std::fs::write(&profile, r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#).unwrap();
    let opt = format!("seccomp={}", profile.display());
    let out = p.run_ok(
        &["--security-opt", &opt],
        &[
            "sh",
            "-c",
            "mkdir /tmp/d 2>&1; grep Seccomp: /proc/self/status",
        ],
    );
    assert_eq!(
        out,
        "mkdir: can't create directory '/tmp/d': Operation not permitted\nSeccomp:\t2\n"
    );
}

#[test]
fn podman_volumes_and_tmpfs() {
    let Some(p) = Podman::new("pmvol") else {
        return;
    };
    let vol = p.dir.join("vol");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(vol.join("f"), "from the host\n").unwrap();
    let bind = format!("{}:/data", vol.display());
    // podman's --tmpfs passes tmpcopyup: the tmpfs root keeps the mode asked for (as runc).
    let out = p.run_ok(
        &["-v", &bind, "--tmpfs", "/scratch:size=2m,mode=1770"],
        &["sh", "-c", "cat /data/f; echo back > /data/g; awk '$5 == \"/scratch\" {for (i = 7; $i != \"-\"; i++); print $(i+1), $(i+3)}' /proc/self/mountinfo; stat -c %a /scratch"],
    );
    assert_eq!(out, "from the host\ntmpfs rw,size=2048k,mode=1770\n1770\n");
    assert_eq!(std::fs::read_to_string(vol.join("g")).unwrap(), "back\n");
}

/// hull's message reaches the user whether podman reads it from hull's stderr (the default
/// for a runtime it does not know) or from the JSON `--log` file (`runtime_supports_json`).
#[test]
fn podman_shows_hulls_errors() {
    shows_hulls_errors(Podman::new("pmerr"));
    shows_hulls_errors(Podman::with(
        "pmerrj",
        "runtime_supports_json = [\"hull\"]\n",
    ));
}

fn shows_hulls_errors(p: Option<Podman>) {
    let Some(p) = p else { return };
    let out = p.podman(&[
        "run",
        "-d",
        "--cgroup-parent",
        &p.cgroup_parent,
        IMAGE,
        "sleep",
        "300",
    ]);
    let id = stdout(&out).trim().to_owned();
    let out = p.podman(&["exec", &id, "/no/such/program"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        stderr(&out).contains("process.args[0]: /no/such/program"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&[], &["/no/such/program"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("process.args[0]"), "{}", stderr(&out));
    // A memory limit podman lets through but hull refuses: hull's words reach the user.
    let out = p.run(&["--memory", "100"], &["true"]);
    assert_eq!(out.status.code(), Some(126));
    assert!(
        stderr(&out)
            .contains("hull: linux.resources.memory.limit: 100 is below the minimum of 256 KiB"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn podman_more_run_options_are_seen_inside() {
    let Some(p) = Podman::new("pmmore") else {
        return;
    };
    // --read-only keeps /tmp, /var/tmp and /run writable (podman's read-only-tmpfs, tmpcopyup).
    // /run's tmpfs has no mode=: it keeps the image's 755, as under runc (/tmp asks 1777).
    let out = p.run_ok(&["--read-only"], &["sh", "-c", "touch /tmp/a /var/tmp/b /run/c && echo ok; stat -c %a /tmp /run; touch /etc/x 2>&1; true"]);
    assert_eq!(out, "ok\n1777\n755\ntouch: /etc/x: Read-only file system\n");
    let out = p.run_ok(
        &["--device", "/dev/null:/dev/xnull", "--oom-score-adj", "500", "--shm-size", "1m", "--sysctl", "net.ipv4.ip_forward=1", "-e", "FOO=bar", "-w", "/tmp", "--entrypoint", "sh"],
        &["-c", "stat -c '%F %t,%T' /dev/xnull; echo x > /dev/xnull; cat /proc/self/oom_score_adj; df -k /dev/shm | awk 'NR==2 {print $2}'; cat /proc/sys/net/ipv4/ip_forward; echo $FOO; pwd"],
    );
    assert_eq!(out, "character special file 1,3\n500\n1024\n1\nbar\n/tmp\n");
    // Any --ulimit makes podman (rootful) also ask nproc 1048576, above root's hard limit
    // here: give nproc too. (runc fails the same way without it.)
    let out = p.run_ok(
        &["--ulimit", "nofile=1000:1000", "--ulimit", "nproc=500:500"],
        &["sh", "-c", "ulimit -n; ulimit -u"],
    );
    assert_eq!(out, "1000\n500\n");
    let out = p.run(&["--ulimit", "nofile=1000:1000"], &["true"]);
    assert!(
        stderr(&out)
            .contains("setrlimit RLIMIT_NPROC soft 1048576 hard 1048576 (process.rlimits): EPERM"),
        "{}",
        stderr(&out)
    );
    let out = p.run_ok(
        &["--user", "1000", "--group-add", "10"],
        &["sh", "-c", "id -u; grep Groups /proc/self/status"],
    );
    assert_eq!(out, "1000\nGroups:\t0 10 \n");
    let out = p.run_ok(
        &["--privileged"],
        &[
            "sh",
            "-c",
            "grep CapEff /proc/self/status; test -e /dev/vda && echo host-devices",
        ],
    );
    assert_eq!(out, "CapEff:\t000001fffeffffff\nhost-devices\n");
    // A private cgroup namespace: the container sees its cgroup as the root.
    let out = p.run_ok(
        &["--cgroupns", "private"],
        &[
            "sh",
            "-c",
            "grep -c ':/$' /proc/self/cgroup; grep -vc ':/$' /proc/self/cgroup; true",
        ],
    );
    assert_eq!(out.lines().nth(1), Some("0"), "{out}");
    if std::path::Path::new("/usr/bin/catatonit").exists() {
        let out = p.run_ok(
            &["--init"],
            &["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"],
        );
        assert!(out.starts_with("/run/podman-init -- sh -c"), "{out}");
    }
}

#[test]
fn podman_exec_options_signals_restart_and_wait() {
    let Some(p) = Podman::new("pmexec") else {
        return;
    };
    let out = p.podman(&[
        "run",
        "-d",
        "--cgroup-parent",
        &p.cgroup_parent,
        IMAGE,
        "sh",
        "-c",
        "trap 'echo usr1' USR1; while :; do sleep 0.1; done",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out).trim().to_owned();
    let out = p.podman(&[
        "exec",
        "--user",
        "1000:1000",
        "-w",
        "/tmp",
        "-e",
        "X=y",
        &id,
        "sh",
        "-c",
        "id -u; id -g; pwd; echo $X",
    ]);
    assert_eq!(stdout(&out), "1000\n1000\n/tmp\ny\n", "{}", stderr(&out));
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(format!(
        "echo typed | timeout -k 5 60 podman --root {0}/storage --runroot {0}/run --tmpdir {0}/tmp --storage-driver overlay exec -i {id} cat",
        p.dir.display()
    ));
    cmd.env("CONTAINERS_CONF", &p.conf).current_dir(&p.dir);
    assert_eq!(stdout(&run(&p.dir, &mut cmd)), "typed\n");
    let mut cmd = tty_command(&format!(
        "podman --root {0}/storage --runroot {0}/run --tmpdir {0}/tmp --storage-driver overlay exec -t {id} tty",
        p.dir.display()
    ));
    cmd.env("CONTAINERS_CONF", &p.conf).current_dir(&p.dir);
    let out = run_tty(&p.dir, &mut cmd);
    assert!(
        stdout(&out).contains("/dev/pts/"),
        "{} {}",
        stdout(&out),
        stderr(&out)
    );
    // kill by name (hull gets the number), seen by the container's trap.
    assert!(p.podman(&["kill", "-s", "USR1", &id]).status.success());
    let logs = (0..50)
        .map(|_| stdout(&p.podman(&["logs", &id])))
        .find(|l| l.contains("usr1"));
    assert!(logs.is_some(), "SIGUSR1 never reached the container");
    assert!(p.podman(&["restart", "-t", "0", &id]).status.success());
    assert_eq!(
        stdout(&p.podman(&["inspect", "-f", "{{.State.Status}}", &id])).trim(),
        "running"
    );
    assert!(p.podman(&["kill", &id]).status.success());
    assert_eq!(stdout(&p.podman(&["wait", &id])).trim(), "137");
    assert!(p.podman(&["rm", &id]).status.success());
}

/// A pod: podman's infra container (catatonit, from a pause image podman builds locally)
/// holds the namespaces; a container joins them by path (hull's setns), e.g. the pod's UTS.
#[test]
fn podman_pod_members_join_the_infra_namespaces() {
    let Some(p) = Podman::new("pmpod") else {
        return;
    };
    if !have("catatonit") {
        return;
    }
    let parent = format!("{}/pod", p.cgroup_parent);
    let out = p.podman(&[
        "pod",
        "create",
        "--name",
        "hullpod",
        "--hostname",
        "podhost",
        "--share",
        "uts,ipc,pid",
        "--cgroup-parent",
        &parent,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(p.podman(&["pod", "start", "hullpod"]).status.success());
    let out = p.podman(&[
        "run",
        "--rm",
        "--pod",
        "hullpod",
        IMAGE,
        "sh",
        "-c",
        "hostname; cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert_eq!(stdout(&out), "podhost\n/catatonit -P ", "{}", stderr(&out));
    let out = p.podman(&["pod", "rm", "-f", "-t", "0", "hullpod"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `--cgroups=disabled`: podman allows it only for runtimes listed in containers.conf
/// (`runtime_supports_nocgroup`, singular in podman 4.3 whatever its man page says) and then
/// passes crun's `--cgroup-manager disabled`: the container stays in conmon's cgroups.
#[test]
fn podman_without_cgroups() {
    let Some(p) = Podman::with("pmnocg", "runtime_supports_nocgroup = [\"hull\"]\n") else {
        return;
    };
    let mine = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let pids = |cg: &str| {
        cg.lines()
            .find(|l| l.split(':').nth(1) == Some("pids"))
            .unwrap_or("")
            .to_owned()
    };
    let out = p.podman(&[
        "run",
        "--rm",
        "--cgroups=disabled",
        IMAGE,
        "cat",
        "/proc/self/cgroup",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(pids(&stdout(&out)), pids(&mine), "no cgroup of its own");
    let out = p.podman(&[
        "run",
        "--rm",
        "--cgroups=disabled",
        "--memory",
        "64m",
        IMAGE,
        "true",
    ]);
    assert!(stderr(&out).contains("hull: linux.resources: --cgroup-manager disabled: the container has no cgroup to apply limits in"), "{}", stderr(&out));
    let out = p.podman(&["run", "-d", "--cgroups=disabled", IMAGE, "sleep", "300"]);
    let id = stdout(&out).trim().to_owned();
    assert_eq!(
        stdout(&p.podman(&["exec", &id, "echo", "exec-ok"])),
        "exec-ok\n"
    );
    assert!(p.podman(&["stop", "-t", "0", &id]).status.success());
    assert!(p.podman(&["rm", &id]).status.success());
}
