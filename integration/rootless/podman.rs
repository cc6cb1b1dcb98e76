//! podman's rootless mode over hull.

use std::process::Command;

use super::*;

/// podman's rootless mode: podman makes the user namespace and runs hull inside it as its
/// root; hull keeps its state in the user's runtime dir and makes no cgroup (cgroup v1).
#[test]
fn rootless_podman_runs_through_hull() {
    if Command::new("podman").arg("--version").output().is_err() {
        eprintln!("SKIPPED: podman is not installed (hack/test installs it)");
        return;
    }
    // podman wants a run root under 50 characters: short names.
    let env = Env::new("rp");
    let user = User::new(&env, "p");
    let tar = env.base.join("bb.tar");
    assert!(Command::new("tar")
        .arg("-C")
        .arg(rootfs())
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap()
        .success());
    let conf = user.xdg.join("containers.conf");
    std::fs::write(
        &conf,
        format!("[containers]\ndefault_ulimits = []\nnetns = \"none\"\n[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nruntime = \"hull\"\n[engine.runtimes]\nhull = [\"{HULL}\"]\n"),
    )
    .unwrap();
    let (storage, run) = (env.base.join("s"), env.base.join("r"));
    for d in [&storage, &run] {
        std::fs::create_dir_all(d).unwrap();
        std::os::unix::fs::chown(d, Some(user.uid), Some(user.gid)).unwrap();
    }
    let podman = |args: &[&str]| {
        let mut all = vec![
            "env".to_owned(),
            format!("CONTAINERS_CONF={}", conf.display()),
            "podman".into(),
            "--root".into(),
            storage.display().to_string(),
            "--runroot".into(),
            run.display().to_string(),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        user.command(refs[0], &refs[1..])
    };
    std::os::unix::fs::chown(&tar, Some(user.uid), Some(user.gid)).unwrap();
    let out = podman(&["import", tar.to_str().unwrap(), "localhost/bb"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = podman(&[
        "run",
        "--rm",
        "localhost/bb",
        "sh",
        "-c",
        "id -u; head -1 /proc/self/uid_map",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "0");
    assert!(
        lines[1]
            .split_whitespace()
            .eq(["0", &user.uid.to_string(), "1"]),
        "{text}"
    );
    let _ = podman(&["rm", "-a", "-f", "-t", "0"]);
    let _ = podman(&["system", "reset", "-f"]);
}
