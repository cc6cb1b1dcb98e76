//! `hull kill [--all] ID [SIGNAL]`

use anyhow::{bail, Result};

use super::Global;
use crate::lifecycle;
use crate::state::{ContainerStatus, StateDir};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Signal every process of the container, not just init
    #[arg(short, long)]
    pub all: bool,
    /// Container ID
    pub id: String,
    /// Signal name (KILL, SIGKILL) or number (9)
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let signal = lifecycle::parse_signal(&a.signal)?;
    let dir = StateDir::open(&g.root, &a.id)?;
    let record = dir.load()?;
    match (dir.status(record.as_ref()), record) {
        (
            ContainerStatus::Created | ContainerStatus::Running | ContainerStatus::Paused,
            Some(r),
        ) => {
            lifecycle::send_signal(&r, signal, a.all)?;
            Ok(0)
        }
        // runc's words, "container not running": containerd's shim recognizes them and treats
        // a kill that raced the container's exit as done.
        (status, _) => bail!(
            "cannot kill container {:?}: container not running (it is {status})",
            a.id
        ),
    }
}
