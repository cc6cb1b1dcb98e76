//! `hull start ID`

use anyhow::Result;

use super::args::{Command, IdArgs};
use super::Global;
use crate::lifecycle;
use crate::state::StateDir;

pub const COMMAND: Command = Command::on_id("start", "Run the user process of a created container");

pub fn run(g: &Global, a: IdArgs) -> Result<i32> {
    let dir = StateDir::open(&g.root, &a.id)?;
    lifecycle::start(&dir)?;
    Ok(0)
}
