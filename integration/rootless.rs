//! hull run by an unprivileged user: its own user namespace (one id mapped directly, more
//! through newuidmap/newgidmap and /etc/subuid), state in $XDG_RUNTIME_DIR/hull, no cgroup
//! unless one is delegated, and no way into another user's containers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::json;

use crate::common::*;

static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A throwaway user (with subordinate ids from useradd), removed with its containers.
struct User {
    name: String,
    uid: u32,
    gid: u32,
    xdg: PathBuf,
    /// Cgroups delegated to the user, removed (as root) at the end.
    cgroups: Vec<PathBuf>,
}

impl User {
    fn new(env: &Env, tag: &str) -> User {
        let name = format!("hullrl{}{tag}", std::process::id() % 100_000);
        // useradd takes a lock on /etc/passwd: tests in parallel may have to wait.
        let added = poll_until(50, 100, || {
            Command::new("useradd")
                .args(["-M", "-s", "/usr/sbin/nologin", &name])
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success()
        });
        assert!(added, "useradd {name}");
        let user = nix::unistd::User::from_name(&name).unwrap().unwrap();
        let xdg = env.base.join(format!("xdg-{name}"));
        std::fs::create_dir_all(&xdg).unwrap();
        std::os::unix::fs::chown(&xdg, Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
        std::fs::set_permissions(&xdg, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        User {
            name,
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            xdg,
            cgroups: Vec::new(),
        }
    }

    /// hull as this user, with its own XDG_RUNTIME_DIR (so the default --root). Output goes
    /// through files: a detached container would hold a pipe open.
    fn hull(&self, args: &[&str]) -> Output {
        self.command(HULL, args)
    }

    /// `program` as this user (HOME and XDG_RUNTIME_DIR: its private dir).
    fn command(&self, program: &str, args: &[&str]) -> Output {
        self.command_in(None, program, args)
    }

    /// As `command`, started in the v2 `cgroup` (moved there as root, before setpriv).
    fn command_in(&self, cgroup: Option<&Path>, program: &str, args: &[&str]) -> Output {
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (out, err) = (
            self.xdg.with_extension(format!("out{n}")),
            self.xdg.with_extension(format!("err{n}")),
        );
        let mut cmd = match cgroup {
            None => Command::new("setpriv"),
            Some(cg) => {
                let mut c = Command::new("sh");
                c.args(["-c", "echo $$ > \"$0/cgroup.procs\" && exec setpriv \"$@\""])
                    .arg(cg);
                c
            }
        };
        let status = cmd
            .args([
                "--reuid",
                &self.name,
                "--regid",
                &self.name,
                "--clear-groups",
                "env",
            ])
            .arg(format!("XDG_RUNTIME_DIR={}", self.xdg.display()))
            .arg(format!("HOME={}", self.xdg.display()))
            .args(["timeout", "60"])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .status()
            .unwrap();
        Output {
            status,
            stdout: std::fs::read(&out).unwrap(),
            stderr: std::fs::read(&err).unwrap(),
        }
    }

    fn subid_start(&self, file: &str) -> u32 {
        let text = std::fs::read_to_string(file).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{}:", self.name)))
            .unwrap_or_else(|| panic!("{} not in {file}", self.name));
        line.split(':').nth(1).unwrap().parse().unwrap()
    }

    /// A v1 cgroup (in every hierarchy) owned by the user, under the tests' base cgroup.
    fn delegate_cgroup(&mut self) -> String {
        let rel = format!(
            "{}/deleg-{}",
            CGROUP_BASE.trim_start_matches('/'),
            self.name
        );
        for entry in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            let hierarchy = entry.path();
            if !hierarchy.join("cgroup.procs").exists()
                || hierarchy.join("cgroup.controllers").exists()
            {
                continue; // not a v1 hierarchy (or cgroup2's "unified")
            }
            let dir = hierarchy.join(&rel);
            std::fs::create_dir_all(&dir).unwrap();
            if dir.join("cpuset.cpus").exists() {
                for f in ["cpuset.cpus", "cpuset.mems"] {
                    for d in [dir.parent().unwrap(), dir.as_path()] {
                        let root = std::fs::read_to_string(hierarchy.join(f)).unwrap();
                        if std::fs::read_to_string(d.join(f))
                            .unwrap()
                            .trim()
                            .is_empty()
                        {
                            std::fs::write(d.join(f), root.trim()).unwrap();
                        }
                    }
                }
            }
            std::os::unix::fs::chown(&dir, Some(self.uid), Some(self.gid)).unwrap();
            for f in std::fs::read_dir(&dir).unwrap().flatten() {
                let _ = std::os::unix::fs::chown(f.path(), Some(self.uid), Some(self.gid));
            }
            self.cgroups.push(dir);
        }
        format!("/{rel}")
    }

    /// The v2 way to delegate: a cgroup of the user's own (its directory, `cgroup.procs`,
    /// `cgroup.subtree_control`, `cgroup.threads`), with the pids controller available, and a
    /// leaf in it for the user's processes (v2 keeps processes out of inner cgroups). Returns
    /// (the delegated cgroup's path, the leaf's directory).
    fn delegate_v2_cgroup(&mut self) -> (String, PathBuf) {
        let top = Path::new("/sys/fs/cgroup");
        let rel = format!(
            "{}/deleg-{}",
            CGROUP_BASE.trim_start_matches('/'),
            self.name
        );
        let dir = top.join(&rel);
        let leaf = dir.join("caller");
        std::fs::create_dir_all(&leaf).unwrap();
        for d in [top, &top.join(CGROUP_BASE.trim_start_matches('/'))] {
            std::fs::write(d.join("cgroup.subtree_control"), "+pids").unwrap();
        }
        for d in [&dir, &leaf] {
            std::os::unix::fs::chown(d, Some(self.uid), Some(self.gid)).unwrap();
            for f in ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"] {
                std::os::unix::fs::chown(d.join(f), Some(self.uid), Some(self.gid)).unwrap();
            }
        }
        self.cgroups.push(dir);
        self.cgroups.push(leaf.clone());
        (format!("/{rel}"), leaf)
    }
}

impl Drop for User {
    fn drop(&mut self) {
        // As root: whatever the test left of the user's containers (and podman's pause
        // process), then the user.
        let root = self.xdg.join("hull");
        if let Ok(entries) = std::fs::read_dir(&root) {
            for e in entries.flatten() {
                let _ = Command::new(HULL)
                    .arg("--root")
                    .arg(&root)
                    .args(["delete", "--force"])
                    .arg(e.file_name())
                    .output();
            }
        }
        for dir in self.cgroups.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
        let _ = Command::new("pkill")
            .args(["-KILL", "-u", &self.name])
            .status();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let _ = Command::new("userdel").arg(&self.name).status();
    }
}

/// The config `hull spec --rootless` writes (run by the user), over the shared rootfs.
fn rootless_config(env: &Env, user: &User, args: &[&str]) -> serde_json::Value {
    let dir = env.base.join(format!("spec-{}", user.name));
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid)).unwrap();
    let out = user.hull(&["spec", "--rootless", "--bundle", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut c: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    c["root"]["path"] = json!(rootfs());
    c["process"]["terminal"] = json!(false);
    c["process"]["args"] = json!(args);
    c
}

/// A bundle the user can read, holding `config` as is (no cgroupsPath added).
fn bundle(env: &Env, name: &str, config: &serde_json::Value) -> PathBuf {
    let dir = env.base.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(config).unwrap(),
    )
    .unwrap();
    dir
}

fn no_default_cgroup(id: &str) -> bool {
    !Path::new("/sys/fs/cgroup/pids/hull").join(id).exists()
        && !Path::new("/sys/fs/cgroup/hull").join(id).exists()
}

#[test]
fn rootless_spec_runs_exec_ps_kill_delete() {
    let env = Env::new("rootless");
    let user = User::new(&env, "a");
    let c = rootless_config(
        &env,
        &user,
        &[
            "sh",
            "-c",
            "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox; sleep 30",
        ],
    );
    let b = bundle(&env, "rl", &c);
    let id = env.id("a");
    let out = user.hull(&["run", "-d", "-b", b.to_str().unwrap(), &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    // State in the user's runtime dir, private to them.
    let root = user.xdg.join("hull");
    assert!(root.join(&id).is_dir());
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&root).unwrap().permissions())
            & 0o777,
        0o700
    );
    let out = user.hull(&[
        "exec",
        &id,
        "sh",
        "-c",
        "cat /proc/self/uid_map; id -u; echo $$; cat /proc/self/gid_map /proc/self/setgroups",
    ]);
    assert!(out.status.success(), "exec: {}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0]
            .split_whitespace()
            .eq(["0", &user.uid.to_string(), "1"]),
        "{text}"
    );
    assert_eq!(lines[1], "0");
    // A single gid mapping written by the user itself needs setgroups denied first.
    assert!(
        lines[3]
            .split_whitespace()
            .eq(["0", &user.gid.to_string(), "1"]),
        "{text}"
    );
    assert_eq!(lines[4], "deny", "{text}");
    // ps without a cgroup: the processes of the container's pid namespace.
    let ps: Vec<i64> = serde_json::from_slice(&user.hull(&["ps", "--format", "json", &id]).stdout)
        .unwrap_or_default();
    assert_eq!(ps.len(), 1, "init only (the exec has ended): {ps:?}");
    let list = stdout(&user.hull(&["list"]));
    assert!(list.contains(&id) && list.contains(&user.name), "{list}");
    assert!(no_default_cgroup(&id), "no cgroup without delegation");
    assert!(user.hull(&["kill", &id, "KILL"]).status.success());
    wait_stopped(&user, &id);
    assert!(user.hull(&["delete", &id]).status.success());
    assert!(!root.join(&id).exists());
}

fn wait_stopped(user: &User, id: &str) {
    assert!(
        poll_until(200, 20, || stdout(&user.hull(&["state", id]))
            .contains("\"stopped\"")),
        "{id} did not stop"
    );
}

#[test]
fn subordinate_ids_are_mapped_with_newuidmap() {
    let env = Env::new("rootlesssub");
    let user = User::new(&env, "s");
    let (subuid, subgid) = (
        user.subid_start("/etc/subuid"),
        user.subid_start("/etc/subgid"),
    );
    let mut c = rootless_config(&env, &user, &["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; touch /tmp/f && chown 1000:1000 /tmp/f && stat -c %u:%g /tmp/f"]);
    c["process"]["capabilities"] =
        json!({"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"]});
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": user.uid, "size": 1}, {"containerID": 1, "hostID": subuid, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": user.gid, "size": 1}, {"containerID": 1, "hostID": subgid, "size": 65536}]);
    // A writable /tmp owned by the container's root, to chown a file in.
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}));
    let b = bundle(&env, "rlsub", &c);
    let out = user.hull(&["run", "-b", b.to_str().unwrap(), &env.id("a")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1]
            .split_whitespace()
            .eq(["1", &subuid.to_string(), "65536"]),
        "{text}"
    );
    assert!(
        lines[3]
            .split_whitespace()
            .eq(["1", &subgid.to_string(), "65536"]),
        "{text}"
    );
    assert_eq!(lines[4], "1000:1000", "a subordinate id owns the file");
}

#[test]
fn limits_need_a_delegated_cgroup() {
    let env = Env::new("rootlesscg");
    let mut user = User::new(&env, "c");
    let mut c = rootless_config(&env, &user, &["sh", "-c", "echo ran"]);
    c["linux"]["resources"] = json!({"pids": {"limit": 20}});
    // Without a delegated cgroup: refused by name, nothing left.
    let b = bundle(&env, "rlcg", &c);
    let id = env.id("a");
    let out = user.hull(&["run", "-b", b.to_str().unwrap(), &id]);
    assert_fails(
        &out,
        "linux.resources: running without root, limits need a cgroup delegated",
    );
    assert!(!user.xdg.join("hull").join(&id).exists());
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        return; // delegation below is the v1 way; the v2 guest runs only the cgroups:: tests
    }
    // With one: the limit is in the container's cgroup, below the delegated one.
    let delegated = user.delegate_cgroup();
    let id = env.id("b");
    c["linux"]["cgroupsPath"] = json!(format!("{delegated}/{id}"));
    c["process"]["args"] = json!(["sleep", "30"]);
    let b = bundle(&env, "rlcg2", &c);
    let out = user.hull(&["run", "-d", "-b", b.to_str().unwrap(), &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pids_dir = Path::new("/sys/fs/cgroup/pids")
        .join(delegated.trim_start_matches('/'))
        .join(&id);
    assert_eq!(read_file(&pids_dir, "pids.max"), "20");
    let pid = user.hull(&["state", &id]);
    let pid = serde_json::from_slice::<serde_json::Value>(&pid.stdout).unwrap()["pid"]
        .as_i64()
        .unwrap();
    let procs = std::fs::read_to_string(pids_dir.join("cgroup.procs")).unwrap();
    assert!(
        procs.lines().any(|l| l == pid.to_string()),
        "{pid} not in {procs:?}"
    );
    assert!(user.hull(&["delete", "--force", &id]).status.success());
    assert!(
        !pids_dir.exists(),
        "the user removed its container's cgroup"
    );
}

#[test]
fn another_user_cannot_see_or_touch_the_containers() {
    let env = Env::new("rootlessother");
    let owner = User::new(&env, "o");
    let other = User::new(&env, "x");
    let c = rootless_config(&env, &owner, &["sleep", "30"]);
    let b = bundle(&env, "rlo", &c);
    let id = env.id("a");
    assert!(owner
        .hull(&["run", "-d", "-b", b.to_str().unwrap(), &id])
        .status
        .success());
    let theirs = owner.xdg.join("hull");
    for args in [
        vec!["state", id.as_str()],
        vec!["kill", id.as_str(), "KILL"],
        vec!["delete", "--force", id.as_str()],
        vec!["exec", id.as_str(), "true"],
        vec!["ps", id.as_str()],
        vec!["list"],
    ] {
        let mut full = vec!["--root", theirs.to_str().unwrap()];
        full.extend(args.iter());
        let out = other.hull(&full);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?} should fail: {}",
            stdout(&out)
        );
        assert!(
            stderr(&out).contains("ermission denied"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // The other user's own list is empty, and the container still runs.
    assert!(!stdout(&other.hull(&["list"])).contains(&id));
    assert!(stdout(&owner.hull(&["state", &id])).contains("\"running\""));
}

/// podman's rootless mode: podman makes the user namespace and runs hull inside it as its
/// root; hull keeps its state in the user's runtime dir and makes no cgroup (cgroup v1).
#[test]
fn rootless_podman_runs_through_hull() {
    if Command::new("podman").arg("--version").output().is_err() {
        eprintln!("SKIPPED: podman is not installed (hack/test installs it)");
        return;
    }
    // podman wants a run root under 50 characters: short names.
    let env = Env::new("rp");
    let user = User::new(&env, "p");
    let tar = env.base.join("bb.tar");
    assert!(Command::new("tar")
        .arg("-C")
        .arg(rootfs())
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap()
        .success());
    let conf = user.xdg.join("containers.conf");
    std::fs::write(
        &conf,
        format!("[containers]\ndefault_ulimits = []\nnetns = \"none\"\n[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nruntime = \"hull\"\n[engine.runtimes]\nhull = [\"{HULL}\"]\n"),
    )
    .unwrap();
    let (storage, run) = (env.base.join("s"), env.base.join("r"));
    for d in [&storage, &run] {
        std::fs::create_dir_all(d).unwrap();
        std::os::unix::fs::chown(d, Some(user.uid), Some(user.gid)).unwrap();
    }
    let podman = |args: &[&str]| {
        let mut all = vec![
            "env".to_owned(),
            format!("CONTAINERS_CONF={}", conf.display()),
            "podman".into(),
            "--root".into(),
            storage.display().to_string(),
            "--runroot".into(),
            run.display().to_string(),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        user.command(refs[0], &refs[1..])
    };
    std::os::unix::fs::chown(&tar, Some(user.uid), Some(user.gid)).unwrap();
    let out = podman(&["import", tar.to_str().unwrap(), "localhost/bb"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = podman(&[
        "run",
        "--rm",
        "localhost/bb",
        "sh",
        "-c",
        "id -u; head -1 /proc/self/uid_map",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "0");
    assert!(
        lines[1]
            .split_whitespace()
            .eq(["0", &user.uid.to_string(), "1"]),
        "{text}"
    );
    let _ = podman(&["rm", "-a", "-f", "-t", "0"]);
    let _ = podman(&["system", "reset", "-f"]);
}

/// `--systemd-cgroup` without root: the scope is made by the user's own systemd (`systemd
/// --user`, reached at its private socket in $XDG_RUNTIME_DIR), in its default user.slice,
/// and hull writes the limits into the cgroup it delegates. Needs systemd and cgroup v2: run
/// by hack/test-v2 in the guest (HULL_TEST_SYSTEMD=1, where skipping is a failure).
#[test]
fn systemd_cgroup_of_a_rootless_caller_is_a_scope_of_its_user_manager() {
    let booted = Path::new("/run/systemd/system").is_dir()
        && Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    if std::env::var_os("HULL_TEST_SYSTEMD").is_some() {
        assert!(
            booted,
            "HULL_TEST_SYSTEMD=1 but no systemd on cgroup v2 here"
        );
    } else if !booted {
        eprintln!("SKIPPED: no systemd on cgroup v2 here (hack/test-v2 runs this in the guest)");
        return;
    }
    let env = Env::new("rlsystemd");
    let mut user = User::new(&env, "sd");
    // A cgroup delegated to the user, where its systemd --user runs (as user@.service would).
    let cg = Path::new("/sys/fs/cgroup").join(format!("hull-user-{}", user.name));
    let _ = std::fs::write(
        "/sys/fs/cgroup/cgroup.subtree_control",
        "+memory +pids +cpu",
    );
    std::fs::create_dir(&cg).unwrap();
    user.cgroups.push(cg.clone());
    for f in [
        "",
        "cgroup.procs",
        "cgroup.subtree_control",
        "cgroup.threads",
    ] {
        std::os::unix::fs::chown(cg.join(f), Some(user.uid), Some(user.gid)).unwrap();
    }
    let mut manager = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/cgroup.procs && exec setpriv --reuid {} --regid {} --clear-groups env HOME={xdg} XDG_RUNTIME_DIR={xdg} /lib/systemd/systemd --user",
            cg.display(),
            user.uid,
            user.gid,
            xdg = user.xdg.display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let private = user.xdg.join("systemd/private");
    assert!(
        poll_until(600, 100, || private.exists()),
        "systemd --user did not come up"
    );

    let id = env.id("a");
    let mut c = rootless_config(&env, &user, &["sleep", "60"]);
    c["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "pids": {"limit": 30}});
    let b = bundle(&env, "rlsd", &c);
    // hull runs in a cgroup of the user's tree, as in a login session: a user manager can
    // only move processes out of cgroups the user may write to.
    let caller = cg.join("caller");
    std::fs::create_dir(&caller).unwrap();
    let out = user.command_in(
        Some(&caller),
        HULL,
        &[
            "--systemd-cgroup",
            "run",
            "-d",
            "-b",
            b.to_str().unwrap(),
            &id,
        ],
    );
    let scope = cg.join(format!("user.slice/hull-{id}.scope"));
    let result = std::panic::catch_unwind(|| {
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(scope.is_dir(), "no {}", scope.display());
        let read = |f: &str| read_file(&scope, f);
        assert_eq!(read("memory.max"), "67108864");
        assert_eq!(read("pids.max"), "30");
        let state: serde_json::Value =
            serde_json::from_slice(&user.hull(&["state", &id]).stdout).unwrap();
        let pid = state["pid"].as_i64().unwrap().to_string();
        assert!(
            read("cgroup.procs").lines().any(|l| l == pid),
            "init is in the scope"
        );
        // Inside: its own cgroup namespace, and the spec's cgroup mount (over the host's /sys,
        // bound) shows that scope as the root, with its limit.
        let exec = [
            "exec",
            &id,
            "sh",
            "-c",
            "cat /proc/self/cgroup /sys/fs/cgroup/memory.max",
        ];
        let out = user.command_in(Some(&caller), HULL, &exec);
        assert_eq!(stdout(&out), "0::/\n67108864\n", "{}", stderr(&out));
        // From a cgroup the user cannot move processes out of, exec still runs, outside the
        // container's cgroup (runc's rule for rootless callers).
        let out = user.hull(&exec);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(!stdout(&out).starts_with("0::/\n"), "{}", stdout(&out));
        assert!(user.hull(&["delete", "--force", &id]).status.success());
        assert!(
            poll_until(100, 50, || !scope.exists()),
            "{} left behind",
            scope.display()
        );
    });
    let _ = user.hull(&["delete", "--force", &id]);
    let _ = manager.kill();
    let _ = manager.wait();
    // The user manager's own cgroups (init.scope, app.slice, user.slice, …), deepest first.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let _ = Command::new("find")
        .arg(&cg)
        .args([
            "-mindepth",
            "1",
            "-depth",
            "-type",
            "d",
            "-exec",
            "rmdir",
            "{}",
            ";",
        ])
        .status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// cgroup v2 delegated the plain way (a subtree chowned to the user, no systemd): hull, run
/// by the user from a leaf of it, makes the container's cgroup beside that leaf, writes the
/// limit and puts init there; delete removes it.
#[test]
fn rootless_delegated_v2_cgroup_is_used() {
    if !Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        return; // v1: limits_need_a_delegated_cgroup covers its delegation
    }
    let env = Env::new("rootlessv2cg");
    let mut user = User::new(&env, "d");
    let (delegated, leaf) = user.delegate_v2_cgroup();
    let id = env.id("a");
    let mut c = rootless_config(&env, &user, &["sleep", "30"]);
    c["linux"]["cgroupsPath"] = json!(format!("{delegated}/{id}"));
    c["linux"]["resources"] = json!({"pids": {"limit": 20}});
    let b = bundle(&env, "rlv2", &c);
    let out = user.command_in(
        Some(&leaf),
        HULL,
        &["run", "-d", "-b", b.to_str().unwrap(), &id],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = Path::new("/sys/fs/cgroup")
        .join(delegated.trim_start_matches('/'))
        .join(&id);
    assert_eq!(read_file(&dir, "pids.max"), "20");
    let state = user.hull(&["state", &id]);
    let pid = serde_json::from_slice::<serde_json::Value>(&state.stdout).unwrap()["pid"]
        .as_i64()
        .unwrap();
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
    assert!(
        procs.lines().any(|l| l == pid.to_string()),
        "{pid} not in {procs:?}"
    );
    assert!(user
        .command_in(Some(&leaf), HULL, &["delete", "--force", &id])
        .status
        .success());
    assert!(!dir.exists(), "the user removed its container's cgroup");
}
