//! `run` and `exec` in the foreground without a terminal: the program's stdin, stdout and
//! stderr are pipes of hull's own, copied to and from the caller's, as runc's are. The
//! caller's files never become the container's (nor are they chowned to its user), and a
//! terminal the caller runs hull from does not reach the container.

use std::os::fd::OwnedFd;

use anyhow::{Context, Result};
use nix::fcntl::OFlag;

/// The three pipes: the child's ends (its 0, 1, 2) and hull's.
pub struct Pipes {
    pub child: [OwnedFd; 3],
    pub ours: Ends,
}

/// hull's ends: it writes the container's stdin, reads its stdout and stderr.
pub struct Ends {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// Three close-on-exec pipes (the child dups its ends onto 0, 1, 2).
pub fn pipes() -> Result<Pipes> {
    let pipe = || nix::unistd::pipe2(OFlag::O_CLOEXEC).context("creating a stdio pipe");
    let (stdin_r, stdin_w) = pipe()?;
    let (stdout_r, stdout_w) = pipe()?;
    let (stderr_r, stderr_w) = pipe()?;
    Ok(Pipes {
        child: [stdin_r, stdout_w, stderr_w],
        ours: Ends {
            stdin: stdin_w,
            stdout: stdout_r,
            stderr: stderr_r,
        },
    })
}
