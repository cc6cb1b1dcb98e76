//! `hull pause ID`, `hull resume ID`: freeze and thaw the container's cgroup.

use anyhow::Result;

use super::args::{Command, IdArgs};
use super::Global;
use crate::lifecycle;
use crate::state::StateDir;

pub const PAUSE: Command = Command::on_id(
    "pause",
    "Freeze every process of the container (cgroup freezer)",
);

pub const RESUME: Command = Command::on_id("resume", "Thaw a paused container");

pub fn pause(g: &Global, a: IdArgs) -> Result<i32> {
    lifecycle::pause(&StateDir::open(&g.root, &a.id)?)?;
    Ok(0)
}

pub fn resume(g: &Global, a: IdArgs) -> Result<i32> {
    lifecycle::resume(&StateDir::open(&g.root, &a.id)?)?;
    Ok(0)
}
