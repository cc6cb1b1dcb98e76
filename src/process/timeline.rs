//! `--debug` timelines of create and run: named marks on CLOCK_MONOTONIC (shared by parent and init,
//! so init's marks ride the Ready message and line up with the parent's).

use std::sync::atomic::{AtomicU64, Ordering};

/// Microseconds on the monotonic clock.
pub fn now_us() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1000)
        .unwrap_or(0)
}

/// When hull started (set first thing in main).
static START: AtomicU64 = AtomicU64::new(0);

pub fn set_start() {
    START.store(now_us(), Ordering::Relaxed);
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Timeline {
    marks: Vec<(String, u64)>,
}

impl Timeline {
    pub fn mark(&mut self, name: &str) {
        self.marks.push((name.to_owned(), now_us()));
    }

    pub fn extend(&mut self, other: Timeline) {
        self.marks.extend(other.marks);
    }

    /// `name=µs;name=µs` for the channel.
    pub fn encode(&self) -> String {
        self.marks
            .iter()
            .map(|(n, t)| format!("{n}={t}"))
            .collect::<Vec<_>>()
            .join(";")
    }

    pub fn decode(s: &str) -> Self {
        let marks = s
            .split(';')
            .filter_map(|m| m.split_once('='))
            .filter_map(|(n, t)| Some((n.to_owned(), t.parse().ok()?)))
            .collect();
        Self { marks }
    }

    /// One line: each phase with its duration since the previous mark (the first since hull
    /// started), and the total, in µs.
    pub fn render(&self, what: &str) -> String {
        let start = START.load(Ordering::Relaxed);
        let mut prev = start;
        let mut out = format!("{what} timeline (µs):");
        for (name, t) in &self.marks {
            out.push_str(&format!(" {name} {}", t.saturating_sub(prev)));
            prev = *t;
        }
        out.push_str(&format!(" | total {}", prev.saturating_sub(start)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_render() {
        let mut t = Timeline::default();
        t.mark("parse");
        t.mark("clone");
        let back = Timeline::decode(&t.encode());
        assert_eq!(back, t);
        let line = back.render("create");
        assert!(line.starts_with("create timeline (µs): parse "), "{line}");
        assert!(
            line.contains(" clone ") && line.contains(" | total "),
            "{line}"
        );
        assert_eq!(Timeline::decode(""), Timeline::default());
    }
}
