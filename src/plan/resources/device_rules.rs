//! linux.resources.devices: the device cgroup's rules, with the defaults every container gets.

use anyhow::{bail, Result};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxResources};

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

/// The config's rules; when it has any, the default devices' and those of the nodes
/// `linux.devices` makes follow them.
pub(super) fn rules(
    r: &LinuxResources,
    linux_devices: &Option<Vec<LinuxDevice>>,
) -> Result<Vec<DeviceRule>> {
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
    Ok(devices)
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
