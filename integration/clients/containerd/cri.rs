//! Kubernetes' path: containerd's CRI plugin with a runtime handler "hull".

use std::path::Path;
use std::process::Command;

use super::*;

/// Kubernetes' path: a CRI client (integration/clients/cri_client.py, over containerd's CRI
/// socket) runs a pod and containers with runtime handler "hull" (containerd's runc shim runs
/// hull as its BinaryName, from containerd's config): ExecSync, ContainerStats,
/// UpdateContainerResources, a Pod securityContext and limits seen inside, StopContainer's
/// SIGTERM, and hull's errors in the CRI replies.
#[test]
fn containerd_cri_runs_a_pod_through_the_hull_runtime_handler() {
    let Some(c) = Containerd::with_cri("ctrcri") else {
        return;
    };
    let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/clients/cri_client.py");
    let work = c.dir.join("cri-work");
    std::fs::create_dir_all(work.join("vol")).unwrap();
    std::fs::write(work.join("vol/f"), "from the host\n").unwrap();
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "5", "120", "/usr/bin/python3"])
        .arg(&client)
        .arg(c.dir.join("c.sock"))
        .arg("hull")
        .arg(IMAGE)
        .arg(&c.cgroup_base)
        .arg(c.dir.join("logs"))
        .arg(c.dir.join("hull-root"))
        .arg(&work);
    let out = run(&c.dir, &mut cmd);
    assert!(out.status.success(), "{} {}", stdout(&out), stderr(&out));
    let seen: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&seen).unwrap());
    assert!(
        seen["stats"]["working_set_bytes"].as_u64().unwrap() > 0,
        "ContainerStats read hull's cgroup"
    );
    assert_eq!(
        seen["updated"], "50331648\n20000\n",
        "UpdateContainerResources (hull update) seen inside"
    );
    assert_eq!(
        seen["secured"]["stdout"],
        "CapEff:\t0000000000000000\nCapBnd:\t0000000000002000\nNoNewPrivs:\t1\nSeccomp:\t2\n1000\n1000\n/tmp\n67108864\n50000\nfrom the host\n\
         touch: /x: Read-only file system\ntouch: /data/g: Read-only file system\nmkdir: can't create directory '/tmp/d': Operation not permitted\n",
        "securityContext (caps, runAsUser/Group, readOnlyRootFilesystem, allowPrivilegeEscalation, seccomp Localhost), limits, workingDir and a read-only hostPath"
    );
    // StopContainer sends SIGTERM first: handled, the container exits with its own code at once.
    assert_eq!(seen["term"]["exit_code"], 7);
    assert!(seen["term"]["seconds"].as_f64().unwrap() < 10.0);
    assert!(seen["term"]["log"]
        .as_str()
        .unwrap()
        .ends_with("stdout F got-term\n"));
    // hull's own words reach the CRI client.
    let missing = seen["exec_missing"].as_str().unwrap();
    assert!(
        missing.contains("process.args[0]: /no/such/program: No such file or directory"),
        "{missing}"
    );
    let bad = seen["bad_memory"].as_str().unwrap();
    assert!(
        bad.contains("linux.resources.memory.limit: 100 is below the minimum of 256 KiB"),
        "{bad}"
    );
    assert_eq!(seen["exec"]["exit_code"], 0);
    // The container shares the pod's pid namespace: its pid 1 is the sandbox's "pause".
    assert_eq!(seen["exec"]["stdout"], "yes\nsleep 1000000 ");
    let keys = seen["runtime_state_keys"].as_array().unwrap();
    assert!(
        keys.iter().any(|k| k == "initStartTime"),
        "hull's state.json, not runc's: {keys:?}"
    );
    let log = std::fs::read_to_string(c.dir.join("logs/c.log")).unwrap();
    assert!(log.contains("stdout F started-by-cri"), "{log}");
}
