//! runtime.md lifecycle: every state transition, kill in each state, each invalid operation.

use serde_json::json;

use crate::common::*;

fn create(env: &Env, id: &str, args: &[&str]) -> std::path::PathBuf {
    let bundle = env.bundle(id, &config(args));
    let pid_file = bundle.join("pid");
    let out = env.hull(&[
        "create",
        "--bundle",
        bundle.to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        id,
    ]);
    assert!(out.status.success(), "create: {}", stderr(&out));
    bundle
}

#[test]
fn create_start_exit_delete() {
    let env = Env::new("life");
    let id = env.id("a");
    let bundle = create(&env, &id, &["sleep", "1"]);
    let state = env.state(&id);
    assert_eq!(state["status"], "created");
    assert_eq!(state["id"], id.as_str());
    assert_eq!(state["bundle"], bundle.to_str().unwrap());
    assert_eq!(state["ociVersion"], "1.2.1");
    let pid = state["pid"].as_i64().unwrap();
    assert!(pid > 0);
    assert_eq!(
        std::fs::read_to_string(bundle.join("pid")).unwrap(),
        pid.to_string(),
        "pid file"
    );
    for field in ["rootfs", "created", "owner"] {
        assert!(state.get(field).is_some(), "state lacks {field}");
    }

    env.hull_ok(&["start", &id]);
    assert_eq!(env.status(&id), "running");
    assert_eq!(env.state(&id)["pid"].as_i64(), Some(pid));

    wait_status(&env, &id, "stopped");
    assert_eq!(env.state(&id)["pid"], 0);

    env.hull_ok(&["delete", &id]);
    assert_fails(&env.hull(&["state", &id]), "does not exist");
    assert!(!env.state_dir(&id).exists());
}

#[test]
fn invalid_operations_name_the_state() {
    let env = Env::new("invalid");
    let id = env.id("a");
    create(&env, &id, &["sleep", "30"]);
    env.hull_ok(&["start", &id]);
    assert_fails(&env.hull(&["start", &id]), "already running");
    assert_fails(&env.hull(&["delete", &id]), "running");
    assert_eq!(
        env.status(&id),
        "running",
        "a refused delete changes nothing"
    );
    let dup = env.bundle("dup", &config(&["true"]));
    assert_fails(
        &env.hull(&["create", "-b", dup.to_str().unwrap(), &id]),
        "already exists",
    );
    assert_eq!(
        env.status(&id),
        "running",
        "a duplicate create leaves the first container alone"
    );

    env.hull_ok(&["kill", &id, "KILL"]);
    wait_status(&env, &id, "stopped");
    assert_fails(&env.hull(&["start", &id]), "stopped");
    assert_fails(&env.hull(&["kill", &id, "TERM"]), "stopped");
    env.hull_ok(&["delete", &id]);

    for cmd in [
        &["state", "nope"][..],
        &["kill", "nope"],
        &["start", "nope"],
        &["delete", "nope"],
    ] {
        assert_fails(&env.hull(cmd), "does not exist");
    }
    assert!(
        env.hull(&["delete", "--force", "nope"]).status.success(),
        "delete --force of nothing succeeds"
    );
}

#[test]
fn kill_in_created_state() {
    let env = Env::new("killcreated");
    let id = env.id("a");
    create(&env, &id, &["sleep", "30"]);
    env.hull_ok(&["kill", &id, "9"]);
    wait_status(&env, &id, "stopped");
    env.hull_ok(&["delete", &id]);
}

#[test]
fn kill_running_with_default_signal_and_by_name() {
    let env = Env::new("killrun");
    // A trap makes init (pid 1, immune to default-action signals) exit on SIGTERM.
    let id = env.id("a");
    create(
        &env,
        &id,
        &[
            "sh",
            "-c",
            "trap 'exit 7' TERM; touch /tmp/trapped; while :; do sleep 0.05; done",
        ],
    );
    env.hull_ok(&["start", &id]);
    // Once the trap is set (a SIGTERM before it would be ignored by pid 1).
    let trapped = format!("/proc/{}/root/tmp/trapped", env.pid(&id));
    assert!(
        poll_until(300, 20, || std::path::Path::new(&trapped).exists()),
        "the trap was never set"
    );
    env.hull_ok(&["kill", &id]);
    wait_status(&env, &id, "stopped");
    assert_fails(&env.hull(&["kill", &id, "NOTASIGNAL"]), "unknown signal");
}

/// Gone, or a zombie waiting for its reaper.
fn process_gone(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.contains(") Z "))
        .unwrap_or(true)
}

#[test]
fn delete_needs_force_unless_stopped() {
    let env = Env::new("delete");
    let a = env.id("a");
    create(&env, &a, &["sleep", "30"]);
    let pid = env.pid(&a);
    assert_fails(&env.hull(&["delete", &a]), "created");
    assert_eq!(
        env.status(&a),
        "created",
        "a refused delete changes nothing"
    );
    env.hull_ok(&["delete", "--force", &a]);
    assert!(process_gone(pid));
    assert!(!env.state_dir(&a).exists());

    let b = env.id("b");
    create(&env, &b, &["sleep", "30"]);
    env.hull_ok(&["start", &b]);
    env.hull_ok(&["delete", "--force", &b]);
    assert!(!env.state_dir(&b).exists());
    assert!(!process_with(&format!("{}", env.base.join(&b).display())));
}

#[test]
fn delete_force_cleans_a_half_created_state_dir() {
    let env = Env::new("crash");
    let id = env.id("a");
    std::fs::create_dir_all(env.state_dir(&id)).unwrap();
    assert_eq!(env.status(&id), "creating");
    env.hull_ok(&["delete", "--force", &id]);
    assert!(!env.state_dir(&id).exists());
}

#[test]
fn config_without_process_creates_but_cannot_start() {
    let env = Env::new("noprocess");
    let id = env.id("a");
    let mut c = config(&["true"]);
    c.as_object_mut().unwrap().remove("process");
    env.create(&id, &c);
    assert_eq!(env.status(&id), "created");
    assert_fails(&env.hull(&["start", &id]), "no process");
    wait_status(&env, &id, "stopped");
    env.hull_ok(&["delete", &id]);
}

#[test]
fn config_changes_after_create_do_not_affect_the_container() {
    let env = Env::new("snapshot");
    let id = env.id("a");
    let bundle = env.bundle(&id, &config(&["sh", "-c", "echo original > /dev/stderr"]));
    let log = env.base.join("out");
    let status = env
        .command(&["create", "-b", bundle.to_str().unwrap(), &id])
        .stderr(std::fs::File::create(&log).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(bundle.join("config.json"), r#"{"ociVersion":"1.0.0"}"#).unwrap();
    env.hull_ok(&["start", &id]);
    wait_status(&env, &id, "stopped");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "original\n");
}

#[test]
fn run_returns_the_exit_status() {
    let env = Env::new("exit");
    let (code, _, _) = env.run(&env.id("a"), &config(&["sh", "-c", "exit 3"]));
    assert_eq!(code, 3);
    // Without a pid namespace the shell is not an init that SIGKILL from inside can't reach.
    let mut c = config(&["sh", "-c", "kill -9 $$"]);
    c["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}]);
    c.as_object_mut().unwrap().remove("hostname");
    let (code, _, _) = env.run(&env.id("b"), &c);
    assert_eq!(code, 137, "killed by SIGKILL → 128+9");
    assert!(
        !env.state_dir(&env.id("a")).exists(),
        "run deletes the container"
    );
}

#[test]
fn run_detach_then_list() {
    let env = Env::new("list");
    let id = env.id("a");
    env.run_detached(&id, &config(&["sleep", "30"]));
    assert_eq!(env.status(&id), "running");
    let q = env.hull(&["list", "-q"]);
    assert_eq!(stdout(&q).trim(), id);
    let json: serde_json::Value =
        serde_json::from_slice(&env.hull(&["list", "--format", "json"]).stdout).unwrap();
    assert_eq!(json[0]["id"], id.as_str());
    assert_eq!(json[0]["status"], "running");
    let table = stdout(&env.hull(&["list"]));
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains(&id) && table.contains("running"), "{table}");
}

#[test]
fn version_and_spec() {
    let out = std::process::Command::new(HULL)
        .arg("--version")
        .output()
        .unwrap();
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("hull version "));
    // The commit hull was built from (this checkout's HEAD when built here), and spec 1.3.0.
    let head = std::process::Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match head {
        Some(head) => assert_eq!(lines[1], format!("commit: {head}")),
        None => assert!(lines[1].starts_with("commit: ")),
    }
    assert_eq!(lines[2], "spec: 1.3.0");

    let env = Env::new("spec");
    for rootless in [false, true] {
        let dir = env.base.join(format!("spec-{rootless}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut args = vec!["spec", "--bundle", dir.to_str().unwrap()];
        if rootless {
            args.push("--rootless");
        }
        assert!(env.hull(&args).status.success());
        let spec: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
        assert_eq!(spec["root"]["path"], "rootfs");
        assert!(spec["process"]["args"].is_array());
        let has_userns = spec["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "user");
        assert_eq!(has_userns, rootless);
        assert_fails(&env.hull(&args), "exists");
    }
}

#[test]
fn help_on_every_command() {
    for cmd in [
        "create", "start", "state", "kill", "delete", "run", "list", "spec", "exec", "pause",
        "resume", "ps", "update", "features",
    ] {
        let out = std::process::Command::new(HULL)
            .args([cmd, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{cmd} --help");
        assert!(stdout(&out).contains("Usage"), "{cmd}");
    }
}

#[test]
fn features_describe_this_build() {
    let out = std::process::Command::new(HULL)
        .arg("features")
        .output()
        .unwrap();
    let f: serde_json::Value = serde_json::from_slice(&out.stdout).expect("features JSON");
    assert_eq!(f["ociVersionMin"], "1.0.0");
    assert_eq!(f["ociVersionMax"], "1.3.0");
    let opts: Vec<&str> = f["mountOptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for o in ["ro", "nosuid", "rbind", "rslave", "strictatime"] {
        assert!(opts.contains(&o), "{o}");
    }
    assert_eq!(f["linux"]["namespaces"].as_array().unwrap().len(), 8);
    assert_eq!(f["hooks"].as_array().unwrap().len(), 6);
    assert!(f["linux"]["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "CAP_SYS_ADMIN"));
    assert_eq!(f["linux"]["seccomp"]["enabled"], true);
    let cg = &f["linux"]["cgroup"];
    assert_eq!(
        (
            cg["v1"].as_bool(),
            cg["v2"].as_bool(),
            cg["systemd"].as_bool(),
            cg["systemdUser"].as_bool()
        ),
        (Some(true), Some(true), Some(true), Some(true)),
        "{cg}"
    );
}

/// runc's flag forms, as managers and scripts write them: Go's single-dash long flags,
/// `--flag=value`, global flags after the command, runc's accepted-and-ignored flags; a
/// usage error names the flag and exits 1.
#[test]
fn runc_flag_forms_are_understood() {
    let env = Env::new("flagforms");
    let id = env.id("a");
    let bundle = env.bundle(&id, &config(&["true"]));
    let root = env.root.to_str().unwrap();
    let out = env.hull(&[
        "run",
        "--no-subreaper",
        "--keep",
        "-bundle",
        bundle.to_str().unwrap(),
        &id,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let root_eq = format!("--root={root}");
    for args in [
        vec!["-root", root, "list", "-q"],
        vec!["--rootless", "auto", &root_eq, "list"],
        vec!["list", "--format=json", "--root", root],
    ] {
        let out = std::process::Command::new(HULL)
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).contains(&id), "{args:?}: {}", stdout(&out));
    }
    for (args, needle) in [
        (vec!["--root", root, "list", "--frobnicate"], "--frobnicate"),
        (
            vec!["--rootless", "maybe", "--root", root, "list"],
            "--rootless",
        ),
        (vec!["--root", root, "state"], "missing ID"),
        (
            vec!["--root", root, "kill", &id, "KILL", "extra"],
            "\"extra\"",
        ),
    ] {
        let out = std::process::Command::new(HULL)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    env.hull_ok(&["delete", &id]);
}

/// `--pidfd-socket` (runc 1.2's flag, which containerd's shim passes): the caller receives a
/// pidfd of the container's init (`create`) or of the exec'd process (`exec`); a socket that
/// is not there fails the command, leaving nothing.
#[test]
fn pidfd_socket_receives_a_pidfd_of_the_process() {
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::net::UnixListener;
    let env = Env::new("pidfdsock");
    let pid_of = |fd: &OwnedFd| -> i64 {
        let info =
            std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("Pid:"))
            .unwrap_or_else(|| panic!("not a pidfd: {info}"))
            .trim()
            .parse()
            .unwrap()
    };
    let receive = |name: &str| {
        let socket = env.base.join(name);
        let listener = UnixListener::bind(&socket).unwrap();
        (
            socket,
            std::thread::spawn(move || crate::terminal::receive_master(&listener)),
        )
    };
    // create's pidfd is init's; exec's, the exec'd process's (its pid file says which).
    let create_and_exec = |name: &str, c: &serde_json::Value| {
        let id = env.id(name);
        let bundle = env.bundle(&id, c);
        let (socket, received) = receive(&format!("{name}-create.sock"));
        env.hull_ok(&[
            "create",
            "--pidfd-socket",
            socket.to_str().unwrap(),
            "-b",
            bundle.to_str().unwrap(),
            &id,
        ]);
        let (pidfd, kind) = received.join().unwrap();
        assert_eq!(kind, "anon_inode:[pidfd]");
        assert_eq!(pid_of(&pidfd), env.pid(&id));
        env.hull_ok(&["start", &id]);
        let (socket, received) = receive(&format!("{name}-exec.sock"));
        let pid_file = env.base.join(format!("{name}-exec.pid"));
        env.hull_ok(&[
            "exec",
            "-d",
            "--pidfd-socket",
            socket.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
            "sleep",
            "60",
        ]);
        let pid: i64 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
        assert_eq!(pid_of(&received.join().unwrap().0), pid);
        env.hull_ok(&["delete", "--force", &id]);
    };
    create_and_exec("a", &config(&["sleep", "60"]));
    // Where hull re-execs itself from its protected binary first (init kept in hull by a
    // startContainer hook; an exec into a container without a pid namespace of its own), it
    // connects once, after that exec: the first connection is the one that brings the pidfd.
    let mut held = config(&["sleep", "60"]);
    held["hooks"] = json!({"startContainer": [{"path": "/bin/true"}]});
    held["linux"]["namespaces"] =
        json!([{"type": "mount"}, {"type": "ipc"}, {"type": "uts"}, {"type": "network"}]);
    create_and_exec("held", &held);
    let id = env.id("b");
    let bundle = env.bundle(&id, &config(&["sleep", "60"]));
    let missing = env.base.join("no.sock");
    let out = env.hull(&[
        "run",
        "-d",
        "--pidfd-socket",
        missing.to_str().unwrap(),
        "-b",
        bundle.to_str().unwrap(),
        &id,
    ]);
    assert_fails(&out, "--pidfd-socket");
    assert!(!env.state_dir(&id).exists());
}
