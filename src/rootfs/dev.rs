//! The default devices of config-linux.md ("Default Devices") and the /dev symlinks.

use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{Context, Result};

use crate::plan::DevicePlan;
use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};

use super::resolve::{fd_path, Kind, Root};

/// (name, major, minor): the devices every container gets.
const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

const SYMLINKS: [(&str, &str); 5] = [
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
    ("pts/ptmx", "ptmx"),
];

/// mknod the default devices in `/dev` (0666, root-owned); in a user namespace, where mknod is
/// not allowed, bind-mount the host's devices instead. One that `linux.devices` also lists is
/// left to it (made once, as configured).
pub fn create_default_devices(
    root: &Root,
    in_userns: bool,
    configured: &[DevicePlan],
) -> Result<()> {
    let dev = root.ensure(Path::new("/dev"), Kind::Dir)?;
    for (name, major, minor) in DEFAULT_DEVICES {
        let path = Path::new("/dev").join(name);
        if configured.iter().any(|d| d.path == path) {
            continue;
        }
        if in_userns {
            let target = root.ensure(&path, Kind::File)?;
            let host = Path::new("/dev").join(name);
            mount(
                Some(&host),
                &fd_path(&target),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .with_context(|| format!("bind-mounting host {} into the container", host.display()))?;
            continue;
        }
        match unlinkat(dev.as_fd(), name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(e).with_context(|| format!("replacing {}", path.display())),
        }
        mknodat(
            dev.as_fd(),
            name,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(major, minor),
        )
        .with_context(|| format!("creating device {}", path.display()))?;
    }
    for (target, name) in SYMLINKS {
        match symlinkat(target, dev.as_fd(), name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e).with_context(|| format!("linking /dev/{name} to {target}")),
        }
    }
    Ok(())
}

/// linux.devices: each node made with mknod (mode, owner as configured), or in a user
/// namespace bind-mounted from the same path on the host.
pub fn create_devices(root: &Root, devices: &[DevicePlan], in_userns: bool) -> Result<()> {
    for d in devices {
        let name = d
            .path
            .file_name()
            .with_context(|| format!("linux.devices: {} has no file name", d.path.display()))?;
        if in_userns {
            let target = root.ensure(&d.path, Kind::File)?;
            mount(
                Some(&d.path),
                &fd_path(&target),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .with_context(|| format!("linux.devices: bind-mounting host {}", d.path.display()))?;
            continue;
        }
        let parent = root.ensure(d.path.parent().unwrap_or(Path::new("/")), Kind::Dir)?;
        let kind = match d.kind {
            'b' => SFlag::S_IFBLK,
            'p' => SFlag::S_IFIFO,
            _ => SFlag::S_IFCHR,
        };
        match unlinkat(parent.as_fd(), name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("linux.devices: replacing {}", d.path.display()))
            }
        }
        mknodat(
            parent.as_fd(),
            name,
            kind,
            Mode::from_bits_truncate(d.mode),
            makedev(d.major, d.minor),
        )
        .with_context(|| format!("linux.devices: creating {}", d.path.display()))?;
        fchownat(
            &parent,
            name,
            Some(Uid::from_raw(d.uid)),
            Some(Gid::from_raw(d.gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .with_context(|| format!("linux.devices: chown {}", d.path.display()))?;
    }
    Ok(())
}
