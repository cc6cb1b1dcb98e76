//! linux.namespaces, uid/gid mappings and time offsets.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{Linux, LinuxNamespaceType};

/// A namespace kind; the discriminant is its `CLONE_NEW*` flag.
pub type NsKind = LinuxNamespaceType;

/// Every kind of namespace hull makes or joins (`features` lists them from here).
pub const ALL_KINDS: [NsKind; 8] = [
    NsKind::Cgroup,
    NsKind::Ipc,
    NsKind::Mount,
    NsKind::Network,
    NsKind::Pid,
    NsKind::Time,
    NsKind::User,
    NsKind::Uts,
];

/// A namespace to join by path.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub kind: NsKind,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

#[derive(Debug, Clone, Default)]
pub struct NamespacePlan {
    /// Namespaces to create.
    pub new: Vec<NsKind>,
    /// Namespaces to join, user namespace first (the kernel's permission rules need it first).
    pub join: Vec<Join>,
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    /// `linux.timeOffsets` as lines for `/proc/self/timens_offsets`.
    pub time_offsets: Vec<String>,
}

impl NamespacePlan {
    pub fn from_spec(linux: &Linux) -> Result<Self> {
        let mut plan = Self::default();
        for ns in linux.namespaces().iter().flatten() {
            let kind = ns.typ();
            if plan.new.contains(&kind) || plan.join.iter().any(|j| j.kind == kind) {
                bail!("linux.namespaces: namespace type {kind} appears twice");
            }
            match ns.path() {
                Some(p) if !p.as_os_str().is_empty() => {
                    if !p.is_absolute() {
                        bail!(
                            "linux.namespaces: path {} for {kind} must be absolute",
                            p.display()
                        );
                    }
                    plan.join.push(Join {
                        kind,
                        path: p.clone(),
                    });
                }
                _ => plan.new.push(kind),
            }
        }
        plan.join.sort_by_key(|j| j.kind != NsKind::User);
        plan.uid_map = id_maps(linux.uid_mappings(), "linux.uidMappings")?;
        plan.gid_map = id_maps(linux.gid_mappings(), "linux.gidMappings")?;
        let has_maps = !plan.uid_map.is_empty() || !plan.gid_map.is_empty();
        if plan.creates(NsKind::User) {
            if plan.uid_map.is_empty() || plan.gid_map.is_empty() {
                bail!("linux.uidMappings/gidMappings: a new user namespace needs both mappings");
            }
        } else if has_maps {
            bail!(
                "linux.uidMappings: mappings given but linux.namespaces creates no user namespace"
            );
        }
        if let Some(offsets) = linux.time_offsets() {
            if !plan.creates(NsKind::Time) {
                bail!("linux.timeOffsets: needs a new time namespace in linux.namespaces");
            }
            let mut clocks: Vec<_> = offsets.iter().collect();
            clocks.sort_by_key(|(clock, _)| clock.as_str());
            for (clock, off) in clocks {
                if clock != "monotonic" && clock != "boottime" {
                    bail!("linux.timeOffsets: unknown clock {clock:?} (monotonic or boottime)");
                }
                let nanos = off.nanosecs().unwrap_or(0);
                if nanos >= 1_000_000_000 {
                    bail!("linux.timeOffsets.{clock}.nanosecs: {nanos} is not below one second");
                }
                plan.time_offsets
                    .push(format!("{clock} {} {nanos}", off.secs().unwrap_or(0)));
            }
        }
        Ok(plan)
    }

    pub fn creates(&self, kind: NsKind) -> bool {
        self.new.contains(&kind)
    }

    pub fn joins(&self, kind: NsKind) -> bool {
        self.join.iter().any(|j| j.kind == kind)
    }

    /// New or joined.
    pub fn has(&self, kind: NsKind) -> bool {
        self.creates(kind) || self.joins(kind)
    }

    /// Without a mount namespace of its own the container's mounts are made in hull's (under
    /// the rootfs, detached again by `delete`) and init chroots instead of pivoting.
    pub fn has_mount_namespace(&self) -> bool {
        self.has(NsKind::Mount)
    }

    /// Flags for the namespaces init gets from clone3: a new pid namespace (init must be its
    /// first process) and a new user namespace (it must own the pid namespace). The others
    /// init makes itself ([`Self::unshare_flags`]) once it is in its cgroup, so their kernel
    /// memory (a network namespace's above all) is charged to the container, not to hull's
    /// caller (a shim or conmon), as runc and crun do.
    pub fn clone_flags(&self) -> u64 {
        self.new
            .iter()
            .filter(|k| matches!(k, NsKind::User | NsKind::Pid))
            .fold(0, |acc, k| acc | *k as u64)
    }

    /// Flags for the new namespaces init unshares itself, in its cgroup: all but user and pid
    /// (see [`Self::clone_flags`]), time (its offsets must be written before any process
    /// enters it, so init moves into it at execve) and cgroup (unshared on its own, rooted at
    /// the container's cgroup).
    pub fn unshare_flags(&self) -> u64 {
        self.new
            .iter()
            .filter(|k| {
                !matches!(
                    k,
                    NsKind::User | NsKind::Pid | NsKind::Time | NsKind::Cgroup
                )
            })
            .fold(0, |acc, k| acc | *k as u64)
    }

    /// Joining namespaces needs a different order than one clone gives (join first, then
    /// create), and joining a pid namespace only applies to children: then init is the
    /// grandchild of hull, through an intermediate process.
    pub fn needs_intermediate(&self) -> bool {
        !self.join.is_empty()
    }
}

pub(crate) fn id_maps(
    maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>,
    field: &str,
) -> Result<Vec<IdMap>> {
    maps.iter()
        .flatten()
        .enumerate()
        .map(|(i, m)| {
            if m.size() == 0 {
                bail!("{field}[{i}].size: must be at least 1");
            }
            m.container_id()
                .checked_add(m.size())
                .and(m.host_id().checked_add(m.size()))
                .with_context(|| format!("{field}[{i}]: range overflows 32 bits"))?;
            Ok(IdMap {
                container: m.container_id(),
                host: m.host_id(),
                size: m.size(),
            })
        })
        .collect()
}

/// The text written to `/proc/PID/uid_map` or `gid_map`.
pub fn map_text(maps: &[IdMap]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container, m.host, m.size))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux(json: &str) -> Linux {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn new_and_joined_namespaces_split() {
        let p = NamespacePlan::from_spec(&linux(
            r#"{"namespaces":[{"type":"mount"},{"type":"network","path":"/var/run/netns/x"},{"type":"pid"},{"type":"user","path":"/proc/1/ns/user"}]}"#,
        ))
        .unwrap();
        assert_eq!(p.new, vec![NsKind::Mount, NsKind::Pid]);
        assert_eq!(
            p.join[0].kind,
            NsKind::User,
            "user namespace is joined first"
        );
        assert_eq!(p.clone_flags(), libc::CLONE_NEWPID as u64);
        assert_eq!(p.unshare_flags(), libc::CLONE_NEWNS as u64);
        assert!(p.needs_intermediate());
    }

    #[test]
    fn duplicates_and_relative_paths_are_errors() {
        assert!(NamespacePlan::from_spec(&linux(
            r#"{"namespaces":[{"type":"mount"},{"type":"mount"}]}"#
        ))
        .is_err());
        let err = NamespacePlan::from_spec(&linux(
            r#"{"namespaces":[{"type":"mount"},{"type":"network","path":"x"}]}"#,
        ))
        .unwrap_err();
        assert!(err.to_string().contains("absolute"));
    }

    #[test]
    fn no_mount_namespace_is_allowed() {
        let p = NamespacePlan::from_spec(&linux(r#"{"namespaces":[{"type":"pid"}]}"#)).unwrap();
        assert!(!p.has_mount_namespace());
    }

    #[test]
    fn user_namespace_needs_maps_and_maps_need_user_namespace() {
        let no_maps = r#"{"namespaces":[{"type":"mount"},{"type":"user"}]}"#;
        assert!(NamespacePlan::from_spec(&linux(no_maps)).is_err());
        let maps = r#""uidMappings":[{"containerID":0,"hostID":1000,"size":10}],"gidMappings":[{"containerID":0,"hostID":1000,"size":10}]"#;
        let ok = format!(r#"{{{maps},"namespaces":[{{"type":"mount"}},{{"type":"user"}}]}}"#);
        let p = NamespacePlan::from_spec(&linux(&ok)).unwrap();
        assert_eq!(map_text(&p.uid_map), "0 1000 10\n");
        let stray = format!(r#"{{{maps},"namespaces":[{{"type":"mount"}}]}}"#);
        assert!(NamespacePlan::from_spec(&linux(&stray)).is_err());
    }

    #[test]
    fn time_offsets_need_time_namespace_and_stay_out_of_clone() {
        let off = r#""timeOffsets":{"monotonic":{"secs":10,"nanosecs":5}}"#;
        assert!(NamespacePlan::from_spec(&linux(&format!(
            r#"{{{off},"namespaces":[{{"type":"mount"}}]}}"#
        )))
        .is_err());
        let p = NamespacePlan::from_spec(&linux(&format!(
            r#"{{{off},"namespaces":[{{"type":"mount"}},{{"type":"time"}}]}}"#
        )))
        .unwrap();
        assert_eq!(p.time_offsets, vec!["monotonic 10 5"]);
        assert_eq!(p.clone_flags(), 0);
        assert_eq!(p.unshare_flags(), libc::CLONE_NEWNS as u64);
    }
}
