//! Entering the new root: pivot_root(".", ".") and a lazy unmount of the old root, or, with
//! `--no-pivot`, MS_MOVE + chroot (for roots on ramfs, where pivot_root is refused); a plain
//! chroot for a container without a mount namespace of its own.

use std::path::Path;

use anyhow::{Context, Result};
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, fchdir};

pub fn pivot_root(rootfs: &Path) -> Result<()> {
    let flags = OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC;
    let old_root = open("/", flags, Mode::empty()).context("opening the old root")?;
    let new_root = open(rootfs, flags, Mode::empty())
        .with_context(|| format!("opening {}", rootfs.display()))?;
    fchdir(&new_root).context("entering the new root")?;
    // Stacks the old root on top of the new one at "/": no put_old directory is needed.
    nix::unistd::pivot_root(".", ".")
        .with_context(|| format!("pivot_root into {}", rootfs.display()))?;
    fchdir(&old_root).context("entering the old root")?;
    // Make sure the unmount below cannot propagate to the host's mounts.
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .context("making the old root a slave mount")?;
    umount2(".", MntFlags::MNT_DETACH).context("detaching the old root")?;
    chdir("/").context("chdir to the new root")
}

pub fn move_root(rootfs: &Path) -> Result<()> {
    chdir(rootfs).with_context(|| format!("chdir {}", rootfs.display()))?;
    mount(
        Some(rootfs),
        "/",
        None::<&str>,
        MsFlags::MS_MOVE,
        None::<&str>,
    )
    .with_context(|| format!("moving {} to / (--no-pivot)", rootfs.display()))?;
    chroot(".").context("chroot into the rootfs (--no-pivot)")?;
    chdir("/").context("chdir to the new root")
}

/// For a container sharing hull's mount namespace.
pub fn chroot_into(rootfs: &Path) -> Result<()> {
    chroot(rootfs).with_context(|| format!("chroot into {}", rootfs.display()))?;
    chdir("/").context("chdir to the new root")
}
