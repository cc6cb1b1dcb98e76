//! linux.resources and linux.cgroupsPath: validated limits, still in the spec's units; the
//! cgroup drivers convert them to their files (v1 as written, v2 with runc's conversions).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Result};
use oci_spec::runtime::{Linux, LinuxDeviceCgroup, LinuxResources};

/// Where the container's cgroup goes, inside each hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupPath {
    /// From the hierarchy's root.
    Absolute(PathBuf),
    /// Below hull's own cgroup (per hierarchy), as runc does.
    Relative(PathBuf),
    /// A transient systemd scope `unit` in `slice` (`--systemd-cgroup`); no slice: the
    /// manager's default (system.slice, or user.slice for a rootless caller's own systemd).
    Systemd { slice: Option<String>, unit: String },
}

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
pub struct DeviceRule {
    pub allow: bool,
    /// 'a', 'c' or 'b'.
    pub kind: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

impl DeviceRule {
    /// The v1 `devices.allow`/`devices.deny` line: `c 1:3 rwm`, `a *:* rwm`.
    pub fn v1_line(&self) -> String {
        let num = |n: Option<i64>| n.map_or("*".to_owned(), |n| n.to_string());
        format!(
            "{} {}:{} {}",
            self.kind,
            num(self.major),
            num(self.minor),
            self.access
        )
    }
}

/// linux.resources.blockIO.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlkioPlan {
    pub weight: Option<u16>,
    pub leaf_weight: Option<u16>,
    /// (major, minor, weight, leafWeight).
    pub weight_device: Vec<(i64, i64, Option<u16>, Option<u16>)>,
    /// Per device (major, minor, rate) for each throttle: read/write bytes and io per second.
    pub throttle: Vec<(Throttle, i64, i64, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    ReadBps,
    WriteBps,
    ReadIops,
    WriteIops,
}

impl Throttle {
    /// The v1 file and the spec's field name.
    pub fn v1_file(self) -> (&'static str, &'static str) {
        match self {
            Self::ReadBps => ("blkio.throttle.read_bps_device", "throttleReadBpsDevice"),
            Self::WriteBps => ("blkio.throttle.write_bps_device", "throttleWriteBpsDevice"),
            Self::ReadIops => ("blkio.throttle.read_iops_device", "throttleReadIOPSDevice"),
            Self::WriteIops => (
                "blkio.throttle.write_iops_device",
                "throttleWriteIOPSDevice",
            ),
        }
    }

    /// The key in v2's io.max.
    pub fn v2_key(self) -> &'static str {
        match self {
            Self::ReadBps => "rbps",
            Self::WriteBps => "wbps",
            Self::ReadIops => "riops",
            Self::WriteIops => "wiops",
        }
    }
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
    /// `id` names the default cgroup, `/hull/ID` (systemd: `:hull:ID`, in the manager's
    /// default slice), when the config gives no cgroupsPath.
    pub fn from_spec(linux: &Linux, id: &str, systemd: bool) -> Result<Self> {
        let path = match linux.cgroups_path() {
            p if systemd => systemd_path(p.as_deref(), id)?,
            None => CgroupPath::Absolute(Path::new("/hull").join(id)),
            Some(p) if p.as_os_str().is_empty() => {
                CgroupPath::Absolute(Path::new("/hull").join(id))
            }
            Some(p) => {
                if p.components().any(|c| matches!(c, Component::ParentDir))
                    || p.to_string_lossy().contains(':')
                {
                    bail!("linux.cgroupsPath: {} must not contain \"..\" (or be a systemd slice:prefix:name without --systemd-cgroup)", p.display());
                }
                if p.is_absolute() {
                    CgroupPath::Absolute(p.clone())
                } else {
                    CgroupPath::Relative(p.clone())
                }
            }
        };
        let default = LinuxResources::default();
        let r = linux.resources().as_ref().unwrap_or(&default);
        Self::with_devices(r, path, linux.devices())
    }

    /// Also used by `update`, with the container's existing path.
    pub fn from_resources(r: &LinuxResources, path: CgroupPath) -> Result<Self> {
        Self::with_devices(r, path, &None)
    }

    fn with_devices(
        r: &LinuxResources,
        path: CgroupPath,
        linux_devices: &Option<Vec<oci_spec::runtime::LinuxDevice>>,
    ) -> Result<Self> {
        let memory = match r.memory() {
            None => MemoryPlan::default(),
            Some(m) => {
                let limit = limit_value(m.limit(), "linux.resources.memory.limit")?;
                let swap = limit_value(m.swap(), "linux.resources.memory.swap")?;
                if let (Some(l), Some(s)) = (limit, swap) {
                    if l > 0 && s > 0 && s < l {
                        bail!("linux.resources.memory.swap: {s} is below memory.limit {l} (swap is memory+swap)");
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
                MemoryPlan {
                    limit,
                    reservation: limit_value(
                        m.reservation(),
                        "linux.resources.memory.reservation",
                    )?,
                    swap,
                    swappiness: m.swappiness(),
                    disable_oom_killer: m.disable_oom_killer().unwrap_or(false),
                    kernel: limit_value(m.kernel(), "linux.resources.memory.kernel")?,
                    kernel_tcp: limit_value(m.kernel_tcp(), "linux.resources.memory.kernelTCP")?,
                    use_hierarchy: m.use_hierarchy(),
                    check_before_update: m.check_before_update().unwrap_or(false),
                }
            }
        };
        let cpu = match r.cpu() {
            None => CpuPlan::default(),
            Some(c) => {
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
                        bail!(
                            "linux.resources.cpu.quota: {q} is below 1000 µs (use -1 for no limit)"
                        );
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
                        super::id_ranges(l).map_err(|why| {
                            anyhow::anyhow!("linux.resources.cpu.{field}: {l:?}: {why}")
                        })?;
                    }
                }
                CpuPlan {
                    shares: c.shares(),
                    quota: c.quota(),
                    period: c.period(),
                    burst: c.burst(),
                    realtime_runtime: c.realtime_runtime(),
                    realtime_period: c.realtime_period(),
                    cpus: c.cpus().clone().filter(|s| !s.is_empty()),
                    mems: c.mems().clone().filter(|s| !s.is_empty()),
                    idle: c.idle(),
                }
            }
        };
        let pids_limit = match r.pids() {
            Some(p) if p.limit() < -1 => bail!(
                "linux.resources.pids.limit: {} is negative (use -1 for no limit)",
                p.limit()
            ),
            // runtime-spec 1.3.0: -1 is no limit ("max"); 0 is a real limit. (An empty
            // `pids` object, which oci-spec reads as 0, is taken out by Plan::from_spec.)
            Some(p) => Some(p.limit()),
            None => None,
        };
        let blkio = r
            .block_io()
            .as_ref()
            .map(blkio_plan)
            .transpose()?
            .unwrap_or_default();
        let hugepages = r
            .hugepage_limits()
            .iter()
            .flatten()
            .map(|h| {
                let size = h.page_size().clone();
                if size.is_empty() || !size.ends_with('B') {
                    bail!("linux.resources.hugepageLimits: page size {size:?} is not like \"2MB\"");
                }
                Ok((size, h.limit()))
            })
            .collect::<Result<_>>()?;
        let mut devices: Vec<DeviceRule> = r
            .devices()
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, d)| device_rule(i, d))
            .collect::<Result<_>>()?;
        if !devices.is_empty() {
            devices.extend(default_device_rules());
            // The devices the config creates are usable too (runc adds the same rules).
            // (fifos are not device-cgroup business)
            let nodes = linux_devices
                .iter()
                .flatten()
                .filter(|d| d.typ() != oci_spec::runtime::LinuxDeviceType::P);
            for (i, d) in nodes.enumerate() {
                let mut rule = device_rule(
                    i,
                    &oci_spec::runtime::LinuxDeviceCgroupBuilder::default()
                        .allow(true)
                        .typ(d.typ())
                        .major(d.major())
                        .minor(d.minor())
                        .access("rwm")
                        .build()?,
                )?;
                rule.allow = true;
                devices.push(rule);
            }
        }
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
        let net_class_id = r.network().as_ref().and_then(|n| n.class_id());
        let net_priorities = r
            .network()
            .as_ref()
            .and_then(|n| n.priorities().clone())
            .unwrap_or_default()
            .iter()
            .map(|p| (p.name().clone(), p.priority()))
            .collect();
        let rdma = r
            .rdma()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(dev, l)| (dev, (l.hca_handles(), l.hca_objects())))
            .collect();
        Ok(Self {
            path,
            memory,
            cpu,
            pids_limit,
            blkio,
            hugepages,
            devices,
            unified,
            net_class_id,
            net_priorities,
            rdma,
            no_cgroup: false,
        })
    }
}

/// runc's `slice:prefix:name` for the systemd driver: the scope `prefix-name.scope` in
/// `slice` (default: the manager's); an empty path is `:hull:ID`.
fn systemd_path(path: Option<&Path>, id: &str) -> Result<CgroupPath> {
    let text = path
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (slice, prefix, name) = match text.split(':').collect::<Vec<_>>()[..] {
        [""] => ("", "hull", id),
        [slice, prefix, name] => (slice, prefix, name),
        _ => bail!(
            "linux.cgroupsPath: expected \"slice:prefix:name\" for systemd cgroups, got {text:?}"
        ),
    };
    let base = slice.strip_suffix(".slice").unwrap_or_default();
    let bad_base = base.is_empty()
        || (base != "-" && (base.starts_with('-') || base.ends_with('-') || base.contains("--")));
    if !slice.is_empty() && (bad_base || slice.contains('/')) {
        bail!("linux.cgroupsPath: {slice:?} is not a valid systemd slice name");
    }
    if name.is_empty() || name.contains('/') || name.ends_with(".slice") {
        bail!("linux.cgroupsPath: {name:?} is not a valid systemd scope name (a container in its own slice is not supported)");
    }
    let unit = if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    Ok(CgroupPath::Systemd {
        slice: (!slice.is_empty()).then(|| slice.to_owned()),
        unit,
    })
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

fn blkio_plan(b: &oci_spec::runtime::LinuxBlockIo) -> Result<BlkioPlan> {
    let weight = |w: Option<u16>, field: &str| -> Result<Option<u16>> {
        match w {
            Some(w) if !(10..=1000).contains(&w) => {
                bail!("linux.resources.blockIO.{field}: {w} is outside 10..1000")
            }
            w => Ok(w),
        }
    };
    // 0 means "not set", as runc reads it (Docker sends it).
    let nonzero = |w: Option<u16>| w.filter(|&w| w != 0);
    let mut plan = BlkioPlan {
        weight: weight(nonzero(b.weight()), "weight")?,
        leaf_weight: weight(nonzero(b.leaf_weight()), "leafWeight")?,
        ..Default::default()
    };
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        let field = format!("weightDevice[{i}]");
        plan.weight_device.push((
            d.major(),
            d.minor(),
            weight(d.weight(), &format!("{field}.weight"))?,
            weight(d.leaf_weight(), &format!("{field}.leafWeight"))?,
        ));
    }
    for (kind, list) in [
        (Throttle::ReadBps, b.throttle_read_bps_device()),
        (Throttle::WriteBps, b.throttle_write_bps_device()),
        (Throttle::ReadIops, b.throttle_read_iops_device()),
        (Throttle::WriteIops, b.throttle_write_iops_device()),
    ] {
        for d in list.iter().flatten() {
            plan.throttle.push((kind, d.major(), d.minor(), d.rate()));
        }
    }
    Ok(plan)
}

/// The devices every container may use whatever its rules say (config-linux.md "Default
/// Devices", plus the console, ptmx and pts), and mknod of any device node, as runc allows:
/// access is governed by which nodes exist, the cgroup only backs that up.
fn default_device_rules() -> Vec<DeviceRule> {
    let rule = |kind, major, minor, access: &str| DeviceRule {
        allow: true,
        kind,
        major,
        minor,
        access: access.into(),
    };
    let mut rules = vec![rule('c', None, None, "m"), rule('b', None, None, "m")];
    for (major, minor) in [
        (1, Some(3)),
        (1, Some(5)),
        (1, Some(7)),
        (1, Some(8)),
        (1, Some(9)),
        (5, Some(0)),
        (5, Some(1)),
        (5, Some(2)),
        (136, None),
        (10, Some(200)),
    ] {
        rules.push(rule('c', Some(major), minor, "rwm"));
    }
    rules
}

/// A byte limit: -1 (unlimited) or positive; 0 means "not set" as in runc.
fn limit_value(v: Option<i64>, field: &str) -> Result<Option<i64>> {
    match v {
        Some(n) if n < -1 => bail!("{field}: {n} is negative (use -1 for no limit)"),
        Some(0) | None => Ok(None),
        Some(n) => Ok(Some(n)),
    }
}

fn device_rule(i: usize, d: &LinuxDeviceCgroup) -> Result<DeviceRule> {
    use oci_spec::runtime::LinuxDeviceType as T;
    let kind = match d.typ() {
        None | Some(T::A) => 'a',
        Some(T::C) | Some(T::U) => 'c',
        Some(T::B) => 'b',
        Some(other) => bail!("linux.resources.devices[{i}].type: {other:?} is not a, c or b"),
    };
    let access = d.access().clone().unwrap_or_else(|| "rwm".into());
    if access.is_empty() || !access.chars().all(|c| "rwm".contains(c)) {
        bail!("linux.resources.devices[{i}].access: {access:?} is not a combination of r, w, m");
    }
    Ok(DeviceRule {
        allow: d.allow(),
        kind,
        major: d.major(),
        minor: d.minor(),
        access,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(json: &str) -> Result<ResourcesPlan> {
        ResourcesPlan::from_spec(&serde_json::from_str(json).unwrap(), "c1", false)
    }

    #[test]
    fn no_cgroup_drops_device_rules_and_refuses_limits() {
        let devices = r#"{"resources":{"devices":[{"allow":false,"access":"rwm"}]}}"#;
        let p = plan(devices).unwrap().without_cgroup_if(true).unwrap();
        assert!(p.no_cgroup && p.devices.is_empty());
        assert!(!plan(devices)
            .unwrap()
            .without_cgroup_if(false)
            .unwrap()
            .devices
            .is_empty());
        let err = plan(r#"{"resources":{"memory":{"limit":67108864}}}"#)
            .unwrap()
            .without_cgroup_if(true)
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("--cgroup-manager disabled"),
            "{err:#}"
        );
    }

    #[test]
    fn default_path_and_absolute_relative() {
        assert_eq!(
            plan("{}").unwrap().path,
            CgroupPath::Absolute("/hull/c1".into())
        );
        assert_eq!(
            plan(r#"{"cgroupsPath":"/a/b"}"#).unwrap().path,
            CgroupPath::Absolute("/a/b".into())
        );
        assert_eq!(
            plan(r#"{"cgroupsPath":"a/b"}"#).unwrap().path,
            CgroupPath::Relative("a/b".into())
        );
        assert!(plan(r#"{"cgroupsPath":"/a/../../b"}"#).is_err());
    }

    #[test]
    fn systemd_slice_prefix_name() {
        let systemd = |path: Option<&str>| {
            systemd_path(path.map(Path::new), "c1").map_err(|e| format!("{e:#}"))
        };
        let scope = |slice: Option<&str>, unit: &str| {
            Ok(CgroupPath::Systemd {
                slice: slice.map(Into::into),
                unit: unit.into(),
            })
        };
        assert_eq!(systemd(None), scope(None, "hull-c1.scope"));
        assert_eq!(systemd(Some("")), scope(None, "hull-c1.scope"));
        assert_eq!(
            systemd(Some("machine.slice:podman:abc")),
            scope(Some("machine.slice"), "podman-abc.scope")
        );
        assert_eq!(systemd(Some(":crio:x")), scope(None, "crio-x.scope"));
        assert_eq!(
            systemd(Some("a-b.slice::x")),
            scope(Some("a-b.slice"), "x.scope")
        );
        for bad in [
            "/a/b",
            "a:b",
            "notaslice:p:n",
            "a--b.slice:p:n",
            "-a.slice:p:n",
            "s.slice:p:",
            "s.slice:p:x.slice",
        ] {
            let e = systemd(Some(bad)).unwrap_err();
            assert!(e.starts_with("linux.cgroupsPath: "), "{bad}: {e}");
        }
    }

    #[test]
    fn limits_are_checked_and_named() {
        for (json, field) in [
            (r#"{"memory":{"limit":1000}}"#, "memory.limit"),
            (r#"{"memory":{"limit":-5}}"#, "memory.limit"),
            (
                r#"{"memory":{"limit":104857600,"swap":1048576}}"#,
                "memory.swap",
            ),
            (r#"{"memory":{"swappiness":101}}"#, "swappiness"),
            (r#"{"cpu":{"quota":10}}"#, "cpu.quota"),
            (r#"{"cpu":{"shares":1}}"#, "cpu.shares"),
            (r#"{"cpu":{"period":10}}"#, "cpu.period"),
            (r#"{"cpu":{"cpus":"3-1"}}"#, "cpu.cpus"),
            (r#"{"pids":{"limit":-7}}"#, "pids.limit"),
            (r#"{"blockIO":{"weight":5}}"#, "blockIO.weight"),
            (
                r#"{"devices":[{"allow":true,"access":"rwx"}]}"#,
                "devices[0].access",
            ),
            (r#"{"unified":{"../x":"1"}}"#, "unified"),
        ] {
            let err = plan(&format!(r#"{{"resources":{json}}}"#)).unwrap_err();
            assert!(format!("{err:#}").contains(field), "{json}: {err:#}");
        }
    }

    #[test]
    fn zeros_mean_unset_as_docker_sends_them() {
        let p = plan(r#"{"resources":{"cpu":{"shares":0,"quota":0,"period":0,"realtimeRuntime":0,"realtimePeriod":0},"blockIO":{"weight":0}}}"#).unwrap();
        assert_eq!(p.cpu, CpuPlan::default());
        assert_eq!(p.blkio, BlkioPlan::default());
        assert!(!p.has_limits());
    }

    #[test]
    fn good_limits() {
        let p = plan(
            r#"{"resources":{"memory":{"limit":104857600,"swap":209715200},"cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0-1"},
               "pids":{"limit":64},"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]}}"#,
        )
        .unwrap();
        assert_eq!(p.memory.limit, Some(104857600));
        assert_eq!(p.cpu.cpus.as_deref(), Some("0-1"));
        assert_eq!(p.pids_limit, Some(64));

        assert_eq!(p.devices[0].v1_line(), "a *:* rwm");
        assert_eq!(p.devices[1].v1_line(), "c 1:3 rw");
        let lines: Vec<String> = p.devices.iter().map(|d| d.v1_line()).collect();
        assert!(
            lines.contains(&"c *:* m".to_owned()) && lines.contains(&"c 136:* rwm".to_owned()),
            "{lines:?}"
        );
        let b = plan(
            r#"{"resources":{"blockIO":{"weight":300,"weightDevice":[{"major":254,"minor":0,"weight":500}],
               "throttleReadBpsDevice":[{"major":254,"minor":0,"rate":1048576}],"throttleWriteIOPSDevice":[{"major":254,"minor":0,"rate":100}]}}}"#,
        )
        .unwrap();
        assert_eq!(b.blkio.weight, Some(300));
        assert_eq!(b.blkio.weight_device, vec![(254, 0, Some(500), None)]);
        assert_eq!(
            b.blkio.throttle,
            vec![
                (Throttle::ReadBps, 254, 0, 1048576),
                (Throttle::WriteIops, 254, 0, 100)
            ]
        );
        assert!(plan(
            r#"{"resources":{"blockIO":{"weightDevice":[{"major":1,"minor":2,"weight":5}]}}}"#
        )
        .is_err());
    }
}
