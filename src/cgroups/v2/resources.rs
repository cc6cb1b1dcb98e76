//! linux.resources as cgroup v2 files, converted from the spec's v1 units as runc converts
//! them: one function per controller, each reading its section of the spec top-down, so the
//! order of the writes is the order of the lines. `V2::apply` calls them in turn.

use std::collections::BTreeMap;
use std::fmt::Display;

use anyhow::{bail, Result};

use super::V2;
use crate::cgroups::device_filter;
use crate::cgroups::values::{blkio_to_io_weight, max_or, rdma_line, shares_to_weight};
use crate::plan::{BlkioPlan, CpuPlan, DeviceRule, MemoryPlan};

impl V2 {
    /// linux.resources.memory: memory.max, memory.low, then memory.swap.max.
    pub(super) fn write_memory(&self, m: &MemoryPlan) -> Result<()> {
        self.set_if(
            "memory.max",
            m.limit.map(max_or),
            "linux.resources.memory.limit",
        )?;
        self.set_if(
            "memory.low",
            m.reservation.map(max_or),
            "linux.resources.memory.reservation",
        )?;
        self.set_if(
            "memory.swap.max",
            m.swap.map(|swap| swap_max(swap, m.limit)),
            "linux.resources.memory.swap",
        )
    }

    /// linux.resources.cpu, the cpu controller's part: shares as cpu.weight, quota and
    /// period as one cpu.max line, then burst and idle (v2 has no realtime budget).
    pub(super) fn write_cpu(&self, c: &CpuPlan) -> Result<()> {
        self.set_if(
            "cpu.weight",
            c.shares.map(shares_to_weight),
            "linux.resources.cpu.shares",
        )?;
        self.set_if("cpu.max", cpu_max(c), "linux.resources.cpu.quota")?;
        self.set_if("cpu.max.burst", c.burst, "linux.resources.cpu.burst")?;
        self.set_if("cpu.idle", c.idle, "linux.resources.cpu.idle")
    }

    /// linux.resources.cpu.cpus and .mems: the cpuset controller's files.
    pub(super) fn write_cpuset(&self, c: &CpuPlan) -> Result<()> {
        self.set_if("cpuset.cpus", c.cpus.as_deref(), "linux.resources.cpu.cpus")?;
        self.set_if("cpuset.mems", c.mems.as_deref(), "linux.resources.cpu.mems")
    }

    /// linux.resources.pids.limit; -1 (no limit) is "max".
    pub(super) fn write_pids(&self, limit: Option<i64>) -> Result<()> {
        self.set_if("pids.max", limit.map(max_or), "linux.resources.pids.limit")
    }

    /// linux.resources.blockIO as the io controller takes it: the weights (default, then
    /// per device; v2 has no leaf weights) in io.weight, a `major:minor key=rate` line per
    /// throttle in io.max.
    pub(super) fn write_io(&self, b: &BlkioPlan) -> Result<()> {
        self.set_if(
            "io.weight",
            b.weight.map(blkio_to_io_weight),
            "linux.resources.blockIO.weight",
        )?;
        for &(major, minor, weight, _) in &b.weight_device {
            self.set_if(
                "io.weight",
                weight.map(|w| format!("{major}:{minor} {}", blkio_to_io_weight(w))),
                "linux.resources.blockIO.weightDevice",
            )?;
        }
        for &(kind, major, minor, rate) in &b.throttle {
            let field = format!("linux.resources.blockIO.{}", kind.v1_file().1);
            self.set(
                "io.max",
                &format!("{major}:{minor} {}={rate}", kind.v2_key()),
                &field,
            )?;
        }
        Ok(())
    }

    /// linux.resources.hugepageLimits: one file per page size; -1 is "max".
    pub(super) fn write_hugetlb(&self, limits: &[(String, i64)]) -> Result<()> {
        for (size, limit) in limits {
            self.set(
                &format!("hugetlb.{size}.max"),
                &max_or(*limit),
                "linux.resources.hugepageLimits",
            )?;
        }
        Ok(())
    }

    /// linux.resources.rdma: one `rdma.max` line per device.
    pub(super) fn write_rdma(
        &self,
        rdma: &BTreeMap<String, (Option<u32>, Option<u32>)>,
    ) -> Result<()> {
        for (dev, limits) in rdma {
            self.set(
                "rdma.max",
                &rdma_line(dev, *limits),
                &format!("linux.resources.rdma.{dev}"),
            )?;
        }
        Ok(())
    }

    /// linux.resources.unified: files written as given; after the named fields, so that
    /// a file named in both gets the unified value.
    pub(super) fn write_unified(&self, unified: &BTreeMap<String, String>) -> Result<()> {
        for (key, value) in unified {
            self.set(key, value, &format!("linux.resources.unified.{key}"))?;
        }
        Ok(())
    }

    /// linux.resources.devices: v2 has no device files; the kernel asks an eBPF program,
    /// built from the rules and attached only when there are rules.
    pub(super) fn write_devices(&self, rules: &[DeviceRule]) -> Result<()> {
        if !rules.is_empty() {
            device_filter::apply(&self.dir, rules)?;
        }
        Ok(())
    }

    /// [`V2::set`] when the config gives a value: an absent field leaves the kernel's.
    fn set_if(&self, file: &str, value: Option<impl Display>, field: &str) -> Result<()> {
        match value {
            Some(v) => self.set(file, &v.to_string(), field),
            None => Ok(()),
        }
    }
}

/// memory.swap.max holds swap alone, where the spec's swap is memory+swap (v1's memsw):
/// the part above the memory limit.
fn swap_max(swap: i64, limit: Option<i64>) -> String {
    match (swap, limit) {
        (-1, _) => "max".to_owned(),
        (s, Some(l)) if l > 0 => (s - l).max(0).to_string(),
        (s, _) => s.to_string(),
    }
}

/// cpu.max, `quota period`, when the config sets either; the one it leaves out takes its
/// default (no quota; a 100 ms period).
fn cpu_max(c: &CpuPlan) -> Option<String> {
    if c.quota.is_none() && c.period.is_none() {
        return None;
    }
    let quota = c.quota.map_or("max".to_owned(), max_or);
    let period = c.period.unwrap_or(100_000);
    Some(format!("{quota} {period}"))
}

/// linux.resources.network: cgroup v2 has no net_cls or net_prio controller.
pub(super) fn refuse_network(class_id: Option<u32>, priorities: &[(String, u32)]) -> Result<()> {
    if class_id.is_some() || !priorities.is_empty() {
        bail!("linux.resources.network: cgroup v2 has no net_cls/net_prio controllers (use eBPF or the network manager)");
    }
    Ok(())
}
