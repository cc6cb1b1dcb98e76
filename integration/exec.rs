//! `exec`: a second process in a running container, in all its namespaces, with its rules.

use serde_json::json;

use crate::common::*;

fn running(env: &Env, id: &str) -> i64 {
    env.run_detached(id, &config(&["sleep", "60"]));
    env.pid(id)
}

#[test]
fn exec_joins_every_namespace_of_init() {
    let env = Env::new("exec");
    let id = env.id("a");
    let pid = running(&env, &id);
    let kinds = ["pid", "net", "ipc", "uts", "mnt", "cgroup"];
    let script: String = kinds
        .iter()
        .map(|k| format!("readlink /proc/self/ns/{k}; "))
        .collect();
    let out = env.hull(&["exec", &id, "sh", "-c", &script]);
    assert!(out.status.success(), "{}", stderr(&out));
    let inside: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    let init: Vec<String> = kinds
        .iter()
        .map(|k| {
            std::fs::read_link(format!("/proc/{pid}/ns/{k}"))
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(inside, init);
    let out = env.hull(&[
        "exec",
        &id,
        "sh",
        "-c",
        "echo $$; hostname; cat /proc/self/status",
    ]);
    let text = stdout(&out);
    assert!(!text.starts_with("1\n"), "not the container's init: {text}");
    assert!(text.contains("hull-test\n"));
}

#[test]
fn exec_exit_status_user_env_cwd() {
    let env = Env::new("execopts");
    let id = env.id("a");
    running(&env, &id);
    assert_eq!(
        env.hull(&["exec", &id, "sh", "-c", "exit 5"]).status.code(),
        Some(5)
    );
    let out = env.hull(&[
        "exec",
        "--user",
        "1000:1001",
        "--env",
        "FOO=bar",
        "--cwd",
        "/tmp",
        &id,
        "sh",
        "-c",
        "id -u; id -g; echo $FOO; pwd; echo $HULL_TEST",
    ]);
    assert_eq!(
        stdout(&out),
        "1000\n1001\nbar\n/tmp\n1\n",
        "{}",
        stderr(&out)
    );
}

#[test]
fn exec_process_json_and_pid_file() {
    let env = Env::new("execjson");
    let id = env.id("a");
    running(&env, &id);
    let process = env.base.join("process.json");
    std::fs::write(
        &process,
        serde_json::to_vec(&json!({"args": ["sh", "-c", "echo from-json $X $(cat /proc/self/oom_score_adj)"], "env": ["X=1", "PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "oomScoreAdj": 300})).unwrap(),
    )
    .unwrap();
    let out = env.hull(&["exec", "--process", process.to_str().unwrap(), &id]);
    assert_eq!(stdout(&out), "from-json 1 300\n", "{}", stderr(&out));

    let pid = env.exec_detached(&id, &["sleep", "30"]);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x0030\x00");
}

#[test]
fn exec_errors() {
    let env = Env::new("execerr");
    let id = env.id("a");
    running(&env, &id);
    assert_fails(
        &env.hull(&["exec", &id, "/no/such/program"]),
        "process.args[0]",
    );
    assert_fails(&env.hull(&["exec", "nope", "true"]), "does not exist");
    env.hull_ok(&["kill", &id, "KILL"]);
    wait_status(&env, &id, "stopped");
    assert_fails(&env.hull(&["exec", &id, "true"]), "stopped");
}

#[test]
fn exec_flags_seen_from_inside() {
    let env = Env::new("execflags");
    let id = env.id("a");
    let pid = running(&env, &id);
    let out = env.hull(&[
        "exec",
        "--user",
        "1000:1000",
        "--additional-gids",
        "20",
        "--additional-gids",
        "30",
        "--cap",
        "CAP_NET_RAW",
        "--no-new-privs",
        &id,
        "cat",
        "/proc/self/status",
    ]);
    let text = stdout(&out);
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name}: {text}"))
            .to_owned()
    };
    assert!(field("Groups:").trim_end().ends_with("20 30"), "{text}");
    assert_eq!(field("NoNewPrivs:"), "NoNewPrivs:\t1");
    let bounding =
        u64::from_str_radix(field("CapBnd:").split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_ne!(
        bounding & (1 << 13),
        0,
        "CAP_NET_RAW (13) added to the bounding set"
    );
    // The exec'd process is in init's cgroup and sees init (pid 1) in its pid namespace.
    let init_cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let out = env.hull(&[
        "exec",
        &id,
        "sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '; echo; ls /proc | grep -c '^[0-9]'",
    ]);
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines[0].trim(), "sleep 60", "init is visible as pid 1");
    let exec_pid = env.hull(&[
        "exec",
        "-d",
        "--pid-file",
        env.base.join("p").to_str().unwrap(),
        &id,
        "sleep",
        "5",
    ]);
    assert!(exec_pid.status.success());
    let p = std::fs::read_to_string(env.base.join("p")).unwrap();
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{p}/cgroup")).unwrap(),
        init_cgroup,
        "same cgroup as init"
    );
}

#[test]
fn exec_ignore_paused_runs_once_resumed() {
    let env = std::sync::Arc::new(Env::new("execpaused"));
    let id = env.id("a");
    running(&env, &id);
    env.hull_ok(&["pause", &id]);
    assert_fails(&env.hull(&["exec", &id, "true"]), "paused");
    // With --ignore-paused the process joins the frozen cgroup and runs once it thaws; exec
    // must not hold the container's lock meanwhile, or `resume` could never run.
    let exec = {
        let (env, id) = (env.clone(), id.clone());
        std::thread::spawn(move || {
            env.hull(&["exec", "--ignore-paused", &id, "echo", "ran-after-resume"])
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!exec.is_finished(), "frozen until resume");
    env.hull_ok(&["resume", &id]);
    let out = exec.join().unwrap();
    assert_eq!(stdout(&out), "ran-after-resume\n", "{}", stderr(&out));
}

/// process.execCPUAffinity: an exec'd process runs on `final` once in the container's cgroup;
/// init is not touched (the spec: "not applicable to the container's init process").
#[test]
fn exec_cpu_affinity_final_is_the_exec_processs() {
    let env = Env::new("execaffinity");
    let id = env.id("a");
    let (online, last) = (online_cpus(), last_online_cpu());
    let mut c = config(&["sleep", "30"]);
    c["process"]["execCPUAffinity"] = json!({"initial": online, "final": last});
    env.run_detached(&id, &c);
    let cpus = |args: &[&str]| {
        let out = env.hull(args);
        let text = stdout(&out);
        text.lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap_or_else(|| panic!("{text} {}", stderr(&out)))
            .trim()
            .to_owned()
    };
    assert_eq!(cpus(&["exec", &id, "cat", "/proc/self/status"]), last);
    assert_eq!(
        cpus(&["exec", &id, "cat", "/proc/1/status"]),
        online,
        "init keeps its CPUs"
    );
    env.hull_ok(&["delete", "--force", &id]);
}
