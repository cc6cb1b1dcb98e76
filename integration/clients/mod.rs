//! Managers driving hull as their runtime, unmodified: podman (with conmon), containerd (its
//! runc shim, as Kubernetes uses it) and Docker. Each test keeps the manager's state, sockets and
//! storage in a private directory, uses no network, and removes what it made. The busybox
//! image is made locally from the test rootfs (no registry).

mod containerd;
mod docker;
mod podman;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

/// Whether `binary` is on PATH; tests of a manager that is not installed say so and pass
/// (`hack/test` installs them, so CI always runs them).
fn have(binary: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {binary}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIPPED: {binary} is not installed (hack/test installs it)");
    }
    found
}

/// `rootfs()` as a tar stream file, for `podman import` / `ctr image import`.
fn busybox_tar(dir: &Path) -> PathBuf {
    let tar = dir.join("busybox.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(rootfs())
        .args(["-cf"])
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    tar
}

/// Run a command with a time limit; output through files (a container may hold pipes).
fn run(dir: &Path, cmd: &mut Command) -> Output {
    run_with_stdin(dir, cmd, false)
}

/// `script -qec CMD /dev/null`: runs the command line `line` with a terminal of its own.
/// The shell is pinned to /bin/sh and `line` is exec'd, so the client is the terminal's
/// session leader and in its foreground process group. Otherwise (CI's environment has no
/// $SHELL, so script falls back to dash, which forks) `timeout` puts the client in a
/// background process group and its switch to raw mode stops it with SIGTTOU: ctr then
/// printed nothing and podman hung until `timeout` killed it. `--foreground` keeps timeout
/// from making that group at all.
fn tty_command(line: &str) -> Command {
    let mut cmd = Command::new("script");
    cmd.arg("-qec")
        .arg(format!("exec timeout --foreground -k 5 60 {line}"))
        .arg("/dev/null")
        .env("SHELL", "/bin/sh");
    cmd
}

/// `run` for a `tty_command`. Its stdin is a pipe held open until it exits: on stdin's EOF
/// script types ^D into the terminal, and a client that reads it before going raw (ctr -t)
/// would end its stdin, which makes containerd's shim close the console early.
fn run_tty(dir: &Path, cmd: &mut Command) -> Output {
    run_with_stdin(dir, cmd, true)
}

/// stdin: /dev/null, or (`open_pipe`) a pipe nobody writes to or closes until the end.
fn run_with_stdin(dir: &Path, cmd: &mut Command, open_pipe: bool) -> Output {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let (out, err) = (dir.join(format!(".o{n}")), dir.join(format!(".e{n}")));
    let stdin = if open_pipe {
        std::process::Stdio::piped()
    } else {
        std::process::Stdio::null()
    };
    let mut child = cmd
        .stdin(stdin)
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let held = child.stdin.take();
    let status = child.wait().unwrap();
    drop(held);
    Output {
        status,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    }
}

/// Lazily unmount everything mounted under `dir` (deepest first): manager storage.
fn unmount_under(dir: &Path) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(PathBuf::from)
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in points {
        let _ = nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// Remove a cgroup tree the test's manager made (every hierarchy), deepest first. What still
/// runs there is the test's own (a conmon or shim on its way out): killed, then waited for.
fn remove_cgroup_tree(rel: &str) {
    let mut dirs = Vec::new();
    for base in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        let top = base.path().join(rel.trim_start_matches('/'));
        collect_dirs(&top, &mut dirs);
    }
    let top = Path::new("/sys/fs/cgroup").join(rel.trim_start_matches('/'));
    collect_dirs(&top, &mut dirs);
    dirs.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    poll_until(100, 20, || {
        for d in &dirs {
            for pid in std::fs::read_to_string(d.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse().ok())
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        dirs.retain(|d| std::fs::remove_dir(d).is_err() && d.exists());
        dirs.is_empty()
    });
}

fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    if !dir.is_dir() {
        return;
    }
    out.push(dir.to_owned());
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            collect_dirs(&e.path(), out);
        }
    }
}
