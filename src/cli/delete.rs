//! `hull delete [--force] ID`

use anyhow::Result;

use super::Global;
use crate::lifecycle::{self, DeleteMode};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kill the container first if it is running, and remove whatever a crash left
    #[arg(short, long)]
    pub force: bool,
    /// Container ID
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let mode = if a.force {
        DeleteMode::Force
    } else {
        DeleteMode::Normal
    };
    lifecycle::delete(&g.root, &a.id, mode)?;
    Ok(0)
}
