//! `features` cannot lie: containerd and CRI-O decide from it what to give hull (user-namespaced
//! pods, recursive read-only mounts). Every namespace, mount option, seccomp action and flag it
//! claims, and `mountExtensions.idmap`, is used by a container here, which must run.

use serde_json::{json, Value};

use crate::common::*;

fn features() -> Value {
    let out = std::process::Command::new(HULL)
        .arg("features")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// Run `c`; what it tried, and why it failed, if it did.
fn runs(env: &Env, what: &str, c: &Value) -> Option<String> {
    let id = env.id(&format!("f{}", env.base.read_dir().unwrap().count()));
    let (code, out, err) = env.run(&id, c);
    (code != 0).then(|| format!("{what}: {}{}", out.trim(), err.trim()))
}

fn assert_none_failed(failed: Vec<String>) {
    assert!(
        failed.is_empty(),
        "features claims these, but containers using them fail:\n{}",
        failed.join("\n")
    );
}

#[test]
fn every_claimed_namespace_and_mount_option_works() {
    let env = Env::new("featmnt");
    let f = features();
    let mut failed = Vec::new();
    for ns in names(&f["linux"]["namespaces"]) {
        let mut c = config(&["true"]);
        if ns == "user" {
            c = with_user_namespace(c);
        } else {
            let list = c["linux"]["namespaces"].as_array_mut().unwrap();
            list.retain(|n| n["type"] != ns.as_str());
            list.push(json!({"type": ns}));
        }
        failed.extend(runs(&env, &format!("namespace {ns}"), &c));
    }
    let dir = env.base.join("bound");
    std::fs::create_dir_all(&dir).unwrap();
    for option in names(&f["mountOptions"]) {
        let mut c = config(&["true"]);
        let binds_only =
            option.starts_with('r') && option != "ro" && option != "rw" && option != "relatime"
                || ["bind", "rbind", "private", "shared", "slave", "unbindable"]
                    .contains(&option.as_str());
        let m = if binds_only {
            let mut opts = vec![json!(option)];
            if option != "bind" && option != "rbind" {
                opts.insert(0, json!("rbind"));
            }
            json!({"destination": "/mnt", "type": "bind", "source": dir, "options": opts})
        } else {
            json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": [option]})
        };
        c["mounts"].as_array_mut().unwrap().push(m);
        failed.extend(runs(&env, &format!("mount option {option}"), &c));
    }
    assert_eq!(f["linux"]["mountExtensions"]["idmap"]["enabled"], true);
    let maps = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
    let mut c = config(&["true"]);
    c["mounts"].as_array_mut().unwrap().push(json!(
        {"destination": "/mnt", "type": "bind", "source": dir, "options": ["rbind"], "uidMappings": maps, "gidMappings": maps}));
    failed.extend(runs(&env, "mountExtensions.idmap", &c));
    assert_none_failed(failed);
}

#[test]
fn every_claimed_seccomp_action_and_flag_works() {
    let env = Env::new("featsec");
    let f = features();
    let mut failed = Vec::new();
    let sec = &f["linux"]["seccomp"];
    assert_eq!(sec["enabled"], true);
    let sock = env.base.join("agent.sock");
    let _agent = crate::seccomp::seccomp_agent(&sock);
    // A rule on a syscall the container never makes (acct), so every action can be used.
    let profile = |action: &str, flags: &[String]| {
        let mut p = json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": flags,
                           "syscalls": [{"names": ["acct"], "action": action, "errnoRet": 1}]});
        if action == "SCMP_ACT_NOTIFY" {
            p["listenerPath"] = json!(sock);
        }
        p
    };
    for action in names(&sec["actions"]) {
        let mut c = config(&["true"]);
        c["linux"]["seccomp"] = profile(&action, &[]);
        failed.extend(runs(&env, &format!("seccomp action {action}"), &c));
    }
    for op in names(&sec["operators"]) {
        let mut c = config(&["true"]);
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["acct"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "valueTwo": 1, "op": op}]}]});
        failed.extend(runs(&env, &format!("seccomp operator {op}"), &c));
    }
    for arch in names(&sec["archs"]) {
        let mut c = config(&["true"]);
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [arch],
            "syscalls": [{"names": ["acct"], "action": "SCMP_ACT_ERRNO"}]});
        failed.extend(runs(&env, &format!("seccomp architecture {arch}"), &c));
    }
    for flag in names(&sec["supportedFlags"]) {
        // WAIT_KILLABLE_RECV goes with SCMP_ACT_NOTIFY; TSYNC must not.
        let action = if flag == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" {
            "SCMP_ACT_NOTIFY"
        } else {
            "SCMP_ACT_ERRNO"
        };
        let mut c = config(&["true"]);
        c["linux"]["seccomp"] = profile(action, std::slice::from_ref(&flag));
        failed.extend(runs(&env, &format!("seccomp flag {flag}"), &c));
    }
    assert_none_failed(failed);
}
