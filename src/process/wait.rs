//! Waiting for a container process in the foreground (`run`, `exec`): hull blocks the signals
//! it forwards before forking, then reaps children and relays signals until the process exits.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use anyhow::{Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::tty_proxy;
use crate::sys;

/// Signals forwarded to the container process (plus SIGCHLD, which hull handles).
const FORWARDED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// Set up before the fork: the process may be our grandchild (joined pid namespace), so
/// become a subreaper to be able to wait for it, and block the signals we will wait on so
/// none is lost (the child clears its mask before exec).
pub fn prepare() -> Result<SigSet> {
    nix::sys::prctl::set_child_subreaper(true).context("becoming a child subreaper")?;
    let mut set = SigSet::empty();
    FORWARDED.iter().for_each(|s| set.add(*s));
    set.add(Signal::SIGCHLD);
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
        .context("blocking signals")?;
    Ok(set)
}

/// Wait for `pid` to exit, forwarding signals to it (and, with `master`, proxying the
/// terminal); returns its exit status as a shell would (128+N when killed by signal N).
pub fn wait_forwarding(
    pid: Pid,
    pidfd: BorrowedFd<'_>,
    waited: &SigSet,
    master: Option<&OwnedFd>,
) -> Result<i32> {
    let signals =
        SignalFd::with_flags(waited, SfdFlags::SFD_CLOEXEC).context("creating a signalfd")?;
    let _raw = master.map(|m| {
        tty_proxy::copy_window_size(m.as_fd());
        tty_proxy::RawMode::enter()
    });
    let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
    let mut stdin_open = master.is_some();
    let mut master_open = master.is_some();
    loop {
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        if let Some(m) = master.filter(|_| master_open) {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
        }
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => r.context("waiting for the container")?,
        };
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        let mut i = 1;
        if let Some(m) = master.filter(|_| master_open) {
            if ready[i] {
                master_open = tty_proxy::pump(m.as_fd(), stdout.as_fd());
            }
            i += 1;
        }
        if stdin_open && ready[i] {
            if let Some(m) = master {
                stdin_open = tty_proxy::pump(stdin.as_fd(), m.as_fd());
            }
        }
        if !ready[0] {
            continue;
        }
        let Some(info) = signals.read_signal().context("reading the signalfd")? else {
            continue;
        };
        let sig = Signal::try_from(info.ssi_signo as i32).unwrap_or(Signal::SIGCHLD);
        match sig {
            Signal::SIGCHLD => {
                if let Some(code) = reap(pid) {
                    if let Some(m) = master {
                        tty_proxy::drain(m)?;
                    }
                    return Ok(code);
                }
            }
            Signal::SIGWINCH if master.is_some() => {
                tty_proxy::copy_window_size(master.unwrap().as_fd())
            }
            other => {
                let _ = sys::pidfd_send_signal(pidfd, other as i32);
            }
        }
    }
}

/// Reap every child that has exited (intermediate processes, adopted orphans); the exit
/// status of `pid` if it was among them.
fn reap(pid: Pid) -> Option<i32> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p == pid => return Some(code),
            Ok(WaitStatus::Signaled(p, s, _)) if p == pid => return Some(128 + s as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}
