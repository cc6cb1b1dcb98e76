//! Waiting for a container process in the foreground (`run`, `exec`): hull blocks the signals
//! it forwards before forking, then reaps children and relays signals until the process exits.

use std::os::fd::BorrowedFd;

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

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
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None).context("blocking signals")?;
    Ok(set)
}

/// Wait for `pid` to exit, forwarding signals to it; returns its exit status as a shell would
/// (128+N when killed by signal N).
pub fn wait_forwarding(pid: Pid, pidfd: BorrowedFd<'_>, waited: &SigSet) -> Result<i32> {
    loop {
        let sig = waited.wait().context("waiting for signals")?;
        if sig != Signal::SIGCHLD {
            let _ = sys::pidfd_send_signal(pidfd, sig as i32);
            continue;
        }
        // Reap every child that has exited (intermediate processes, adopted orphans).
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(p, code)) if p == pid => return Ok(code),
                Ok(WaitStatus::Signaled(p, s, _)) if p == pid => return Ok(128 + s as i32),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    }
}
