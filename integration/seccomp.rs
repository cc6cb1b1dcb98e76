//! linux.seccomp: the filter is in force inside the container (with and without
//! noNewPrivileges), for exec'd processes too, with the action asked for.

use serde_json::json;

use crate::common::*;

fn with_filter(mkdir_action: &str, nnp: bool) -> serde_json::Value {
    let mut c = config(&[]);
    c["process"]["noNewPrivileges"] = json!(nnp);
    c["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": mkdir_action, "errnoRet": 1},
            {"names": ["not_a_real_syscall"], "action": "SCMP_ACT_ERRNO"}
        ]
    });
    c
}

#[test]
fn errno_rule_with_and_without_no_new_privs() {
    let env = Env::new("seccomp");
    for nnp in [false, true] {
        let out = env.sh(
            &env.id(&format!("nnp{nnp}")),
            with_filter("SCMP_ACT_ERRNO", nnp),
            "mkdir /tmp/x 2>&1; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; echo alive",
        );
        assert!(out.contains("Operation not permitted"), "nnp={nnp}: {out}");
        assert!(out.contains("Seccomp:\t2"), "filter mode: {out}");
        assert!(out.contains(&format!("NoNewPrivs:\t{}", u8::from(nnp))), "{out}");
        assert!(out.ends_with("alive\n"));
    }
}

#[test]
fn kill_process_rule_kills_with_sigsys() {
    let env = Env::new("seccompkill");
    let mut c = with_filter("SCMP_ACT_KILL_PROCESS", true);
    c["process"]["args"] = json!(["mkdir", "/tmp/x"]);
    // Without a pid namespace the shell is not an init, which SIGSYS could not kill.
    c["linux"]["namespaces"] = json!([{"type": "mount"}]);
    c.as_object_mut().unwrap().remove("hostname");
    let (code, _, _) = env.run(&env.id("a"), &c);
    assert_eq!(code, 128 + libc::SIGSYS);
}

#[test]
fn exec_gets_the_container_filter() {
    let env = Env::new("seccompexec");
    let id = env.id("a");
    let mut c = with_filter("SCMP_ACT_ERRNO", true);
    c["process"]["args"] = json!(["sleep", "30"]);
    let bundle = env.bundle(&id, &c);
    assert!(env.hull(&["run", "-d", "-b", bundle.to_str().unwrap(), &id]).status.success());
    let out = env.hull(&["exec", &id, "sh", "-c", "mkdir /tmp/y 2>&1; true"]);
    assert!(stdout(&out).contains("Operation not permitted"), "{}", stdout(&out));
}

#[test]
fn notify_is_refused_clearly() {
    let env = Env::new("seccompnotify");
    let id = env.id("a");
    let mut c = config(&["true"]);
    c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]});
    let bundle = env.bundle(&id, &c);
    assert_fails(&env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]), "linux.seccomp.syscalls[0].action");
    assert!(!env.state_dir(&id).exists());
}

#[test]
fn profiles_without_close_range_or_clone3_still_start() {
    // Profiles older than these syscalls deny them; hull must not need them once the filter
    // is on (loaded before the user switch without noNewPrivileges), even for hooks.
    let env = Env::new("seccompold");
    let mut c = config(&["sh", "-c", "echo ran"]);
    c["process"]["noNewPrivileges"] = json!(false);
    c["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["close_range", "clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    });
    c["hooks"] = json!({"startContainer": [{"path": "/bin/true"}]});
    let (code, out, err) = env.run(&env.id("a"), &c);
    assert_eq!((code, out.as_str()), (0, "ran\n"), "{err}");
}
