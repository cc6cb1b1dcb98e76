//! `hull start ID`

use anyhow::Result;

use super::Global;
use crate::lifecycle;
use crate::state::StateDir;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container ID
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let dir = StateDir::open(&g.root, &a.id)?;
    lifecycle::start(&dir)?;
    Ok(0)
}
