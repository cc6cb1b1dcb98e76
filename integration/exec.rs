//! `exec`: a second process in a running container, in all its namespaces, with its rules.

use serde_json::json;

use crate::common::*;

fn running(env: &Env, id: &str) -> i64 {
    let bundle = env.bundle(id, &config(&["sleep", "60"]));
    let out = env.hull(&["run", "-d", "-b", bundle.to_str().unwrap(), id]);
    assert!(out.status.success(), "{}", stderr(&out));
    env.state(id)["pid"].as_i64().unwrap()
}

#[test]
fn exec_joins_every_namespace_of_init() {
    let env = Env::new("exec");
    let id = env.id("a");
    let pid = running(&env, &id);
    let kinds = ["pid", "net", "ipc", "uts", "mnt", "cgroup"];
    let script: String = kinds.iter().map(|k| format!("readlink /proc/self/ns/{k}; ")).collect();
    let out = env.hull(&["exec", &id, "sh", "-c", &script]);
    assert!(out.status.success(), "{}", stderr(&out));
    let inside: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    let init: Vec<String> =
        kinds.iter().map(|k| std::fs::read_link(format!("/proc/{pid}/ns/{k}")).unwrap().display().to_string()).collect();
    assert_eq!(inside, init);
    let out = env.hull(&["exec", &id, "sh", "-c", "echo $$; hostname; cat /proc/self/status"]);
    let text = stdout(&out);
    assert!(!text.starts_with("1\n"), "not the container's init: {text}");
    assert!(text.contains("hull-test\n"));
}

#[test]
fn exec_exit_status_user_env_cwd() {
    let env = Env::new("execopts");
    let id = env.id("a");
    running(&env, &id);
    assert_eq!(env.hull(&["exec", &id, "sh", "-c", "exit 5"]).status.code(), Some(5));
    let out = env.hull(&["exec", "--user", "1000:1001", "--env", "FOO=bar", "--cwd", "/tmp", &id, "sh", "-c", "id -u; id -g; echo $FOO; pwd; echo $HULL_TEST"]);
    assert_eq!(stdout(&out), "1000\n1001\nbar\n/tmp\n1\n", "{}", stderr(&out));
}

#[test]
fn exec_process_json_and_pid_file() {
    let env = Env::new("execjson");
    let id = env.id("a");
    running(&env, &id);
    let process = env.base.join("process.json");
    std::fs::write(
        &process,
        serde_json::to_vec(&json!({"args": ["sh", "-c", "echo from-json $X"], "env": ["X=1", "PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}})).unwrap(),
    )
    .unwrap();
    let out = env.hull(&["exec", "--process", process.to_str().unwrap(), &id]);
    assert_eq!(stdout(&out), "from-json 1\n", "{}", stderr(&out));

    let pid_file = env.base.join("exec.pid");
    let out = env.hull(&["exec", "-d", "--pid-file", pid_file.to_str().unwrap(), &id, "sleep", "30"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x0030\x00");
}

#[test]
fn exec_errors() {
    let env = Env::new("execerr");
    let id = env.id("a");
    running(&env, &id);
    assert_fails(&env.hull(&["exec", &id, "/no/such/program"]), "process.args[0]");
    assert_fails(&env.hull(&["exec", "nope", "true"]), "does not exist");
    assert!(env.hull(&["kill", &id, "KILL"]).status.success());
    wait_status(&env, &id, "stopped");
    assert_fails(&env.hull(&["exec", &id, "true"]), "stopped");
}
