//! `process.terminal` with `--console-socket`: a pty from the container's own devpts, its
//! master sent to the caller's unix socket with SCM_RIGHTS (what conmon and containerd's shim
//! receive), its slave the process's stdio and controlling terminal.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use anyhow::{Context, Result};
use nix::fcntl::{open, OFlag};
use nix::pty::{posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use nix::sys::stat::Mode;
use nix::unistd::{fchown, Gid, Uid};

use crate::plan::ProcessPlan;
use crate::sys;

/// Where the pty master goes.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsoleTarget {
    /// The caller's `--console-socket`.
    Socket(PathBuf),
    /// hull itself (`run -t`, `exec -t`): it proxies between its own stdio and the pty.
    Proxy,
}

/// In the parent, before the fork: the socket the child sends the master over, and our end
/// of it when hull receives the master itself.
pub fn open_target(target: &ConsoleTarget) -> Result<(OwnedFd, Option<UnixStream>)> {
    match target {
        ConsoleTarget::Socket(path) => {
            let stream = UnixStream::connect(path)
                .with_context(|| format!("connecting to --console-socket {}", path.display()))?;
            Ok((stream.into(), None))
        }
        ConsoleTarget::Proxy => {
            let (ours, theirs) = UnixStream::pair().context("creating the console socketpair")?;
            Ok((theirs.into(), Some(ours)))
        }
    }
}

/// `open_target` for an optional target: (the child's end, hull's end for a proxy).
pub fn open_optional(
    target: Option<&ConsoleTarget>,
) -> Result<(Option<OwnedFd>, Option<UnixStream>)> {
    match target {
        Some(t) => open_target(t).map(|(theirs, ours)| (Some(theirs), ours)),
        None => Ok((None, None)),
    }
}

/// In the parent: receive the master the child sent (for `ConsoleTarget::Proxy`).
pub fn receive_master(sock: &UnixStream) -> Result<OwnedFd> {
    let mut name = [0u8; 128];
    let mut iov = [std::io::IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = nix::sys::socket::recvmsg::<UnixAddr>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .context("receiving the pty master")?;
    for c in msg.cmsgs().context("reading the pty master message")? {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                return Ok(sys::owned_fd(*fd));
            }
        }
    }
    anyhow::bail!("the container sent no pty master")
}

/// Allocate a pty, hand its master to `socket`, return the slave (owned by the process's
/// user, sized as configured). Also used by `restore`, for CRIU's shell job.
pub fn send_new_pty(socket: &OwnedFd, process: &ProcessPlan) -> Result<OwnedFd> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .context("opening /dev/ptmx")?;
    unlockpt(&master).context("unlocking the pty")?;
    let name = ptsname_r(&master).context("naming the pty")?;
    let slave = open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {name}"))?;
    // The process owns its terminal, so it can reopen /dev/tty after dropping privileges.
    fchown(
        &slave,
        Some(Uid::from_raw(process.user.uid)),
        Some(Gid::from_raw(process.user.gid)),
    )
    .with_context(|| format!("chown {name}"))?;
    if let Some((rows, cols)) = process.console_size {
        sys::set_window_size(master.as_raw_fd(), rows, cols)
            .context("setting process.consoleSize")?;
    }
    let fds = [master.as_raw_fd()];
    sendmsg::<UnixAddr>(
        socket.as_raw_fd(),
        &[IoSlice::new(name.as_bytes())],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .context("sending the pty master to --console-socket")?;
    Ok(slave)
}

/// In the child, a session leader now: make the pty's slave (from [`send_new_pty`]) our
/// controlling terminal and stdio.
pub fn adopt(slave: OwnedFd) -> Result<()> {
    sys::set_controlling_tty(slave.as_raw_fd())
        .context("making the pty our controlling terminal")?;
    for fd in 0..3 {
        sys::dup2(slave.as_raw_fd(), fd).with_context(|| format!("making the pty fd {fd}"))?;
    }
    Ok(())
}
