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

use super::remount::remount_bind;
use super::resolve::{fd_path, Kind, Root};
use crate::mountinfo::CgroupMount;
use crate::plan::MountPlan;

const HOST_CGROUP: &str = "/sys/fs/cgroup";

/// What the container's view of the cgroups shows, as the parent read it.
#[derive(Clone, Copy)]
pub struct View<'a> {
    /// The host's cgroup hierarchies.
    pub hierarchies: &'a [CgroupMount],
    /// The container's cgroup directories when it has no cgroup namespace: each hierarchy
    /// then shows the container's own directory (bound), as with runc.
    pub own: Option<&'a [PathBuf]>,
}

pub fn mount(root: &Root, m: &MountPlan, view: &View) -> Result<()> {
    let target = root.ensure(&m.destination, Kind::Dir)?;
    let flags = m.flags - MsFlags::MS_RDONLY;
    let hierarchies = view.hierarchies;
    let own_dir = |h: &CgroupMount| {
        view.own
            .and_then(|dirs| dirs.iter().find(|d| d.starts_with(&h.mount_point)))
    };
    if let [only] = hierarchies {
        if only.mount_point == Path::new(HOST_CGROUP) {
            let mounted = match own_dir(only) {
                Some(dir) => bind_own(&fd_path(&target), dir)?,
                None => mount_one(&fd_path(&target), only, m.flags)?,
            };
            return finish(root, &m.destination, mounted, m.flags);
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
    for h in hierarchies {
        let name = h
            .mount_point
            .strip_prefix(HOST_CGROUP)
            .unwrap_or(&h.mount_point);
        let dest = m.destination.join(name);
        let sub = root.ensure(&dest, Kind::Dir)?;
        // Each hierarchy carries the config's flags itself: read-only on the tmpfs above does
        // not reach the mounts below it (the container could raise its own limits).
        let mounted = match own_dir(h) {
            Some(dir) => bind_own(&fd_path(&sub), dir),
            None => mount_one(&fd_path(&sub), h, m.flags),
        };
        mounted
            .and_then(|mounted| finish(root, &dest, mounted, m.flags))
            .with_context(|| format!("mounting {}", dest.display()))?;
    }
    if m.flags.contains(MsFlags::MS_RDONLY) {
        remount_bind(&root.open_path(&m.destination)?, MsFlags::MS_RDONLY)?;
    }
    Ok(())
}

/// How a hierarchy got into the container's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mounted {
    /// A mount of its own, made with the config's flags.
    Fresh,
    /// A bind, which takes the config's flags only from a remount.
    Bind,
}

/// A bind at `dest` gets the config's per-mount flags (ro, nosuid, nodev, noexec) by a
/// remount, through a handle opened after the bind (one from before is below it).
fn finish(root: &Root, dest: &Path, mounted: Mounted, flags: MsFlags) -> Result<()> {
    let wanted =
        flags & (MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC);
    if mounted == Mounted::Bind && !wanted.is_empty() {
        remount_bind(&root.open_path(dest)?, wanted)?;
    }
    Ok(())
}

/// The container's own cgroup directory at `target`.
fn bind_own(target: &Path, dir: &Path) -> Result<Mounted> {
    mount2(
        Some(dir),
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("bind-mounting the container's cgroup {}", dir.display()))?;
    Ok(Mounted::Bind)
}

fn mount_one(target: &Path, h: &CgroupMount, flags: MsFlags) -> Result<Mounted> {
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
            Ok(Mounted::Bind)
        }
        r => r
            .map(|()| Mounted::Fresh)
            .with_context(|| format!("mounting {} hierarchy {data:?}", h.fstype)),
    }
}
