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

/// The busybox image every manager's test imports from the test rootfs.
const IMAGE: &str = "localhost/hull-busybox:latest";

/// What the Docker and podman tests share: a CLI with the same verbs (run, exec, stop,
/// inspect, logs, kill, restart, wait, rm) over [`IMAGE`], so one test body serves both.
trait Cli {
    /// The CLI with `args` (output through files, with a time limit).
    fn cli(&self, args: &[&str]) -> Output;

    /// The CLI's command line, for a shell or `script` to run (stdin or a terminal of its own).
    fn cli_line(&self) -> String;

    /// What such a command line needs besides (environment, working directory).
    fn prepare(&self, _cmd: &mut Command) {}

    /// `run` options every container of the test gets (runtime, network, cgroup parent).
    fn run_opts(&self) -> Vec<&str>;

    /// The test's own directory (logs, output files, bind sources).
    fn dir(&self) -> &Path;

    /// `run MODE` of the image with the test's options, `opts` and `cmd`.
    fn run_args<'a>(&'a self, mode: &'a str, opts: &[&'a str], cmd: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["run", mode];
        args.extend(self.run_opts());
        args.extend_from_slice(opts);
        args.push(IMAGE);
        args.extend_from_slice(cmd);
        args
    }

    /// `run --rm` of the image with `opts` and `cmd`.
    fn run(&self, opts: &[&str], cmd: &[&str]) -> Output {
        self.cli(&self.run_args("--rm", opts, cmd))
    }

    /// [`Cli::run`], asserting success; its stdout.
    fn run_ok(&self, opts: &[&str], cmd: &[&str]) -> String {
        let out = self.run(opts, cmd);
        assert!(
            out.status.success(),
            "run {opts:?} {cmd:?}: {}",
            stderr(&out)
        );
        stdout(&out)
    }

    /// `run -d` of the image with `opts` and `cmd`, asserting success; the container's id.
    fn run_detached(&self, opts: &[&str], cmd: &[&str]) -> String {
        let out = self.cli(&self.run_args("-d", opts, cmd));
        assert!(out.status.success(), "run -d {cmd:?}: {}", stderr(&out));
        stdout(&out).trim().to_owned()
    }

    /// `inspect -f FORMAT` of container `id`, trimmed.
    fn inspect(&self, format: &str, id: &str) -> String {
        stdout(&self.cli(&["inspect", "-f", format, id]))
            .trim()
            .to_owned()
    }

    /// `echo typed | CLI ARGS` through a shell (ARGS a shell line): stdin reaching a container.
    fn piped(&self, args: &str) -> Output {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(format!(
            "echo typed | timeout -k 5 60 {} {args}",
            self.cli_line()
        ));
        self.prepare(&mut cmd);
        run(self.dir(), &mut cmd)
    }

    /// `CLI ARGS` (a shell line) with a terminal of its own ([`tty_command`]).
    fn with_tty(&self, args: &str) -> Output {
        let mut cmd = tty_command(&format!("{} {args}", self.cli_line()));
        self.prepare(&mut cmd);
        run_tty(self.dir(), &mut cmd)
    }
}

/// Limits the manager passes are written (memory, pids, cpu quota, read from the cgroup v1
/// files inside) and enforced: the 6th fork fails; a memory hog is OOM-killed (137).
fn limits_are_written_and_enforced(m: &impl Cli) {
    let out = m.run_ok(
        &["--memory", "64m", "--pids-limit", "50", "--cpus", "0.5"],
        &["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us"],
    );
    assert_eq!(out, "67108864\n50\n50000\n");
    let out = m.run(
        &["--pids-limit", "5"],
        &["sh", "-c", "for i in 1 2 3 4 5 6; do sleep 2 & done; wait"],
    );
    assert!(stderr(&out).contains("can't fork"), "{}", stderr(&out));
    let out = m.run_ok(
        &["--memory", "16m", "--memory-swap", "16m"],
        &["sh", "-c", "tail /dev/zero; echo $?"],
    );
    assert_eq!(out, "137\n");
}

/// A seccomp profile in the test's directory refusing mkdir: the `--security-opt` that names it.
fn seccomp_refusing_mkdir(m: &impl Cli) -> String {
    let profile = m.dir().join("seccomp.json");
    std::fs::write(&profile, r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#).unwrap();
    format!("seccomp={}", profile.display())
}

/// `stop` of a pid 1 that handles SIGTERM: it gets SIGTERM and exits by itself at once, with
/// its code and output. `deaf` (a running `sleep 300`, which as pid 1 ignores SIGTERM) is
/// stopped with SIGKILL after the grace time. Both are removed.
fn stop_sends_sigterm_then_sigkill(m: &impl Cli, deaf: &str) {
    let trap = m.run_detached(
        &[],
        &[
            "sh",
            "-c",
            "trap 'echo got-term; exit 7' TERM; echo trapping; while :; do sleep 0.1; done",
        ],
    );
    assert!(
        poll_until(100, 50, || stdout(&m.cli(&["logs", &trap])) == "trapping\n"),
        "the trap was never set"
    );
    let t0 = std::time::Instant::now();
    assert!(m.cli(&["stop", "-t", "30", &trap]).status.success());
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(10),
        "stopped by SIGTERM, not after the grace time"
    );
    assert_eq!(m.inspect("{{.State.ExitCode}}", &trap), "7");
    assert_eq!(stdout(&m.cli(&["logs", &trap])), "trapping\ngot-term\n");
    assert!(m.cli(&["rm", &trap]).status.success());
    let t0 = std::time::Instant::now();
    assert!(m.cli(&["stop", "-t", "1", deaf]).status.success());
    assert!(
        t0.elapsed() >= std::time::Duration::from_millis(900),
        "SIGTERM ignored by pid 1, SIGKILL after 1 s"
    );
    assert_eq!(m.inspect("{{.State.Status}}", deaf), "exited");
    assert!(m.cli(&["rm", deaf]).status.success());
}

/// `exec` with a user (`user_flag`: the CLI's spelling), working directory and environment;
/// `exec -i` and `exec -t`; `kill -s USR1` reaching the container's trap; `restart`; `kill`
/// and `wait` (137); `rm`.
fn exec_options_signals_restart_and_wait(m: &impl Cli, user_flag: &str) {
    let id = m.run_detached(
        &[],
        &[
            "sh",
            "-c",
            "trap 'echo usr1' USR1; while :; do sleep 0.1; done",
        ],
    );
    let out = m.cli(&[
        "exec",
        user_flag,
        "1000:1000",
        "-w",
        "/tmp",
        "-e",
        "X=y",
        &id,
        "sh",
        "-c",
        "id -u; id -g; pwd; echo $X",
    ]);
    assert_eq!(stdout(&out), "1000\n1000\n/tmp\ny\n", "{}", stderr(&out));
    assert_eq!(stdout(&m.piped(&format!("exec -i {id} cat"))), "typed\n");
    let out = m.with_tty(&format!("exec -t {id} tty"));
    assert!(
        stdout(&out).contains("/dev/pts/"),
        "{} {}",
        stdout(&out),
        stderr(&out)
    );
    // kill by name (hull gets the number), seen by the container's trap.
    assert!(m.cli(&["kill", "-s", "USR1", &id]).status.success());
    assert!(
        poll_until(50, 0, || stdout(&m.cli(&["logs", &id])).contains("usr1")),
        "SIGUSR1 never reached the container"
    );
    assert!(m.cli(&["restart", "-t", "0", &id]).status.success());
    assert_eq!(m.inspect("{{.State.Status}}", &id), "running");
    assert!(m.cli(&["kill", &id]).status.success());
    assert_eq!(stdout(&m.cli(&["wait", &id])).trim(), "137");
    assert!(m.cli(&["rm", &id]).status.success());
}

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
