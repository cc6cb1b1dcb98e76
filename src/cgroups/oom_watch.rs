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
    /// The count last read from the container's own counter.
    seen: u64,
    /// The parent's `memory.events` (hierarchical: it counts the container's kills too) and
    /// the kills it had counted at the start that were not the container's: see
    /// [`OomWatch::last_word`].
    parent: Option<(File, u64)>,
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
        let seen = read_count(&events).unwrap_or(0);
        let parent = dir
            .parent()
            .and_then(|p| File::open(p.join("memory.events")).ok())
            .and_then(|f| read_count(&f).map(|n| (f, n.saturating_sub(seen))));
        Ok(OomWatch {
            inotify,
            events,
            alive: true,
            seen,
            parent,
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
        match read_count(&self.events) {
            Some(n) => {
                self.seen = self.seen.max(n);
                Some(n)
            }
            None => {
                self.alive = false;
                self.last_word()
            }
        }
    }

    /// The cgroup is gone (a systemd scope is removed the moment its last process dies, and
    /// the kernel's notification of the kill can come after that: runc and conmon lose such
    /// kills too). Its parent's counter, which counts the container's kills as well, says
    /// whether one was missed: kills it counted since the start beyond those seen here are
    /// taken as the container's. (A sibling in the same slice killed in that very moment
    /// would be counted too.)
    fn last_word(&self) -> Option<u64> {
        let (file, others) = self.parent.as_ref()?;
        let unseen = read_count(file)?.saturating_sub(others + self.seen);
        (unseen > 0).then_some(self.seen + unseen)
    }
}

/// The `oom_kill` count of an open `memory.events`; `None` once its cgroup is gone.
fn read_count(events: &File) -> Option<u64> {
    let mut buf = [0u8; 512];
    let n = events.read_at(&mut buf, 0).ok()?;
    Some(oom_kill_count(&String::from_utf8_lossy(&buf[..n])).unwrap_or(0))
}

/// `oom_kill N` of memory.events (or v1's memory.oom_control).
pub fn oom_kill_count(text: &str) -> Option<u64> {
    super::key_values(text).get("oom_kill")?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch cgroup pair (parent and child `memory.events`), removed at the end.
    fn scratch(name: &str, parent: u64, child: u64) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("hull-oomwatch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("c")).unwrap();
        let events = |n| format!("oom 0\noom_kill {n}\n");
        std::fs::write(dir.join("memory.events"), events(parent)).unwrap();
        std::fs::write(dir.join("c/memory.events"), events(child)).unwrap();
        dir
    }

    #[test]
    fn a_kill_the_vanished_cgroup_did_not_say_is_read_from_its_parent() {
        // Before: 3 kills in the slice, 1 of them the container's.
        let dir = scratch("missed", 3, 1);
        let watch = OomWatch::new(&dir.join("c")).unwrap();
        // The kernel counts a kill in both; the container's cgroup goes before it is read
        // (on cgroupfs a read then fails, and the watch asks the parent: `last_word`).
        std::fs::write(dir.join("memory.events"), "oom_kill 4\n").unwrap();
        assert_eq!(watch.last_word(), Some(2));
        std::fs::remove_dir_all(&dir).unwrap();
        // Nothing new in the parent: no kill made up.
        let dir = scratch("none", 3, 1);
        let watch = OomWatch::new(&dir.join("c")).unwrap();
        assert_eq!(watch.last_word(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_kill_count_is_read_from_the_counters() {
        let text = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(oom_kill_count(text), Some(2));
        assert_eq!(oom_kill_count("oom 1\n"), None);
    }
}
