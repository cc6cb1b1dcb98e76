//! `hull events [--stats] [--interval DURATION] ID`: usage figures as JSON lines, once with
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
    pub interval: Interval,
    pub id: String,
}

/// `--interval`: a Go duration as runc takes it (`5s`, `500ms`, `1m30s`, `1.5h`), or a plain
/// number of seconds (hull's earlier form). Above zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval(pub Duration);

impl std::str::FromStr for Interval {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a duration (e.g. 5s, 500ms, 1m30s)");
        let d = match s.parse::<u64>() {
            Ok(secs) => Duration::from_secs(secs),
            Err(_) => go_duration(s).ok_or_else(bad)?,
        };
        if d.is_zero() {
            return Err("the interval must be greater than 0".into());
        }
        Ok(Interval(d))
    }
}

/// Go's time.ParseDuration for non-negative values: one or more decimal numbers, each with a
/// unit (ns, us, µs, ms, s, m, h).
fn go_duration(s: &str) -> Option<Duration> {
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * nanos_per;
    }
    (total.is_finite() && total < u64::MAX as f64).then(|| Duration::from_nanos(total as u64))
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
            "DURATION",
            "Time between stats lines, as runc takes it: 5s, 500ms, 1m [default: 5s]",
        ),
    ]],
    usage: "ID",
    rest_after: None,
};

impl Args {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(Args {
            stats: m.flag("stats"),
            interval: m
                .parse("interval")?
                .unwrap_or(Interval(Duration::from_secs(5))),
            id: m.positional("ID")?,
        })
    }
}

/// How long, at most, a stopped container's OOM watch may take to finish: its thread wakes at
/// least every second, and under emulation the kernel's notification can lag by more.
const WATCH_DRAIN: Duration = Duration::from_secs(5);

/// How often the OOM counter is looked at between stats lines.
const OOM_POLL: Duration = Duration::from_millis(100);

pub fn run(g: &Global, a: Args) -> Result<i32> {
    if a.stats {
        println!("{}", lifecycle::stats(&StateDir::open(&g.root, &a.id)?)?);
        return Ok(0);
    }
    let Interval(interval) = a.interval;
    let dir = StateDir::open(&g.root, &a.id)?;
    let mut ooms = lifecycle::oom_kills(&dir)?.unwrap_or(0);
    let counts = lifecycle::oom_watch(&dir)?.map(|w| w.spawn());
    drop(dir);
    // A count above the last one reported is a kill to report.
    let mut report = |now: u64| {
        if now > ooms {
            println!("{}", serde_json::json!({"type": "oom", "id": a.id}));
            ooms = now;
        }
    };
    let mut next_stats = Instant::now();
    loop {
        let dir = StateDir::open(&g.root, &a.id)?;
        // OOM kills first: a cgroup that outlives the container (until `delete`) still
        // counts the kill that stopped it.
        let counted = lifecycle::oom_kills(&dir)?;
        report(counted.unwrap_or(0));
        if crate::lifecycle::status(&dir, dir.load()?.as_ref()) == ContainerStatus::Stopped {
            // A cgroup that is gone (a systemd scope) said nothing just now: the watch read its
            // last count when the kill was notified, which may still be on its way. The
            // thread ends once it finds the cgroup gone.
            if let (None, Some(rx)) = (counted, &counts) {
                let deadline = Instant::now() + WATCH_DRAIN;
                while let Ok(now) =
                    rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                {
                    report(now);
                }
            }
            return Ok(0);
        }
        if Instant::now() >= next_stats {
            println!("{}", lifecycle::stats(&dir)?);
            next_stats += interval;
        }
        drop(dir);
        // The watch thread's counts, read the moment the kill was notified: the cgroup may be
        // gone by now (a systemd scope).
        match &counts {
            Some(rx) => {
                if let Ok(now) = rx.recv_timeout(OOM_POLL) {
                    report(now);
                }
            }
            None => std::thread::sleep(OOM_POLL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_go_durations_or_seconds() {
        let ok = |s: &str| s.parse::<Interval>().unwrap().0;
        assert_eq!(ok("5s"), Duration::from_secs(5));
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("1.5h"), Duration::from_secs(5400));
        assert_eq!(ok("250us"), Duration::from_micros(250));
        assert_eq!(ok("2"), Duration::from_secs(2));
        for bad in ["", "s", "1x", "-1s", "0s", "0", "1s2", "abc"] {
            assert!(bad.parse::<Interval>().is_err(), "{bad:?}");
        }
    }
}
