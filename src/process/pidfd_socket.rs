//! `--pidfd-socket PATH` (runc 1.2's flag on `create`, `run` and `exec`): the caller gets a
//! pidfd of the container's init or of the exec'd process over a unix socket (SCM_RIGHTS),
//! a handle that cannot be mistaken for a later process with the same pid.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};

/// A connection to the caller's socket, made before anything is made (so a bad path fails
/// first), once hull will not re-exec itself (the connection would end at that exec).
pub struct PidfdSocket {
    stream: UnixStream,
    path: PathBuf,
}

impl PidfdSocket {
    pub fn connect(path: &Path) -> Result<Self> {
        let stream = UnixStream::connect(path)
            .with_context(|| format!("connecting to --pidfd-socket {}", path.display()))?;
        Ok(PidfdSocket {
            stream,
            path: path.to_owned(),
        })
    }

    /// Send `pidfd`, named as the kernel names it (what runc's SendFile puts beside it).
    pub fn send(&self, pidfd: BorrowedFd) -> Result<()> {
        let name = b"anon_inode:[pidfd]";
        let fds = [pidfd.as_raw_fd()];
        sendmsg::<UnixAddr>(
            self.stream.as_raw_fd(),
            &[IoSlice::new(name)],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .with_context(|| {
            format!(
                "sending the pidfd to --pidfd-socket {}",
                self.path.display()
            )
        })?;
        Ok(())
    }
}
