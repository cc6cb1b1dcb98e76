//! `hull events [--stats] [--interval SECS] ID`: usage figures as JSON lines, once with
//! `--stats`, else every interval until the container stops.

use std::time::Duration;

use anyhow::Result;

use super::Global;
use crate::lifecycle;
use crate::state::{ContainerStatus, StateDir};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the stats once and exit
    #[arg(long)]
    pub stats: bool,
    /// Seconds between stats lines
    #[arg(long, default_value_t = 5)]
    pub interval: u64,
    /// Container ID
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    loop {
        let line = {
            let dir = StateDir::open(&g.root, &a.id)?;
            if !a.stats && dir.status(dir.load()?.as_ref()) == ContainerStatus::Stopped {
                return Ok(0);
            }
            lifecycle::stats(&dir)?
        };
        println!("{line}");
        if a.stats {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_secs(a.interval.max(1)));
    }
}
