//! The exec fifo, `ROOT/ID/exec.fifo`: init blocks on it until `start` writes one byte.
//!
//! Init holds the fifo open read-write (opened by the parent before clone, so it needs no path
//! inside the container and no permission on the state dir from a user namespace) and blocks
//! reading. `start` opens it write-only and non-blocking: that fails with ENXIO unless init is
//! there, then writes a byte and removes the fifo. Its presence means "created".

use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::stat::Mode;

/// Make the fifo (0600) and open init's end of it.
pub fn create(path: &Path) -> Result<OwnedFd> {
    nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o600))
        .with_context(|| format!("creating exec fifo {}", path.display()))?;
    open(path, OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
        .with_context(|| format!("opening exec fifo {}", path.display()))
}

/// In init: block until `start` writes its byte.
pub fn wait_for_start(fifo: &OwnedFd) -> Result<()> {
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(fifo, &mut byte) {
            Ok(1) => return Ok(()),
            Ok(_) => bail!("exec fifo closed without a start signal"),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e).context("reading exec fifo"),
        }
    }
}

/// In `start`: release init, remove the fifo so the status reads "running", then wait until
/// init has left hull's code: its fifo handle is close-on-exec, so the fifo losing its last
/// reader means init exec'd the user's program (or died). Only then may poststart hooks run.
pub fn signal_start(path: &Path) -> Result<()> {
    let fd = match open(
        path,
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Err(Errno::ENXIO) => bail!("the container's init process is not waiting to start"),
        r => r.with_context(|| format!("opening exec fifo {}", path.display()))?,
    };
    nix::unistd::write(&fd, &[0u8]).context("writing exec fifo")?;
    fs::remove_file(path).with_context(|| format!("removing exec fifo {}", path.display()))?;
    // A fifo's write end reports POLLERR once no reader is left.
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::empty())];
    loop {
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e).context("waiting for the container process to start"),
            Ok(_) => break,
        }
    }
    // Init leaves a FAILED byte in the pipe when it could not start; the pipe's buffer lives
    // as long as our end, so read it through a new reader on the same fifo.
    let reader = open(
        format!("/proc/self/fd/{}", fd.as_raw_fd()).as_str(),
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("reopening the exec fifo")?;
    let mut report = vec![0u8; 1 + REPORT_MAX];
    match nix::unistd::read(&reader, &mut report) {
        Ok(n @ 1..) if report[0] == FAILED => bail!(
            "{}; the container stopped",
            String::from_utf8_lossy(&report[1..n]).trim()
        ),
        _ => Ok(()),
    }
}

/// The most of init's failure report `start` reads (well within a pipe's buffer).
const REPORT_MAX: usize = 4096;

/// The byte init leaves in the fifo when it cannot go on to exec.
const FAILED: u8 = b'F';

/// In init, after `start` released it: tell `start` that we are not going to run, and why
/// (a startContainer hook's error, its output included): one write, so `start` reads it whole.
pub fn report_failure(fifo: &OwnedFd, why: &str) {
    let mut end = why.len().min(REPORT_MAX);
    while !why.is_char_boundary(end) {
        end -= 1;
    }
    let _ = nix::unistd::write(fifo, &[&[FAILED][..], &why.as_bytes()[..end]].concat());
}
