//! The create/exec process machinery: the parent (`create`), the init child (`init`), the
//! channel between them and the exec fifo that `start` opens.

pub mod channel;
/// The channel bytes the exec trampoline writes too (build.rs hands them to its compiler).
mod channel_wire;
pub mod console;
pub mod create;
pub mod exec;
mod exec_path;
pub mod fifo;
mod handover;
pub mod handshake;
mod id_maps;
mod init;
pub mod launch;
mod mount_sources;
pub mod notify;
pub mod pidfd_socket;
pub mod restore;
pub mod stdio;
pub mod timeline;
pub mod trampoline;
pub mod tty_proxy;
pub mod wait;

/// `--preserve-fds N` (and socket activation's `LISTEN_FDS`): fds 3 to 3+N-1 pass on to the
/// process. Unsigned and bounded by the kernel's default `fs.nr_open` (no process can hold
/// more fds), so `3 + N` cannot overflow into a count that leaves every fd inheritable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PreserveFds(u32);

impl PreserveFds {
    pub const MAX: u32 = 1 << 20;

    pub fn new(n: u32) -> anyhow::Result<Self> {
        if n > Self::MAX {
            anyhow::bail!("{n} fds is more than a process can hold ({})", Self::MAX);
        }
        Ok(PreserveFds(n))
    }

    pub fn count(self) -> u32 {
        self.0
    }

    /// These and `more` after them.
    pub fn plus(self, more: u32) -> anyhow::Result<Self> {
        Self::new(self.0.saturating_add(more))
    }
}

impl std::str::FromStr for PreserveFds {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let n: u32 = s
            .parse()
            .map_err(|_| format!("{s:?} is not a number of fds (0 to {})", Self::MAX))?;
        Self::new(n).map_err(|e| e.to_string())
    }
}
