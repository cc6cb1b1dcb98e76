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
        assert!(
            out.contains(&format!("NoNewPrivs:\t{}", u8::from(nnp))),
            "{out}"
        );
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
    env.run_detached(&id, &c);
    let out = env.hull(&["exec", &id, "sh", "-c", "mkdir /tmp/y 2>&1; true"]);
    assert!(
        stdout(&out).contains("Operation not permitted"),
        "{}",
        stdout(&out)
    );
}

/// A seccomp agent on `path`: for each connection, hands the received process state to the
/// test and answers every notification on the received listener fd with ENOSPC.
pub fn seccomp_agent(path: &std::path::Path) -> std::sync::mpsc::Receiver<serde_json::Value> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut buf = vec![0u8; 64 * 1024];
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
            let msg = nix::sys::socket::recvmsg::<()>(
                conn.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                nix::sys::socket::MsgFlags::empty(),
            )
            .unwrap();
            let fd = msg.cmsgs().unwrap().find_map(|c| match c {
                nix::sys::socket::ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
                _ => None,
            });
            let n = msg.bytes;
            let state: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
            // SAFETY (test): the fd was just received through SCM_RIGHTS and is ours alone.
            let fd = unsafe { OwnedFd::from_raw_fd(fd.expect("SCM_RIGHTS fd")) };
            tx.send(state).unwrap();
            std::thread::spawn(move || answer_with_enospc(fd));
        }
    });
    rx
}

fn answer_with_enospc(fd: std::os::fd::OwnedFd) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::{AsFd, AsRawFd};
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(30_000u16)).unwrap_or(0) == 0
            || fds[0]
                .revents()
                .is_some_and(|r| r.contains(PollFlags::POLLHUP))
        {
            return;
        }
        // SAFETY (test): the kernel fills the zeroed seccomp_notif, then reads the response;
        // both structs outlive the ioctls.
        unsafe {
            let mut req: libc::seccomp_notif = std::mem::zeroed();
            if libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) != 0 {
                continue;
            }
            let mut resp = libc::seccomp_notif_resp {
                id: req.id,
                val: 0,
                error: -libc::ENOSPC,
                flags: 0,
            };
            libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &mut resp);
        }
    }
}

fn notify_config(listener: &std::path::Path, nnp: bool, args: &[&str]) -> serde_json::Value {
    let mut c = config(args);
    c["process"]["noNewPrivileges"] = json!(nnp);
    c["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": listener,
        "listenerMetadata": "agent-meta",
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    });
    c
}

#[test]
fn notify_hands_the_listener_to_the_agent_which_answers() {
    let env = Env::new("seccompnotify");
    let sock = env.base.join("agent.sock");
    let states = seccomp_agent(&sock);
    let timeout = std::time::Duration::from_secs(10);
    // With noNewPrivileges: the filter goes on late, but before `create` returns.
    let id = env.id("nnp");
    let (code, out, err) = env.run(
        &id,
        &notify_config(
            &sock,
            true,
            &[
                "sh",
                "-c",
                "mkdir /tmp/x 2>&1; ls -d /tmp/x 2>&1; echo done",
            ],
        ),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("No space left on device"),
        "the agent's answer: {out}"
    );
    assert!(out.contains("ls: /tmp/x: No such file"), "{out}");
    let state = states
        .recv_timeout(timeout)
        .expect("the agent got the listener");
    assert_eq!(state["fds"], json!(["seccompFd"]));
    assert_eq!(state["metadata"], "agent-meta");
    assert_eq!(state["state"]["id"], id.as_str());
    assert_eq!(state["state"]["status"], "creating");
    assert_eq!(state["pid"], state["state"]["pid"]);
    // Without noNewPrivileges (loaded while root), and for an exec'd process.
    let id = env.id("exec");
    let bundle = env.bundle(&id, &notify_config(&sock, false, &["sleep", "30"]));
    let created = env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]);
    assert!(created.status.success(), "{}", stderr(&created));
    let init_state = states.recv_timeout(timeout).expect("listener of init");
    let out = env.hull(&["exec", &id, "sh", "-c", "mkdir /tmp/y 2>&1; true"]);
    assert!(
        stdout(&out).contains("No space left on device"),
        "{}",
        stdout(&out)
    );
    let exec_state = states
        .recv_timeout(timeout)
        .expect("listener of the exec'd process");
    assert_eq!(exec_state["state"]["status"], "running");
    assert_eq!(exec_state["state"]["pid"], init_state["pid"]);
    assert_ne!(
        exec_state["pid"], init_state["pid"],
        "the exec'd process's own pid"
    );
}

#[test]
fn notify_without_a_listener_is_refused_clearly() {
    let env = Env::new("seccompnolistener");
    let id = env.id("a");
    let dead = env.base.join("nobody.sock");
    for (config, needle) in [
        (
            {
                let mut c = config(&["true"]);
                c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]});
                c
            },
            "linux.seccomp.listenerPath: required",
        ),
        (
            notify_config(&dead, true, &["true"]),
            "linux.seccomp.listenerPath: connecting to",
        ),
    ] {
        let bundle = env.bundle(&id, &config);
        assert_fails(
            &env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]),
            needle,
        );
        assert!(!env.state_dir(&id).exists());
    }
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

/// Every action, seen from the shell that ran the filtered `mkdir`.
#[test]
fn each_action_has_its_effect() {
    let env = Env::new("seccompactions");
    for (action, expected) in [
        ("SCMP_ACT_TRAP", "rc=159"), // SIGSYS kills mkdir
        ("SCMP_ACT_KILL", "rc=159"), // = KILL_THREAD: mkdir is single-threaded
        ("SCMP_ACT_KILL_THREAD", "rc=159"),
        ("SCMP_ACT_LOG", "rc=0"), // allowed, and logged
        ("SCMP_ACT_TRACE", "Function not implemented"), // no tracer: ENOSYS
        ("SCMP_ACT_ALLOW", "rc=0"),
    ] {
        let mut c = with_filter(action, true);
        c["process"]["args"] = json!(["sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?"]);
        let (code, out, err) = env.run(&env.id(&action[9..].to_lowercase().replace('_', "")), &c);
        assert_eq!(code, 0, "{action}: {err}");
        assert!(out.contains(expected), "{action}: {out}");
    }
}

/// Argument conditions: EQ, GT and MASKED_EQ on kill(2)'s signal number.
#[test]
fn argument_conditions_select_the_calls() {
    let env = Env::new("seccompargs");
    let mut c = config(&[]);
    c["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 30, "op": "SCMP_CMP_GT"}]},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 255, "valueTwo": 12, "op": "SCMP_CMP_MASKED_EQ"}]}
        ]
    });
    // Nothing may kill the shell: the three signals are the filtered ones.
    let out = env.sh(&env.id("a"), c, "trap '' USR1 USR2 SYS; for s in 0 USR1 USR2 SYS; do kill -$s $$ 2>/dev/null; echo $s=$?; done");
    assert_eq!(out, "0=0\nUSR1=1\nUSR2=1\nSYS=1\n");
}

/// `errnoRet` other than EPERM reaches the caller; `/proc/self/status` counts one filter; and
/// the comparison operators the other test leaves out (NE, LT, LE, GE), each on `kill`'s
/// signal argument: 0, USR1 (10), USR2 (12) and SYS (31) are sent, 1 means refused.
#[test]
fn errno_values_and_the_other_comparison_operators() {
    let env = Env::new("seccompops");
    let mut c = config(&[]);
    c["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]
    });
    let out = env.sh(
        &env.id("errno"),
        c,
        "mkdir /tmp/x 2>&1; grep Seccomp_filters /proc/self/status",
    );
    assert!(
        out.contains("No space left on device"),
        "errnoRet 28 is ENOSPC: {out}"
    );
    assert!(out.contains("Seccomp_filters:\t1"), "{out}");
    for (op, value, expected) in [
        ("SCMP_CMP_NE", 10, "0=1 USR1=0 USR2=1 SYS=1"),
        ("SCMP_CMP_LT", 12, "0=1 USR1=1 USR2=0 SYS=0"),
        ("SCMP_CMP_LE", 12, "0=1 USR1=1 USR2=1 SYS=0"),
        ("SCMP_CMP_GE", 12, "0=0 USR1=0 USR2=1 SYS=1"),
    ] {
        let mut c = config(&[]);
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 1, "value": value, "op": op}]}]
        });
        let out = env.sh(
            &env.id(&op[9..].to_lowercase()),
            c,
            "trap '' USR1 USR2 SYS; for s in 0 USR1 USR2 SYS; do kill -$s $$ 2>/dev/null; echo -n \"$s=$? \"; done",
        );
        assert_eq!(out.trim(), expected, "{op} {value}");
    }
}

/// KILL_THREAD ends only the thread that made the call, KILL_PROCESS the whole process (with
/// SIGSYS): the difference shows with a second thread, in which hull-probe calls getppid.
#[test]
fn kill_thread_ends_a_thread_and_kill_process_the_process() {
    let env = Env::new("seccompthreads");
    for (action, code, alive) in [
        ("SCMP_ACT_KILL_THREAD", 0, true),
        ("SCMP_ACT_KILL_PROCESS", 128 + 31, false),
    ] {
        let mut c = config(&["hull-probe", "thread-getppid"]);
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getppid"], "action": action}]
        });
        let (got, out, err) = env.run(&env.id(&action[9..].to_lowercase()), &c);
        assert_eq!(got, code, "{action}: {out} {err}");
        assert_eq!(out.contains("main alive"), alive, "{action}: {out}");
    }
}

/// SCMP_ACT_LOG allows the call and the kernel logs it (an audit line with the LOG action's
/// code, 0x7ffc0000, in the kernel log: no auditd here).
#[test]
fn log_action_allows_and_the_kernel_logs_the_call() {
    if !actions_logged().contains("log") {
        return; // the host has switched LOG's logging off
    }
    let env = Env::new("seccomplog");
    let mut c = config(&[]);
    c["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["rmdir"], "action": "SCMP_ACT_LOG"}]
    });
    let script = "mkdir /tmp/d && rmdir /tmp/d && echo removed";
    assert_eq!(env.sh(&env.id("allowed"), c.clone(), script), "removed\n");
    assert!(
        logs_a_line(&env, &c, script, "0x7ffc0000", 4),
        "no kernel log line for the LOG rule"
    );
}

/// `defaultErrnoRet`: the errno of the default action. Everything the kernel headers name is
/// allowed except mkdir/mkdirat, which fall to the default ERRNO 28 (ENOSPC, not EPERM).
#[test]
fn default_errno_ret_is_the_default_actions_errno() {
    let header = std::fs::read_to_string("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
        .expect("libc6-dev (hack/test installs it)");
    let allowed: Vec<&str> = header
        .lines()
        .filter_map(|l| l.strip_prefix("#define __NR_"))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| !n.starts_with("mkdir"))
        .collect();
    assert!(allowed.len() > 300, "{}", allowed.len());
    let env = Env::new("seccompdefault");
    let mut c = config(&[]);
    c["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 28,
        "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}]
    });
    let out = env.sh(&env.id("a"), c, "mkdir /tmp/x 2>&1; echo alive");
    assert!(
        out.contains("No space left on device") && out.ends_with("alive\n"),
        "{out}"
    );
}

/// A syscall name this libseccomp does not know is skipped, as runc does, with a debug line.
#[test]
fn unknown_syscall_names_are_skipped_with_a_debug_line() {
    let env = Env::new("seccompunknown");
    let id = env.id("a");
    let mut c = with_filter("SCMP_ACT_ERRNO", false);
    c["process"]["args"] = json!(["true"]);
    let (_, text) = env.run_with_debug_log(&id, &c, &[]);
    assert!(
        text.lines().any(|l| l.contains("not_a_real_syscall")),
        "{text}"
    );
}

/// How many seccomp audit lines in the kernel log have this action code and command name.
fn kernel_logged(code: &str, comm: &str) -> usize {
    let out = std::process::Command::new("dmesg").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&format!("code={code}")) && l.contains(&format!("comm=\"{comm}\"")))
        .count()
}

fn actions_logged() -> String {
    std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_logged").unwrap_or_default()
}

/// `SECCOMP_FILTER_FLAG_LOG`: actions the kernel does not log by default (ERRNO) are logged
/// (the audit line has the action, 0x50000, without its errno).
/// An ERRNO rule on rmdir, once without the flag (no line) and once with it (a line).
#[test]
fn the_log_flag_makes_the_kernel_log_errno_actions() {
    if !actions_logged().contains("errno") {
        return;
    }
    let env = Env::new("seccomplogflag");
    for (flags, logs) in [
        (json!([]), false),
        (json!(["SECCOMP_FILTER_FLAG_LOG"]), true),
    ] {
        let mut c = config(&[]);
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "flags": flags,
            "syscalls": [{"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        });
        let script = "mkdir /tmp/d; rmdir /tmp/d 2>&1; true";
        assert!(env
            .sh(&env.id(&format!("out{logs}")), c.clone(), script)
            .contains("Operation not permitted"));
        assert_eq!(
            logs_a_line(&env, &c, script, "0x50000", if logs { 4 } else { 1 }),
            logs,
            "flags {flags}"
        );
    }
}

/// Whether running `script` (an `rmdir`) in a container of config `c` adds a seccomp line
/// with action `code` for rmdir to the kernel log: up to `tries` runs, since the kernel
/// rate-limits these lines (10 in 5 s) and other tests log too.
fn logs_a_line(env: &Env, c: &serde_json::Value, script: &str, code: &str, tries: u32) -> bool {
    for i in 0..tries {
        let before = kernel_logged(code, "rmdir");
        env.sh(&env.id(&format!("{code}-{i}")), c.clone(), script);
        if poll_until(75, 20, || kernel_logged(code, "rmdir") > before) {
            return true;
        }
    }
    false
}

/// `architectures`: a rule covers every listed ABI, so an i386 program's mkdir (another
/// syscall number) is refused like the native one; left out of the list, the x86 ABI is not
/// allowed at all and libseccomp's bad-arch action kills the program (SIGSYS).
#[test]
fn architectures_cover_the_x86_abi_or_keep_it_out() {
    let env = Env::new("seccomparch");
    for (arches, native, x86) in [
        (
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
            "Operation not permitted",
            "Operation not permitted\nrc=0",
        ),
        (
            json!(["SCMP_ARCH_X86_64"]),
            "Operation not permitted",
            "rc=159",
        ),
    ] {
        let mut c = config(&[]);
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": arches,
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        });
        let out = env.sh(
            &env.id(&format!("arches{}", arches.as_array().unwrap().len())),
            c,
            "hull-probe mkdir /tmp/a; hull-probe32 mkdir /tmp/b; echo rc=$?",
        );
        let (first, rest) = out.split_once('\n').unwrap();
        assert_eq!(first, native, "{arches}: {out}");
        assert_eq!(rest.trim_end(), x86, "{arches}: {out}");
    }
}
