//! Waiting for a container process in the foreground (`run`, `exec`): hull blocks the signals
//! it forwards before forking, then reaps children and relays signals until the process exits.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use anyhow::{Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::{stdio, tty_proxy};
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

/// What the container's stdio is connected to while hull waits in the foreground.
pub enum Streams<'a> {
    /// The caller's own stdio, handed over as it is (a detached or restored process).
    Inherited,
    /// hull's terminal proxy: the pty master.
    Terminal(&'a OwnedFd),
    /// hull's pipes (see `process::stdio`).
    Pipes(stdio::Ends),
}

/// One direction of copying, while its source is open. What `to` did not take yet waits in
/// `pending` (the container's stdin pipe is non-blocking: a container that does not read its
/// stdin must not stop hull from copying its output).
struct Copy<'a> {
    from: End<'a>,
    to: End<'a>,
    /// The container's output to the caller (drained when the container exits).
    output: bool,
    open: bool,
    pending: Vec<u8>,
}

/// A side of a copy: one of the caller's fds (or the pty master), or one of hull's pipe ends,
/// which hull closes when the copy is over: the container reads EOF on its stdin once the
/// caller's ends, and a write to an output nobody reads any more fails in the container.
enum End<'a> {
    Caller(BorrowedFd<'a>),
    Pipe(Option<OwnedFd>),
}

impl End<'_> {
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            End::Caller(fd) => Some(*fd),
            End::Pipe(fd) => fd.as_ref().map(|f| f.as_fd()),
        }
    }

    fn close(&mut self) {
        if let End::Pipe(fd) = self {
            fd.take();
        }
    }
}

impl Copy<'_> {
    /// What to wait for: more to read, or room to write what is pending.
    fn wants(&self) -> Option<PollFd<'_>> {
        match (self.from.fd(), self.to.fd()) {
            (Some(_), Some(to)) if !self.pending.is_empty() => {
                Some(PollFd::new(to, PollFlags::POLLOUT))
            }
            (Some(from), Some(_)) => Some(PollFd::new(from, PollFlags::POLLIN)),
            _ => None,
        }
    }

    /// Read when nothing is pending, then write what `to` takes now. At the end of either
    /// side the copy is over (and the container's stdin pipe closed).
    fn step(&mut self) {
        if !self.copy() {
            self.open = false;
            self.pending.clear();
            self.from.close();
            self.to.close();
        }
    }

    fn copy(&mut self) -> bool {
        let (Some(from), Some(to)) = (self.from.fd(), self.to.fd()) else {
            return false;
        };
        if self.pending.is_empty() {
            let mut buf = [0u8; 16384];
            match nix::unistd::read(from, &mut buf) {
                Ok(0) | Err(_) => return false,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
            }
        }
        while !self.pending.is_empty() {
            match nix::unistd::write(to, &self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(nix::errno::Errno::EAGAIN) => return true,
                Err(_) => return false,
            }
        }
        true
    }
}

/// Wait for `pid` to exit, forwarding signals to it and copying its streams; returns its exit
/// status as a shell would (128+N when killed by signal N).
pub fn wait_forwarding(
    pid: Pid,
    pidfd: BorrowedFd<'_>,
    waited: &SigSet,
    streams: Streams,
) -> Result<i32> {
    let signals =
        SignalFd::with_flags(waited, SfdFlags::SFD_CLOEXEC).context("creating a signalfd")?;
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let master = match &streams {
        Streams::Terminal(m) => Some(*m),
        _ => None,
    };
    let _raw = master.map(|m| {
        tty_proxy::copy_window_size(m.as_fd());
        tty_proxy::RawMode::enter()
    });
    let mut copies: Vec<Copy> = Vec::new();
    let copy = |from, to, output| Copy {
        from,
        to,
        output,
        open: true,
        pending: Vec::new(),
    };
    if let Some(m) = master {
        copies.push(copy(
            End::Caller(m.as_fd()),
            End::Caller(stdout.as_fd()),
            true,
        ));
        copies.push(copy(
            End::Caller(stdin.as_fd()),
            End::Caller(m.as_fd()),
            false,
        ));
    }
    if let Streams::Pipes(stdio::Ends {
        stdin: into,
        stdout: out,
        stderr: err,
    }) = streams
    {
        copies.push(copy(
            End::Pipe(Some(out)),
            End::Caller(stdout.as_fd()),
            true,
        ));
        copies.push(copy(
            End::Pipe(Some(err)),
            End::Caller(stderr.as_fd()),
            true,
        ));
        // Non-blocking: a container that does not read its stdin must not stop the copying
        // of its output (what it has not taken yet waits in `pending`).
        let _ = nix::fcntl::fcntl(
            &into,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        );
        copies.push(copy(
            End::Caller(stdin.as_fd()),
            End::Pipe(Some(into)),
            false,
        ));
    }
    // A caller that stops reading (`hull run ... | head -1`) ends that copy, not hull.
    let _ = sys::set_sigpipe(true);
    loop {
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        let polled: Vec<usize> = (0..copies.len())
            .filter(|&i| copies[i].open && copies[i].wants().is_some())
            .collect();
        fds.extend(polled.iter().filter_map(|&i| copies[i].wants()));
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => r.context("waiting for the container")?,
        };
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        for (&i, _) in polled.iter().zip(&ready[1..]).filter(|(_, r)| **r) {
            copies[i].step();
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
                    // What the container wrote before it exited is still in the pipes.
                    for c in copies.iter().filter(|c| c.open && c.output) {
                        if let (Some(from), End::Caller(to)) = (c.from.fd(), &c.to) {
                            tty_proxy::drain(from, *to);
                        }
                    }
                    let _ = sys::set_sigpipe(false);
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
