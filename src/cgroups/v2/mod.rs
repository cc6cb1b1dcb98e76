//! cgroup v2: one directory in the unified hierarchy; controllers enabled down the path.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::unistd::Pid;

use super::{fs, join, key_values, number, CgroupRecord, Manager, ROOT};
use crate::plan::{CgroupPath, ResourcesPlan};

mod resources;

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

    /// Write `file` of the cgroup. One the kernel does not show is refused by name: the
    /// controller is not enabled here (cgroupfs would only say it cannot create the file).
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

    /// linux.resources, a controller at a time; the first refusal leaves the rest unwritten.
    fn apply(&self, r: &ResourcesPlan) -> Result<()> {
        self.write_memory(&r.memory)?;
        self.write_cpu(&r.cpu)?;
        self.write_cpuset(&r.cpu)?;
        self.write_pids(r.pids_limit)?;
        self.write_io(&r.blkio)?;
        self.write_hugetlb(&r.hugepages)?;
        resources::refuse_network(r.net_class_id, &r.net_priorities)?;
        self.write_rdma(&r.rdma)?;
        self.write_unified(&r.unified)?;
        self.write_devices(&r.devices)
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

    fn oom_kills(&self) -> Option<u64> {
        let text = fs::read(&self.dir, "memory.events").ok()?;
        Some(super::oom_watch::oom_kill_count(&text).unwrap_or(0))
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
