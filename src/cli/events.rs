//! `hull events [--stats] [--interval SECS] ID`: usage figures as JSON lines, once with
//! `--stats`, else every interval until the container stops, and `{"type":"oom"}` lines when
//! the OOM killer strikes in the container's cgroup (as runc prints them).

use std::time::{Duration, Instant};

use anyhow::Result;

use super::args::{switch, valued, Command, Matches};
use super::Global;
use crate::lifecycle;
use crate::state::{ContainerStatus, StateDir};

pub struct Args {
    pub stats: bool,
    pub interval: u64,
    pub id: String,
}

pub const COMMAND: Command = Command {
    name: "events",
    alias: None,
    about: "Usage figures of the container as JSON (once with --stats)",
    flags: &[&[
        switch("stats", None, "Print the stats once and exit"),
        valued(
            "interval",
            None,
            "SECONDS",
            "Seconds between stats lines [default: 5]",
        ),
    ]],
    usage: "ID",
    rest_after: None,
};

impl Args {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(Args {
            stats: m.flag("stats"),
            interval: m.parse("interval")?.unwrap_or(5),
            id: m.positional("ID")?,
        })
    }
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
