//! cgroup v2: one directory in the unified hierarchy; controllers enabled down the path.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::unistd::Pid;

use super::values::{blkio_to_io_weight, max_or, rdma_line, shares_to_weight};
use super::{fs, join, key_values, number, CgroupRecord, Manager, ROOT};
use crate::plan::{CgroupPath, ResourcesPlan};

pub struct V2 {
    dir: PathBuf,
    /// Parents made by `create` (or recorded), see [`CgroupRecord::parents`].
    parents: std::cell::RefCell<Vec<PathBuf>>,
}

impl V2 {
    pub fn for_path(path: &CgroupPath) -> Result<Self> {
        let dir = match path {
            CgroupPath::Absolute(p) => join(Path::new(ROOT), p),
            CgroupPath::Systemd { unit, .. } => {
                bail!("{unit} is made by the systemd driver, not by cgroupfs")
            }
            CgroupPath::Relative(p) => {
                let own = fs::own_cgroups()?
                    .into_iter()
                    .find(|(c, _)| c.is_empty())
                    .map(|(_, p)| p)
                    .unwrap_or_else(|| "/".into());
                join(&join(Path::new(ROOT), Path::new(&own)), p)
            }
        };
        Ok(Self {
            dir,
            parents: Default::default(),
        })
    }

    pub fn from_record(record: &CgroupRecord) -> Self {
        Self {
            dir: record.dirs.first().cloned().unwrap_or_default(),
            parents: std::cell::RefCell::new(record.parents.clone()),
        }
    }

    fn set(&self, file: &str, value: &str, field: &str) -> Result<()> {
        if !fs::exists(&self.dir, file) {
            bail!(
                "{field}: {} does not exist (controller not enabled, or not in this kernel)",
                self.dir.join(file).display()
            );
        }
        fs::write(&self.dir, file, value).with_context(|| field.to_owned())
    }
}

impl Manager for V2 {
    fn record(&self) -> CgroupRecord {
        CgroupRecord {
            version: 2,
            dirs: vec![self.dir.clone()],
            parents: self.parents.borrow().clone(),
            systemd_unit: None,
        }
    }

    fn create(&self) -> Result<()> {
        // Enable every available controller in each ancestor's subtree_control, top down, so
        // the new cgroup has them.
        let mut ancestors: Vec<&Path> = self
            .dir
            .ancestors()
            .skip(1)
            .take_while(|p| p.starts_with(ROOT))
            .collect();
        ancestors.reverse();
        for dir in ancestors {
            if !dir.exists() {
                super::make_dir(dir, Path::new(ROOT), &mut self.parents.borrow_mut())?;
                if dir != Path::new(ROOT) {
                    self.parents.borrow_mut().insert(0, dir.to_owned());
                }
            }
            let available = fs::read(dir, "cgroup.controllers").unwrap_or_default();
            let enable: Vec<String> = available
                .split_whitespace()
                .map(|c| format!("+{c}"))
                .collect();
            if !enable.is_empty() {
                // Best effort: a parent with processes of its own cannot enable controllers.
                let _ = fs::write(dir, "cgroup.subtree_control", &enable.join(" "));
            }
        }
        match std::fs::create_dir(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                Err(e).with_context(|| format!("creating cgroup {}", self.dir.display()))
            }
            _ => Ok(()),
        }
    }

    fn apply(&self, r: &ResourcesPlan) -> Result<()> {
        let m = &r.memory;
        if let Some(v) = m.limit {
            self.set("memory.max", &max_or(v), "linux.resources.memory.limit")?;
        }
        if let Some(v) = m.reservation {
            self.set(
                "memory.low",
                &max_or(v),
                "linux.resources.memory.reservation",
            )?;
        }
        if let Some(swap) = m.swap {
            // v1's swap is memory+swap; v2's memory.swap.max is swap alone.
            let value = match (swap, m.limit) {
                (-1, _) => "max".to_owned(),
                (s, Some(l)) if l > 0 => (s - l).max(0).to_string(),
                (s, _) => s.to_string(),
            };
            self.set("memory.swap.max", &value, "linux.resources.memory.swap")?;
        }
        let c = &r.cpu;
        if let Some(s) = c.shares {
            self.set(
                "cpu.weight",
                &shares_to_weight(s).to_string(),
                "linux.resources.cpu.shares",
            )?;
        }
        if c.quota.is_some() || c.period.is_some() {
            let quota = c.quota.map_or("max".to_owned(), max_or);
            let period = c.period.unwrap_or(100_000);
            self.set(
                "cpu.max",
                &format!("{quota} {period}"),
                "linux.resources.cpu.quota",
            )?;
        }
        if let Some(v) = c.burst {
            self.set("cpu.max.burst", &v.to_string(), "linux.resources.cpu.burst")?;
        }
        if let Some(v) = c.idle {
            self.set("cpu.idle", &v.to_string(), "linux.resources.cpu.idle")?;
        }
        if let Some(v) = &c.cpus {
            self.set("cpuset.cpus", v, "linux.resources.cpu.cpus")?;
        }
        if let Some(v) = &c.mems {
            self.set("cpuset.mems", v, "linux.resources.cpu.mems")?;
        }
        if let Some(v) = r.pids_limit {
            self.set("pids.max", &max_or(v), "linux.resources.pids.limit")?;
        }
        let b = &r.blkio;
        if let Some(w) = b.weight {
            self.set(
                "io.weight",
                &blkio_to_io_weight(w).to_string(),
                "linux.resources.blockIO.weight",
            )?;
        }
        for &(major, minor, weight, _) in &b.weight_device {
            if let Some(w) = weight {
                self.set(
                    "io.weight",
                    &format!("{major}:{minor} {}", blkio_to_io_weight(w)),
                    "linux.resources.blockIO.weightDevice",
                )?;
            }
        }
        for &(kind, major, minor, rate) in &b.throttle {
            let field = format!("linux.resources.blockIO.{}", kind.v1_file().1);
            self.set(
                "io.max",
                &format!("{major}:{minor} {}={rate}", kind.v2_key()),
                &field,
            )?;
        }
        for (size, limit) in &r.hugepages {
            self.set(
                &format!("hugetlb.{size}.max"),
                &max_or(*limit),
                "linux.resources.hugepageLimits",
            )?;
        }
        if r.net_class_id.is_some() || !r.net_priorities.is_empty() {
            bail!("linux.resources.network: cgroup v2 has no net_cls/net_prio controllers (use eBPF or the network manager)");
        }
        for (dev, limits) in &r.rdma {
            self.set(
                "rdma.max",
                &rdma_line(dev, *limits),
                &format!("linux.resources.rdma.{dev}"),
            )?;
        }
        for (key, value) in &r.unified {
            self.set(key, value, &format!("linux.resources.unified.{key}"))?;
        }
        if !r.devices.is_empty() {
            super::device_filter::apply(&self.dir, &r.devices)?;
        }
        Ok(())
    }

    fn add(&self, pid: Pid) -> Result<()> {
        fs::write(&self.dir, "cgroup.procs", &pid.to_string())
    }

    fn occupants(&self) -> Result<Vec<(PathBuf, Pid)>> {
        if !self.dir.exists() {
            return Ok(Vec::new());
        }
        Ok(fs::pids(&self.dir)?
            .into_iter()
            .map(|p| (self.dir.clone(), p))
            .collect())
    }

    fn pids(&self) -> Result<Vec<Pid>> {
        fs::pids(&self.dir)
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        fs::write(&self.dir, "cgroup.freeze", if frozen { "1" } else { "0" })?;
        let want = if frozen { "frozen 1" } else { "frozen 0" };
        for _ in 0..1000 {
            if fs::read(&self.dir, "cgroup.events")?
                .lines()
                .any(|l| l == want)
            {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        bail!("{} did not reach {want}", self.dir.display())
    }

    fn is_frozen(&self) -> bool {
        fs::read(&self.dir, "cgroup.freeze").is_ok_and(|s| s == "1")
    }

    fn kill_all(&self) -> bool {
        fs::exists(&self.dir, "cgroup.kill") && fs::write(&self.dir, "cgroup.kill", "1").is_ok()
    }

    fn destroy(&self) -> Result<()> {
        // cgroup.kill ends whatever is left (e.g. processes of a shared pid namespace).
        self.kill_all();
        fs::remove_tree(&self.dir)?;
        super::remove_parents(&self.parents.borrow());
        Ok(())
    }

    fn clone_target(&self) -> Option<std::os::fd::OwnedFd> {
        let flags = nix::fcntl::OFlag::O_PATH
            | nix::fcntl::OFlag::O_DIRECTORY
            | nix::fcntl::OFlag::O_CLOEXEC;
        nix::fcntl::open(&self.dir, flags, nix::sys::stat::Mode::empty()).ok()
    }

    fn memory_usage(&self) -> Option<u64> {
        fs::read(&self.dir, "memory.current")
            .ok()
            .map(|t| number(&t))
    }

    fn oom_watch(&self) -> Option<super::oom_watch::OomWatch> {
        super::oom_watch::OomWatch::new(&self.dir).ok()
    }

    fn oom_kills(&self) -> u64 {
        let text = fs::read(&self.dir, "memory.events").unwrap_or_default();
        super::oom_watch::oom_kill_count(&text).unwrap_or(0)
    }

    fn stats(&self) -> Result<serde_json::Value> {
        let read = |f: &str| fs::read(&self.dir, f).unwrap_or_default();
        let cpu = key_values(&read("cpu.stat"));
        let us_to_ns = |k: &str| cpu.get(k).and_then(|v| v.as_u64()).unwrap_or(0) * 1000;
        Ok(serde_json::json!({
            "cpu": {
                "usage": {"total": us_to_ns("usage_usec"), "kernel": us_to_ns("system_usec"), "user": us_to_ns("user_usec")},
                "throttling": {"periods": cpu.get("nr_periods"), "throttled_periods": cpu.get("nr_throttled"),
                               "throttled_time": us_to_ns("throttled_usec")}
            },
            "memory": {
                "usage": {"usage": number(&read("memory.current")), "max": number(&read("memory.peak")), "limit": number(&read("memory.max"))},
                "swap": {"usage": number(&read("memory.swap.current")), "limit": number(&read("memory.swap.max"))},
                "raw": key_values(&read("memory.stat"))
            },
            "pids": {"current": number(&read("pids.current")), "limit": number(&read("pids.max"))}
        }))
    }
}

#[cfg(test)]
mod tests;
