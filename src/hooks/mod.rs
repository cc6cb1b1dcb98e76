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

/// Write `state` to the hook's stdin as it reads it, while waiting for it to exit, both within
/// the deadline: a hook that never reads a large state must not hold hull beyond its timeout.
/// Whether it exited in time.
fn feed_until_exit(
    pidfd: &OwnedFd,
    stdin: OwnedFd,
    mut state: &[u8],
    deadline: Option<Instant>,
) -> Result<bool> {
    nix::fcntl::fcntl(
        &stdin,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .context("making the hook's stdin non-blocking")?;
    let mut stdin = Some(stdin);
    loop {
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = vec![PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
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
        if fds[0].any().unwrap_or(false) {
            return Ok(true);
        }
        if let Some(w) = &stdin {
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
    let (pid, pidfd) = match sys::clone_fork(0).context("forking the hook")? {
        sys::Forked::Child => {
            // In the child: stdin from the pipe, then exec; only _exit on failure.
            if sys::dup2(read.as_raw_fd(), 0).is_err() {
                sys::exit_now(126);
            }
            let path = std::ffi::CString::new(hook.path.as_os_str().as_encoded_bytes())
                .unwrap_or_default();
            let _ = sys::execve(&path, &hook.args, &env);
            sys::exit_now(127)
        }
        sys::Forked::Parent { child, pidfd } => (child, pidfd),
    };
    drop(read);
    let deadline = hook
        .timeout_secs
        .map(|s| Instant::now() + Duration::from_secs(s.into()));
    // A hook need not read its stdin: if it is gone first, the write fails with EPIPE, and
    // SIGPIPE (back at its default since main, for the containers) must not kill hull. The
    // hook forked with the default, so ignoring it here changes nothing for the hook.
    let _ = sys::ignore_sigpipe();
    let exited = feed_until_exit(&pidfd, write, state_json, deadline);
    let _ = sys::default_sigpipe();
    if !exited.context("waiting for the hook")? {
        let _ = sys::pidfd_send_signal(pidfd.as_fd(), Signal::SIGKILL as i32);
        let _ = waitpid(pid, None);
        bail!("timed out after {}s", hook.timeout_secs.unwrap_or(0));
    }
    match waitpid(pid, None).context("reaping the hook")? {
        WaitStatus::Exited(_, 0) => Ok(()),
        WaitStatus::Exited(_, 127) => bail!("could not be executed"),
        WaitStatus::Exited(_, code) => bail!("exited with status {code}"),
        WaitStatus::Signaled(_, sig, _) => bail!("killed by {sig}"),
        other => bail!("ended unexpectedly: {other:?}"),
    }
}
