//! `mounts`: each entry parsed into mount(2) flags, propagation and filesystem data.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::mount::MsFlags;
use oci_spec::runtime::Mount;

use super::namespaces::{id_maps, IdMap};
use crate::spec::MountIdMaps;

/// What kind of mount an entry asks for; decides how the rootfs executor performs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    /// A bind (or rbind) of a host path.
    Bind { recursive: bool },
    /// `cgroup`/`cgroup2`: the container's view of the cgroup hierarchies.
    Cgroup,
    /// Any other filesystem type, mounted fresh.
    Fresh,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MountPlan {
    /// Absolute path inside the container.
    pub destination: PathBuf,
    /// Host path for binds (relative sources are relative to the bundle), device or label
    /// for other types.
    pub source: Option<PathBuf>,
    pub fstype: String,
    pub kind: MountKind,
    /// Flags for mount(2), without MS_BIND/MS_REC and propagation.
    pub flags: MsFlags,
    /// Propagation changes applied after the mount, in order.
    pub propagation: Vec<MsFlags>,
    /// Options the kernel does not know as flags: passed as the filesystem's data string.
    pub data: String,
    /// Recursive attributes (`rro`, `rnosuid`, ...), applied with mount_setattr(2) to the
    /// whole tree after the mount.
    pub recursive_attrs: MountAttrs,
    /// `tmpcopyup`: fill the new tmpfs with what the destination held before.
    pub copy_up: bool,
    /// `uidMappings`/`gidMappings`: an idmapped bind mount.
    pub id_map: Option<MountIdMap>,
    /// Read-only, but mounted writable and made read-only once the mounts nested under it
    /// (and, for /dev, its devices) exist: see [`defer_readonly`].
    pub defer_readonly: bool,
}

/// A read-only mount of its own (not a bind) that later mounts nest under, or /dev (where the
/// devices are made), is made read-only last, as runc's finalizeRootfs does: else nothing
/// could be mounted or made in it.
pub fn defer_readonly(mounts: &mut [MountPlan]) {
    for i in 0..mounts.len() {
        let (head, tail) = mounts.split_at_mut(i + 1);
        let m = &mut head[i];
        m.defer_readonly = m.flags.contains(MsFlags::MS_RDONLY)
            && matches!(m.kind, MountKind::Fresh)
            && (m.destination == std::path::Path::new("/dev")
                || tail
                    .iter()
                    .any(|n| n.destination.starts_with(&m.destination)));
    }
}

/// MOUNT_ATTR_* bits to set and clear.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MountAttrs {
    pub set: u64,
    pub clr: u64,
}

impl MountAttrs {
    pub fn is_empty(&self) -> bool {
        self.set == 0 && self.clr == 0
    }
}

/// The id mappings of an idmapped mount (as in linux.uidMappings: container → host).
#[derive(Debug, Clone, PartialEq)]
pub struct MountIdMap {
    pub uid: Vec<IdMap>,
    pub gid: Vec<IdMap>,
}

impl MountPlan {
    /// `maps`: the entry's uidMappings/gidMappings (which oci-spec's Mount cannot hold).
    /// The bind of the container's own notify socket's directory `dir` (in its state dir) at
    /// [`super::NOTIFY_DIR`], as runc gives a container run by a systemd unit.
    pub fn notify_socket_dir(dir: &Path) -> Result<Self> {
        let m = oci_spec::runtime::MountBuilder::default()
            .destination(super::NOTIFY_DIR)
            .typ("bind")
            .source(dir)
            .options(["bind", "nosuid", "nodev"].map(str::to_owned).to_vec())
            .build()
            .context("the notify socket's mount")?;
        Self::from_spec(&m, None, dir)
    }

    pub fn from_spec(m: &Mount, maps: Option<&MountIdMaps>, bundle: &Path) -> Result<Self> {
        let dest = m.destination();
        if dest.as_os_str().is_empty() {
            bail!("destination: empty");
        }
        // runc accepts a relative destination as relative to "/"; so do we.
        let destination = Path::new("/").join(dest);
        let fstype = m.typ().clone().unwrap_or_default();
        let mut flags = MsFlags::empty();
        let mut bind = fstype == "bind";
        let mut recursive = false;
        let mut propagation = Vec::new();
        let mut data = Vec::new();
        let mut recursive_attrs = MountAttrs::default();
        let mut copy_up = false;
        for opt in m.options().iter().flatten() {
            match opt.as_str() {
                "bind" => bind = true,
                "rbind" => (bind, recursive) = (true, true),
                "tmpcopyup" => copy_up = true,
                o => {
                    if let Some((set, clr)) = recursive_attr(o) {
                        // The atime mode is one field: a later option replaces it whole.
                        if clr == ATIME_FIELD {
                            recursive_attrs.set &= !ATIME_FIELD;
                        }
                        recursive_attrs.set = (recursive_attrs.set & !clr) | set;
                        recursive_attrs.clr = (recursive_attrs.clr & !set) | clr;
                    } else if let Some(p) = propagation_flag(o) {
                        propagation.push(p);
                    } else if let Some((set, flag)) = flag_option(o) {
                        flags.set(flag, set);
                    } else {
                        data.push(o);
                    }
                }
            }
        }
        let kind = match fstype.as_str() {
            _ if bind => MountKind::Bind { recursive },
            "cgroup" | "cgroup2" => MountKind::Cgroup,
            "" => bail!("type: missing for {} (and no bind option)", dest.display()),
            _ => MountKind::Fresh,
        };
        let source = match (m.source(), kind) {
            (None, MountKind::Bind { .. }) => {
                bail!("source: a bind mount of {} needs a source", dest.display())
            }
            (Some(s), MountKind::Bind { .. }) => Some(bundle.join(s)),
            (s, _) => s.clone(),
        };
        if copy_up && fstype != "tmpfs" {
            bail!(
                "options: tmpcopyup is only for tmpfs, not {}",
                if bind { "bind" } else { &fstype }
            );
        }
        let none = MountIdMaps::default();
        let maps = maps.unwrap_or(&none);
        let (uid, gid) = (
            id_maps(&maps.uid_mappings, "uidMappings")?,
            id_maps(&maps.gid_mappings, "gidMappings")?,
        );
        let id_map = match (uid.is_empty(), gid.is_empty()) {
            (true, true) => None,
            (false, false) if bind => Some(MountIdMap { uid, gid }),
            (false, false) => {
                bail!("uidMappings: idmapped mounts are supported for bind mounts, not {fstype}")
            }
            _ => bail!("uidMappings/gidMappings: an idmapped mount needs both"),
        };
        Ok(Self {
            destination,
            source,
            fstype,
            kind,
            flags,
            propagation,
            data: data.join(","),
            recursive_attrs,
            copy_up,
            id_map,
            defer_readonly: false,
        })
    }

    pub fn is_bind(&self) -> bool {
        matches!(self.kind, MountKind::Bind { .. })
    }

    /// For messages: the filesystem type, or "bind".
    pub fn fstype_or_bind(&self) -> &str {
        if self.is_bind() {
            "bind"
        } else {
            &self.fstype
        }
    }
}

/// Mount propagation option names (also the values of `rootfsPropagation`).
pub const PROPAGATION: [(&str, MsFlags); 8] = [
    ("private", MsFlags::MS_PRIVATE),
    ("rprivate", MsFlags::MS_PRIVATE.union(MsFlags::MS_REC)),
    ("shared", MsFlags::MS_SHARED),
    ("rshared", MsFlags::MS_SHARED.union(MsFlags::MS_REC)),
    ("slave", MsFlags::MS_SLAVE),
    ("rslave", MsFlags::MS_SLAVE.union(MsFlags::MS_REC)),
    ("unbindable", MsFlags::MS_UNBINDABLE),
    ("runbindable", MsFlags::MS_UNBINDABLE.union(MsFlags::MS_REC)),
];

/// mount(8) option names that are mount(2) flags: (name, set?, flag). `features` lists them.
pub const FLAG_OPTIONS: [(&str, bool, MsFlags); 27] = [
    ("defaults", false, MsFlags::empty()),
    ("ro", true, MsFlags::MS_RDONLY),
    ("rw", false, MsFlags::MS_RDONLY),
    ("nosuid", true, MsFlags::MS_NOSUID),
    ("suid", false, MsFlags::MS_NOSUID),
    ("nodev", true, MsFlags::MS_NODEV),
    ("dev", false, MsFlags::MS_NODEV),
    ("noexec", true, MsFlags::MS_NOEXEC),
    ("exec", false, MsFlags::MS_NOEXEC),
    ("sync", true, MsFlags::MS_SYNCHRONOUS),
    ("async", false, MsFlags::MS_SYNCHRONOUS),
    ("dirsync", true, MsFlags::MS_DIRSYNC),
    ("remount", true, MsFlags::MS_REMOUNT),
    ("mand", true, MsFlags::MS_MANDLOCK),
    ("nomand", false, MsFlags::MS_MANDLOCK),
    ("noatime", true, MsFlags::MS_NOATIME),
    ("atime", false, MsFlags::MS_NOATIME),
    ("nodiratime", true, MsFlags::MS_NODIRATIME),
    ("diratime", false, MsFlags::MS_NODIRATIME),
    ("relatime", true, MsFlags::MS_RELATIME),
    ("norelatime", false, MsFlags::MS_RELATIME),
    ("strictatime", true, MsFlags::MS_STRICTATIME),
    ("nostrictatime", false, MsFlags::MS_STRICTATIME),
    ("silent", true, MsFlags::MS_SILENT),
    ("loud", false, MsFlags::MS_SILENT),
    ("nosymfollow", true, MS_NOSYMFOLLOW),
    ("symfollow", false, MS_NOSYMFOLLOW),
];

/// Linux 5.10's MS_NOSYMFOLLOW, which nix does not name.
const MS_NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(256);

/// The atime mode bits of mount_setattr(2), cleared together.
const ATIME_FIELD: u64 = libc::MOUNT_ATTR__ATIME;

/// Recursive mount options (runtime-spec "rro" and friends): (name, bits to set, bits to clear).
pub const RECURSIVE_OPTIONS: [(&str, u64, u64); 18] = [
    ("rro", libc::MOUNT_ATTR_RDONLY, 0),
    ("rrw", 0, libc::MOUNT_ATTR_RDONLY),
    ("rnosuid", libc::MOUNT_ATTR_NOSUID, 0),
    ("rsuid", 0, libc::MOUNT_ATTR_NOSUID),
    ("rnodev", libc::MOUNT_ATTR_NODEV, 0),
    ("rdev", 0, libc::MOUNT_ATTR_NODEV),
    ("rnoexec", libc::MOUNT_ATTR_NOEXEC, 0),
    ("rexec", 0, libc::MOUNT_ATTR_NOEXEC),
    ("rnodiratime", libc::MOUNT_ATTR_NODIRATIME, 0),
    ("rdiratime", 0, libc::MOUNT_ATTR_NODIRATIME),
    ("rnosymfollow", libc::MOUNT_ATTR_NOSYMFOLLOW, 0),
    ("rsymfollow", 0, libc::MOUNT_ATTR_NOSYMFOLLOW),
    // atime is a mode, not a flag: each sets the whole field.
    ("rnoatime", libc::MOUNT_ATTR_NOATIME, ATIME_FIELD),
    ("ratime", libc::MOUNT_ATTR_RELATIME, ATIME_FIELD),
    ("rrelatime", libc::MOUNT_ATTR_RELATIME, ATIME_FIELD),
    ("rnorelatime", libc::MOUNT_ATTR_STRICTATIME, ATIME_FIELD),
    ("rstrictatime", libc::MOUNT_ATTR_STRICTATIME, ATIME_FIELD),
    ("rnostrictatime", libc::MOUNT_ATTR_RELATIME, ATIME_FIELD),
];

fn recursive_attr(opt: &str) -> Option<(u64, u64)> {
    RECURSIVE_OPTIONS
        .iter()
        .find(|(name, ..)| *name == opt)
        .map(|(_, set, clr)| (*set, *clr))
}

pub fn propagation_flag(opt: &str) -> Option<MsFlags> {
    PROPAGATION
        .iter()
        .find(|(name, _)| *name == opt)
        .map(|(_, f)| *f)
}

fn flag_option(opt: &str) -> Option<(bool, MsFlags)> {
    FLAG_OPTIONS
        .iter()
        .find(|(name, ..)| *name == opt)
        .map(|(_, set, f)| (*set, *f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_mounts_with_mounts_below_are_made_read_only_last() {
        let plan = |dest: &str, kind: &str, opts: &[&str]| {
            let m: oci_spec::runtime::Mount = serde_json::from_value(serde_json::json!(
                {"destination": dest, "type": kind, "source": kind, "options": opts}))
            .unwrap();
            MountPlan::from_spec(&m, None, std::path::Path::new("/b")).unwrap()
        };
        let mut mounts = vec![
            plan("/dev", "tmpfs", &["ro"]),
            plan("/dev/pts", "devpts", &[]),
            plan("/data", "tmpfs", &["ro"]),
            plan("/srv", "tmpfs", &["ro"]),
            plan("/srv/x", "tmpfs", &[]),
            plan("/mnt", "tmpfs", &[]),
        ];
        defer_readonly(&mut mounts);
        let deferred: Vec<bool> = mounts.iter().map(|m| m.defer_readonly).collect();
        assert_eq!(deferred, [true, false, false, true, false, false]);
    }

    fn mount(json: &str) -> Result<MountPlan> {
        let maps: MountIdMaps = serde_json::from_str(json).unwrap();
        MountPlan::from_spec(
            &serde_json::from_str(json).unwrap(),
            Some(&maps),
            Path::new("/bundle"),
        )
    }

    #[test]
    fn fresh_mount_flags_and_data() {
        let m = mount(
            r#"{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]}"#,
        )
        .unwrap();
        assert_eq!(m.kind, MountKind::Fresh);
        assert_eq!(m.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(m.data, "mode=755,size=65536k");
    }

    #[test]
    fn bind_sources_are_relative_to_bundle() {
        let m = mount(r#"{"destination":"data","type":"none","source":"vol","options":["rbind","ro","rprivate"]}"#).unwrap();
        assert_eq!(m.kind, MountKind::Bind { recursive: true });
        assert_eq!(m.source.as_deref(), Some(Path::new("/bundle/vol")));
        assert_eq!(m.destination, Path::new("/data"));
        assert_eq!(m.flags, MsFlags::MS_RDONLY);
        assert_eq!(m.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
    }

    #[test]
    fn later_options_override_earlier() {
        let m = mount(r#"{"destination":"/x","type":"tmpfs","options":["ro","rw"]}"#).unwrap();
        assert!(m.flags.is_empty());
    }

    #[test]
    fn bind_without_source_and_typeless_mounts_are_errors() {
        assert!(format!(
            "{:#}",
            mount(r#"{"destination":"/x","type":"bind"}"#).unwrap_err()
        )
        .contains("source"));
        assert!(format!("{:#}", mount(r#"{"destination":"/x"}"#).unwrap_err()).contains("type"));
    }

    #[test]
    fn recursive_attributes_tmpcopyup_and_idmaps() {
        let m = mount(r#"{"destination":"/x","type":"bind","source":"/s","options":["rbind","rro","rnosuid","rnoexec","rrw","rnoatime","rstrictatime"]}"#).unwrap();
        assert_eq!(
            m.recursive_attrs.set,
            libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NOEXEC | libc::MOUNT_ATTR_STRICTATIME
        );
        assert_eq!(
            m.recursive_attrs.clr,
            libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR__ATIME
        );
        assert!(
            m.flags.is_empty(),
            "recursive options are not mount(2) flags"
        );
        let m = mount(r#"{"destination":"/x","type":"tmpfs","options":["tmpcopyup","mode=755"]}"#)
            .unwrap();
        assert!(m.copy_up);
        assert_eq!(m.data, "mode=755");
        assert!(format!(
            "{:#}",
            mount(r#"{"destination":"/x","type":"proc","options":["tmpcopyup"]}"#).unwrap_err()
        )
        .contains("tmpcopyup"));
        let maps = r#""uidMappings":[{"containerID":0,"hostID":1000,"size":10}],"gidMappings":[{"containerID":0,"hostID":2000,"size":10}]"#;
        let m = mount(&format!(
            r#"{{"destination":"/x","type":"bind","source":"/s",{maps}}}"#
        ))
        .unwrap();
        let map = m.id_map.unwrap();
        assert_eq!((map.uid[0].host, map.gid[0].host), (1000, 2000));
        assert!(mount(&format!(r#"{{"destination":"/x","type":"tmpfs",{maps}}}"#)).is_err());
        let only_uid = r#"{"destination":"/x","type":"bind","source":"/s","uidMappings":[{"containerID":0,"hostID":1,"size":1}]}"#;
        assert!(format!("{:#}", mount(only_uid).unwrap_err()).contains("needs both"));
        assert_eq!(
            mount(r#"{"destination":"/x","type":"tmpfs","options":["nosymfollow"]}"#)
                .unwrap()
                .flags,
            MS_NOSYMFOLLOW
        );
    }

    #[test]
    fn cgroup_kind() {
        assert_eq!(
            mount(r#"{"destination":"/sys/fs/cgroup","type":"cgroup"}"#)
                .unwrap()
                .kind,
            MountKind::Cgroup
        );
    }
}
