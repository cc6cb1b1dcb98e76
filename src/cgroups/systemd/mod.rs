//! The systemd driver (`--systemd-cgroup`): systemd makes the container's cgroup, a transient
//! scope holding init (StartTransientUnit, Delegate=yes), and is told the limits as unit
//! properties so that it never resets them; the cgroup files themselves are then written by
//! the v1 or v2 driver, as for any cgroup. A scope needs a process, so the scope starts when
//! init exists (`add`), before init runs any code of the container. A caller without real
//! root gets a scope of its own user manager (`systemd --user`), as with runc.

mod dbus;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::unistd::Pid;

use self::dbus::{Arg, Connection, DbusError, Value};
use super::values::shares_to_weight;
use super::{CgroupRecord, Manager};
use crate::plan::{CgroupPath, ResourcesPlan};

pub struct Systemd {
    unit: String,
    /// A rootless caller's own user manager (`systemd --user`) rather than the system's.
    user: bool,
    /// The cgroupfs manager of the scope's cgroup (moved to where systemd put it, if elsewhere).
    fs: RefCell<Box<dyn Manager>>,
    /// Until `add` has started the scope: where it goes, and the limits to apply then. `None`
    /// once the scope exists (always, for a recorded container).
    planned: RefCell<Option<Planned>>,
}

struct Planned {
    slice: String,
    /// Limits `apply`'d before the scope exists.
    resources: Option<ResourcesPlan>,
}

impl Systemd {
    /// As runc: a caller without real root talks to its own user manager, whose default
    /// slice is user.slice.
    pub fn new(slice: Option<&str>, unit: &str) -> Result<Self> {
        let user = crate::rootless::is_rootless();
        let slice = slice
            .unwrap_or(if user { "user.slice" } else { "system.slice" })
            .to_owned();
        // Where the scope will be, as far as the slice says: a user manager's slices are below
        // its own cgroup, known once the scope exists (`start` moves `fs` there).
        let path = format!("{}/{unit}", expand_slice(&slice));
        let fs = super::for_path(&CgroupPath::Absolute(path.into()))?;
        let planned = Planned {
            slice,
            resources: None,
        };
        Ok(Self {
            unit: unit.to_owned(),
            user,
            fs: RefCell::new(fs),
            planned: RefCell::new(Some(planned)),
        })
    }

    pub fn from_record(unit: &str, record: &CgroupRecord) -> Self {
        let fs = super::from_fs_record(&CgroupRecord {
            systemd_unit: None,
            ..record.clone()
        });
        Self {
            unit: unit.to_owned(),
            user: crate::rootless::is_rootless(),
            fs: RefCell::new(fs),
            planned: RefCell::new(None),
        }
    }

    fn started(&self) -> bool {
        self.planned.borrow().is_none()
    }

    fn bus(&self) -> Result<Connection> {
        Connection::to_manager(self.user)
    }

    /// Start the scope with `pid` in it and wait until systemd has moved it there.
    fn start(&self, pid: Pid, plan: Planned) -> Result<()> {
        let v2 = super::host_is_v2();
        let mut props = vec![
            (
                "Description",
                Value::Str(format!("hull container {}", self.unit)),
            ),
            ("Slice", Value::Str(plan.slice.clone())),
            ("Delegate", Value::Bool(true)),
            ("PIDs", Value::U32s(vec![pid.as_raw() as u32])),
            ("DefaultDependencies", Value::Bool(false)),
            // A scope whose init failed is garbage-collected, so its name can be used again.
            ("CollectMode", Value::Str("inactive-or-failed".into())),
            ("MemoryAccounting", Value::Bool(true)),
            ("CPUAccounting", Value::Bool(true)),
            ("TasksAccounting", Value::Bool(true)),
            (
                if v2 {
                    "IOAccounting"
                } else {
                    "BlockIOAccounting"
                },
                Value::Bool(true),
            ),
        ];
        if let Some(r) = &plan.resources {
            props.extend(unit_properties(r, v2));
        }
        let mut bus = self.bus()?;
        let args = |props| {
            [
                Arg::Str(&self.unit),
                Arg::Str("fail"),
                Arg::Properties(props),
                Arg::NoAuxUnits,
            ]
        };
        match bus.manager("StartTransientUnit", &args(&props)) {
            // A failed scope of the same name that systemd still keeps: reset it, try once more.
            Err(e)
                if e.downcast_ref::<DbusError>()
                    .is_some_and(|d| d.name.ends_with(".UnitExists")) =>
            {
                let _ = bus.manager("ResetFailedUnit", &[Arg::Str(&self.unit)]);
                bus.manager("StartTransientUnit", &args(&props))
            }
            other => other,
        }
        .with_context(|| format!("systemd: starting {} in {}", self.unit, plan.slice))?;
        // Where systemd put it is the truth (a user manager's slices live below its own cgroup).
        let path = wait_for_scope(pid, &self.unit)?;
        *self.fs.borrow_mut() = super::for_path(&CgroupPath::Absolute(path.into()))?;
        let fs = self.fs.borrow();
        // v1: hierarchies systemd does not manage are made here (and joined below). v2: the
        // slices' controllers are systemd's to enable (Delegate=yes did for the scope).
        if !v2 {
            fs.create()?;
        }
        fs.add(pid)?;
        match &plan.resources {
            Some(r) => fs.apply(r),
            None => Ok(()),
        }
    }
}

impl Manager for Systemd {
    fn record(&self) -> CgroupRecord {
        CgroupRecord {
            systemd_unit: Some(self.unit.clone()),
            ..self.fs.borrow().record()
        }
    }

    /// Nothing yet: a scope is made with its first process (`add`).
    fn create(&self) -> Result<()> {
        Ok(())
    }

    fn apply(&self, resources: &ResourcesPlan) -> Result<()> {
        if let Some(plan) = self.planned.borrow_mut().as_mut() {
            plan.resources = Some(resources.clone());
            return Ok(());
        }
        // `update`: systemd first, or it would put its own values back on its next reload.
        let props = unit_properties(resources, super::host_is_v2());
        if !props.is_empty() {
            self.bus()?
                .manager(
                    "SetUnitProperties",
                    &[
                        Arg::Str(&self.unit),
                        Arg::Bool(true),
                        Arg::Properties(&props),
                    ],
                )
                .with_context(|| format!("systemd: setting the limits of {}", self.unit))?;
        }
        self.fs.borrow().apply(resources)
    }

    fn add(&self, pid: Pid) -> Result<()> {
        // Taken out whatever happens: a failed start is not retried, `destroy` stops the unit.
        let planned = self.planned.borrow_mut().take();
        match planned {
            Some(plan) => self.start(pid, plan),
            None => self.fs.borrow().add(pid),
        }
    }

    fn pids(&self) -> Result<Vec<Pid>> {
        self.fs.borrow().pids()
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        self.fs.borrow().set_frozen(frozen)
    }

    fn is_frozen(&self) -> bool {
        self.fs.borrow().is_frozen()
    }

    fn kill_all(&self) -> bool {
        self.fs.borrow().kill_all()
    }

    /// Stop the scope (systemd removes its cgroup), then remove whatever is left.
    fn destroy(&self) -> Result<()> {
        if let Ok(mut bus) = self.bus() {
            match bus.manager("StopUnit", &[Arg::Str(&self.unit), Arg::Str("replace")]) {
                Err(e)
                    if e.downcast_ref::<DbusError>()
                        .is_some_and(|d| d.name.ends_with(".NoSuchUnit")) => {}
                Err(e) => crate::log::debug(&format!("systemd: stopping {}: {e:#}", self.unit)),
                Ok(()) => {}
            }
            let _ = bus.manager("ResetFailedUnit", &[Arg::Str(&self.unit)]);
        }
        self.fs.borrow().destroy()
    }

    fn stats(&self) -> Result<serde_json::Value> {
        self.fs.borrow().stats()
    }

    fn oom_kills(&self) -> Option<u64> {
        self.fs.borrow().oom_kills()
    }

    fn oom_watch(&self) -> Option<crate::cgroups::oom_watch::OomWatch> {
        self.fs.borrow().oom_watch()
    }

    fn memory_usage(&self) -> Option<u64> {
        self.fs.borrow().memory_usage()
    }

    /// Only into an existing scope (exec): init is moved in by systemd.
    fn clone_target(&self) -> Option<std::os::fd::OwnedFd> {
        if self.started() {
            self.fs.borrow().clone_target()
        } else {
            None
        }
    }

    fn self_join_files(&self) -> Result<Vec<(std::path::PathBuf, std::os::fd::OwnedFd)>> {
        if self.started() {
            self.fs.borrow().self_join_files()
        } else {
            Ok(Vec::new())
        }
    }
}

/// A slice's cgroup path: each dash-separated prefix is a parent slice
/// (`a-b.slice` → `/a.slice/a-b.slice`); `-.slice` is the root.
fn expand_slice(slice: &str) -> String {
    let base = slice.strip_suffix(".slice").unwrap_or(slice);
    if base == "-" {
        return String::new();
    }
    let mut path = String::new();
    for (i, _) in base.match_indices('-').chain([(base.len(), "")]) {
        path.push('/');
        path.push_str(&base[..i]);
        path.push_str(".slice");
    }
    path
}

/// The cgroup path (as this process sees it) that systemd moved `pid` into: the one ending
/// in `/unit`. systemd moves the PIDs when it runs the start job, just after the call returns.
fn wait_for_scope(pid: Pid, unit: &str) -> Result<String> {
    let suffix = format!("/{unit}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut pause = Duration::from_micros(100);
    loop {
        let cgroups = super::fs::cgroups_of(&pid.to_string())?;
        // v2's line ("0::/…") if there is one, else any v1 hierarchy systemd manages.
        let found = cgroups
            .iter()
            .find(|(c, p)| c.is_empty() && p.ends_with(&suffix))
            .or_else(|| cgroups.iter().find(|(_, p)| p.ends_with(&suffix)));
        if let Some((_, path)) = found {
            return Ok(path.clone());
        }
        if Instant::now() > deadline {
            bail!("systemd: {unit} was started but pid {pid} was not moved into it within 10 s");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// The limits systemd itself manages for a unit, so that it keeps (rather than resets) the
/// values hull writes: runc's subset, in systemd's units (v2 names, or v1's where they differ).
fn unit_properties(r: &ResourcesPlan, v2: bool) -> Vec<(&'static str, Value)> {
    let infinity_or = |v: i64| Value::U64(if v < 0 { u64::MAX } else { v as u64 });
    let mut props = Vec::new();
    if let Some(limit) = r.memory.limit {
        props.push((
            if v2 { "MemoryMax" } else { "MemoryLimit" },
            infinity_or(limit),
        ));
    }
    if v2 {
        if let Some(low) = r.memory.reservation {
            props.push(("MemoryLow", infinity_or(low)));
        }
        if let Some(swap) = r.memory.swap {
            let swap_only = match (swap, r.memory.limit) {
                (s, Some(l)) if s >= 0 && l > 0 => (s - l).max(0),
                (s, _) => s,
            };
            props.push(("MemorySwapMax", infinity_or(swap_only)));
        }
    }
    if let Some(pids) = r.pids_limit {
        props.push(("TasksMax", infinity_or(if pids <= 0 { -1 } else { pids })));
    }
    if let Some(shares) = r.cpu.shares {
        props.push(if v2 {
            ("CPUWeight", Value::U64(shares_to_weight(shares)))
        } else {
            ("CPUShares", Value::U64(shares))
        });
    }
    if let Some(quota) = r.cpu.quota {
        let period = r.cpu.period.unwrap_or(100_000).max(1);
        // systemd counts in 1% steps (10 ms of CPU per second): round up, as runc does.
        let per_sec = if quota <= 0 {
            u64::MAX
        } else {
            (quota as u64 * 1_000_000 / period).div_ceil(10_000) * 10_000
        };
        props.push(("CPUQuotaPerSecUSec", Value::U64(per_sec)));
        if v2 {
            props.push(("CPUQuotaPeriodUSec", Value::U64(period)));
        }
    }
    if v2 {
        if let Some(mask) = r.cpu.cpus.as_deref().and_then(cpu_mask) {
            props.push(("AllowedCPUs", Value::Bytes(mask)));
        }
        if let Some(mask) = r.cpu.mems.as_deref().and_then(cpu_mask) {
            props.push(("AllowedMemoryNodes", Value::Bytes(mask)));
        }
    }
    props
}

/// A cpuset list ("0-2,5") as systemd's bitmask bytes (bit n of byte n/8 is cpu n); `None`
/// for an empty or malformed list (the cgroup file write reports those).
fn cpu_mask(list: &str) -> Option<Vec<u8>> {
    let mut mask = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?),
            None => (part.parse().ok()?, part.parse().ok()?),
        };
        if lo > hi || hi >= 8192 {
            return None;
        }
        for cpu in lo..=hi {
            if mask.len() <= cpu / 8 {
                mask.resize(cpu / 8 + 1, 0);
            }
            mask[cpu / 8] |= 1 << (cpu % 8);
        }
    }
    (!mask.is_empty()).then_some(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_expand_to_their_parents() {
        assert_eq!(expand_slice("system.slice"), "/system.slice");
        assert_eq!(
            expand_slice("a-b-c.slice"),
            "/a.slice/a-b.slice/a-b-c.slice"
        );
        assert_eq!(expand_slice("-.slice"), "");
    }

    #[test]
    fn cpu_lists_become_bitmasks() {
        assert_eq!(cpu_mask("0"), Some(vec![1]));
        assert_eq!(cpu_mask("0-2,5"), Some(vec![0b100111]));
        assert_eq!(cpu_mask("9"), Some(vec![0, 2]));
        assert_eq!(cpu_mask(""), None);
        assert_eq!(cpu_mask("3-1"), None);
        assert_eq!(cpu_mask("x"), None);
    }

    #[test]
    fn limits_become_unit_properties() {
        let json = r#"{"memory":{"limit":67108864,"swap":100663296},"cpu":{"shares":1024,"quota":50001,"period":100000,"cpus":"0"},"pids":{"limit":-1}}"#;
        let r = ResourcesPlan::from_resources(
            &serde_json::from_str(json).unwrap(),
            CgroupPath::Absolute("/".into()),
        )
        .unwrap();
        let v2 = unit_properties(&r, true);
        let get = |props: &[(&str, Value)], name: &str| {
            props
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get(&v2, "MemoryMax"), Some(Value::U64(64 << 20)));
        assert_eq!(
            get(&v2, "MemorySwapMax"),
            Some(Value::U64(32 << 20)),
            "v2 swap is swap alone"
        );
        assert_eq!(
            get(&v2, "TasksMax"),
            Some(Value::U64(u64::MAX)),
            "-1 means no limit"
        );
        assert_eq!(get(&v2, "CPUWeight"), Some(Value::U64(39)));
        assert_eq!(
            get(&v2, "CPUQuotaPerSecUSec"),
            Some(Value::U64(510_000)),
            "rounded up to 1%"
        );
        assert_eq!(get(&v2, "AllowedCPUs"), Some(Value::Bytes(vec![1])));
        let v1 = unit_properties(&r, false);
        assert_eq!(get(&v1, "MemoryLimit"), Some(Value::U64(64 << 20)));
        assert_eq!(get(&v1, "CPUShares"), Some(Value::U64(1024)));
        assert_eq!(get(&v1, "MemorySwapMax"), None);
    }
}
