//! The flags that hand a started process its terminal and fds and say where it runs:
//! `--pid-file`, `--console-socket`, `--pidfd-socket` and `--preserve-fds`, which `create`,
//! `run` and `exec` share (each with its own help text).

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use anyhow::Result;

use super::args::Matches;
use super::create::absolute;
use crate::process::console::ConsoleTarget;
use crate::process::stdio::{self, Ends, Pipes};
use crate::process::wait::Streams;
use crate::process::PreserveFds;

pub struct ProcessIo {
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub pidfd_socket: Option<PathBuf>,
    pub preserve_fds: PreserveFds,
}

impl ProcessIo {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(ProcessIo {
            pid_file: m.path("pid-file"),
            console_socket: m.path("console-socket"),
            pidfd_socket: m.path("pidfd-socket"),
            preserve_fds: m.parse("preserve-fds")?.unwrap_or_default(),
        })
    }

    /// Where the pty of a `terminal` process goes: the console socket, else hull's own proxy
    /// when the caller waits in the foreground (`can_proxy`).
    pub fn console(&self, terminal: bool, can_proxy: bool) -> Result<Option<ConsoleTarget>> {
        Ok(match (&self.console_socket, terminal && can_proxy) {
            (Some(path), _) => Some(ConsoleTarget::Socket(absolute(path)?)),
            (None, true) => Some(ConsoleTarget::Proxy),
            (None, false) => None,
        })
    }

    /// The program's pipes when hull waits for it in the foreground without a terminal
    /// (`console`): its stdio is then never the caller's own, as with runc. The child's ends
    /// (for the options) and hull's.
    pub fn pipes(
        foreground: bool,
        console: &Option<ConsoleTarget>,
    ) -> Result<(Option<[OwnedFd; 3]>, Option<Ends>)> {
        Ok(match (foreground, console) {
            (true, None) => {
                let Pipes { child, ours } = stdio::pipes()?;
                (Some(child), Some(ours))
            }
            _ => (None, None),
        })
    }

    /// `--pid-file`, made absolute.
    pub fn pid_file(&self) -> Result<Option<PathBuf>> {
        self.pid_file.as_deref().map(absolute).transpose()
    }
}

/// What `wait_forwarding` copies: hull's terminal proxy, hull's pipes, or nothing.
pub fn streams(master: Option<&OwnedFd>, pipes: Option<Ends>) -> Streams<'_> {
    match (master, pipes) {
        (Some(m), _) => Streams::Terminal(m),
        (None, Some(ends)) => Streams::Pipes(ends),
        (None, None) => Streams::Inherited,
    }
}
