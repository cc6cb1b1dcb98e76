//! linux.devices and linux.sysctl.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};
use oci_spec::runtime::{Linux, LinuxDeviceType};

use super::{NamespacePlan, NsKind};

#[derive(Debug, Clone, PartialEq)]
pub struct DevicePlan {
    /// Absolute path in the container (under /dev as a rule).
    pub path: PathBuf,
    /// 'c', 'b' or 'p' (fifo).
    pub kind: char,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

pub fn devices(linux: &Linux) -> Result<Vec<DevicePlan>> {
    linux
        .devices()
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, d)| {
            let field = format!("linux.devices[{i}]");
            if !d.path().is_absolute() {
                bail!("{field}.path: {} must be absolute", d.path().display());
            }
            let kind = match d.typ() {
                LinuxDeviceType::C | LinuxDeviceType::U => 'c',
                LinuxDeviceType::B => 'b',
                LinuxDeviceType::P => 'p',
                LinuxDeviceType::A => {
                    bail!("{field}.type: \"a\" is only for cgroup rules, not a device to create")
                }
            };
            let num = |n: i64, what: &str| {
                u64::try_from(n).map_err(|_| anyhow::anyhow!("{field}.{what}: {n} is negative"))
            };
            Ok(DevicePlan {
                path: d.path().clone(),
                kind,
                major: num(d.major(), "major")?,
                minor: num(d.minor(), "minor")?,
                mode: d.file_mode().unwrap_or(0o666) & 0o7777,
                uid: d.uid().unwrap_or(0),
                gid: d.gid().unwrap_or(0),
            })
        })
        .collect()
}

/// Sysctls are only allowed for the kernel namespaces the container has of its own (runc's
/// rule): writing any other key would change the host. A joined namespace counts as the
/// container's own unless it is hull's (the host's): runc checks that for the network one,
/// hull for all three. `kernel.hostname` conflicts with the `hostname` field.
pub fn sysctls(linux: &Linux, ns: &NamespacePlan) -> Result<BTreeMap<String, String>> {
    let all = linux.sysctl().clone().unwrap_or_default();
    for key in all.keys() {
        if key == "kernel.hostname" {
            bail!("linux.sysctl: {key:?} is not allowed: it conflicts with the hostname field");
        }
        let ipc = [
            "kernel.msgmax",
            "kernel.msgmnb",
            "kernel.msgmni",
            "kernel.sem",
            "kernel.shmall",
            "kernel.shmmax",
            "kernel.shmmni",
            "kernel.shm_rmid_forced",
        ];
        let needs = if ipc.contains(&key.as_str()) || key.starts_with("fs.mqueue.") {
            NsKind::Ipc
        } else if key.starts_with("net.") {
            NsKind::Network
        } else if key == "kernel.hostname" || key == "kernel.domainname" {
            NsKind::Uts
        } else {
            bail!("linux.sysctl: {key:?} is not namespaced: setting it would change the host");
        };
        if !ns.has(needs) {
            bail!("linux.sysctl: {key:?} needs its own {needs} namespace in linux.namespaces");
        }
        if let Some(join) = ns.join.iter().find(|j| j.kind == needs) {
            if is_our_namespace(&join.path, needs) {
                bail!(
                    "linux.sysctl: {key:?} would change the host: the {needs} namespace {} is hull's own",
                    join.path.display()
                );
            }
        }
    }
    Ok(all.into_iter().collect())
}

/// Whether the namespace file `path` is the one this process is in (same nsfs inode).
pub(crate) fn is_our_namespace(path: &std::path::Path, kind: NsKind) -> bool {
    use std::os::unix::fs::MetadataExt;
    let name = match kind {
        NsKind::Network => "net",
        NsKind::Ipc => "ipc",
        NsKind::Uts => "uts",
        _ => return false,
    };
    match (
        std::fs::metadata(path),
        std::fs::metadata(format!("/proc/self/ns/{name}")),
    ) {
        (Ok(theirs), Ok(ours)) => (theirs.dev(), theirs.ino()) == (ours.dev(), ours.ino()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux(json: &str) -> Linux {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn sysctls_never_reach_the_hosts_namespaces() {
        for (kind, key) in [
            ("network", "net.ipv4.ip_forward"),
            ("ipc", "kernel.shmmax"),
            ("uts", "kernel.domainname"),
        ] {
            let short = if kind == "network" { "net" } else { kind };
            let l = linux(&format!(
                r#"{{"namespaces":[{{"type":"mount"}},{{"type":"{kind}","path":"/proc/self/ns/{short}"}}],"sysctl":{{"{key}":"1"}}}}"#
            ));
            let ns = NamespacePlan::from_spec(&l).unwrap();
            let err = format!("{:#}", sysctls(&l, &ns).unwrap_err());
            assert!(err.contains(key) && err.contains("hull's own"), "{err}");
        }
        let l = linux(r#"{"namespaces":[{"type":"uts"}],"sysctl":{"kernel.hostname":"x"}}"#);
        let ns = NamespacePlan::from_spec(&l).unwrap();
        let err = format!("{:#}", sysctls(&l, &ns).unwrap_err());
        assert!(err.contains("hostname field"), "{err}");
        let l = linux(r#"{"namespaces":[{"type":"mount"}],"sysctl":{"kernel.domainname":"x"}}"#);
        let ns = NamespacePlan::from_spec(&l).unwrap();
        assert!(format!("{:#}", sysctls(&l, &ns).unwrap_err()).contains("uts"));
    }

    #[test]
    fn sysctls_need_their_namespace() {
        let l = linux(
            r#"{"namespaces":[{"type":"mount"},{"type":"network"}],"sysctl":{"net.ipv4.ip_forward":"1"}}"#,
        );
        let ns = NamespacePlan::from_spec(&l).unwrap();
        assert_eq!(sysctls(&l, &ns).unwrap()["net.ipv4.ip_forward"], "1");
        let l = linux(r#"{"namespaces":[{"type":"mount"}],"sysctl":{"kernel.shmmax":"1"}}"#);
        let ns = NamespacePlan::from_spec(&l).unwrap();
        assert!(format!("{:#}", sysctls(&l, &ns).unwrap_err()).contains("ipc"));
        let l = linux(r#"{"namespaces":[{"type":"mount"}],"sysctl":{"vm.swappiness":"1"}}"#);
        let ns = NamespacePlan::from_spec(&l).unwrap();
        assert!(format!("{:#}", sysctls(&l, &ns).unwrap_err()).contains("not namespaced"));
    }

    #[test]
    fn devices_are_checked() {
        let d = devices(&linux(r#"{"devices":[{"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":438}]}"#)).unwrap();
        assert_eq!(
            (d[0].kind, d[0].major, d[0].minor, d[0].mode),
            ('c', 10, 229, 0o666)
        );
        assert!(devices(&linux(
            r#"{"devices":[{"path":"dev/x","type":"c","major":1,"minor":1}]}"#
        ))
        .is_err());
    }
}
