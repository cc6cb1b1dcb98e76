//! cgroup v1: one directory per hierarchy (controller mount) under /sys/fs/cgroup.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::unistd::Pid;

use super::{fs, join, key_values, number, CgroupRecord, Manager, ROOT};
use crate::plan::{CgroupPath, ResourcesPlan};

mod resources;

/// A v1 hierarchy: its mount point and controllers (or `name=` for named ones).
#[derive(Debug, Clone)]
struct Hierarchy {
    mount_point: PathBuf,
    controllers: Vec<String>,
    /// The hybrid host's cgroup2 hierarchy.
    unified: bool,
}

pub struct V1 {
    /// (controllers, the container's directory in that hierarchy).
    dirs: Vec<(Vec<String>, PathBuf)>,
    /// Parents made by `create` (or recorded), see [`CgroupRecord::parents`].
    parents: std::cell::RefCell<Vec<PathBuf>>,
}

impl V1 {
    pub fn for_path(path: &CgroupPath) -> Result<Self> {
        let own = fs::own_cgroups()?;
        let mut dirs = Vec::new();
        for h in hierarchies()? {
            let dir = match path {
                CgroupPath::Absolute(p) => join(&h.mount_point, p),
                CgroupPath::Systemd { unit, .. } => {
                    bail!("{unit} is made by the systemd driver, not by cgroupfs")
                }
                CgroupPath::Relative(p) => {
                    let mine = own
                        .iter()
                        .find(|(c, _)| {
                            if h.unified {
                                c.is_empty()
                            } else {
                                same_set(c, &h.controllers)
                            }
                        })
                        .map(|(_, p)| p.clone())
                        .unwrap_or_else(|| "/".into());
                    join(&join(&h.mount_point, Path::new(&mine)), p)
                }
            };
            dirs.push((h.controllers, dir));
        }
        if dirs.is_empty() {
            bail!("no cgroup v1 hierarchies are mounted under {ROOT}");
        }
        Ok(Self {
            dirs,
            parents: Default::default(),
        })
    }

    pub fn from_record(record: &CgroupRecord) -> Self {
        let mut v1 = Self::from_dirs(&record.dirs);
        v1.parents = std::cell::RefCell::new(record.parents.clone());
        v1
    }

    pub fn from_dirs(dirs: &[PathBuf]) -> Self {
        let hs = hierarchies().unwrap_or_default();
        let dirs = dirs
            .iter()
            .map(|d| {
                let controllers = hs
                    .iter()
                    .find(|h| d.starts_with(&h.mount_point))
                    .map(|h| h.controllers.clone())
                    .unwrap_or_default();
                (controllers, d.clone())
            })
            .collect();
        Self {
            dirs,
            parents: Default::default(),
        }
    }

    /// The directory in the hybrid host's cgroup2 hierarchy, the one without v1 controllers
    /// (`hierarchies`).
    fn unified_dir(&self) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(c, _)| c.is_empty())
            .map(|(_, d)| d.as_path())
    }

    fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(c, _)| c.iter().any(|x| x == controller))
            .map(|(_, d)| d.as_path())
    }

    /// Write `file` in the hierarchy of `controller`; a missing controller with a value to
    /// set is an error naming the field.
    fn set(&self, controller: &str, file: &str, value: &str, field: &str) -> Result<()> {
        let dir = self.dir(controller).with_context(|| {
            format!("{field}: the {controller} cgroup controller is not mounted")
        })?;
        fs::write(dir, file, value).with_context(|| field.to_owned())
    }
}

impl Manager for V1 {
    fn record(&self) -> CgroupRecord {
        CgroupRecord {
            version: 1,
            dirs: self.dirs.iter().map(|(_, d)| d.clone()).collect(),
            parents: self.parents.borrow().clone(),
            systemd_unit: None,
        }
    }

    fn create(&self) -> Result<()> {
        let hs = hierarchies()?;
        for (controllers, dir) in &self.dirs {
            let root = hs
                .iter()
                .find(|h| dir.starts_with(&h.mount_point))
                .map_or(Path::new(ROOT), |h| h.mount_point.as_path());
            super::make_dir(dir, root, &mut self.parents.borrow_mut())?;
            if controllers.iter().any(|c| c == "cpuset") {
                inherit_cpuset(dir)?;
            }
        }
        Ok(())
    }

    /// linux.resources, a controller at a time; the first refusal leaves the rest unwritten.
    fn apply(&self, r: &ResourcesPlan) -> Result<()> {
        self.write_memory(&r.memory)?;
        self.write_cpu(&r.cpu)?;
        self.write_cpuset(&r.cpu)?;
        self.write_pids(r.pids_limit)?;
        self.write_blkio(&r.blkio)?;
        self.write_hugetlb(&r.hugepages)?;
        self.write_devices(&r.devices)?;
        self.write_network(r.net_class_id, &r.net_priorities)?;
        self.write_rdma(&r.rdma)?;
        resources::refuse_unified(&r.unified)
    }

    fn add(&self, pid: Pid) -> Result<()> {
        for (_, dir) in &self.dirs {
            fs::write(dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    /// A hybrid host's cgroup2 directory: the child is cloned into it, sparing it the write
    /// to cgroup.procs, for which the kernel takes its threadgroup lock and waits for an RCU
    /// grace period (~8 ms seen here, on the first create after a quiet spell).
    fn clone_target(&self) -> Option<std::os::fd::OwnedFd> {
        let flags = nix::fcntl::OFlag::O_PATH
            | nix::fcntl::OFlag::O_DIRECTORY
            | nix::fcntl::OFlag::O_CLOEXEC;
        let unified = self.unified_dir()?;
        nix::fcntl::open(unified, flags, nix::sys::stat::Mode::empty()).ok()
    }

    /// Every hierarchy's: the unified one's too, for a child that could not be cloned into it.
    fn self_join_files(&self) -> Result<Vec<(PathBuf, std::os::fd::OwnedFd)>> {
        use nix::fcntl::{open, OFlag};
        self.dirs
            .iter()
            .map(|(_, dir)| {
                let open = |path: &Path| {
                    open(
                        path,
                        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
                        nix::sys::stat::Mode::empty(),
                    )
                };
                let tasks = dir.join("tasks");
                match open(&tasks) {
                    Ok(fd) => Ok((tasks, fd)),
                    // cgroup2 (a hybrid host's unified hierarchy) has no `tasks` file.
                    Err(nix::errno::Errno::ENOENT) => {
                        let procs = dir.join("cgroup.procs");
                        let fd =
                            open(&procs).with_context(|| format!("opening {}", procs.display()))?;
                        Ok((procs, fd))
                    }
                    Err(e) => Err(e).with_context(|| format!("opening {}", tasks.display())),
                }
            })
            .collect()
    }

    fn occupants(&self) -> Result<Vec<(PathBuf, Pid)>> {
        let mut all = Vec::new();
        for (_, dir) in self.dirs.iter().filter(|(_, d)| d.exists()) {
            all.extend(fs::pids(dir)?.into_iter().map(|p| (dir.clone(), p)));
        }
        Ok(all)
    }

    fn pids(&self) -> Result<Vec<Pid>> {
        let dir = self
            .dir("pids")
            .or_else(|| self.dir("freezer"))
            .or_else(|| self.dirs.first().map(|(_, d)| d.as_path()));
        dir.map(fs::pids).unwrap_or_else(|| Ok(Vec::new()))
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let dir = self
            .dir("freezer")
            .context("the freezer cgroup controller is not mounted")?;
        let want = if frozen { "FROZEN" } else { "THAWED" };
        for _ in 0..1000 {
            fs::write(dir, "freezer.state", want)?;
            if fs::read(dir, "freezer.state")? == want {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        bail!("{} did not become {want}", dir.display())
    }

    fn is_frozen(&self) -> bool {
        self.dir("freezer")
            .and_then(|d| fs::read(d, "freezer.state").ok())
            .is_some_and(|s| s == "FROZEN")
    }

    fn destroy(&self) -> Result<()> {
        for (_, dir) in &self.dirs {
            fs::remove_tree(dir)?;
        }
        super::remove_parents(&self.parents.borrow());
        Ok(())
    }

    fn memory_usage(&self) -> Option<u64> {
        self.dir("memory")
            .and_then(|d| fs::read(d, "memory.usage_in_bytes").ok())
            .map(|t| number(&t))
    }

    fn oom_kills(&self) -> Option<u64> {
        // "oom_kill N" in memory.oom_control (Linux 4.13 and later).
        let text = fs::read(self.dir("memory")?, "memory.oom_control").ok()?;
        Some(super::oom_watch::oom_kill_count(&text).unwrap_or(0))
    }

    fn stats(&self) -> Result<serde_json::Value> {
        let read = |c: &str, f: &str| {
            self.dir(c)
                .and_then(|d| fs::read(d, f).ok())
                .unwrap_or_default()
        };
        let percpu: Vec<u64> = read("cpuacct", "cpuacct.usage_percpu")
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let acct = key_values(&read("cpuacct", "cpuacct.stat"));
        // cpuacct.stat counts USER_HZ ticks (100 per second); runc reports nanoseconds.
        let ticks_ns = |k: &str| acct.get(k).and_then(|v| v.as_u64()).unwrap_or(0) * 10_000_000;
        let throttle = key_values(&read("cpu", "cpu.stat"));
        Ok(serde_json::json!({
            "cpu": {
                "usage": {"total": number(&read("cpuacct", "cpuacct.usage")), "percpu": percpu,
                          "kernel": ticks_ns("system"), "user": ticks_ns("user")},
                "throttling": {"periods": throttle.get("nr_periods"), "throttled_periods": throttle.get("nr_throttled"),
                               "throttled_time": throttle.get("throttled_time")}
            },
            "memory": {
                "usage": {"usage": number(&read("memory", "memory.usage_in_bytes")), "max": number(&read("memory", "memory.max_usage_in_bytes")),
                          "limit": number(&read("memory", "memory.limit_in_bytes")), "failcnt": number(&read("memory", "memory.failcnt"))},
                "swap": {"usage": number(&read("memory", "memory.memsw.usage_in_bytes")), "limit": number(&read("memory", "memory.memsw.limit_in_bytes"))},
                "raw": key_values(&read("memory", "memory.stat"))
            },
            "pids": {"current": number(&read("pids", "pids.current")), "limit": number(&read("pids", "pids.max"))}
        }))
    }
}

/// A new v1 cpuset cgroup starts with no cpus or mems, so no task could join it: copy them
/// down from the nearest ancestor, level by level.
fn inherit_cpuset(dir: &Path) -> Result<()> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        // The empty ones from `dir` up, to the nearest that has a value (the hierarchy's root
        // always has): each takes it, the highest first.
        let mut empty = Vec::new();
        let mut at = dir;
        let value = loop {
            let value = fs::read(at, file)?;
            if !value.is_empty() {
                break value;
            }
            empty.push(at);
            at = at
                .parent()
                .with_context(|| format!("no cgroup above {} has {file}", dir.display()))?;
        };
        for d in empty.iter().rev() {
            fs::write(d, file, &value)?;
        }
    }
    Ok(())
}

fn same_set(listed: &str, controllers: &[String]) -> bool {
    let mut a: Vec<&str> = listed.split(',').filter(|s| !s.is_empty()).collect();
    let mut b: Vec<&str> = controllers.iter().map(String::as_str).collect();
    a.sort_unstable();
    b.sort_unstable();
    !a.is_empty() && a == b
}

/// The hierarchies mounted under /sys/fs/cgroup: the v1 ones, and on a hybrid host the
/// cgroup2 one at .../unified (no controllers; runc puts the container there too, so that
/// what runs in it, systemd above all, finds itself in its own cgroup in both).
fn hierarchies() -> Result<Vec<Hierarchy>> {
    Ok(crate::mountinfo::cgroup_mounts()?
        .into_iter()
        // Without root the unified hierarchy is not ours to make cgroups in (a delegated v1
        // cgroup says nothing of it): only root's containers join it.
        .filter(|m| {
            m.fstype == "cgroup" || (m.fstype == "cgroup2" && !crate::rootless::is_rootless())
        })
        .map(|m| Hierarchy {
            controllers: if m.fstype == "cgroup2" {
                Vec::new()
            } else {
                m.controllers()
            },
            unified: m.fstype == "cgroup2",
            mount_point: m.mount_point,
        })
        .collect())
}

#[cfg(test)]
mod tests;
