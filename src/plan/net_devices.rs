//! linux.netDevices: host interfaces the parent moves into the container's network namespace.

use anyhow::{bail, Result};

use super::{devices, NamespacePlan, NsKind};

/// A host network device to move into the container (`linux.netDevices`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDevicePlan {
    /// Its name on the host.
    pub host: String,
    /// Its name in the container (the host's unless `name` is given; `%d` lets the kernel
    /// number it).
    pub name: String,
}

/// `linux.netDevices`: valid names, each target once, and a network namespace of the
/// container's own to move them into (not hull's).
pub(super) fn plan(
    linux: &oci_spec::runtime::Linux,
    ns: &NamespacePlan,
) -> Result<Vec<NetDevicePlan>> {
    let Some(devices) = linux.net_devices().as_ref().filter(|d| !d.is_empty()) else {
        return Ok(Vec::new());
    };
    let own_netns = ns.creates(NsKind::Network)
        || ns.join.iter().any(|j| {
            j.kind == NsKind::Network && !devices::is_our_namespace(&j.path, NsKind::Network)
        });
    if !own_netns {
        bail!("linux.netDevices: needs a network namespace of the container's own in linux.namespaces");
    }
    let valid = |name: &str| {
        !name.is_empty()
            && name.len() < 16
            && name != "."
            && name != ".."
            && !name.contains(|c: char| c == '/' || c == ':' || c.is_whitespace())
    };
    let mut hosts: Vec<&String> = devices.keys().collect();
    hosts.sort();
    let mut plans: Vec<NetDevicePlan> = Vec::new();
    for host in hosts {
        let name = devices[host].name().clone().unwrap_or_else(|| host.clone());
        if !valid(host) {
            bail!("linux.netDevices: {host:?} is not a network device name");
        }
        if !valid(&name) {
            bail!("linux.netDevices[{host:?}].name: {name:?} is not a network device name");
        }
        if plans.iter().any(|p| p.name == name && !name.contains("%d")) {
            bail!("linux.netDevices[{host:?}].name: {name:?} is given to two devices");
        }
        plans.push(NetDevicePlan {
            host: host.clone(),
            name,
        });
    }
    Ok(plans)
}
