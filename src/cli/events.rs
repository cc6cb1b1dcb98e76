//! `hull events [--stats] [--interval SECS] ID`: usage figures as JSON lines, once with
//! `--stats`, else every interval until the container stops, and `{"type":"oom"}` lines when
//! the OOM killer strikes in the container's cgroup (as runc prints them).

use std::time::{Duration, Instant};

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

/// How often the OOM counter is looked at between stats lines.
const OOM_POLL: Duration = Duration::from_millis(100);

pub fn run(g: &Global, a: Args) -> Result<i32> {
    if a.stats {
        println!("{}", lifecycle::stats(&StateDir::open(&g.root, &a.id)?)?);
        return Ok(0);
    }
    let interval = Duration::from_secs(a.interval.max(1));
    let mut ooms = lifecycle::oom_kills(&StateDir::open(&g.root, &a.id)?)?;
    let mut next_stats = Instant::now();
    loop {
        let dir = StateDir::open(&g.root, &a.id)?;
        // OOM kills first: the cgroup outlives the container until `delete`, so a kill that
        // stopped the container is still reported.
        let now_ooms = lifecycle::oom_kills(&dir)?;
        if now_ooms > ooms {
            println!("{}", serde_json::json!({"type": "oom", "id": a.id}));
            ooms = now_ooms;
        }
        if dir.status(dir.load()?.as_ref()) == ContainerStatus::Stopped {
            return Ok(0);
        }
        if Instant::now() >= next_stats {
            println!("{}", lifecycle::stats(&dir)?);
            next_stats += interval;
        }
        drop(dir);
        std::thread::sleep(OOM_POLL);
    }
}
