//! linux.resources as cgroup v1 files: one function per controller, each reading its
//! section of the spec top-down, so the order of the writes is the order of the lines.
//! `V1::apply` calls them in turn.

use std::collections::BTreeMap;
use std::fmt::Display;

use anyhow::{bail, Result};

use super::V1;
use crate::cgroups::fs;
use crate::cgroups::values::{max_or, rdma_line};
use crate::plan::{BlkioPlan, CpuPlan, DeviceRule, MemoryPlan};

/// The memory+swap limit: the spec's `swap` is v1's memsw.
const MEMSW: &str = "memory.memsw.limit_in_bytes";
const SWAP_FIELD: &str = "linux.resources.memory.swap";

impl V1 {
    /// linux.resources.memory: the memory and memory+swap limits (in the order that keeps
    /// memsw at or above the memory limit), then the other knobs.
    pub(super) fn write_memory(&self, m: &MemoryPlan) -> Result<()> {
        self.write_memory_limit(m)?;
        self.write_memsw(m.swap)?;
        let field = |name: &str| format!("linux.resources.memory.{name}");
        self.set_if(
            "memory",
            "memory.soft_limit_in_bytes",
            m.reservation,
            &field("reservation"),
        )?;
        // Linux 6.x keeps every hierarchy on and refuses 0: say so by field.
        self.set_if(
            "memory",
            "memory.use_hierarchy",
            m.use_hierarchy.map(u8::from),
            &field("useHierarchy"),
        )?;
        self.set_if(
            "memory",
            "memory.swappiness",
            m.swappiness,
            &field("swappiness"),
        )?;
        self.set_if(
            "memory",
            "memory.kmem.limit_in_bytes",
            m.kernel,
            &field("kernel"),
        )?;
        self.set_if(
            "memory",
            "memory.kmem.tcp.limit_in_bytes",
            m.kernel_tcp,
            &field("kernelTCP"),
        )?;
        if m.disable_oom_killer {
            self.set(
                "memory",
                "memory.oom_control",
                "1",
                &field("disableOOMKiller"),
            )?;
        }
        Ok(())
    }

    /// memory.limit_in_bytes. The kernel refuses a memory limit above memsw, so when both
    /// are set memsw is raised first (best effort: when shrinking that fails until the
    /// memory limit is down, and [`Self::write_memsw`] sets it again after).
    fn write_memory_limit(&self, m: &MemoryPlan) -> Result<()> {
        let Some(limit) = m.limit else {
            return Ok(());
        };
        if let (true, Some(swap)) = (self.has_memsw(), m.swap) {
            let _ = self.set("memory", MEMSW, &swap.to_string(), SWAP_FIELD);
        }
        self.set(
            "memory",
            "memory.limit_in_bytes",
            &limit.to_string(),
            "linux.resources.memory.limit",
        )
    }

    /// memory.memsw.limit_in_bytes; without swap accounting only "no limit" (-1) can be
    /// honoured.
    fn write_memsw(&self, swap: Option<i64>) -> Result<()> {
        match swap {
            None => Ok(()),
            Some(swap) if self.has_memsw() => {
                self.set("memory", MEMSW, &swap.to_string(), SWAP_FIELD)
            }
            Some(-1) => Ok(()),
            Some(_) => bail!("linux.resources.memory.swap: this kernel has no swap accounting (memory.memsw.limit_in_bytes)"),
        }
    }

    /// Whether the kernel accounts swap: only then does the memory cgroup show memsw files.
    fn has_memsw(&self) -> bool {
        self.dir("memory").is_some_and(|d| fs::exists(d, MEMSW))
    }

    /// linux.resources.cpu, the cpu controller's part: CFS shares, period, quota and
    /// burst, then the realtime budget and idle.
    pub(super) fn write_cpu(&self, c: &CpuPlan) -> Result<()> {
        let field = |name: &str| format!("linux.resources.cpu.{name}");
        self.set_if("cpu", "cpu.shares", c.shares, &field("shares"))?;
        self.set_if("cpu", "cpu.cfs_period_us", c.period, &field("period"))?;
        self.set_if("cpu", "cpu.cfs_quota_us", c.quota, &field("quota"))?;
        self.set_if("cpu", "cpu.cfs_burst_us", c.burst, &field("burst"))?;
        self.set_if(
            "cpu",
            "cpu.rt_period_us",
            c.realtime_period,
            &field("realtimePeriod"),
        )?;
        self.set_if(
            "cpu",
            "cpu.rt_runtime_us",
            c.realtime_runtime,
            &field("realtimeRuntime"),
        )?;
        self.set_if("cpu", "cpu.idle", c.idle, &field("idle"))
    }

    /// linux.resources.cpu.cpus and .mems, which v1 keeps in the cpuset controller.
    pub(super) fn write_cpuset(&self, c: &CpuPlan) -> Result<()> {
        self.set_if(
            "cpuset",
            "cpuset.cpus",
            c.cpus.as_deref(),
            "linux.resources.cpu.cpus",
        )?;
        self.set_if(
            "cpuset",
            "cpuset.mems",
            c.mems.as_deref(),
            "linux.resources.cpu.mems",
        )
    }

    /// linux.resources.pids.limit; -1 (no limit) is "max".
    pub(super) fn write_pids(&self, limit: Option<i64>) -> Result<()> {
        self.set_if(
            "pids",
            "pids.max",
            limit.map(max_or),
            "linux.resources.pids.limit",
        )
    }

    /// linux.resources.blockIO: the weights (default, then per device), then the throttles,
    /// one `major:minor value` line a write.
    pub(super) fn write_blkio(&self, b: &BlkioPlan) -> Result<()> {
        let field = |name: &str| format!("linux.resources.blockIO.{name}");
        self.set_if("blkio", "blkio.weight", b.weight, &field("weight"))?;
        self.set_if(
            "blkio",
            "blkio.leaf_weight",
            b.leaf_weight,
            &field("leafWeight"),
        )?;
        for &(major, minor, weight, leaf) in &b.weight_device {
            let line = |w: Option<u16>| w.map(|w| format!("{major}:{minor} {w}"));
            self.set_if(
                "blkio",
                "blkio.weight_device",
                line(weight),
                &field("weightDevice"),
            )?;
            self.set_if(
                "blkio",
                "blkio.leaf_weight_device",
                line(leaf),
                &field("weightDevice"),
            )?;
        }
        for &(kind, major, minor, rate) in &b.throttle {
            let (file, name) = kind.v1_file();
            self.set(
                "blkio",
                file,
                &format!("{major}:{minor} {rate}"),
                &field(name),
            )?;
        }
        Ok(())
    }

    /// linux.resources.hugepageLimits: one file per page size.
    pub(super) fn write_hugetlb(&self, limits: &[(String, i64)]) -> Result<()> {
        for (size, limit) in limits {
            self.set(
                "hugetlb",
                &format!("hugetlb.{size}.limit_in_bytes"),
                &limit.to_string(),
                "linux.resources.hugepageLimits",
            )?;
        }
        Ok(())
    }

    /// linux.resources.devices: one rule a write, in the config's order (each edits the
    /// list the ones before it left).
    pub(super) fn write_devices(&self, rules: &[DeviceRule]) -> Result<()> {
        for (i, rule) in rules.iter().enumerate() {
            let file = if rule.allow {
                "devices.allow"
            } else {
                "devices.deny"
            };
            self.set(
                "devices",
                file,
                &rule.v1_line(),
                &format!("linux.resources.devices[{i}]"),
            )?;
        }
        Ok(())
    }

    /// linux.resources.network: net_cls's class id, then net_prio's priority per interface.
    pub(super) fn write_network(
        &self,
        class_id: Option<u32>,
        priorities: &[(String, u32)],
    ) -> Result<()> {
        self.set_if(
            "net_cls",
            "net_cls.classid",
            class_id,
            "linux.resources.network.classID",
        )?;
        for (iface, prio) in priorities {
            self.set(
                "net_prio",
                "net_prio.ifpriomap",
                &format!("{iface} {prio}"),
                "linux.resources.network.priorities",
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
                "rdma",
                "rdma.max",
                &rdma_line(dev, *limits),
                &format!("linux.resources.rdma.{dev}"),
            )?;
        }
        Ok(())
    }

    /// [`V1::set`] when the config gives a value: an absent field leaves the kernel's.
    fn set_if(
        &self,
        controller: &str,
        file: &str,
        value: Option<impl Display>,
        field: &str,
    ) -> Result<()> {
        match value {
            Some(v) => self.set(controller, file, &v.to_string(), field),
            None => Ok(()),
        }
    }
}

/// linux.resources.unified names cgroup v2 files, which a v1 host does not have.
pub(super) fn refuse_unified(unified: &BTreeMap<String, String>) -> Result<()> {
    if !unified.is_empty() {
        bail!("linux.resources.unified: needs a cgroup v2 host (this one is v1)");
    }
    Ok(())
}
