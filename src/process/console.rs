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
    // The process owns its terminal, so it can reopen /dev/tty after dropping privileges; the
    // group stays devpts's (`gid=5`: the tty group, as runc leaves it).
    fchown(&slave, Some(Uid::from_raw(process.user.uid)), None::<Gid>)
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

/// In init, after pivot_root: bind the pty's slave onto /dev/console, as runc does (programs
/// that write to the console, systemd among them, reach the terminal). The target is a file
/// hull makes in the container's /dev, or an existing regular file or character device there,
/// opened without following a symlink, so the bind cannot be redirected (CVE-2025-52565).
pub fn bind_console(slave: &OwnedFd) -> Result<()> {
    use nix::sys::stat::{fstat, SFlag};
    let path = "/dev/console";
    let target = match open(
        path,
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_WRONLY,
        Mode::from_bits_truncate(0o600),
    ) {
        Err(nix::errno::Errno::EEXIST) => open(
            path,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .context("opening /dev/console")?,
        r => r.context("making /dev/console")?,
    };
    let kind = SFlag::from_bits_truncate(fstat(&target).context("stat /dev/console")?.st_mode)
        & SFlag::S_IFMT;
    if kind != SFlag::S_IFREG && kind != SFlag::S_IFCHR {
        anyhow::bail!("/dev/console is not a file or a device (a symlink?): refusing to bind the console there");
    }
    let fd_path = |fd: &OwnedFd| format!("/proc/self/fd/{}", fd.as_raw_fd());
    nix::mount::mount(
        Some(fd_path(slave).as_str()),
        fd_path(&target).as_str(),
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .context("binding the terminal onto /dev/console")
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
