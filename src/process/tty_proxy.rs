//! hull's own terminal for `run -t` / `exec -t` without a console socket: the caller's tty in
//! raw mode, bytes copied both ways between it and the pty master, window size changes
//! forwarded, the tty restored on exit.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::sys::termios::{self, SetArg, Termios};

use crate::sys;

/// The caller's terminal in raw mode, restored when dropped.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    pub fn enter() -> Self {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            termios::cfmakeraw(&mut raw);
            let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        }
        Self { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, t);
        }
    }
}

/// Give the pty the caller's window size (on start and on SIGWINCH).
pub fn copy_window_size(master: BorrowedFd<'_>) {
    if let Some((rows, cols)) = sys::window_size(0) {
        let _ = sys::set_window_size(master.as_raw_fd(), rows, cols);
    }
}

/// Move what is readable from `from` to `to`; false at EOF or error (the side is done).
pub fn pump(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 8192];
    match nix::unistd::read(from, &mut buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                match nix::unistd::write(to, rest) {
                    Ok(w) => rest = &rest[w..],
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(_) => return false,
                }
            }
            true
        }
    }
}

/// Copy whatever the container still wrote after it exited (what is there now: a process it
/// left behind may hold the other end open).
pub fn drain(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    let _ = nix::fcntl::fcntl(
        from,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    while pump(from, to) {}
}
