//! `run` in the foreground, as runc's: every signal sent to hull but those it cannot or must
//! not take reaches the container (systemd's SIGRTMIN+3, a supervisor's SIGPWR), and what
//! hull blocks or the caller ignored reaches neither the container nor the hooks.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::json;

use crate::common::*;

/// `hull run` of `config` in the foreground, through `sh -c PREFIX exec hull ...` (the
/// prefix sets what the caller ignores), its stdout piped.
fn spawn_foreground(
    env: &Env,
    id: &str,
    config: &serde_json::Value,
    prefix: &str,
) -> std::process::Child {
    let bundle = env.bundle(id, config);
    let hull = format!(
        "{prefix} exec {HULL} --root {} run -b {} {id}",
        env.root.display(),
        bundle.display()
    );
    std::process::Command::new("sh")
        .args(["-c", &hull])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// hull's exit code and what the container printed (after what `out` read already).
fn finish(
    mut child: std::process::Child,
    mut out: BufReader<std::process::ChildStdout>,
) -> (Option<i32>, String) {
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    (child.wait().unwrap().code(), rest)
}

/// A container that traps `signal` (a number) and exits with `code`.
fn trapping(signal: i32, code: i32) -> serde_json::Value {
    config(&[
        "sh",
        "-c",
        &format!("trap 'exit {code}' {signal}; echo ready; while :; do sleep 0.1; done"),
    ])
}

#[test]
fn signals_beyond_the_usual_ones_reach_the_container() {
    let env = Env::new("fgsig");
    // SIGPWR (30) and SIGRTMIN+3 (34+3, systemd's stop signal) killed hull itself before.
    for (signal, code) in [
        (libc::SIGPWR, 7),
        (libc::SIGRTMIN() + 3, 8),
        (libc::SIGALRM, 9),
    ] {
        let id = env.id(&format!("s{signal}"));
        let mut child = spawn_foreground(&env, &id, &trapping(signal, code), "");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(
            line, "ready\n",
            "signal {signal}: the container did not start"
        );
        // By number: real-time signals have no name nix knows.
        let sent = std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let (status, _) = finish(child, out);
        assert_eq!(status, Some(code), "signal {signal}");
        assert!(!env.state_dir(&id).exists(), "signal {signal}: state left");
    }
}

/// What the caller ignored (a script's `cmd &` ignores SIGQUIT and SIGINT; supervisors ignore
/// others) is not ignored in the container, SIGHUP and SIGINT aside (as runc); nothing hull
/// blocks to forward signals stays blocked, in the container or in a hook.
#[test]
fn ignored_and_blocked_signals_do_not_reach_the_container_or_hooks() {
    let env = Env::new("fgmask");
    let blocked = env.base.join("hook-sigblk");
    // grep itself: a shell sets dispositions of its own.
    let mut c = config(&["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"]);
    c["hooks"] = json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c",
        format!("grep '^SigBlk' /proc/self/status > {}", blocked.display())]}]});
    let ignoring = "trap '' QUIT TERM USR1 HUP;";
    let mut child = spawn_foreground(&env, &env.id("a"), &c, ignoring);
    let out = BufReader::new(child.stdout.take().unwrap());
    let (status, out) = finish(child, out);
    assert_eq!(status, Some(0));
    let mask = |name: &str| {
        let line = out
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{out}"));
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(mask("SigBlk:"), 0, "{out}");
    let hup = 1u64 << (libc::SIGHUP - 1);
    assert_eq!(mask("SigIgn:"), hup, "only SIGHUP stays ignored: {out}");
    let hook = std::fs::read_to_string(&blocked).unwrap();
    assert_eq!(
        hook.split_whitespace().nth(1),
        Some("0000000000000000"),
        "hook: {hook}"
    );
}

/// In the foreground without a terminal the program's stdio is pipes of hull's own, copied
/// to and from the caller's, as runc's: the caller's file is not handed over (nor chowned to
/// the container's user), a non-root process can still open /dev/stdout, stdin reaches it
/// and ends when the caller's does.
#[test]
fn the_foreground_programs_stdio_is_hulls_pipes() {
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;
    let env = Env::new("fgpipes");
    let mut c = config(&[
        "sh",
        "-c",
        "stat -L -c %F /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2; \
         echo to-dev-stdout > /dev/stdout; echo to-stderr >&2; cat; echo end",
    ]);
    c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let id = env.id("a");
    let bundle = env.bundle(&id, &c);
    let out_file = env.base.join("out.log");
    let mut child = env
        .command(&["run", "-b", bundle.to_str().unwrap(), &id])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&out_file).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from-stdin\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(text, "fifo\nfifo\nfifo\nto-dev-stdout\nfrom-stdin\nend\n");
    assert_eq!(stderr(&out), "to-stderr\n");
    assert_eq!(
        std::fs::metadata(&out_file).unwrap().uid(),
        0,
        "the caller's file stays root's"
    );
}
