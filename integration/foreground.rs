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
