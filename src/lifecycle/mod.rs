//! The runtime.md operations on an existing container: look up, start, signal, delete.
//! Each checks the derived status first and names the invalid operation when it does not fit.

mod cgroup_ops;
mod delete;
mod signal;

use std::path::Path;

use anyhow::{bail, Context, Result};

pub use cgroup_ops::{oom_kills, oom_watch, pause, pids, resume, stats, update};
pub use delete::{delete, DeleteMode};
pub use signal::{parse_signal, send_signal};

use oci_spec::runtime::ContainerState;

use crate::hooks;
use crate::process::{fifo, notify};
use crate::state::{load_record, ContainerStatus, Record, StateDir};

/// A snapshot of one container, read without the lock (for `state` and `list`).
pub struct Snapshot {
    pub record: Option<Record>,
    pub status: ContainerStatus,
}

pub fn snapshot(root: &Path, id: &str) -> Result<Snapshot> {
    crate::state::id::validate(id)?;
    let dir = root.join(id);
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("container {id:?}: {}", dir.display()));
        }
        _ => bail!("container {id:?} does not exist"),
    }
    let record = load_record(&dir)?;
    let status = derive_status(record.as_ref(), dir.join("exec.fifo").exists());
    Ok(Snapshot { record, status })
}

/// The status of the container in `dir` with `record` (read under its lock).
pub fn status(dir: &StateDir, record: Option<&Record>) -> ContainerStatus {
    derive_status(record, dir.fifo_path().exists())
}

/// Paused is its cgroup's freezer, asked only of a live container that has been started.
fn derive_status(record: Option<&Record>, fifo_present: bool) -> ContainerStatus {
    ContainerStatus::derive(record, fifo_present, |r| {
        crate::cgroups::of_container(r.cgroup.as_ref()).is_some_and(|c| c.is_frozen())
    })
}

/// `start`: release a created container's init to exec the user's program.
pub fn start(dir: &StateDir) -> Result<()> {
    let record = dir.load()?;
    match status(dir, record.as_ref()) {
        ContainerStatus::Created if record.as_ref().is_some_and(|r| r.process.is_none()) => {
            // Release init so it exits: the container stops, as there is nothing to run.
            fifo::signal_start(&dir.fifo_path())?;
            bail!(
                "cannot start container {:?}: config.json has no process",
                dir.id()
            )
        }
        ContainerStatus::Created => {
            let notify = match record.as_ref().and_then(|r| r.notify_socket.as_ref()) {
                Some(_) => Some(notify::listen(dir.path())?),
                None => None,
            };
            fifo::signal_start(&dir.fifo_path())?;
            if let (Some(sock), Some(r)) = (&notify, &record) {
                if let Some(host) = &r.notify_socket {
                    notify::forward_ready(sock, r, host)?;
                }
            }
            crate::crash::crash_point("start:signalled");
            if let Some(r) = &record {
                // runtime-spec 1.3.0: a failing poststart hook is an error, the container is
                // stopped, and the lifecycle goes on at its destruction (`delete`).
                let ran = r.hooks().and_then(|h| {
                    hooks::run(
                        "poststart",
                        &h.poststart,
                        &r.hook_state(),
                        ContainerState::Running,
                    )
                });
                if let Err(e) = ran {
                    stop(r);
                    return Err(e.context("the container was stopped"));
                }
            }
            Ok(())
        }
        ContainerStatus::Creating => bail!("container {:?} is still being created", dir.id()),
        ContainerStatus::Running | ContainerStatus::Paused => {
            bail!(
                "cannot start container {:?}: it is already running",
                dir.id()
            )
        }
        ContainerStatus::Stopped => bail!("cannot start container {:?}: it has stopped", dir.id()),
    }
}

/// SIGKILL the container (init, and so its pid namespace; whatever else is in its cgroup) and
/// wait until init is gone.
fn stop(record: &Record) {
    use std::os::fd::AsFd;
    if let Some(pidfd) = crate::state::open_init(record) {
        let _ =
            crate::sys::pidfd_send_signal(pidfd.as_fd(), nix::sys::signal::Signal::SIGKILL as i32);
        signal::wait_exit(pidfd.as_fd());
    }
    if let Some(cgroup) = crate::cgroups::of_container(record.cgroup.as_ref()) {
        for pid in cgroup.pids().unwrap_or_default() {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// The container's processes: its cgroup's, or (with no cgroup: rootless) every process in
/// init's pid namespace when it has its own, else just init.
pub fn container_pids(record: &Record) -> Result<Vec<nix::unistd::Pid>> {
    if let Some(cgroup) = crate::cgroups::of_container(record.cgroup.as_ref()) {
        return cgroup.pids();
    }
    let init = nix::unistd::Pid::from_raw(record.pid);
    if !record.own_pid_namespace {
        return Ok(vec![init]);
    }
    let ns = std::fs::read_link(format!("/proc/{init}/ns/pid"))
        .map_err(|e| anyhow::anyhow!("reading init's pid namespace: {e}"))?;
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc")
        .map_err(|e| anyhow::anyhow!("reading /proc: {e}"))?
        .flatten()
    {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|p| p == ns) {
            out.push(nix::unistd::Pid::from_raw(pid));
        }
    }
    Ok(out)
}
