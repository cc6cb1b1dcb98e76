//! linux.resources and linux.cgroupsPath: validated limits, still in the spec's units; the
//! cgroup drivers convert them to their files (v1 as written, v2 with runc's conversions).
//! One function per section of config-linux.md's "Control groups".

mod blkio;
mod device_rules;
mod path;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use oci_spec::runtime::{Linux, LinuxCpu, LinuxDevice, LinuxMemory, LinuxPids, LinuxResources};

pub use blkio::{BlkioPlan, Throttle};
pub use device_rules::DeviceRule;
pub use path::CgroupPath;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryPlan {
    pub limit: Option<i64>,
    pub reservation: Option<i64>,
    /// Memory + swap (the spec's v1 meaning).
    pub swap: Option<i64>,
    pub swappiness: Option<u64>,
    pub disable_oom_killer: bool,
    /// v1 kernel memory limits (deprecated by the kernel; v2 has none).
    pub kernel: Option<i64>,
    pub kernel_tcp: Option<i64>,
    /// v1 `memory.use_hierarchy` (v2 is always hierarchical).
    pub use_hierarchy: Option<bool>,
    /// `update` refuses a limit below the current usage instead of asking the kernel to reclaim.
    pub check_before_update: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuPlan {
    pub shares: Option<u64>,
    pub quota: Option<i64>,
    pub period: Option<u64>,
    pub burst: Option<u64>,
    pub realtime_runtime: Option<i64>,
    pub realtime_period: Option<u64>,
    pub cpus: Option<String>,
    pub mems: Option<String>,
    pub idle: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourcesPlan {
    pub path: CgroupPath,
    pub memory: MemoryPlan,
    pub cpu: CpuPlan,
    pub pids_limit: Option<i64>,
    pub blkio: BlkioPlan,
    /// (page size as in the file names, e.g. "2MB", limit in bytes).
    pub hugepages: Vec<(String, i64)>,
    pub devices: Vec<DeviceRule>,
    pub unified: BTreeMap<String, String>,
    /// linux.resources.network: net_cls class id and net_prio (interface, priority) pairs.
    pub net_class_id: Option<u32>,
    pub net_priorities: Vec<(String, u32)>,
    /// linux.resources.rdma: device → (hca_handles, hca_objects).
    pub rdma: BTreeMap<String, (Option<u32>, Option<u32>)>,
    /// `--cgroup-manager disabled`: no cgroup is made or joined.
    pub no_cgroup: bool,
}

impl ResourcesPlan {
    /// `id` names the default cgroup (see [`path::cgroup_path`]).
    pub fn from_spec(linux: &Linux, id: &str, systemd: bool) -> Result<Self> {
        let path = path::cgroup_path(linux.cgroups_path().as_deref(), id, systemd)?;
        let default = LinuxResources::default();
        let r = linux.resources().as_ref().unwrap_or(&default);
        Self::with_devices(r, path, linux.devices())
    }

    /// Also used by `update`, with the container's existing path.
    pub fn from_resources(r: &LinuxResources, path: CgroupPath) -> Result<Self> {
        Self::with_devices(r, path, &None)
    }

    /// The sections in config-linux.md's order; `linux_devices`, the nodes the config makes
    /// (usable whatever the rules say).
    fn with_devices(
        r: &LinuxResources,
        path: CgroupPath,
        linux_devices: &Option<Vec<LinuxDevice>>,
    ) -> Result<Self> {
        let network = r.network().as_ref();
        Ok(Self {
            path,
            devices: device_rules::rules(r, linux_devices)?,
            memory: r
                .memory()
                .as_ref()
                .map(memory)
                .transpose()?
                .unwrap_or_default(),
            cpu: r.cpu().as_ref().map(cpu).transpose()?.unwrap_or_default(),
            blkio: (r.block_io().as_ref().map(blkio::plan).transpose()?).unwrap_or_default(),
            hugepages: hugepages(r)?,
            net_class_id: network.and_then(|n| n.class_id()),
            net_priorities: network
                .and_then(|n| n.priorities().clone())
                .unwrap_or_default()
                .iter()
                .map(|p| (p.name().clone(), p.priority()))
                .collect(),
            pids_limit: pids_limit(r.pids().as_ref())?,
            rdma: r
                .rdma()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(dev, l)| (dev, (l.hca_handles(), l.hca_objects())))
                .collect(),
            unified: unified(r)?,
            no_cgroup: false,
        })
    }
}

/// linux.resources.memory.
fn memory(m: &LinuxMemory) -> Result<MemoryPlan> {
    let limit = limit_value(m.limit(), "linux.resources.memory.limit")?;
    let swap = limit_value(m.swap(), "linux.resources.memory.swap")?;
    if let (Some(l), Some(s)) = (limit, swap) {
        if l > 0 && s > 0 && s < l {
            bail!(
                "linux.resources.memory.swap: {s} is below memory.limit {l} (swap is memory+swap)"
            );
        }
    }
    if let Some(l) = limit {
        if l > 0 && l < 4096 * 64 {
            bail!("linux.resources.memory.limit: {l} is below the minimum of 256 KiB");
        }
    }
    if m.swappiness().is_some_and(|s| s > 100) {
        bail!(
            "linux.resources.memory.swappiness: {} is above 100",
            m.swappiness().unwrap_or(0)
        );
    }
    Ok(MemoryPlan {
        limit,
        reservation: limit_value(m.reservation(), "linux.resources.memory.reservation")?,
        swap,
        swappiness: m.swappiness(),
        disable_oom_killer: m.disable_oom_killer().unwrap_or(false),
        kernel: limit_value(m.kernel(), "linux.resources.memory.kernel")?,
        kernel_tcp: limit_value(m.kernel_tcp(), "linux.resources.memory.kernelTCP")?,
        use_hierarchy: m.use_hierarchy(),
        check_before_update: m.check_before_update().unwrap_or(false),
    })
}

/// linux.resources.cpu.
fn cpu(c: &LinuxCpu) -> Result<CpuPlan> {
    // 0 means "not set" for these, as runc reads them (Docker sends zeros).
    let mut c = c.clone();
    c.set_shares(c.shares().filter(|&v| v != 0));
    c.set_quota(c.quota().filter(|&v| v != 0));
    c.set_period(c.period().filter(|&v| v != 0));
    c.set_realtime_runtime(c.realtime_runtime().filter(|&v| v != 0));
    c.set_realtime_period(c.realtime_period().filter(|&v| v != 0));
    c.set_burst(c.burst().filter(|&v| v != 0));
    if let Some(q) = c.quota() {
        if q != -1 && q < 1000 {
            bail!("linux.resources.cpu.quota: {q} is below 1000 µs (use -1 for no limit)");
        }
    }
    if let Some(p) = c.period() {
        if !(1000..=1_000_000).contains(&p) {
            bail!("linux.resources.cpu.period: {p} is outside 1000..1000000 µs");
        }
    }
    if c.shares().is_some_and(|s| s < 2) {
        bail!("linux.resources.cpu.shares: must be at least 2");
    }
    for (field, list) in [("cpus", c.cpus()), ("mems", c.mems())] {
        if let Some(l) = list {
            crate::plan::id_ranges(l)
                .map_err(|why| anyhow::anyhow!("linux.resources.cpu.{field}: {l:?}: {why}"))?;
        }
    }
    Ok(CpuPlan {
        shares: c.shares(),
        quota: c.quota(),
        period: c.period(),
        burst: c.burst(),
        realtime_runtime: c.realtime_runtime(),
        realtime_period: c.realtime_period(),
        cpus: c.cpus().clone().filter(|s| !s.is_empty()),
        mems: c.mems().clone().filter(|s| !s.is_empty()),
        idle: c.idle(),
    })
}

/// linux.resources.pids: runtime-spec 1.3.0's -1 (no limit) or a limit, 0 included.
fn pids_limit(p: Option<&LinuxPids>) -> Result<Option<i64>> {
    Ok(match p {
        Some(p) if p.limit() < -1 => bail!(
            "linux.resources.pids.limit: {} is negative (use -1 for no limit)",
            p.limit()
        ),
        // runtime-spec 1.3.0: -1 is no limit ("max"); 0 is a real limit. (An empty
        // `pids` object, which oci-spec reads as 0, is taken out by Plan::from_spec.)
        Some(p) => Some(p.limit()),
        None => None,
    })
}

/// linux.resources.hugepageLimits: (page size as in the file names, limit in bytes).
fn hugepages(r: &LinuxResources) -> Result<Vec<(String, i64)>> {
    r.hugepage_limits()
        .iter()
        .flatten()
        .map(|h| {
            let size = h.page_size().clone();
            if size.is_empty() || !size.ends_with('B') {
                bail!("linux.resources.hugepageLimits: page size {size:?} is not like \"2MB\"");
            }
            Ok((size, h.limit()))
        })
        .collect()
}

/// linux.resources.unified: cgroup v2 files by name, written as given.
fn unified(r: &LinuxResources) -> Result<BTreeMap<String, String>> {
    let unified: BTreeMap<String, String> = r
        .unified()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    for key in unified.keys() {
        if key.contains('/') || !key.contains('.') {
            bail!("linux.resources.unified: {key:?} is not a cgroup file name");
        }
    }
    Ok(unified)
}

impl ResourcesPlan {
    /// With `no_cgroup` (`--cgroup-manager disabled`, crun's flag, podman's `--cgroups=disabled`):
    /// limits have nothing to live in, so they are refused, not dropped. Device rules are the
    /// exception: podman always sends its allow-list, and without a cgroup only the device
    /// nodes made in the container's /dev are reachable anyway (crun ignores them too).
    pub fn without_cgroup_if(mut self, no_cgroup: bool) -> Result<Self> {
        if !no_cgroup {
            return Ok(self);
        }
        self.devices.clear();
        if self.has_limits() {
            bail!("linux.resources: --cgroup-manager disabled: the container has no cgroup to apply limits in");
        }
        self.no_cgroup = true;
        Ok(self)
    }

    /// Whether the config sets any limit (device rules included).
    pub fn has_limits(&self) -> bool {
        self.memory != MemoryPlan::default()
            || self.cpu != CpuPlan::default()
            || self.pids_limit.is_some()
            || self.blkio != BlkioPlan::default()
            || !self.hugepages.is_empty()
            || !self.devices.is_empty()
            || !self.unified.is_empty()
            || self.net_class_id.is_some()
            || !self.net_priorities.is_empty()
            || !self.rdma.is_empty()
    }
}

/// A byte limit: -1 (unlimited) or positive; 0 means "not set" as in runc.
fn limit_value(v: Option<i64>, field: &str) -> Result<Option<i64>> {
    match v {
        Some(n) if n < -1 => bail!("{field}: {n} is negative (use -1 for no limit)"),
        Some(0) | None => Ok(None),
        Some(n) => Ok(Some(n)),
    }
}
