//! One `mounts` entry onto a target resolved inside the rootfs.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::mount::{mount as mount2, MsFlags};

use super::cgroupfs;
use super::remount::remount_bind;
use super::resolve::{fd_path, Kind, Root};
use crate::plan::mounts::MountAttrs;
use crate::plan::{MountKind, MountPlan};
use crate::sys;

/// Circumstances of one mount.
pub struct How<'a> {
    /// The detached tree the parent prepared for an idmapped bind mount.
    pub idmapped: Option<&'a OwnedFd>,
    /// A bind's source as the parent opened it (O_PATH), used instead of its path.
    pub source: Option<&'a OwnedFd>,
    pub in_userns: bool,
    /// What a `cgroup` mount shows.
    pub cgroups: cgroupfs::View<'a>,
}

pub fn mount(root: &Root, m: &MountPlan, how: &How) -> Result<()> {
    match m.kind {
        MountKind::Bind { recursive } => bind(root, m, recursive, how)?,
        MountKind::Cgroup => cgroupfs::mount(root, m, &how.cgroups)?,
        MountKind::Fresh => fresh(root, m, how.in_userns)?,
    }
    if !m.recursive_attrs.is_empty() {
        let mounted = root.open_path(&m.destination)?;
        let MountAttrs { set, clr } = m.recursive_attrs;
        sys::mount_setattr(mounted.as_fd(), true, set, clr, None)
            .context("applying the recursive options (rro, rnosuid, ...) with mount_setattr")?;
    }
    for &p in &m.propagation {
        let target = root.open_path(&m.destination)?;
        mount2(
            None::<&str>,
            &fd_path(&target),
            None::<&str>,
            p,
            None::<&str>,
        )
        .context("setting mount propagation")?;
    }
    Ok(())
}

fn bind(root: &Root, m: &MountPlan, recursive: bool, how: &How) -> Result<()> {
    let named = m.source.as_deref().context("bind mount without a source")?;
    // What the parent opened says what it is; init may not reach the source itself.
    let opened = how.idmapped.or(how.source);
    let is_dir = match opened {
        Some(fd) => nix::sys::stat::fstat(fd.as_fd())
            .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
            .with_context(|| format!("source {}", named.display()))?,
        None => std::fs::metadata(named)
            .with_context(|| format!("source {}", named.display()))?
            .is_dir(),
    };
    let by_fd = how.source.map(fd_path);
    let source = by_fd.as_deref().unwrap_or(named);
    let kind = if is_dir { Kind::Dir } else { Kind::File };
    let target = root.ensure(&m.destination, kind)?;
    if let Some(tree) = how.idmapped {
        sys::move_mount_to(tree.as_fd(), target.as_fd())
            .with_context(|| format!("attaching the idmapped {}", named.display()))?;
    } else {
        let rec = if recursive {
            MsFlags::MS_REC
        } else {
            MsFlags::empty()
        };
        mount2(
            Some(source),
            &fd_path(&target),
            None::<&str>,
            MsFlags::MS_BIND | rec,
            None::<&str>,
        )
        .with_context(|| format!("bind-mounting {}", named.display()))?;
    }
    // A bind mount takes its flags only from a second, remounting call.
    let flags = m.flags - MsFlags::MS_REMOUNT;
    if !flags.is_empty() {
        let mounted = root.open_path(&m.destination)?;
        remount_bind(&mounted, flags)?;
    }
    Ok(())
}

/// Whether the comma-separated filesystem options set `key=`.
fn has_option(data: &str, key: &str) -> bool {
    data.split(',')
        .any(|o| o.split_once('=').is_some_and(|(k, _)| k == key))
}

fn fresh(root: &Root, m: &MountPlan, in_userns: bool) -> Result<()> {
    // procfs and sysfs where the image put a symlink would land wherever it points, and
    // later masks and writes would miss them (CVE-2019-16884): runc's rule, refuse.
    if matches!(m.fstype.as_str(), "proc" | "sysfs")
        && matches!(root.open_no_symlinks(&m.destination), Err(Errno::ELOOP))
    {
        bail!(
            "destination {} is a symlink in the rootfs: refusing to mount {} there",
            m.destination.display(),
            m.fstype
        );
    }
    // As runc: a tmpfs without mode= takes the mode of the directory it covers (an image's
    // 0700 or 0755, not tmpfs's 1777); over a directory it makes, tmpfs's own.
    let covered_mode = (m.fstype == "tmpfs" && !has_option(&m.data, "mode"))
        .then(|| root.open_path(&m.destination).ok())
        .flatten()
        .and_then(|dir| nix::sys::stat::fstat(dir.as_fd()).ok())
        .map(|st| st.st_mode & 0o7777);
    let target = root.ensure(&m.destination, Kind::Dir)?;
    let source = m.source.as_deref().unwrap_or(Path::new(&m.fstype));
    let data = match covered_mode {
        Some(mode) if m.data.is_empty() => format!("mode={mode:o}"),
        Some(mode) => format!("mode={mode:o},{}", m.data),
        None => m.data.clone(),
    };
    let data = (!data.is_empty()).then_some(data.as_str());
    if m.copy_up {
        // `target` keeps naming the directory underneath once the tmpfs covers it. A
        // read-only tmpfs is filled first, then made read-only.
        let writable = m.flags - MsFlags::MS_RDONLY;
        mount2(
            Some(source),
            &fd_path(&target),
            Some(m.fstype.as_str()),
            writable,
            data,
        )?;
        let fresh = root.open_path(&m.destination)?;
        super::copyup::copy_tree(&target, &fresh)
            .context("tmpcopyup: copying the destination's files into the tmpfs")?;
        if m.flags.contains(MsFlags::MS_RDONLY) && !m.defer_readonly {
            mount2(
                None::<&str>,
                &fd_path(&fresh),
                None::<&str>,
                m.flags | MsFlags::MS_REMOUNT,
                data,
            )
            .context("tmpcopyup: making the tmpfs read-only")?;
        }
        return Ok(());
    }
    let flags = if m.defer_readonly {
        m.flags - MsFlags::MS_RDONLY
    } else {
        m.flags
    };
    match mount2(
        Some(source),
        &fd_path(&target),
        Some(m.fstype.as_str()),
        flags,
        data,
    ) {
        // Without its own network namespace a user namespace may not mount sysfs: show the
        // host's, read-only where asked, as runc does.
        Err(Errno::EPERM) if in_userns && m.fstype == "sysfs" => {
            mount2(
                Some("/sys"),
                &fd_path(&target),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .context("bind-mounting the host's /sys instead")?;
            let flags = m.flags - MsFlags::MS_REMOUNT;
            if !flags.is_empty() {
                remount_bind(&root.open_path(&m.destination)?, flags)?;
            }
            Ok(())
        }
        r => r.map_err(Into::into),
    }
}

/// Make a mount that [`MountPlan::defer_readonly`] left writable read-only, now that what
/// nests under it exists: a bind remount (per-mount flags, which a user namespace may set),
/// as runc's remountReadonly does.
pub fn finish_readonly(root: &Root, m: &MountPlan) -> Result<()> {
    let mounted = root.open_path(&m.destination)?;
    let per_mount = MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV
        | MsFlags::MS_NOEXEC
        | MsFlags::MS_NOATIME
        | MsFlags::MS_NODIRATIME
        | MsFlags::MS_RELATIME
        | MsFlags::MS_STRICTATIME;
    remount_bind(&mounted, m.flags & per_mount)
        .with_context(|| format!("making {} read-only", m.destination.display()))
}
