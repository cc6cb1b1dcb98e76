//! `hull pause ID`, `hull resume ID`: freeze and thaw the container's cgroup.

use anyhow::Result;

use super::args::{Command, Matches};
use super::Global;
use crate::lifecycle;
use crate::state::StateDir;

pub struct Args {
    pub id: String,
}

pub const PAUSE: Command = Command {
    name: "pause",
    alias: None,
    about: "Freeze every process of the container (cgroup freezer)",
    flags: &[],
    usage: "ID",
    rest_after: None,
};

pub const RESUME: Command = Command {
    name: "resume",
    alias: None,
    about: "Thaw a paused container",
    flags: &[],
    usage: "ID",
    rest_after: None,
};

impl Args {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(Args {
            id: m.positional("ID")?,
        })
    }
}

pub fn pause(g: &Global, a: Args) -> Result<i32> {
    lifecycle::pause(&StateDir::open(&g.root, &a.id)?)?;
    Ok(0)
}

pub fn resume(g: &Global, a: Args) -> Result<i32> {
    lifecycle::resume(&StateDir::open(&g.root, &a.id)?)?;
    Ok(0)
}
