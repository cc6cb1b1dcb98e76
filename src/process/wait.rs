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

/// Signals hull does not take for the container: those it cannot catch, those a fault of its
/// own raises (blocking them would hide the fault), SIGPIPE (a write of hull's to a closed
/// pipe) and SIGURG (as runc). Every other signal sent to hull in the foreground is the
/// container's, SIGCHLD aside (hull reaps), and SIGWINCH too without a terminal to resize.
const NOT_FORWARDED: [Signal; 10] = [
    Signal::SIGKILL,
    Signal::SIGSTOP,
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGILL,
    Signal::SIGFPE,
    Signal::SIGTRAP,
    Signal::SIGSYS,
    Signal::SIGPIPE,
    Signal::SIGURG,
];

/// Set up before the fork: the process may be our grandchild (joined pid namespace), so
/// become a subreaper to be able to wait for it, and block the signals we will wait on so
/// none is lost or acts on hull (the child clears its mask before exec, hooks before theirs).
pub fn prepare() -> Result<SigSet> {
    nix::sys::prctl::set_child_subreaper(true).context("becoming a child subreaper")?;
    let mut set = SigSet::all();
    NOT_FORWARDED.iter().for_each(|s| set.remove(*s));
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
        // By number: real-time signals (systemd's SIGRTMIN+3) have no `Signal` name.
        let signo = info.ssi_signo as i32;
        match Signal::try_from(signo) {
            Ok(Signal::SIGCHLD) => {
                if let Some(code) = reap(pid) {
                    if let Some(m) = master {
                        tty_proxy::drain(m)?;
                    }
                    return Ok(code);
                }
            }
            Ok(Signal::SIGWINCH) => {
                if let Some(m) = master {
                    tty_proxy::copy_window_size(m.as_fd())
                }
            }
            _ => {
                let _ = sys::pidfd_send_signal(pidfd, signo);
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
