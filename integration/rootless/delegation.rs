//! A rootless caller's cgroups: limits only in a cgroup delegated to it (v1 and v2), and the
//! scope its own systemd --user makes with `--systemd-cgroup`.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

use super::*;

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
    user.hull_ok(&["run", "-d", "-b", b.to_str().unwrap(), &id]);
    let pids_dir = Path::new("/sys/fs/cgroup/pids")
        .join(delegated.trim_start_matches('/'))
        .join(&id);
    assert_limited_with_init(&user, &id, &pids_dir);
    user.hull_ok(&["delete", "--force", &id]);
    assert!(
        !pids_dir.exists(),
        "the user removed its container's cgroup"
    );
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
        user.hull_ok(&["delete", "--force", &id]);
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
    assert_limited_with_init(&user, &id, &dir);
    assert!(user
        .command_in(Some(&leaf), HULL, &["delete", "--force", &id])
        .status
        .success());
    assert!(!dir.exists(), "the user removed its container's cgroup");
}
