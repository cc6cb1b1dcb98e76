//! Remounts that change a mount's per-mount flags, keeping the flags the kernel locked on it
//! (a user namespace may not clear what it inherited): used by binds, masks, the cgroup view
//! and the read-only root alike.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::mount::{mount as mount2, MsFlags};
use nix::sys::statvfs::{fstatvfs, statvfs, FsFlags, Statvfs};

use super::resolve::fd_path;

/// Remount a bind mount with `flags`, keeping the flags the kernel locked on it (a user
/// namespace may not clear nosuid/nodev/noexec/atime flags it inherited).
pub fn remount_bind(target: &OwnedFd, flags: MsFlags) -> Result<()> {
    let st = fstatvfs(target.as_fd()).context("statvfs of the mount")?;
    let locked = locked_flags(&st);
    let remount = |extra: MsFlags| {
        mount2(
            None::<&str>,
            &fd_path(target),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags | locked | extra,
            None::<&str>,
        )
    };
    match remount(MsFlags::empty()) {
        // A read-only source in a user namespace is locked read-only (a FUSE mount, a
        // read-only host path): keep it so rather than fail, as runc does.
        Err(Errno::EPERM) if st.flags().contains(FsFlags::ST_RDONLY) => remount(MsFlags::MS_RDONLY),
        r => r,
    }
    .context("remounting with the requested flags")
}

/// Make the mount at `path` read-only (the root after pivot_root, `root.readonly`).
pub fn remount_readonly(path: &Path) -> Result<()> {
    let locked = locked_flags(&statvfs(path)?);
    mount2(
        None::<&str>,
        path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | locked,
        None::<&str>,
    )
    .with_context(|| format!("remounting {} read-only", path.display()))
}

/// statfs(2)'s "relatime" bit: the kernel reports it, musl's headers do not name it.
const ST_RELATIME: FsFlags = FsFlags::from_bits_retain(0x1000);

fn locked_flags(st: &Statvfs) -> MsFlags {
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            out |= ms;
        }
    }
    out
}
