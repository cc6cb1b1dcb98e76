//! `delete`: remove a stopped container; `--force` kills a running one first and
//! cleans whatever a crash left, even a state dir without a record.

use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{bail, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use super::signal::send_signal;
use oci_spec::runtime::ContainerState;

use crate::{hooks, rootfs};
use crate::state::{open_init, ContainerStatus, StateDir};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteMode {
    Normal,
    Force,
}

pub fn delete(root: &Path, id: &str, mode: DeleteMode) -> Result<()> {
    let dir = match StateDir::open(root, id) {
        Ok(d) => d,
        // Nothing to remove: --force succeeds, as runc's does.
        Err(_) if mode == DeleteMode::Force && !root.join(id).exists() => return Ok(()),
        Err(e) => return Err(e),
    };
    let record = dir.load()?;
    match (dir.status(record.as_ref()), mode) {
        // runtime.md: deleting a container that is not stopped is an error (runc also
        // deletes created ones; the spec and its validation suite do not).
        (status @ (ContainerStatus::Running | ContainerStatus::Created), DeleteMode::Normal) => {
            bail!("cannot delete container {id:?}: it is {status} (stop it first, or use --force)")
        }
        (ContainerStatus::Creating, DeleteMode::Normal) => {
            bail!("cannot delete container {id:?}: it is being created (use --force after a crash)")
        }
        _ => {}
    }
    if let Some(record) = &record {
        let cgroup = record.cgroup();
        if let Some(pidfd) = open_init(record) {
            // A frozen container cannot die: thaw it after the SIGKILL is queued.
            let _ = send_signal(record, Signal::SIGKILL, true);
            if let Some(c) = &cgroup {
                let _ = c.set_frozen(false);
            }
            // The pidfd turns readable when the process exits, whoever its parent is.
            let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
            let _ = poll(&mut fds, PollTimeout::from(10_000u16));
        }
        if let Some(c) = &cgroup {
            // Processes that outlived init (a shared pid namespace) go too.
            for pid in c.pids().unwrap_or_default() {
                let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            }
            c.destroy()?;
        }
        if !record.own_mount_namespace {
            rootfs::detach_host_mounts(&record.rootfs);
        }
        hooks::run_warn("poststop", &record.hooks().poststop, &record.hook_state(), ContainerState::Stopped);
    }
    dir.remove()
}
