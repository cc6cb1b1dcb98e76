//! bundle-examples/: each example config runs over the test rootfs and does what its README
//! line says.

use std::path::Path;

use serde_json::Value;

use crate::common::*;

fn example(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("bundle-examples")
        .join(name)
        .join("config.json");
    let mut c: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    c["root"]["path"] = serde_json::json!(rootfs());
    c
}

fn run_example(env: &Env, name: &str, config: &Value) -> String {
    let (code, out, err) = env.run(&env.id(name), config);
    assert_eq!(code, 0, "{name}: stdout={out} stderr={err}");
    out
}

#[test]
fn hello_readonly_and_userns_examples() {
    let env = Env::new("examples");
    let out = run_example(&env, "hello", &example("hello"));
    assert!(
        out.starts_with("Hello from hull: I am pid 1 on hello"),
        "{out}"
    );
    let out = run_example(&env, "readonly", &example("readonly"));
    assert!(
        out.contains("Read-only file system") && out.contains("/tmp is writable"),
        "{out}"
    );
    let out = run_example(&env, "userns", &example("userns"));
    assert!(
        out.contains("uid_map:") && out.contains("100000") && out.contains("uid=0(root)"),
        "{out}"
    );
}

/// The Docker-like default: an allowlist, namespace-creating clone flags and mount refused,
/// clone3 answered ENOSYS (so libcs fall back to clone), runc's default capabilities.
#[test]
fn seccomp_example_runs_under_a_docker_like_profile() {
    let env = Env::new("examplesec");
    let out = run_example(&env, "seccomp", &example("seccomp"));
    assert!(
        out.starts_with("hello from a container under the default profile\n"),
        "{out}"
    );
    assert!(
        out.contains("unshare: unshare(0x40000000): Operation not permitted"),
        "{out}"
    );
    assert!(
        out.contains("Seccomp:\t2") && out.contains("CapEff:\t00000000a80425fb"),
        "{out}"
    );
    let mut c = example("seccomp");
    c["process"]["args"] = serde_json::json!([
        "sh",
        "-c",
        "ls /bin | wc -l; sleep 0 & wait; mount -t tmpfs t /mnt 2>&1; echo done"
    ]);
    let out = run_example(&env, "seccomp2", &c);
    assert!(
        out.contains("mount: permission denied") && out.ends_with("done\n"),
        "{out}"
    );
}
