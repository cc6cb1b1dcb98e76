//! `hull pause ID`, `hull resume ID`: freeze and thaw the container's cgroup.

use anyhow::Result;

use super::Global;
use crate::lifecycle;
use crate::state::StateDir;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container ID
    pub id: String,
}

pub fn pause(g: &Global, a: Args) -> Result<i32> {
    lifecycle::pause(&StateDir::open(&g.root, &a.id)?)?;
    Ok(0)
}

pub fn resume(g: &Global, a: Args) -> Result<i32> {
    lifecycle::resume(&StateDir::open(&g.root, &a.id)?)?;
    Ok(0)
}
