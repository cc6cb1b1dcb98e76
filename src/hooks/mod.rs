//! Running hooks: each program gets the container state as JSON on stdin, its own args and
//! env, and is killed at its timeout. A failure names the hook kind, index and path.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use oci_spec::runtime::{ContainerState, State};

use crate::plan::HookPlan;
use crate::sys;

/// Run `hooks` of `kind` in order with `state` on stdin; stop at the first failure.
pub fn run(kind: &str, hooks: &[HookPlan], state: &State, status: ContainerState) -> Result<()> {
    if hooks.is_empty() {
        return Ok(());
    }
    let json = state_json(state, status)?;
    for (i, hook) in hooks.iter().enumerate() {
        run_one(hook, &json)
            .with_context(|| format!("hooks.{kind}[{i}] {}", hook.path.display()))?;
    }
    Ok(())
}

/// Poststart and poststop: a failing hook is a warning, and the remaining hooks and the
/// lifecycle continue as if it had succeeded (runtime.md).
pub fn run_warn(kind: &str, hooks: &[HookPlan], state: &State, status: ContainerState) {
    if hooks.is_empty() {
        return;
    }
    let json = match state_json(state, status) {
        Ok(json) => json,
        Err(e) => return crate::log::warn(&format!("hooks.{kind}: {e:#}")),
    };
    for (i, hook) in hooks.iter().enumerate() {
        if let Err(e) = run_one(hook, &json) {
            crate::log::warn(&format!("hooks.{kind}[{i}] {}: {e:#}", hook.path.display()));
        }
    }
}

fn state_json(state: &State, status: ContainerState) -> Result<Vec<u8>> {
    let mut state = state.clone();
    state.set_status(status);
    Ok(serde_json::to_vec(&state)?)
}

/// The state hooks see (runtime.md "State").
pub fn state(
    version: &str,
    id: &str,
    pid: i32,
    bundle: &std::path::Path,
    annotations: &std::collections::BTreeMap<String, String>,
) -> State {
    let mut s = State::default();
    s.set_version(version.to_owned());
    s.set_id(id.to_owned());
    s.set_pid(Some(pid));
    s.set_bundle(bundle.to_owned());
    s.set_annotations(Some(annotations.clone().into_iter().collect()));
    s
}

/// The most of a hook's output kept for its error message.
const OUTPUT_KEPT: usize = 8 * 1024;

/// Write `state` to the hook's stdin as it reads it, and keep what it prints (for its error,
/// as runc gives it), while waiting for it to exit, all within the deadline: a hook that never
/// reads a large state must not hold hull beyond its timeout. Whether it exited in time.
fn feed_until_exit(
    pidfd: &OwnedFd,
    stdin: OwnedFd,
    output: &OwnedFd,
    kept: &mut Vec<u8>,
    mut state: &[u8],
    deadline: Option<Instant>,
) -> Result<bool> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    fcntl(&stdin, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
        .context("making the hook's stdin non-blocking")?;
    fcntl(output, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
        .context("making the hook's output non-blocking")?;
    let mut stdin = Some(stdin);
    let mut output_open = true;
    let read_output = |kept: &mut Vec<u8>| -> bool {
        let mut buf = [0u8; 4096];
        loop {
            match nix::unistd::read(output, &mut buf) {
                Ok(0) => return false,
                Ok(n) => {
                    let room = OUTPUT_KEPT.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::EAGAIN) => return true,
                Err(_) => return false,
            }
        }
    };
    loop {
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = vec![PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        if output_open {
            fds.push(PollFd::new(output.as_fd(), PollFlags::POLLIN));
        }
        let stdin_at = fds.len();
        if let Some(w) = &stdin {
            fds.push(PollFd::new(w.as_fd(), PollFlags::POLLOUT));
        }
        let ready = match poll(&mut fds, timeout) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => r?,
        };
        if ready == 0 {
            return Ok(false);
        }
        let exited = fds[0].any().unwrap_or(false);
        let output_ready = output_open && fds[1].any().unwrap_or(false);
        let stdin_ready = stdin.is_some() && fds[stdin_at].any().unwrap_or(false);
        drop(fds);
        if output_ready || exited {
            output_open = read_output(kept) && output_open;
        }
        if exited {
            return Ok(true);
        }
        if let (true, Some(w)) = (stdin_ready, &stdin) {
            match nix::unistd::write(w, state) {
                Ok(n) => state = &state[n..],
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
                // EPIPE: the hook closed its stdin; it does not want the rest.
                Err(_) => state = &[],
            }
            if state.is_empty() {
                stdin = None;
            }
        }
    }
}

/// hull's own environment, for hooks without `env`.
fn own_env() -> Vec<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::env::vars_os()
        .filter_map(|(k, v)| {
            std::ffi::CString::new([k.as_bytes(), b"=", v.as_bytes()].concat()).ok()
        })
        .collect()
}

fn run_one(hook: &HookPlan, state_json: &[u8]) -> Result<()> {
    let env = hook.env.clone().unwrap_or_else(own_env);
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .context("creating the hook's stdin pipe")?;
    let (output, output_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .context("creating the hook's output pipe")?;
    let (pid, pidfd) = match sys::clone_fork(0).context("forking the hook")? {
        sys::Forked::Child => {
            // In the child: stdin from the pipe, stdout and stderr to hull (for its error),
            // then exec; only _exit on failure.
            if sys::dup2(read.as_raw_fd(), 0).is_err()
                || sys::dup2(output_w.as_raw_fd(), 1).is_err()
                || sys::dup2(output_w.as_raw_fd(), 2).is_err()
            {
                sys::exit_now(126);
            }
            let path = std::ffi::CString::new(hook.path.as_os_str().as_encoded_bytes())
                .unwrap_or_default();
            // `run` blocks the signals it forwards: a hook (or a daemon it leaves running)
            // starts with none blocked, as runc's do.
            let _ = sys::unblock_all_signals();
            let _ = sys::execve(&path, &hook.args, &env);
            sys::exit_now(127)
        }
        sys::Forked::Parent { child, pidfd } => (child, pidfd),
    };
    drop(read);
    drop(output_w);
    let deadline = hook
        .timeout_secs
        .map(|s| Instant::now() + Duration::from_secs(s.into()));
    // A hook need not read its stdin: if it is gone first, the write fails with EPIPE, and
    // SIGPIPE (back at its default since main, for the containers) must not kill hull. The
    // hook forked with the default, so ignoring it here changes nothing for the hook.
    let _ = sys::set_sigpipe(true);
    let mut kept = Vec::new();
    let exited = feed_until_exit(&pidfd, write, &output, &mut kept, state_json, deadline);
    let _ = sys::set_sigpipe(false);
    let said = || {
        let text = String::from_utf8_lossy(&kept);
        let text = text.trim();
        if text.is_empty() {
            String::new()
        } else {
            format!("; its output: {text}")
        }
    };
    if !exited.context("waiting for the hook")? {
        let _ = sys::pidfd_send_signal(pidfd.as_fd(), Signal::SIGKILL as i32);
        let _ = waitpid(pid, None);
        bail!(
            "timed out after {}s{}",
            hook.timeout_secs.unwrap_or(0),
            said()
        );
    }
    match waitpid(pid, None).context("reaping the hook")? {
        WaitStatus::Exited(_, 0) => Ok(()),
        WaitStatus::Exited(_, 127) => bail!("could not be executed{}", said()),
        WaitStatus::Exited(_, code) => bail!("exited with status {code}{}", said()),
        WaitStatus::Signaled(_, sig, _) => bail!("killed by {sig}{}", said()),
        other => bail!("ended unexpectedly: {other:?}{}", said()),
    }
}
