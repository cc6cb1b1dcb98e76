//! process.terminal with --console-socket: the pty master arrives over the socket, the
//! container's stdio is the slave (its controlling terminal), with consoleSize applied.

use std::io::{IoSliceMut, Read};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
use serde_json::json;

use crate::common::*;

/// Accept one connection on `listener` and return the fd it carries and the name sent with it.
pub fn receive_master(listener: &UnixListener) -> (OwnedFd, String) {
    use std::os::fd::AsRawFd;
    let (conn, _) = listener.accept().unwrap();
    let mut name = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<UnixAddr>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .unwrap();
    let fd = msg
        .cmsgs()
        .unwrap()
        .find_map(|c| match c {
            ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
            _ => None,
        })
        .expect("an fd over the console socket");
    let len = msg.bytes;
    // SAFETY: the kernel just installed this fd for us.
    (
        unsafe { OwnedFd::from_raw_fd(fd) },
        String::from_utf8_lossy(&name[..len]).into_owned(),
    )
}

/// Read everything from the pty master until the slave side closes (EIO).
fn drain(master: OwnedFd) -> String {
    let mut f = std::fs::File::from(master);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match f.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `hull ARGS` with a `--console-socket` (at `socket` in the test's directory) after its
/// command, asserting success: the pty master it sent, and the slave's name.
pub fn on_console(env: &Env, socket: &str, args: &[&str]) -> (OwnedFd, String) {
    let socket = env.base.join(socket);
    let listener = UnixListener::bind(&socket).unwrap();
    let receiver = std::thread::spawn(move || receive_master(&listener));
    let mut all = vec![args[0], "--console-socket", socket.to_str().unwrap()];
    all.extend_from_slice(&args[1..]);
    env.hull_ok(&all);
    receiver.join().unwrap()
}

/// `create` of `config` as `id` with a `--console-socket`: the pty master it sent, and the
/// slave's name.
fn create_on_console(env: &Env, id: &str, config: &serde_json::Value) -> (OwnedFd, String) {
    let bundle = env.bundle(id, config);
    let socket = format!("{id}.console.sock");
    on_console(
        env,
        &socket,
        &["create", "-b", bundle.to_str().unwrap(), id],
    )
}

#[test]
fn console_socket_receives_the_pty_master() {
    let env = Env::new("console");
    let id = env.id("a");
    let mut c = config(&[
        "sh",
        "-c",
        "tty; stty size; [ -t 0 ] && echo stdin-is-tty; sleep 0.2",
    ]);
    c["process"]["terminal"] = json!(true);
    c["process"]["consoleSize"] = json!({"height": 30, "width": 100});
    let (master, name) = create_on_console(&env, &id, &c);
    assert!(name.starts_with("/dev/pts/"), "{name}");
    env.hull_ok(&["start", &id]);
    let text = drain(master);
    assert!(text.contains("/dev/pts/0\r\n"), "{text:?}");
    assert!(text.contains("30 100\r\n"), "{text:?}");
    assert!(text.contains("stdin-is-tty"), "{text:?}");
}

#[test]
fn terminal_without_console_socket_is_refused() {
    let env = Env::new("noconsole");
    let id = env.id("a");
    let mut c = config(&["true"]);
    c["process"]["terminal"] = json!(true);
    env.assert_create_refused(&id, &c, "process.terminal");
}

#[test]
fn exec_with_a_console_socket() {
    let env = Env::new("execconsole");
    let id = env.id("a");
    env.run_detached(&id, &config(&["sleep", "30"]));
    let exec = ["exec", "-t", "-d", &id, "sh", "-c", "tty; sleep 0.2"];
    let (master, _) = on_console(&env, "exec.sock", &exec);
    assert!(drain(master).starts_with("/dev/pts/"));
}

#[test]
fn run_tty_proxies_a_terminal_under_a_real_pty() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let env = Env::new("runtty");
    let id = env.id("a");
    let bundle = env.bundle(&id, &config(&["sh"]));
    // `script` gives hull a real pty as its stdin/stdout, as a person's terminal would.
    let cmd = format!(
        "stty rows 33 cols 111; {HULL} --root {} run -t -b {} {id}",
        env.root.display(),
        bundle.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux");
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    stdin.write_all(b"echo hi-$((40+2)); stty size\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    stdin.write_all(b"exit 3\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("hi-42"),
        "the shell echoed through the proxy: {text:?}"
    );
    assert!(
        text.contains("33 111"),
        "window size copied from hull's terminal: {text:?}"
    );
    assert_eq!(out.status.code(), Some(3), "{text:?}");
}

#[test]
fn typing_into_the_console_socket_master() {
    use std::io::Write;
    let env = Env::new("consoletype");
    let id = env.id("a");
    let mut c = config(&["sh"]);
    c["process"]["terminal"] = json!(true);
    let (master, _) = create_on_console(&env, &id, &c);
    env.hull_ok(&["start", &id]);
    let mut writer = std::fs::File::from(master.try_clone().unwrap());
    writer.write_all(b"echo typed-$((20+22))\nexit\n").unwrap();
    let text = drain(master);
    assert!(text.contains("typed-42"), "{text:?}");
}

/// A terminal container's pty is its user's (the group devpts gives it, tty's with gid=5) and
/// is also its /dev/console, bound as runc binds it.
#[test]
fn the_terminal_is_the_users_and_the_console() {
    let env = Env::new("consoledev");
    let id = env.id("a");
    let mut c = config(&[
        "sh",
        "-c",
        "stat -c 'owner %u %g' $(tty); echo via-console > /dev/console; grep ' /dev/console ' /proc/self/mountinfo | cut -d' ' -f4; sleep 0.2",
    ]);
    c["process"]["terminal"] = json!(true);
    c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    for m in c["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/dev/pts" {
            m["options"] = json!([
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5"
            ]);
        }
    }
    let (master, _) = create_on_console(&env, &id, &c);
    env.hull_ok(&["start", &id]);
    let text = drain(master);
    assert!(text.contains("owner 1000 5"), "{text:?}");
    assert!(text.contains("via-console"), "{text:?}");
    assert!(
        text.contains("/0\r\n"),
        "the console is /dev/pts/0's bind: {text:?}"
    );
}

/// `exec -p` with `terminal` and `consoleSize`: the pty has that size, as runc gives it.
#[test]
fn exec_process_json_honours_the_console_size() {
    let env = Env::new("execsize");
    let id = env.id("a");
    env.run_detached(&id, &config(&["sleep", "30"]));
    let process = env.base.join("process.json");
    std::fs::write(
        &process,
        json!({"args": ["sh", "-c", "stty size; sleep 0.2"], "cwd": "/", "terminal": true,
               "consoleSize": {"height": 33, "width": 111}, "env": ["PATH=/bin"]})
        .to_string(),
    )
    .unwrap();
    let exec = ["exec", "-d", "-p", process.to_str().unwrap(), &id];
    let (master, _) = on_console(&env, "exec.sock", &exec);
    let text = drain(master);
    assert!(text.contains("33 111"), "{text:?}");
    env.hull_ok(&["delete", "--force", &id]);
}
