//! `delete`: remove a stopped container; `--force` kills a running one first and
//! cleans whatever a crash left, even a state dir without a record.

use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{bail, Result};
use nix::sys::signal::Signal;

use oci_spec::runtime::ContainerState;

use crate::crash::crash_point;
use crate::state::{open_init, ContainerStatus, StateDir};
use crate::{cgroups, hooks, rootfs, sys};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteMode {
    Normal,
    Force,
}

pub fn delete(root: &Path, id: &str, mode: DeleteMode) -> Result<()> {
    let dir = match StateDir::open(root, id) {
        Ok(d) => d,
        // Nothing to remove: --force succeeds, as runc's does.
        // (Truly absent: not merely out of reach, which stays an error.)
        Err(_)
            if mode == DeleteMode::Force
                && std::fs::symlink_metadata(root.join(id))
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
        {
            return Ok(())
        }
        Err(e) => return Err(e),
    };
    let record = match dir.load() {
        Ok(record) => record,
        // A record gone bad: clean from what create noted before it (cgroup, init, mounts).
        Err(e) if mode == DeleteMode::Force => {
            crate::log::warn(&format!("{e:#}: cleaning from what create noted before it"));
            None
        }
        Err(e) => return Err(e),
    };
    crash_point("delete:loaded");
    match (super::status(&dir, record.as_ref()), mode) {
        // runtime.md: deleting a container that is not stopped is an error (runc also
        // deletes created ones; the spec and its validation suite do not).
        (
            status
            @ (ContainerStatus::Running | ContainerStatus::Created | ContainerStatus::Paused),
            DeleteMode::Normal,
        ) => {
            bail!("cannot delete container {id:?}: it is {status} (stop it first, or use --force)")
        }
        (ContainerStatus::Creating, DeleteMode::Normal) => {
            bail!("cannot delete container {id:?}: it is being created (use --force after a crash)")
        }
        _ => {}
    }
    // A create that crashed before its record still left a note of its cgroup.
    let cgroup = match &record {
        Some(r) => crate::cgroups::of_container(r.cgroup.as_ref()),
        None => dir.load_cgroup().map(|c| cgroups::from_record(&c)),
    };
    if let Some(pidfd) = record.as_ref().and_then(open_init) {
        // SIGKILL to init ends its whole pid namespace.
        let _ = sys::pidfd_send_signal(pidfd.as_fd(), Signal::SIGKILL as i32);
        // A frozen container cannot die: thaw it after the SIGKILL is queued.
        if let Some(c) = &cgroup {
            let _ = c.set_frozen(false);
        }
        super::signal::wait_exit(pidfd.as_fd());
    }
    if record.is_none() {
        clean_from_note(&dir.load_note());
    }
    if let Some(c) = &cgroup {
        // Whatever is left in the cgroup goes too (a shared pid namespace, an orphaned init).
        for _ in 0..100 {
            let pids = c.pids().unwrap_or_default();
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            }
            let _ = c.set_frozen(false);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        crash_point("delete:killed");
        c.destroy()?;
    }
    let rdt = match &record {
        Some(r) => r.intel_rdt.clone(),
        None => dir.load_rdt(),
    };
    if let Some(rdt) = &rdt {
        crate::resctrl::Join::remove(rdt);
    }
    if let Some(record) = &record {
        if !record.own_mount_namespace {
            rootfs::detach_host_mounts(&record.rootfs);
        }
        match record.hooks() {
            Ok(h) => hooks::run_warn(
                "poststop",
                &h.poststop,
                &record.hook_state(),
                ContainerState::Stopped,
            ),
            Err(e) => crate::log::warn(&format!("hooks.poststop not run: {e:#}")),
        }
    }
    crash_point("delete:cleaned");
    dir.remove()
}

/// After a create that died before its record: end its init (if it is still the process
/// noted, not a later one with its pid) and detach the mounts it made in hull's namespace.
fn clean_from_note(note: &crate::state::CreateNote) {
    if let Some((pid, start)) = note.init {
        let pid = nix::unistd::Pid::from_raw(pid);
        if let Ok(pidfd) = sys::pidfd_open(pid) {
            if sys::process_start_time(pid) == Some(start) {
                let _ = sys::pidfd_send_signal(pidfd.as_fd(), Signal::SIGKILL as i32);
                super::signal::wait_exit(pidfd.as_fd());
            }
        }
    }
    if let Some(rootfs) = &note.host_mounts_under {
        rootfs::detach_host_mounts(rootfs);
    }
}
