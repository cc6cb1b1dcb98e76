//! `kill`: signals by name or number, sent through a pidfd so a recycled pid is never hit.

use std::os::fd::AsFd;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use nix::sys::signal::Signal;

use crate::state::{open_init, Record};
use crate::sys;

/// `9`, `KILL` or `SIGKILL` (any case) → the signal.
pub fn parse_signal(s: &str) -> Result<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).with_context(|| format!("unknown signal number {n}"));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).with_context(|| format!("unknown signal {s:?}"))
}

/// Signal init, or with `all` every process of the container's pid namespace.
pub fn send_signal(record: &Record, signal: Signal, all: bool) -> Result<()> {
    let Some(pidfd) = open_init(record) else {
        bail!(
            "cannot kill container {:?}: container not running",
            record.id
        );
    };
    if all {
        // Init is one of them; a second signal could find it already reaped.
        return signal_every_process(record, signal);
    }
    sys::pidfd_send_signal(pidfd.as_fd(), signal as i32).with_context(|| {
        format!(
            "sending {signal} to container {:?} (pid {})",
            record.id, record.pid
        )
    })
}

/// `kill --all`: every process of the container. SIGKILL goes through `cgroup.kill` where
/// there is one; elsewhere (v1) the cgroup is frozen while SIGKILL is sent, so no process can
/// fork a child the list missed (runc's way); other signals go to each process as listed.
fn signal_every_process(record: &Record, signal: Signal) -> Result<()> {
    let cgroup = crate::cgroups::of_container(record.cgroup.as_ref());
    if signal == Signal::SIGKILL && cgroup.as_ref().is_some_and(|c| c.kill_all()) {
        return Ok(());
    }
    let freeze = signal == Signal::SIGKILL && cgroup.as_ref().is_some_and(|c| !c.is_frozen());
    let frozen = freeze && cgroup.as_ref().is_some_and(|c| c.set_frozen(true).is_ok());
    let pids = super::container_pids(record);
    for pid in pids.iter().flatten() {
        if let Ok(fd) = sys::pidfd_open(*pid) {
            let _ = sys::pidfd_send_signal(fd.as_fd(), signal as i32);
        }
    }
    if let (true, Some(c)) = (frozen, &cgroup) {
        c.set_frozen(false)
            .context("thawing the cgroup after SIGKILL")?;
    }
    pids.map(|_| ())
}

/// Wait (up to 10 s) until the process of `pidfd` has exited: a pidfd turns readable then,
/// whoever the process's parent is.
pub fn wait_exit(pidfd: std::os::fd::BorrowedFd) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [PollFd::new(pidfd, PollFlags::POLLIN)];
    let _ = poll(&mut fds, PollTimeout::from(10_000u16));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        for s in ["9", "KILL", "SIGKILL", "kill", "sigkill"] {
            assert_eq!(parse_signal(s).unwrap(), Signal::SIGKILL, "{s}");
        }
        assert_eq!(parse_signal("TERM").unwrap(), Signal::SIGTERM);
        assert_eq!(parse_signal("15").unwrap(), Signal::SIGTERM);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("99").is_err());
    }
}
