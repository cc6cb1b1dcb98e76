//! The exec fifo, `ROOT/ID/exec.fifo`: init blocks on it until `start` writes one byte.
//!
//! Init holds the fifo open read-write (opened by the parent before clone, so it needs no path
//! inside the container and no permission on the state dir from a user namespace) and blocks
//! reading. `start` opens it write-only and non-blocking: that fails with ENXIO unless init is
//! there, then writes a byte and removes the fifo. Its presence means "created".

use std::fs;
use std::os::fd::OwnedFd;
use std::path::Path;

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
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

/// In `start`: release init, then remove the fifo so the status reads "running".
pub fn signal_start(path: &Path) -> Result<()> {
    let fd = match open(path, OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty()) {
        Err(Errno::ENXIO) => bail!("the container's init process is not waiting to start"),
        r => r.with_context(|| format!("opening exec fifo {}", path.display()))?,
    };
    nix::unistd::write(&fd, &[0u8]).context("writing exec fifo")?;
    fs::remove_file(path).with_context(|| format!("removing exec fifo {}", path.display()))
}
