//! The runtime.md operations on an existing container: look up, start, signal, delete.
//! Each checks the derived status first and names the invalid operation when it does not fit.

mod cgroup_ops;
mod delete;
mod signal;

use std::path::Path;

use anyhow::{bail, Result};

pub use cgroup_ops::{oom_kills, pause, pids, resume, stats, update};
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
    if !dir.is_dir() {
        bail!("container {id:?} does not exist");
    }
    let record = load_record(&dir)?;
    let status = ContainerStatus::derive(record.as_ref(), dir.join("exec.fifo").exists());
    Ok(Snapshot { record, status })
}

/// `start`: release a created container's init to exec the user's program.
pub fn start(dir: &StateDir) -> Result<()> {
    let record = dir.load()?;
    match dir.status(record.as_ref()) {
        ContainerStatus::Created if record.as_ref().is_some_and(|r| r.process.is_none()) => {
            // Release init so it exits: the container stops, as there is nothing to run.
            fifo::signal_start(&dir.fifo_path())?;
            bail!("cannot start container {:?}: config.json has no process", dir.id())
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
                hooks::run_warn("poststart", &r.hooks().poststart, &r.hook_state(), ContainerState::Running);
            }
            Ok(())
        }
        ContainerStatus::Creating => bail!("container {:?} is still being created", dir.id()),
        ContainerStatus::Running | ContainerStatus::Paused => {
            bail!("cannot start container {:?}: it is already running", dir.id())
        }
        ContainerStatus::Stopped => bail!("cannot start container {:?}: it has stopped", dir.id()),
    }
}
