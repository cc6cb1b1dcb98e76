//! containerd with its runc shim (containerd-shim-runc-v2, the path CRI and so Kubernetes
//! take) calling hull as the runc binary (the shim's `BinaryName` option, which `ctr
//! --runc-binary` sets). A private daemon: root, state and sockets in the test's directory,
//! no CRI plugin (so no CNI), cgroups under the tests' base cgroup.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use super::{have, remove_cgroup_tree, run, run_tty, tty_command, unmount_under, IMAGE};
use crate::common::*;

/// The CRI sandbox ("pause") image: the same busybox, sleeping.
const PAUSE: &str = "localhost/hull-pause:latest";

struct Containerd {
    env: Env,
    dir: PathBuf,
    daemon: Child,
    cgroup_base: String,
    /// containerd's namespace for ctr ("default") or CRI ("k8s.io").
    namespace: &'static str,
}

impl Containerd {
    fn new(name: &str) -> Option<Containerd> {
        Self::start(name, false)
    }

    /// With the CRI plugin (the path Kubernetes takes): a runtime handler "hull" of type
    /// io.containerd.runc.v2 whose BinaryName is hull, as README's recipe. Pods use the host
    /// network (no CNI). Root lacks CAP_SYS_RESOURCE here, so containerd is told not to ask
    /// for an oom_score_adj below its own (restrict_oom_score_adj; -998 for the sandbox
    /// would fail with EACCES, for runc too).
    fn with_cri(name: &str) -> Option<Containerd> {
        if !std::path::Path::new("/usr/bin/python3").exists()
            || !Command::new("/usr/bin/python3")
                .args(["-c", "import grpc, grpc_tools"])
                .status()
                .is_ok_and(|s| s.success())
        {
            eprintln!("SKIPPED: /usr/bin/python3 with grpcio and grpc_tools is missing (hack/test installs python3-grpcio python3-grpc-tools)");
            return None;
        }
        Self::start(name, true)
    }

    fn start(name: &str, cri: bool) -> Option<Containerd> {
        if !have("containerd") || !have("ctr") || !have("containerd-shim-runc-v2") {
            return None;
        }
        let env = Env::new(name);
        let dir = env.base.join("containerd");
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        let plugins = if cri {
            for sub in ["cni-bin", "cni-conf", "logs"] {
                std::fs::create_dir_all(dir.join(sub)).unwrap();
            }
            format!(
                "[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"localhost/hull-pause:latest\"\n  restrict_oom_score_adj = true\n\
                 [plugins.\"io.containerd.grpc.v1.cri\".cni]\n  bin_dir = \"{d}/cni-bin\"\n  conf_dir = \"{d}/cni-conf\"\n\
                 [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  default_runtime_name = \"hull\"\n\
                 [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.hull]\n  runtime_type = \"io.containerd.runc.v2\"\n\
                 [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.hull.options]\n  BinaryName = \"{HULL}\"\n  Root = \"{d}/hull-root\"\n  SystemdCgroup = false\n"
            )
        } else {
            "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n".to_owned()
        };
        std::fs::write(
            dir.join("config.toml"),
            format!(
                "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n[grpc]\n  address = \"{d}/c.sock\"\n[ttrpc]\n  address = \"{d}/c.sock.ttrpc\"\n{plugins}"
            ),
        )
        .unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdout(std::fs::File::create(dir.join("containerd.log")).unwrap())
            .stderr(std::fs::File::create(dir.join("containerd.err")).unwrap())
            .spawn()
            .unwrap();
        let namespace = if cri { "k8s.io" } else { "default" };
        let c = Containerd {
            env,
            dir,
            daemon,
            cgroup_base: format!("{CGROUP_BASE}/ctr-{}-{name}", std::process::id()),
            namespace,
        };
        poll_until(200, 50, || c.ctr(&["version"]).status.success());
        let images: &[(&str, &[&str])] = if cri {
            &[(IMAGE, &["sh"]), (PAUSE, &["sleep", "1000000"])]
        } else {
            &[(IMAGE, &["sh"])]
        };
        for (name, cmd) in images {
            let tar = docker_archive(&c.dir, name, cmd);
            let out = c.ctr(&["image", "import", tar.to_str().unwrap()]);
            assert!(out.status.success(), "ctr image import: {}", stderr(&out));
        }
        Some(c)
    }

    fn ctr(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("timeout");
        cmd.args(["-k", "5", "60", "ctr", "--address"])
            .arg(self.dir.join("c.sock"))
            .args(["--namespace", self.namespace])
            .args(args);
        run(&self.dir, &mut cmd)
    }

    /// `ctr run` through the shim with hull as its runc binary, in a cgroup of the test.
    fn run(&self, opts: &[&str], id: &str, cmd: &[&str]) -> Output {
        let cgroup = format!("{}/{id}", self.cgroup_base);
        let root = self.runc_root();
        let mut args = vec![
            "run",
            "--runc-binary",
            HULL,
            "--runc-root",
            &root,
            "--cgroup",
            &cgroup,
        ];
        args.extend_from_slice(opts);
        args.extend([IMAGE, id]);
        args.extend_from_slice(cmd);
        self.ctr(&args)
    }

    fn run_ok(&self, opts: &[&str], id: &str, cmd: &[&str]) -> String {
        let mut all = vec!["--rm"];
        all.extend_from_slice(opts);
        let out = self.run(&all, id, cmd);
        assert!(
            out.status.success(),
            "ctr run {opts:?} {cmd:?}: {}",
            stderr(&out)
        );
        stdout(&out)
    }

    /// The shim's `--root` for hull (private, instead of /run/containerd/runc).
    fn runc_root(&self) -> String {
        self.dir.join("hull-root").display().to_string()
    }

    fn status(&self, id: &str) -> String {
        let out = stdout(&self.ctr(&["task", "ls"]));
        out.lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or("")
            .to_owned()
    }

    /// Kill, wait for the shim to report the exit, delete task and container.
    fn remove(&self, id: &str) {
        let _ = self.ctr(&["task", "kill", "-s", "KILL", id]);
        poll_until(100, 20, || {
            !["RUNNING", "PAUSED"].contains(&self.status(id).as_str())
        });
        let _ = self.ctr(&["task", "rm", id]);
        let _ = self.ctr(&["container", "rm", id]);
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let ids = stdout(&self.ctr(&["container", "ls", "-q"]));
        for id in ids.lines() {
            self.remove(id);
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        unmount_under(&self.dir);
        remove_cgroup_tree(&self.cgroup_base);
        let _ = &self.env;
    }
}

/// A `docker save`-style archive of the test rootfs as image `name` with command `cmd`,
/// which `ctr image import` takes.
fn docker_archive(dir: &Path, name: &str, cmd: &[&str]) -> PathBuf {
    let img = dir.join(format!("image-{}", name.replace(['/', ':'], "_")));
    std::fs::create_dir_all(&img).unwrap();
    let layer = super::busybox_tar(&img);
    std::fs::rename(&layer, img.join("layer.tar")).unwrap();
    let digest = Command::new("sha256sum")
        .arg(img.join("layer.tar"))
        .output()
        .unwrap();
    let digest = String::from_utf8_lossy(&digest.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let config = serde_json::json!({"architecture": "amd64", "os": "linux",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin:/sbin:/usr/bin:/usr/sbin"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{digest}")]}});
    std::fs::write(img.join("config.json"), config.to_string()).unwrap();
    let manifest =
        serde_json::json!([{"Config": "config.json", "RepoTags": [name], "Layers": ["layer.tar"]}]);
    std::fs::write(img.join("manifest.json"), manifest.to_string()).unwrap();
    let tar = img.with_extension("tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&img)
        .arg("-cf")
        .arg(&tar)
        .args(["config.json", "manifest.json", "layer.tar"])
        .status()
        .unwrap();
    assert!(st.success());
    tar
}

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

/// Kubernetes' path: a CRI client (integration/clients/cri_client.py, over containerd's CRI
/// socket) runs a pod and containers with runtime handler "hull" (containerd's runc shim runs
/// hull as its BinaryName, from containerd's config): ExecSync, ContainerStats,
/// UpdateContainerResources, a Pod securityContext and limits seen inside, StopContainer's
/// SIGTERM, and hull's errors in the CRI replies.
#[test]
fn containerd_cri_runs_a_pod_through_the_hull_runtime_handler() {
    let Some(c) = Containerd::with_cri("ctrcri") else {
        return;
    };
    let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/clients/cri_client.py");
    let work = c.dir.join("cri-work");
    std::fs::create_dir_all(work.join("vol")).unwrap();
    std::fs::write(work.join("vol/f"), "from the host\n").unwrap();
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "5", "120", "/usr/bin/python3"])
        .arg(&client)
        .arg(c.dir.join("c.sock"))
        .arg("hull")
        .arg(IMAGE)
        .arg(&c.cgroup_base)
        .arg(c.dir.join("logs"))
        .arg(c.dir.join("hull-root"))
        .arg(&work);
    let out = run(&c.dir, &mut cmd);
    assert!(out.status.success(), "{} {}", stdout(&out), stderr(&out));
    let seen: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&seen).unwrap());
    assert!(
        seen["stats"]["working_set_bytes"].as_u64().unwrap() > 0,
        "ContainerStats read hull's cgroup"
    );
    assert_eq!(
        seen["updated"], "50331648\n20000\n",
        "UpdateContainerResources (hull update) seen inside"
    );
    assert_eq!(
        seen["secured"]["stdout"],
        "CapEff:\t0000000000000000\nCapBnd:\t0000000000002000\nNoNewPrivs:\t1\nSeccomp:\t2\n1000\n1000\n/tmp\n67108864\n50000\nfrom the host\n\
         touch: /x: Read-only file system\ntouch: /data/g: Read-only file system\nmkdir: can't create directory '/tmp/d': Operation not permitted\n",
        "securityContext (caps, runAsUser/Group, readOnlyRootFilesystem, allowPrivilegeEscalation, seccomp Localhost), limits, workingDir and a read-only hostPath"
    );
    // StopContainer sends SIGTERM first: handled, the container exits with its own code at once.
    assert_eq!(seen["term"]["exit_code"], 7);
    assert!(seen["term"]["seconds"].as_f64().unwrap() < 10.0);
    assert!(seen["term"]["log"]
        .as_str()
        .unwrap()
        .ends_with("stdout F got-term\n"));
    // hull's own words reach the CRI client.
    let missing = seen["exec_missing"].as_str().unwrap();
    assert!(
        missing.contains("process.args[0]: /no/such/program: No such file or directory"),
        "{missing}"
    );
    let bad = seen["bad_memory"].as_str().unwrap();
    assert!(
        bad.contains("linux.resources.memory.limit: 100 is below the minimum of 256 KiB"),
        "{bad}"
    );
    assert_eq!(seen["exec"]["exit_code"], 0);
    // The container shares the pod's pid namespace: its pid 1 is the sandbox's "pause".
    assert_eq!(seen["exec"]["stdout"], "yes\nsleep 1000000 ");
    let keys = seen["runtime_state_keys"].as_array().unwrap();
    assert!(
        keys.iter().any(|k| k == "initStartTime"),
        "hull's state.json, not runc's: {keys:?}"
    );
    let log = std::fs::read_to_string(c.dir.join("logs/c.log")).unwrap();
    assert!(log.contains("stdout F started-by-cri"), "{log}");
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
