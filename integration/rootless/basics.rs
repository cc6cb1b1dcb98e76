//! A rootless container's life (its spec, state dir, mappings, exec, ps, kill, delete),
//! subordinate ids through newuidmap, and another user kept out.

use serde_json::json;

use super::*;

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
    user.hull_ok(&["run", "-d", "-b", b.to_str().unwrap(), &id]);
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
    let text = user.hull_ok(&["run", "-b", b.to_str().unwrap(), &env.id("a")]);
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
fn another_user_cannot_see_or_touch_the_containers() {
    let env = Env::new("rootlessother");
    let owner = User::new(&env, "o");
    let other = User::new(&env, "x");
    let c = rootless_config(&env, &owner, &["sleep", "30"]);
    let b = bundle(&env, "rlo", &c);
    let id = env.id("a");
    owner.hull_ok(&["run", "-d", "-b", b.to_str().unwrap(), &id]);
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
