//! checkpoint/restore with CRIU: a counting container continues from its saved count, in a
//! new container (same or new ID, twice from one image), with its cgroup limits; failures
//! leave the container running and untouched.

use std::path::{Path, PathBuf};

use std::process::Output;

use serde_json::{json, Value};

use crate::common::*;

/// Whether a working criu is here (`hack/test` installs one with ../shared/build-criu).
fn criu_works() -> bool {
    let ok = std::process::Command::new("criu")
        .arg("check")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED: `criu check` fails or criu is missing (hack/test runs ../shared/build-criu)"
        );
    }
    ok
}

const COUNTER: &str = "i=0; while :; do i=$((i+1)); echo $i > /tmp/c; sleep 0.1; done";

fn counter_config() -> serde_json::Value {
    let mut c = config(&["sh", "-c", COUNTER]);
    c["linux"]["resources"] = json!({"pids": {"limit": 30}});
    c
}

fn count(env: &Env, id: &str) -> u64 {
    let out = env.hull(&["exec", id, "cat", "/tmp/c"]);
    stdout(&out)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("count of {id}: {} {}", stdout(&out), stderr(&out)))
}

fn start_counter(env: &Env, id: &str) -> PathBuf {
    let bundle = env.run_detached(id, &counter_config());
    wait_for_count(env, id, 5);
    bundle
}

/// Wait until `id`'s counter is at least `at_least`; the count seen.
fn wait_for_count(env: &Env, id: &str, at_least: u64) -> u64 {
    let mut seen = 0;
    let counts = poll_until(100, 50, || {
        seen = stdout(&env.hull(&["exec", id, "cat", "/tmp/c"]))
            .trim()
            .parse()
            .unwrap_or(0);
        seen >= at_least
    });
    assert!(counts, "{id} does not count (at {seen})");
    seen
}

/// `hull checkpoint OPTS --image-path IMAGES ID`.
fn checkpoint(env: &Env, opts: &[&str], images: &str, id: &str) -> Output {
    let mut args = vec!["checkpoint"];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["--image-path", images, id]);
    env.hull(&args)
}

/// [`checkpoint`], asserting success.
fn checkpoint_ok(env: &Env, opts: &[&str], images: &str, id: &str) {
    let out = checkpoint(env, opts, images, id);
    assert!(
        out.status.success(),
        "checkpoint {opts:?}: {}",
        stderr(&out)
    );
}

/// `hull restore -d OPTS --image-path IMAGES` of `config` as `id`, in a bundle of its own
/// (so its own cgroup, /hull-test/<id>).
fn restore_with(env: &Env, opts: &[&str], images: &Path, id: &str, config: &Value) -> Output {
    let bundle = env.bundle(id, config);
    let mut args = vec!["restore", "-d"];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["--image-path", images.to_str().unwrap()]);
    args.extend_from_slice(&["-b", bundle.to_str().unwrap(), id]);
    env.hull(&args)
}

/// The counter restored from `images` as `id`.
fn restore(env: &Env, images: &Path, id: &str) -> Output {
    restore_with(env, &[], images, id, &counter_config())
}

#[test]
fn restored_counter_continues_from_its_saved_value() {
    if !criu_works() {
        return;
    }
    let env = Env::new("ckpt");
    let (a, b) = (env.id("a"), env.id("b"));
    start_counter(&env, &a);
    let images = env.base.join("images");
    checkpoint_ok(&env, &[], images.to_str().unwrap(), &a);
    assert_eq!(
        env.status(&a),
        "stopped",
        "without --leave-running the container stops"
    );
    env.hull_ok(&["delete", &a]);
    let out = restore(&env, &images, &b);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.status(&b), "running");
    // Memory state kept: the shell's `i` goes on (a restart would begin at 1).
    let first = count(&env, &b);
    assert!(first >= 5, "restarted from scratch? {first}");
    assert!(wait_for_count(&env, &b, first + 3) > first, "it counts on");
    // In its cgroup, with the config's limit.
    let pid = env.pid(&b).to_string();
    let dir = Path::new("/sys/fs/cgroup/pids")
        .join(CGROUP_BASE.trim_start_matches('/'))
        .join(&b);
    assert_eq!(read_file(&dir, "pids.max"), "30");
    assert!(std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap()
        .lines()
        .any(|l| l == pid));
    env.hull_ok(&["kill", &b, "KILL"]);
    wait_status(&env, &b, "stopped");
    env.hull_ok(&["delete", &b]);
    assert!(!dir.exists());
}

#[test]
fn leave_running_and_two_restores_from_one_image() {
    if !criu_works() {
        return;
    }
    let env = Env::new("ckptlr");
    let a = env.id("a");
    start_counter(&env, &a);
    let images = env.base.join("images");
    checkpoint_ok(&env, &["--leave-running"], images.to_str().unwrap(), &a);
    assert_eq!(env.status(&a), "running");
    let before = count(&env, &a);
    // Two new containers from the same image while the original runs on.
    for id in [env.id("b"), env.id("c")] {
        let out = restore(&env, &images, &id);
        assert!(out.status.success(), "{id}: {}", stderr(&out));
        assert_eq!(env.status(&id), "running");
        assert!(count(&env, &id) >= 5);
    }
    assert!(
        wait_for_count(&env, &a, before + 2) > before,
        "the original counts on"
    );
}

#[test]
fn bad_checkpoints_and_restores_fail_clearly_and_leave_things_alone() {
    if !criu_works() {
        return;
    }
    let env = Env::new("ckptbad");
    let a = env.id("a");
    start_counter(&env, &a);
    // No checkpoint at the path.
    let empty = env.base.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert_fails(&restore(&env, &empty, &env.id("x")), "no checkpoint there");
    assert!(!env.state_dir(&env.id("x")).exists());
    // criu not where --criu says.
    assert_fails(
        &env.hull(&[
            "--criu",
            "/no/such/criu",
            "checkpoint",
            "--image-path",
            "/tmp/x",
            &a,
        ]),
        "/no/such/criu",
    );
    // Not dumpable: an fd (passed with --preserve-fds) to a file on a host mount the container
    // cannot see. The container keeps running, untouched.
    let id = env.id("fd");
    let bundle = env.bundle(&id, &counter_config());
    let script = format!(
        "exec 3</etc/hostname; exec {HULL} --root {} run -d --preserve-fds 1 -b {} {id}",
        env.root.display(),
        bundle.display()
    );
    // Output to a file: the detached container would hold a pipe open.
    let log = std::fs::File::create(env.base.join("fd-run.log")).unwrap();
    let st = std::process::Command::new("sh")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .status()
        .unwrap();
    assert!(
        st.success(),
        "{}",
        std::fs::read_to_string(env.base.join("fd-run.log")).unwrap()
    );
    let before = wait_for_count(&env, &id, 3);
    let images = env.base.join("fd-images");
    let out = checkpoint(&env, &[], images.to_str().unwrap(), &id);
    assert_fails(&out, "checkpoint: criu dump failed");
    assert_eq!(env.status(&id), "running");
    assert!(
        wait_for_count(&env, &id, before + 2) > before,
        "still counting"
    );
    // Images of one container restored over another rootfs: refused by name.
    let images = env.base.join("images");
    checkpoint_ok(&env, &["--leave-running"], images.to_str().unwrap(), &a);
    let other_root = env.base.join("otherroot");
    std::fs::create_dir_all(&other_root).unwrap();
    let mut c = counter_config();
    c["root"]["path"] = json!(other_root);
    let other = env.id("other");
    let out = restore_with(&env, &[], &images, &other, &c);
    assert_fails(&out, "the checkpoint is of container");
    assert!(!env.state_dir(&other).exists());
    // --pre-dump: this kernel has no soft-dirty tracking.
    assert_fails(
        &checkpoint(&env, &["--pre-dump"], images.to_str().unwrap(), &a),
        "--pre-dump",
    );
}

/// A terminal container (its pty master held by a --console-socket receiver) checkpointed as
/// a shell job, and restored with a new pty whose master goes to the new console socket.
#[test]
fn terminal_container_restores_as_a_shell_job() {
    if !criu_works() {
        return;
    }
    use crate::terminal::on_console;
    let env = Env::new("ckpttty");
    let (a, b) = (env.id("a"), env.id("b"));
    let mut c = counter_config();
    c["process"]["terminal"] = json!(true);
    let bundle = env.bundle(&a, &c);
    let _master_a = on_console(
        &env,
        "a.sock",
        &["run", "-d", "-b", bundle.to_str().unwrap(), &a],
    );
    wait_for_count(&env, &a, 5);
    let images = env.base.join("images");
    let img = images.to_str().unwrap();
    checkpoint_ok(&env, &["--shell-job"], img, &a);
    env.hull_ok(&["delete", &a]);
    let bundle = env.bundle(&b, &c);
    let restore = [
        "restore",
        "-d",
        "--shell-job",
        "--image-path",
        img,
        "-b",
        bundle.to_str().unwrap(),
        &b,
    ];
    let _master_b = on_console(&env, "b.sock", &restore);
    let first = count(&env, &b);
    assert!(first >= 5, "restarted from scratch? {first}");
    let pid = env.pid(&b);
    let tty = std::fs::read_link(format!("/proc/{pid}/fd/0")).unwrap();
    assert!(
        tty.to_string_lossy().starts_with("/dev/pts/"),
        "stdin is a terminal: {tty:?}"
    );
    assert!(wait_for_count(&env, &b, first + 2) > first);
}

/// The CRIU flags that change what happens: a container holding a file lock cannot be dumped
/// without --file-locks and can with it (the lock is held again after restore); --work-path
/// receives CRIU's logs instead of the image directory; restore's --pid-file names the
/// restored init; the other flags are passed and accepted; --lazy-pages is refused by name.
#[test]
fn criu_flags_file_locks_work_path_and_restore_pid_file() {
    if !criu_works() {
        return;
    }
    let env = Env::new("ckptflags");
    let (a, b) = (env.id("a"), env.id("b"));
    let mut c = counter_config();
    c["process"]["args"] = json!(["hull-probe", "lock", "/tmp/lock", "sh", "-c", COUNTER]);
    env.run_detached(&a, &c);
    wait_for_count(&env, &a, 5);
    let (images, work) = (env.base.join("images"), env.base.join("work"));
    let img = images.to_str().unwrap();
    let out = checkpoint(&env, &[], img, &a);
    assert_fails(&out, "");
    assert!(
        stderr(&out).to_lowercase().contains("lock"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.status(&a), "running", "a failed dump leaves it running");
    assert_fails(
        &checkpoint(&env, &["--lazy-pages"], img, &a),
        "--lazy-pages",
    );
    let _ = std::fs::remove_dir_all(&images);
    checkpoint_ok(
        &env,
        &[
            "--file-locks",
            "--tcp-established",
            "--ext-unix-sk",
            "--auto-dedup",
            "--manage-cgroups-mode",
            "soft",
            "--work-path",
            work.to_str().unwrap(),
        ],
        img,
        &a,
    );
    assert!(work.join("dump.log").exists(), "CRIU's log in --work-path");
    assert!(!images.join("dump.log").exists());
    env.hull_ok(&["delete", &a]);

    let pid_file = env.base.join("restored.pid");
    let opts = [
        "--file-locks",
        "--work-path",
        work.to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
    ];
    let out = restore_with(&env, &opts, &images, &b, &c);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(work.join("restore.log").exists());
    let pid = env.pid(&b);
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        pid.to_string()
    );
    let first = count(&env, &b);
    assert!(wait_for_count(&env, &b, first + 2) > first, "it counts on");
    // The lock came back with it: a second flock on the same file cannot have it.
    let out = env.hull(&["exec", &b, "hull-probe", "trylock", "/tmp/lock"]);
    assert_eq!(stdout(&out).trim(), "held", "{}", stderr(&out));
    env.hull_ok(&["delete", "--force", &b]);
}

/// `--empty-ns network` (runc's name; CRIU's is `net`): the network namespace is not dumped
/// and the restore gets a new, empty one; other types are refused by name. Then a restore in
/// the foreground, which waits for the container and exits with its status, as `run` does.
#[test]
fn empty_network_namespace_and_a_foreground_restore() {
    if !criu_works() {
        return;
    }
    let env = Env::new("ckptemptyns");
    let (a, b) = (env.id("a"), env.id("b"));
    start_counter(&env, &a);
    let images = env.base.join("images");
    let img = images.to_str().unwrap();
    assert_fails(
        &checkpoint(&env, &["--empty-ns", "ipc"], img, &a),
        "--empty-ns ipc",
    );
    checkpoint_ok(&env, &["--empty-ns", "network"], img, &a);
    env.hull_ok(&["delete", &a]);

    let bundle = env.bundle(&b, &counter_config());
    let log = std::fs::File::create(env.base.join("restore.log")).unwrap();
    let mut restore = env
        .command(&[
            "restore",
            "--image-path",
            img,
            "-b",
            bundle.to_str().unwrap(),
            &b,
        ])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    assert!(
        poll_until(100, 50, || env.hull(&["state", &b]).status.success()),
        "never restored"
    );
    let first = wait_for_count(&env, &b, 1);
    assert!(first >= 5, "restarted from scratch? {first}");
    let out = stdout(&env.hull(&["exec", &b, "cat", "/proc/net/dev"]));
    assert_eq!(
        out.lines().filter(|l| l.contains(':')).count(),
        1,
        "only lo: {out}"
    );
    env.hull_ok(&["kill", &b, "KILL"]);
    let status = restore.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(137),
        "the foreground restore exits with the container's status"
    );
    assert!(!env.state_dir(&b).exists(), "and removes it");
}

/// A container whose stdout is a unix (datagram) socket connected to a process outside it cannot be
/// dumped unless `--ext-unix-sk` says external sockets are fine; the failed dump leaves it
/// running.
#[test]
fn an_external_unix_socket_needs_ext_unix_sk() {
    if !criu_works() {
        return;
    }
    let env = Env::new("ckptextsk");
    let a = env.id("a");
    // In the host's network namespace, where CRIU can see the socket and its peer (ours).
    let mut c = counter_config();
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "network");
    let bundle = env.bundle(&a, &c);
    // A datagram socket connected to a named one of ours: what CRIU's --ext-unix-sk takes
    // (half of a stream connection, or a nameless peer, it refuses even then).
    let ours = std::os::unix::net::UnixDatagram::bind(env.base.join("peer.sock")).unwrap();
    let theirs = std::os::unix::net::UnixDatagram::unbound().unwrap();
    theirs.connect(env.base.join("peer.sock")).unwrap();
    let st = env
        .command(&["run", "-d", "-b", bundle.to_str().unwrap(), &a])
        .stdout(std::process::Stdio::from(std::os::fd::OwnedFd::from(
            theirs,
        )))
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    wait_for_count(&env, &a, 3);
    let images = env.base.join("images");
    let img = images.to_str().unwrap();
    let out = checkpoint(&env, &[], img, &a);
    assert_fails(&out, "");
    let log = std::fs::read_to_string(images.join("dump.log")).unwrap_or_default();
    assert!(
        log.contains("ext-unix-sk") || stderr(&out).contains("ext-unix-sk"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.status(&a), "running");
    let _ = std::fs::remove_dir_all(&images);
    checkpoint_ok(&env, &["--ext-unix-sk"], img, &a);
    assert_eq!(env.status(&a), "stopped");
    drop(ours);
    env.hull_ok(&["delete", &a]);
}
