//! OOM kills as they happen: an inotify watch on cgroup v2's `memory.events`, read through a
//! handle opened beforehand, by a thread that does nothing else. Polling the file is not
//! enough: a systemd scope whose last process the OOM killer ended is removed, cgroup and
//! all, moments later, and a reader that comes by every 100 ms (or is busy with the stats
//! when the change is notified) finds nothing. The kernel notifies the change when it counts
//! the kill; the thread reads the count at once. (`events` forks nothing: a thread is fine.)

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

pub struct OomWatch {
    inotify: Inotify,
    events: File,
    /// False once the file is gone (the cgroup removed): the thread then ends.
    alive: bool,
}

impl OomWatch {
    /// Watch `dir/memory.events` (a cgroup v2 directory).
    pub fn new(dir: &Path) -> Result<Self> {
        let path = dir.join("memory.events");
        let events = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
            .context("inotify_init")?;
        inotify
            .add_watch(&path, AddWatchFlags::IN_MODIFY)
            .with_context(|| format!("watching {}", path.display()))?;
        Ok(OomWatch {
            inotify,
            events,
            alive: true,
        })
    }

    /// Read the count at every change, on a thread of its own, until the cgroup is gone; the
    /// counts arrive on the returned channel.
    pub fn spawn(mut self) -> std::sync::mpsc::Receiver<u64> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            while self.alive {
                if let Some(n) = self.wait(Duration::from_secs(1)) {
                    if tx.send(n).is_err() {
                        break;
                    }
                }
            }
        });
        rx
    }

    /// Wait up to `timeout` for the counters to change, then read the OOM kill count, if the
    /// cgroup is still there to say it (else the watch is no longer alive). Read after a
    /// timeout too: a removed cgroup does not always say so through inotify.
    fn wait(&mut self, timeout: Duration) -> Option<u64> {
        let mut fds = [PollFd::new(self.inotify.as_fd(), PollFlags::POLLIN)];
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        if matches!(poll(&mut fds, PollTimeout::from(ms)), Ok(n) if n > 0) {
            let _ = self.inotify.read_events();
        }
        let mut buf = [0u8; 512];
        match self.events.read_at(&mut buf, 0) {
            Ok(n) => oom_kill_count(&String::from_utf8_lossy(&buf[..n])),
            Err(_) => {
                self.alive = false;
                None
            }
        }
    }
}

/// `oom_kill N` of memory.events (or v1's memory.oom_control).
pub fn oom_kill_count(text: &str) -> Option<u64> {
    super::key_values(text).get("oom_kill")?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kill_count_is_read_from_the_counters() {
        let text = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(oom_kill_count(text), Some(2));
        assert_eq!(oom_kill_count("oom 1\n"), None);
    }
}
