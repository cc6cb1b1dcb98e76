//! hooks: all six kinds, in order, with the state on stdin, in the right namespaces; failures.

use serde_json::{json, Value};

use crate::common::*;

/// A hook that appends "KIND <mount ns> <state from stdin>" to `log`.
fn hook(kind: &str, log: &str) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c", format!("echo \"{kind} $(readlink /proc/self/ns/mnt) $(cat)\" >> {log}")]})
}

/// A config whose hooks (and user process) log to `dir/log`, bind-mounted at /hook-out.
fn logging_config(dir: &std::path::Path, hooks: Value) -> Value {
    let mut c = config(&["sh", "-c", "echo user-process >> /hook-out/log"]);
    c["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/hook-out", "type": "bind", "source": dir, "options": ["bind"]}),
    );
    c["annotations"] = json!({"org.hull.test": "yes"});
    c["hooks"] = hooks;
    c
}

#[test]
fn six_kinds_in_lifecycle_order_with_state() {
    let env = Env::new("hooks");
    let id = env.id("a");
    let dir = env.base.join("hook-out");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("log").display().to_string();
    let c = logging_config(
        &dir,
        json!({
            "prestart": [hook("prestart", &log)],
            "createRuntime": [hook("createRuntime", &log)],
            "createContainer": [hook("createContainer", &log)],
            // Runs inside the container after pivot_root: it reaches the log through the bind.
            "startContainer": [hook("startContainer", "/hook-out/log")],
            "poststart": [hook("poststart", &log)],
            "poststop": [hook("poststop", &log)]
        }),
    );
    let bundle = env.create(&id, &c);
    let pid = env.pid(&id);
    let container_mnt = std::fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .unwrap()
        .display()
        .to_string();
    env.hull_ok(&["start", &id]);
    wait_status(&env, &id, "stopped");
    env.hull_ok(&["delete", &id]);

    let host_mnt = std::fs::read_link("/proc/self/ns/mnt")
        .unwrap()
        .display()
        .to_string();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("user-process\n"), "{text}");
    // The user process races poststart; every hook line is in lifecycle order.
    let hooks: Vec<(&str, &str, Value)> = text
        .lines()
        .filter(|l| *l != "user-process")
        .map(|l| {
            let mut parts = l.splitn(3, ' ');
            let (kind, ns, state) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            (
                kind,
                ns,
                serde_json::from_str(state)
                    .unwrap_or_else(|e| panic!("{kind} state {state:?}: {e}")),
            )
        })
        .collect();
    let kinds: Vec<&str> = hooks.iter().map(|h| h.0).collect();
    assert_eq!(
        kinds,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    for (kind, ns, state) in &hooks {
        let want_ns = if matches!(*kind, "createContainer" | "startContainer") {
            &container_mnt
        } else {
            &host_mnt
        };
        assert_eq!(ns, want_ns, "{kind} runs in the wrong mount namespace");
        assert_eq!(state["id"], id.as_str(), "{kind}");
        assert_eq!(state["pid"], pid, "{kind}");
        assert_eq!(state["bundle"], bundle.to_str().unwrap(), "{kind}");
        assert_eq!(state["annotations"]["org.hull.test"], "yes", "{kind}");
        // runtime.md: "created" is the state after step 2 (the environment exists), which is
        // when the create hooks run (runc sends "creating").
        let want_status = match *kind {
            "prestart" | "createRuntime" | "createContainer" | "startContainer" => "created",
            "poststart" => "running",
            _ => "stopped",
        };
        assert_eq!(state["status"], want_status, "{kind}");
    }
}

#[test]
fn failing_create_hook_fails_create_cleanly() {
    let env = Env::new("hookfail");
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let id = env.id(kind);
        let mut c = config(&["true"]);
        c["hooks"] = json!({kind: [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]});
        let bundle = env.bundle(&id, &c);
        assert_fails(
            &env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]),
            &format!("hooks.{kind}[0] /bin/sh: exited with status 3"),
        );
        assert!(!env.state_dir(&id).exists());
        assert!(!process_with(&env.base.display().to_string()));
    }
}

#[test]
fn hook_timeout_kills_it() {
    let env = Env::new("hooktimeout");
    let id = env.id("a");
    let mut c = config(&["true"]);
    // A duration no other test sleeps: the check below looks at every process on the machine.
    c["hooks"] =
        json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "29.5"], "timeout": 1}]});
    let bundle = env.bundle(&id, &c);
    let started = std::time::Instant::now();
    assert_fails(
        &env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]),
        "timed out after 1s",
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(!process_with("sleep\u{0}29.5"));
}

/// runtime-spec 1.3.0 (runtime.md step 9): a failing poststart hook is an error, the hooks
/// after it do not run, the container is stopped, and `delete` destroys it (its poststop
/// hooks run). A failing poststop hook is still a warning and the next ones run.
#[test]
fn failing_poststart_stops_the_container_and_poststop_only_warns() {
    let env = Env::new("hookwarn");
    let id = env.id("a");
    let out = env.base.join("after");
    let hooks = |kind: &str| {
        json!([{"path": "/bin/sh", "args": ["sh", "-c", "exit 9"]},
               {"path": "/bin/sh", "args": ["sh", "-c", format!("echo {kind} >> {}", out.display())]}])
    };
    let mut c = config(&["sleep", "60"]);
    c["hooks"] = json!({"poststart": hooks("poststart"), "poststop": hooks("poststop")});
    env.create(&id, &c);
    let start = env.hull(&["start", &id]);
    assert_fails(&start, "hooks.poststart[0]");
    assert_fails(&start, "the container was stopped");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap_or_default(),
        "",
        "no poststart hook runs after the failing one"
    );
    assert_eq!(
        env.status(&id),
        "stopped",
        "the container is stopped at once"
    );
    let delete = env.hull(&["delete", &id]);
    assert!(delete.status.success());
    assert!(
        stderr(&delete).contains("warning: hooks.poststop[0]"),
        "{}",
        stderr(&delete)
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "poststop\n");
    assert!(!env.state_dir(&id).exists());
}

/// A hook that closes its stdin unread: hull's write of the state gets EPIPE and must not
/// die of SIGPIPE. The state is made larger than a pipe's buffer (an annotation), so the
/// write is still blocked when the hook closes its end: deterministic, not a race.
#[test]
fn a_hook_that_does_not_read_its_stdin_does_not_kill_hull() {
    let env = Env::new("hookpipe");
    let id = env.id("a");
    let out = env.base.join("ran");
    let hook = json!([{"path": "/bin/sh", "args": ["sh", "-c", format!("exec 0<&-; echo ran >> {}", out.display())]}]);
    let mut c = config(&["true"]);
    c["annotations"] = json!({"org.hull.big": "x".repeat(256 * 1024)});
    c["hooks"] = json!({"poststart": hook, "poststop": hook});
    env.create(&id, &c);
    let start = env.hull(&["start", &id]);
    assert_eq!(start.status.code(), Some(0), "{}", stderr(&start));
    wait_status(&env, &id, "stopped");
    let delete = env.hull(&["delete", &id]);
    assert_eq!(delete.status.code(), Some(0), "{}", stderr(&delete));
    assert!(!env.state_dir(&id).exists());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "ran\nran\n");
}

/// A failing startContainer hook fails `start`, and `start`'s error carries the hook's own
/// output (its stderr), as runc's does; a failing createRuntime hook's output is in `create`'s.
#[test]
fn failing_start_container_hook_fails_start() {
    let env = Env::new("hookstart");
    let id = env.id("a");
    let mut c = config(&["sh", "-c", "echo should-not-run"]);
    c["hooks"] = json!({"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo no-gpu-here >&2; exit 4"]}]});
    env.create(&id, &c);
    let start = env.hull(&["start", &id]);
    assert_fails(&start, "hooks.startContainer[0]");
    assert_fails(&start, "exited with status 4; its output: no-gpu-here");
    wait_status(&env, &id, "stopped");
    // A container that exits at once still starts fine.
    let quick = env.id("quick");
    env.create(&quick, &config(&["true"]));
    env.hull_ok(&["start", &quick]);
    let id = env.id("runtime");
    let mut c = config(&["true"]);
    c["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "echo cannot-set-up >&2; exit 2"]}]});
    env.assert_create_refused(&id, &c, "its output: cannot-set-up");
}

/// Kubernetes puts whole manifests in annotations: a container state far above 16 KiB reaches
/// every hook whole (init's createContainer hook gets it over the parent<->init channel), and a
/// hook that never reads its stdin is still ended at its timeout, not held by the write.
#[test]
fn large_states_reach_hooks_and_timeouts_cover_the_state_write() {
    let env = Env::new("hookbig");
    let dir = env.base.join("hook-out");
    std::fs::create_dir_all(&dir).unwrap();
    let count = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat | tr ',' '\\n' | grep -c org.hull.big > {}/{name}", dir.display())]});
    let mut c = logging_config(
        &dir,
        json!({"createRuntime": [count("createRuntime")], "createContainer": [count("createContainer")]}),
    );
    let annotations: serde_json::Map<String, Value> = (0..400)
        .map(|i| (format!("org.hull.big.{i:03}"), json!("x".repeat(100))))
        .collect();
    c["annotations"] = Value::Object(annotations.clone());
    let id = env.id("a");
    env.create(&id, &c);
    for kind in ["createRuntime", "createContainer"] {
        let n = std::fs::read_to_string(dir.join(kind)).unwrap();
        assert_eq!(n.trim(), "400", "{kind} saw {n} annotations");
    }
    env.hull_ok(&["delete", "--force", &id]);
    // A hook that sleeps without reading a 400 kB state: its 1 s timeout ends it.
    let sleeper = json!({"path": "/bin/sleep", "args": ["sleep", "600"], "timeout": 1});
    let mut c = logging_config(&dir, json!({"createRuntime": [sleeper]}));
    let huge: serde_json::Map<String, Value> = (0..4000)
        .map(|i| (format!("org.hull.big.{i:04}"), json!("y".repeat(100))))
        .collect();
    c["annotations"] = Value::Object(huge);
    let id = env.id("b");
    let bundle = env.bundle(&id, &c);
    let started = std::time::Instant::now();
    let out = env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]);
    assert_fails(&out, "timed out after 1s");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "held beyond the timeout"
    );
    assert!(!env.state_dir(&id).exists());
}

/// A hook without `env` gets hull's own environment (runc's hooks get runc's: exec.Cmd with
/// no Env); one with `env` gets exactly that.
#[test]
fn hooks_without_env_get_hulls_environment() {
    let env = Env::new("hookenv");
    let dir = env.base.join("hook-out");
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.display();
    let c = logging_config(
        &dir,
        json!({"createRuntime": [
            {"path": "/bin/sh", "args": ["sh", "-c", format!("echo ${{HULL_HOOK_MARK:-unset}} > {d}/without")]},
            {"path": "/bin/sh", "args": ["sh", "-c", format!("echo ${{HULL_HOOK_MARK:-unset}} $ONLY > {d}/with")], "env": ["ONLY=1"]}
        ]}),
    );
    let id = env.id("a");
    let bundle = env.bundle(&id, &c);
    // stdio to null: the created init keeps what it inherits open until it starts.
    let status = env
        .command(&["create", "-b", bundle.to_str().unwrap(), &id])
        .env("HULL_HOOK_MARK", "from-hull")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    assert_eq!(read("without"), "from-hull\n");
    assert_eq!(read("with"), "unset 1\n");
    env.hull_ok(&["delete", "--force", &id]);
}
