//! `hull kill [--all] ID [SIGNAL]`

use anyhow::{bail, Result};

use super::args::{switch, Command, Matches};
use super::Global;
use crate::lifecycle;
use crate::state::{ContainerStatus, StateDir};

pub struct Args {
    pub all: bool,
    pub id: String,
    pub signal: String,
}

pub const COMMAND: Command = Command {
    name: "kill",
    alias: None,
    about: "Send a signal to the container's init process",
    flags: &[&[switch(
        "all",
        Some('a'),
        "Signal every process of the container, not just init",
    )]],
    usage: "ID [SIGNAL (name like KILL or SIGKILL, or number; default SIGTERM)]",
    rest_after: None,
};

impl Args {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(Args {
            all: m.flag("all"),
            id: m.positional("ID")?,
            signal: m.optional("SIGNAL")?.unwrap_or_else(|| "SIGTERM".into()),
        })
    }
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let signal = lifecycle::parse_signal(&a.signal)?;
    let dir = StateDir::open(&g.root, &a.id)?;
    let record = dir.load()?;
    match (crate::lifecycle::status(&dir, record.as_ref()), record) {
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
