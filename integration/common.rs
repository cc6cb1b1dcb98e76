//! Test harness: a private state root per test, bundles over the shared busybox rootfs, and
//! helpers to run hull and read what the container printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{json, Value};

pub const HULL: &str = env!("CARGO_BIN_EXE_hull");

/// Where every test's state roots and bundles live; `hack/test` checks it is empty afterwards.
pub const TEST_BASE: &str = "/run/hull-test";

/// The cgroup (in every hierarchy) under which test containers get theirs.
pub const CGROUP_BASE: &str = "/hull-test";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The busybox rootfs (made by `hack/mkrootfs`), shared read-only by all tests.
pub fn rootfs() -> PathBuf {
    let path = std::env::var("HULL_TEST_ROOTFS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-rootfs"));
    if !path.join("bin/busybox").exists() {
        let status = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("hack/mkrootfs"))
            .arg(&path)
            .status()
            .expect("running hack/mkrootfs");
        assert!(status.success(), "hack/mkrootfs failed");
    }
    path
}

/// One test's world: a state root and a bundle dir, both removed (after `delete --force` of
/// every container left) when dropped.
pub struct Env {
    pub root: PathBuf,
    pub base: PathBuf,
    name: String,
}

impl Env {
    pub fn new(name: &str) -> Env {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let base = Path::new(TEST_BASE).join(format!("{name}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        Env {
            root: base.join("state"),
            base,
            name: format!("{name}-{n}"),
        }
    }

    /// A container ID unique to this test.
    pub fn id(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.name)
    }

    /// A bundle dir holding `config` (rootfs: the shared busybox rootfs, by absolute path).
    /// Unless the config says otherwise, its cgroup is `/hull-test/<name>`, which the leak
    /// check of `hack/test` watches.
    pub fn bundle(&self, name: &str, config: &Value) -> PathBuf {
        let dir = self.base.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = config.clone();
        if config["linux"].is_object() && config["linux"].get("cgroupsPath").is_none() {
            config["linux"]["cgroupsPath"] = json!(format!("{CGROUP_BASE}/{name}"));
        }
        std::fs::write(
            dir.join("config.json"),
            serde_json::to_vec_pretty(&config).unwrap(),
        )
        .unwrap();
        dir
    }

    /// Run hull with `--root` set to this test's state root. Output goes through files, not
    /// pipes: a created container's init inherits hull's stdio and would hold a pipe open.
    /// `hull --root ROOT ARGS` with stdin from /dev/null, for a test to give its own stdout,
    /// stderr or environment, or to spawn.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_of(Path::new(HULL), args)
    }

    /// [`Env::command`] with another hull binary (e.g. a private copy a test attacks).
    pub fn command_of(&self, hull: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(hull);
        cmd.arg("--root")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    pub fn hull(&self, args: &[&str]) -> Output {
        self.hull_of(Path::new(HULL), args)
    }

    /// [`Env::hull`] with another hull binary.
    pub fn hull_of(&self, hull: &Path, args: &[&str]) -> Output {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let (out_path, err_path) = (
            self.base.join(format!(".out-{n}")),
            self.base.join(format!(".err-{n}")),
        );
        let status = self
            .command_of(hull, args)
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .status()
            .expect("running hull");
        let output = Output {
            status,
            stdout: std::fs::read(&out_path).unwrap(),
            stderr: std::fs::read(&err_path).unwrap(),
        };
        let _ = std::fs::remove_file(out_path);
        let _ = std::fs::remove_file(err_path);
        output
    }

    /// `hull ARGS`, asserting it succeeded (its stderr in the message); its stdout. For the
    /// steps a test needs to work before it checks what it is about.
    pub fn hull_ok(&self, args: &[&str]) -> String {
        self.hull_ok_of(Path::new(HULL), args)
    }

    /// [`Env::hull_ok`] with another hull binary.
    pub fn hull_ok_of(&self, hull: &Path, args: &[&str]) -> String {
        let out = self.hull_of(hull, args);
        assert!(out.status.success(), "hull {args:?}: {}", stderr(&out));
        stdout(&out)
    }

    /// `hull create` of `config` as `id`, asserting success; the bundle.
    pub fn create(&self, id: &str, config: &Value) -> PathBuf {
        let bundle = self.bundle(id, config);
        self.hull_ok(&["create", "-b", bundle.to_str().unwrap(), id]);
        bundle
    }

    /// `hull run -d` of `config` as `id`, asserting success: a running container to test; the
    /// bundle.
    pub fn run_detached(&self, id: &str, config: &Value) -> PathBuf {
        let bundle = self.bundle(id, config);
        self.hull_ok(&["run", "-d", "-b", bundle.to_str().unwrap(), id]);
        bundle
    }

    /// `hull --debug --log LOG GLOBAL... run` of `config` as `id`, asserting success: its
    /// output and the log's text, for tests of what hull (and init through it) logs.
    pub fn run_with_debug_log(
        &self,
        id: &str,
        config: &Value,
        global: &[&str],
    ) -> (Output, String) {
        let bundle = self.bundle(id, config);
        let log = self.base.join(format!("{id}.debug.log"));
        let mut args = vec!["--debug", "--log", log.to_str().unwrap()];
        args.extend_from_slice(global);
        args.extend_from_slice(&["run", "-b", bundle.to_str().unwrap(), id]);
        let out = self.hull(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = std::fs::read_to_string(&log).unwrap();
        (out, text)
    }

    /// The pid of container `id`'s init, from `state`.
    pub fn pid(&self, id: &str) -> i64 {
        self.state(id)["pid"].as_i64().unwrap()
    }

    /// `hull exec -d --pid-file` of `args` in container `id`: the exec'd process's pid.
    pub fn exec_detached(&self, id: &str, args: &[&str]) -> String {
        let pid_file = self.base.join(format!(
            ".exec-{}.pid",
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let mut all = vec!["exec", "-d", "--pid-file", pid_file.to_str().unwrap(), id];
        all.extend_from_slice(args);
        self.hull_ok(&all);
        std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .to_owned()
    }

    /// `hull run` of `config`; returns (exit code, stdout, stderr).
    pub fn run(&self, id: &str, config: &Value) -> (i32, String, String) {
        let bundle = self.bundle(id, config);
        let out = self.hull(&["run", "--bundle", bundle.to_str().unwrap(), id]);
        (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
    }

    /// Run a shell command in a container and return its stdout, asserting success.
    pub fn sh(&self, id: &str, mut config: Value, script: &str) -> String {
        config["process"]["args"] = json!(["sh", "-c", script]);
        let (code, out, err) = self.run(id, &config);
        assert_eq!(code, 0, "container {id} failed: stdout={out} stderr={err}");
        out
    }

    /// `create` of `config` as `id` fails naming `needle`, and leaves no state dir.
    pub fn assert_create_refused(&self, id: &str, config: &Value, needle: &str) {
        let bundle = self.bundle(id, config);
        assert_fails(
            &self.hull(&["create", "-b", bundle.to_str().unwrap(), id]),
            needle,
        );
        assert!(!self.state_dir(id).exists(), "{id}: state dir left behind");
    }

    pub fn state(&self, id: &str) -> Value {
        let out = self.hull(&["state", id]);
        assert!(out.status.success(), "state {id}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("state JSON")
    }

    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap().to_owned()
    }

    pub fn state_dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }
}

impl Drop for Env {
    /// Deletes what the test left, then checks the host's mount table: nothing may stay
    /// mounted under the test's directory (checked after every test, not only at the end of
    /// the run). Leftovers are detached first, so removing the directory cannot reach into a
    /// bind of a host path.
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            for e in entries.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = self.hull(&["delete", "--force", &id]);
            }
        }
        let left = mounts_under(&self.base);
        for m in left.iter().rev() {
            let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
        let _ = std::fs::remove_dir_all(&self.base);
        if !left.is_empty() && !std::thread::panicking() {
            panic!("the test left mounts on the host: {left:?}");
        }
    }
}

/// Mount points on the host under `dir`, in mount order.
fn mounts_under(dir: &Path) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| Path::new(p).starts_with(dir))
        .map(str::to_owned)
        .collect()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Assert a hull invocation failed with exit status 1 and stderr mentioning `needle`.
pub fn assert_fails(o: &Output, needle: &str) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "expected failure; stdout={} stderr={}",
        stdout(o),
        stderr(o)
    );
    let err = stderr(o);
    // Not a terminal: the bare message, as runc's (a terminal gets `hull: ` before it).
    assert!(
        !err.starts_with("hull: "),
        "stderr should be the bare message: {err}"
    );
    assert!(
        err.contains(needle),
        "stderr should mention {needle:?}: {err}"
    );
}

/// A runc-like config over the shared rootfs: all namespaces but user/time, the usual mounts.
pub fn config(args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.2.1",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HULL_TEST=1"],
            "cwd": "/"
        },
        "root": {"path": rootfs(), "readonly": true},
        "hostname": "hull-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}
        ],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"]
        }
    })
}

/// Check `done` up to `tries` times, `pause_ms` apart; whether it came true.
pub fn poll_until(tries: u32, pause_ms: u64, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..tries {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(pause_ms));
    }
    done()
}

/// Wait (briefly) until the container reaches `status`.
pub fn wait_status(env: &Env, id: &str, status: &str) {
    assert!(
        poll_until(200, 10, || env.status(id) == status),
        "container {id} never became {status} (is {})",
        env.status(id)
    );
}

/// `dir/file`'s contents, trimmed (a cgroup file's value); panics naming the file.
pub fn read_file(dir: &Path, file: &str) -> String {
    let path = dir.join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_owned()
}

/// Is any process alive whose command line mentions `needle`?
pub fn process_with(needle: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains(needle))
            .unwrap_or(false)
            && e.file_name() != std::process::id().to_string().as_str()
    })
}

/// Does any mount of this process's namespace mention `needle`?
pub fn mount_with(needle: &str) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(needle)
}

/// `c` with a user namespace of its own over the test rootfs: container ids 0-65535 are host
/// ids 100000-165535.
pub fn with_user_namespace(mut c: Value) -> Value {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c
}

/// The machine's online CPUs, as the kernel lists them ("0-1").
pub fn online_cpus() -> String {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .unwrap()
        .trim()
        .to_owned()
}

/// The last online CPU ("0-1" → "1"): a cpuset a container can be given on any machine.
pub fn last_online_cpu() -> String {
    online_cpus().rsplit([',', '-']).next().unwrap().to_owned()
}

/// OOM, the way a kubelet sees it: `runs` times in a row, a container whose process outgrows
/// its memory limit is OOM-killed, `events` (started before `start`, so it cannot miss it)
/// reports `{"type":"oom"}`, and the cgroup's own OOM-kill counter (what containerd's shim
/// watches: memory.oom_control on v1, memory.events on v2) counts it. `global`: hull's
/// flags before the command (e.g. `--systemd-cgroup`); `cgroups_path`: the container's.
pub fn oom_is_reported_every_time(
    name: &str,
    global: &[&str],
    cgroups_path: impl Fn(&str) -> String,
    runs: usize,
) {
    let env = Env::new(name);
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    for n in 0..runs {
        let id = env.id(&format!("o{n}"));
        let mut c = config(&["sh", "-c", "tail /dev/zero"]);
        let limit = 16 << 20;
        c["linux"]["resources"] = json!({"memory": {"limit": limit}});
        if v2 || Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
            c["linux"]["resources"]["memory"]["swap"] = json!(limit);
        }
        c["linux"]["cgroupsPath"] = json!(cgroups_path(&id));
        let bundle = env.bundle(&id, &c);
        let with = |args: &[&str]| -> Vec<String> {
            global.iter().chain(args).map(|s| s.to_string()).collect()
        };
        let hull = |args: &[&str]| {
            let all = with(args);
            env.hull(&all.iter().map(String::as_str).collect::<Vec<_>>())
        };
        let out = hull(&["create", "-b", bundle.to_str().unwrap(), &id]);
        assert!(out.status.success(), "run {n}: {}", stderr(&out));
        let events_out = env.base.join(format!("events-{n}"));
        let mut events = env
            .command(
                &with(&["events", "--interval", "60s", &id])
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            )
            .stdout(std::fs::File::create(&events_out).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // events has read the counter once it printed its first stats line.
        assert!(poll_until(300, 20, || std::fs::read_to_string(&events_out)
            .is_ok_and(|t| t.contains("\"stats\""))));
        let out = hull(&["start", &id]);
        assert!(out.status.success(), "run {n}: {}", stderr(&out));
        let ended = poll_until(1200, 50, || events.try_wait().unwrap().is_some());
        if !ended {
            let _ = events.kill();
        }
        let _ = events.wait();
        let text = std::fs::read_to_string(&events_out).unwrap();
        assert!(
            ended,
            "run {n}: events did not end with the container: {text}"
        );
        // What the cgroup says, for the message if events saw no OOM.
        let record: Value =
            serde_json::from_slice(&std::fs::read(env.state_dir(&id).join("state.json")).unwrap())
                .unwrap();
        let seen = |f: &str| {
            record["cgroup"]["dirs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    let p = PathBuf::from(d.as_str().unwrap()).join(f);
                    format!("{}: {:?}", p.display(), std::fs::read_to_string(&p))
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        assert!(
            text.lines().any(|l| l.contains("\"type\":\"oom\"")),
            "run {n}: events reported no OOM: {text}\ncgroup: {}; state: {}",
            seen(if v2 {
                "memory.events"
            } else {
                "memory.oom_control"
            }),
            stdout(&hull(&["state", &id]))
        );
        // The kernel's own count, in the directory hull recorded for the container.
        let record: Value =
            serde_json::from_slice(&std::fs::read(env.state_dir(&id).join("state.json")).unwrap())
                .unwrap();
        let dirs = record["cgroup"]["dirs"].as_array().unwrap().clone();
        let memory = dirs
            .iter()
            .map(|d| PathBuf::from(d.as_str().unwrap()))
            .find(|d| v2 || d.starts_with("/sys/fs/cgroup/memory"))
            .unwrap_or_else(|| panic!("no memory cgroup in {dirs:?}"));
        let file = if v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        // A systemd scope is removed once its last process is gone, the kernel's count with
        // it (a shim watching the file saw it live, as events did above).
        if let Ok(counters) = std::fs::read_to_string(memory.join(file)) {
            let kills: u64 = counters
                .lines()
                .find_map(|l| l.strip_prefix("oom_kill "))
                .unwrap_or_else(|| panic!("{file}: {counters}"))
                .trim()
                .parse()
                .unwrap();
            assert!(kills >= 1, "run {n}: {file} counts no OOM kill: {counters}");
        } else {
            assert!(
                !global.is_empty(),
                "run {n}: the cgroupfs cgroup went before delete"
            );
        }
        assert!(hull(&["delete", "--force", &id]).status.success());
    }
}
