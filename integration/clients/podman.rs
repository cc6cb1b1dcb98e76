//! podman (with conmon) running containers through hull: `--runtime` is hull's path, set in a
//! private containers.conf; storage, run dir and events in the test's directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::*;

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
}

impl Cli for Podman {
    fn cli(&self, args: &[&str]) -> Output {
        self.podman(args)
    }

    fn cli_line(&self) -> String {
        format!(
            "podman --root {0}/storage --runroot {0}/run --tmpdir {0}/tmp --storage-driver overlay",
            self.dir.display()
        )
    }

    fn prepare(&self, cmd: &mut Command) {
        cmd.env("CONTAINERS_CONF", &self.conf)
            .current_dir(&self.dir);
    }

    fn run_opts(&self) -> Vec<&str> {
        vec!["--cgroup-parent", &self.cgroup_parent]
    }

    fn dir(&self) -> &Path {
        &self.dir
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
    let out = p.piped(&format!(
        "run --rm -i --cgroup-parent {} {IMAGE} cat",
        p.cgroup_parent
    ));
    assert_eq!(stdout(&out), "typed\n", "{}", stderr(&out));
    assert!(p.run_ok(&["-t"], &["tty"]).starts_with("/dev/pts/"));
}

#[test]
fn podman_detached_exec_top_pause_stop_rm() {
    let Some(p) = Podman::new("pmlife") else {
        return;
    };
    let id = p.run_detached(&[], &["sleep", "300"]);
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
    assert_eq!(p.inspect("{{.State.Status}}", &id), "paused");
    assert!(p.podman(&["unpause", &id]).status.success());
    assert_eq!(p.inspect("{{.State.Status}}", &id), "running");
    // A trapping pid 1 stops at SIGTERM; sleep (ignoring it) is killed after the grace time.
    stop_sends_sigterm_then_sigkill(&p, &id);
}

#[test]
fn podman_resource_limits_are_seen_inside() {
    let Some(p) = Podman::new("pmres") else {
        return;
    };
    limits_are_written_and_enforced(&p);
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
    let opt = seccomp_refusing_mkdir(&p);
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
    let id = p.run_detached(&[], &["sleep", "300"]);
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
    exec_options_signals_restart_and_wait(&p, "--user");
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
