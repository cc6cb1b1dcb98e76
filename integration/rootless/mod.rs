//! hull run by an unprivileged user: its own user namespace (one id mapped directly, more
//! through newuidmap/newgidmap and /etc/subuid), state in $XDG_RUNTIME_DIR/hull, no cgroup
//! unless one is delegated, and no way into another user's containers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::json;

use crate::common::*;

mod basics;
mod delegation;
mod podman;

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

    /// [`User::hull`], asserting success (its stderr in the message); its stdout.
    fn hull_ok(&self, args: &[&str]) -> String {
        let out = self.hull(args);
        assert!(out.status.success(), "hull {args:?}: {}", stderr(&out));
        stdout(&out)
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
    user.hull_ok(&["spec", "--rootless", "--bundle", dir.to_str().unwrap()]);
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

/// The user's container `id` has its config's pids limit (20) in cgroup `dir`, and its init
/// there: what a delegated cgroup (v1 or v2) must give.
fn assert_limited_with_init(user: &User, id: &str, dir: &Path) {
    assert_eq!(read_file(dir, "pids.max"), "20");
    let state: serde_json::Value = serde_json::from_str(&user.hull_ok(&["state", id])).unwrap();
    let pid = state["pid"].as_i64().unwrap();
    let procs = read_file(dir, "cgroup.procs");
    assert!(
        procs.lines().any(|l| l == pid.to_string()),
        "{pid} not in {procs:?}"
    );
}

fn no_default_cgroup(id: &str) -> bool {
    !Path::new("/sys/fs/cgroup/pids/hull").join(id).exists()
        && !Path::new("/sys/fs/cgroup/hull").join(id).exists()
}

fn wait_stopped(user: &User, id: &str) {
    assert!(
        poll_until(200, 20, || stdout(&user.hull(&["state", id]))
            .contains("\"stopped\"")),
        "{id} did not stop"
    );
}
