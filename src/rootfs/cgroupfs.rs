//! A `cgroup`/`cgroup2` mount: the container's view of the host's cgroup hierarchies.
//!
//! On a cgroup2-only host that is one cgroup2 mount. On a v1 (or hybrid) host it is a tmpfs
//! holding one mount per hierarchy, each a fresh mount of that hierarchy (rooted at the
//! container's cgroup when it has a cgroup namespace), or a bind of the host's when a user
//! namespace may not mount v1 hierarchies.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::mount::{mount as mount2, MsFlags};

use super::mount::remount_bind;
use super::resolve::{fd_path, Kind, Root};
use crate::cgroups::mounts::{cgroup_mounts, CgroupMount};
use crate::plan::MountPlan;

const HOST_CGROUP: &str = "/sys/fs/cgroup";

/// `own`: the container's cgroup directories when it has no cgroup namespace; each hierarchy
/// then shows the container's own directory (bound), as with runc.
pub fn mount(root: &Root, m: &MountPlan, own: Option<&[PathBuf]>) -> Result<()> {
    let target = root.ensure(&m.destination, Kind::Dir)?;
    let flags = m.flags - MsFlags::MS_RDONLY;
    let hierarchies = cgroup_mounts()?;
    let own_dir =
        |h: &CgroupMount| own.and_then(|dirs| dirs.iter().find(|d| d.starts_with(&h.mount_point)));
    if let [only] = hierarchies.as_slice() {
        if only.mount_point == Path::new(HOST_CGROUP) {
            return match own_dir(only) {
                Some(dir) => bind_own(&target, dir, m.flags),
                None => mount_one(&fd_path(&target), only, m.flags),
            };
        }
    }
    mount2(
        Some("tmpfs"),
        &fd_path(&target),
        Some("tmpfs"),
        flags,
        Some("mode=755"),
    )
    .context("mounting the tmpfs for cgroup hierarchies")?;
    for h in &hierarchies {
        let name = h
            .mount_point
            .strip_prefix(HOST_CGROUP)
            .unwrap_or(&h.mount_point);
        let dest = m.destination.join(name);
        let sub = root.ensure(&dest, Kind::Dir)?;
        let mounted = match own_dir(h) {
            Some(dir) => bind_own(&sub, dir, MsFlags::empty()),
            None => mount_one(&fd_path(&sub), h, m.flags),
        };
        mounted.with_context(|| format!("mounting {}", dest.display()))?;
    }
    if m.flags.contains(MsFlags::MS_RDONLY) {
        remount_bind(&root.open_path(&m.destination)?, MsFlags::MS_RDONLY)?;
    }
    Ok(())
}

/// The container's own cgroup directory at `target`, read-only if asked.
fn bind_own(target: &std::os::fd::OwnedFd, dir: &Path, flags: MsFlags) -> Result<()> {
    mount2(
        Some(dir),
        &fd_path(target),
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("bind-mounting the container's cgroup {}", dir.display()))?;
    if flags.contains(MsFlags::MS_RDONLY) {
        remount_bind(target, MsFlags::MS_RDONLY)?;
    }
    Ok(())
}

fn mount_one(target: &Path, h: &CgroupMount, flags: MsFlags) -> Result<()> {
    // v1: the options name the hierarchy (its controllers). cgroup2 has one hierarchy, and its
    // options (nsdelegate, memory_recursiveprot) are settings of the host's one superblock,
    // not of a mount: none are passed, as runc does.
    let data = if h.fstype == "cgroup2" {
        ""
    } else {
        h.options.as_str()
    };
    let fresh = || {
        mount2(
            Some("cgroup"),
            target,
            Some(h.fstype.as_str()),
            flags,
            Some(data),
        )
    };
    let result = match fresh() {
        // The target is already the root of a mount of this very hierarchy (a /sys bound
        // from the host, as in rootless configs) and the kernel refuses to stack a
        // superblock on its own root: a tmpfs in between, then the (namespaced) mount.
        Err(Errno::EBUSY) => mount2(
            Some("tmpfs"),
            target,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("size=4k,mode=755"),
        )
        .and_then(|()| fresh()),
        other => other,
    };
    match result {
        Err(Errno::EPERM) => {
            mount2(
                Some(&h.mount_point),
                target,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .with_context(|| format!("bind-mounting {}", h.mount_point.display()))?;
            Ok(())
        }
        r => r.with_context(|| format!("mounting {} hierarchy {data:?}", h.fstype)),
    }
}
