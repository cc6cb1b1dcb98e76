//! `hull run`: create + start, then wait for the container and exit with its status
//! (128+N when killed by signal N), forwarding the signals hull receives to it.

use std::os::fd::AsFd;

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::{create, Global};
use crate::lifecycle::{self, DeleteMode};
use crate::process::create::create as create_container;
use crate::sys;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub create: create::CreateArgs,
    /// Return after start; do not wait for the container
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the container's state after it exits (no delete)
    #[arg(long)]
    pub keep: bool,
}

/// Signals hull forwards to the container while it waits (plus SIGCHLD, which it handles).
const FORWARDED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let (plan, opts) = create::prepare(&a.create)?;
    let id = plan.id.clone();
    let mut waited = SigSet::empty();
    if !a.detach {
        // Init may be our grandchild (joined namespaces): adopt it so we can wait for it.
        nix::sys::prctl::set_child_subreaper(true).context("becoming a child subreaper")?;
        FORWARDED.iter().for_each(|s| waited.add(*s));
        waited.add(Signal::SIGCHLD);
        // Blocked before the fork, so nothing is lost; init clears its mask before exec.
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&waited), None).context("blocking signals")?;
    }
    let created = create_container(&g.root, &plan, &opts)?;
    if let Err(e) = lifecycle::start(&created.dir) {
        drop(created.dir);
        let _ = lifecycle::delete(&g.root, &id, DeleteMode::Force);
        return Err(e);
    }
    if a.detach {
        return Ok(0);
    }
    // Let `kill`, `delete` etc. work on the container while we wait.
    drop(created.dir);
    let code = wait_forwarding(created.pid, created.pidfd.as_fd(), &waited)?;
    if !a.keep {
        lifecycle::delete(&g.root, &id, DeleteMode::Force)?;
    }
    Ok(code)
}

fn wait_forwarding(init: Pid, pidfd: std::os::fd::BorrowedFd<'_>, waited: &SigSet) -> Result<i32> {
    loop {
        let sig = waited.wait().context("waiting for signals")?;
        if sig != Signal::SIGCHLD {
            let _ = sys::pidfd_send_signal(pidfd, sig as i32);
            continue;
        }
        // Reap every child that has exited (intermediate processes, adopted orphans).
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == init => return Ok(code),
                Ok(WaitStatus::Signaled(pid, s, _)) if pid == init => return Ok(128 + s as i32),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    }
}
