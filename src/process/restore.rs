//! `restore`: a new container from CRIU images and a bundle. Like `create`, with CRIU in
//! place of init: state dir and cgroup (with the config's limits) first, then a child that
//! joins the cgroup and execs `criu restore`, then the record of the restored init.

use std::os::fd::OwnedFd;
use std::path::Path;

use anyhow::{bail, Context, Result};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

use super::create::CreateOptions;
use super::launch::Setup;
use crate::criu::{self, Shared as RestoreOptions};
use crate::plan::Plan;
use crate::state::StateDir;
use crate::sys;

/// The restored container: its locked state dir and init.
pub struct Restored {
    pub dir: StateDir,
    pub pid: Pid,
    pub pidfd: OwnedFd,
}

pub fn restore(
    root: &Path,
    plan: &Plan,
    opts: &CreateOptions,
    criu_bin: &Path,
    r: &RestoreOptions,
) -> Result<Restored> {
    criu::check_images(r, &plan.root.path)?;
    let setup = Setup::begin(root, plan)?;
    let (pid, pidfd) = run_restore(&setup, plan, opts, criu_bin, r)?;
    Ok(Restored {
        dir: setup.keep(),
        pid,
        pidfd,
    })
}

fn run_restore(
    setup: &Setup,
    plan: &Plan,
    opts: &CreateOptions,
    criu_bin: &Path,
    r: &RestoreOptions,
) -> Result<(Pid, OwnedFd)> {
    let (dir, cgroup) = (setup.dir(), setup.cgroup());
    let pid_path = dir.path().join("criu.pid");
    // A terminal container (a shell job): CRIU gives it the terminal criu runs on, a new pty
    // whose master goes to --console-socket.
    let tty = match (&opts.console, plan.process.as_ref()) {
        (Some(target), Some(process)) => {
            let (socket, _) = super::console::open_target(target)?;
            Some(super::console::send_new_pty(&socket, process)?)
        }
        _ => None,
    };
    let tty_path = tty
        .as_ref()
        .map(|t| {
            std::fs::read_link(format!(
                "/proc/self/fd/{}",
                std::os::fd::AsRawFd::as_raw_fd(t)
            ))
        })
        .transpose()
        .context("naming the new terminal")?;
    let args = criu::restore_args(&plan.root.path, r, &pid_path, tty_path.as_deref())?;
    let (child, _) = match sys::clone_fork(0).context("forking criu")? {
        sys::Forked::Child => {
            // In the child: its own session on the pty, if any; into the container's cgroup
            // (the restored tasks start there); then criu.
            if let Some(tty) = &tty {
                let _ = nix::unistd::setsid();
                for fd in 0..3 {
                    let _ = sys::dup2(std::os::fd::AsRawFd::as_raw_fd(tty), fd);
                }
            }
            // `restore` in the foreground blocks the signals it forwards: not criu's.
            let _ = sys::unblock_all_signals();
            let joined = cgroup
                .add(nix::unistd::getpid())
                .and_then(|()| match setup.rdt() {
                    Some(rdt) => crate::resctrl::Join::add(rdt, nix::unistd::getpid()),
                    None => Ok(()),
                });
            let code = match joined {
                Ok(()) => {
                    let mut cmd = std::process::Command::new(criu_bin);
                    cmd.args(&args);
                    let err = std::os::unix::process::CommandExt::exec(&mut cmd);
                    eprintln!("hull: running {}: {err}", criu_bin.display());
                    127
                }
                Err(e) => {
                    eprintln!("hull: {e:#}");
                    1
                }
            };
            sys::exit_now(code)
        }
        sys::Forked::Parent { child, pidfd } => (child, pidfd),
    };
    let work = r.work();
    match waitpid(child, None) {
        Ok(WaitStatus::Exited(_, 0)) => {}
        _ => bail!(
            "restore: criu restore failed: {}",
            criu::log_errors(&work.join("restore.log"))
        ),
    }
    let text = std::fs::read_to_string(&pid_path).context("reading criu's pid file")?;
    let pid = Pid::from_raw(text.trim().parse().context("criu's pid file")?);
    let _ = std::fs::remove_file(&pid_path);
    let pidfd = sys::pidfd_open(pid).context("pidfd_open of the restored init")?;
    setup.record(plan, pid, opts.pid_file.as_deref())?;
    Ok((pid, pidfd))
}
