//! linux.maskedPaths and linux.readonlyPaths.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fstat, major, minor, Mode, SFlag};

use super::remount::remount_bind;
use super::resolve::{fd_path, Root};

/// Hide each path: files under the container's own /dev/null (or the host's, when the
/// container has none), checked to be the real 1:3 char device, so a planted file cannot be
/// bound in its place, and so the container's mountinfo shows its own /dev, not the host's
/// devtmpfs (whose size= tells the host's memory); directories under one empty read-only
/// tmpfs, bound to each of them (hundreds of masked directories cost one tmpfs).
/// Paths that do not exist are skipped, as the spec allows.
pub fn mask_paths(root: &Root, paths: &[PathBuf]) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    let null = match root.open_no_symlinks(Path::new("/dev/null")) {
        Ok(fd) if is_null_device(&fd) => fd,
        _ => {
            let fd = open("/dev/null", OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
                .context("opening /dev/null")?;
            if !is_null_device(&fd) {
                bail!("/dev/null is not the null device (1:3): refusing to mask paths with it");
            }
            fd
        }
    };
    // The first masked directory's tmpfs, once made.
    let mut empty_dir: Option<std::os::fd::OwnedFd> = None;
    for path in paths {
        let Some(target) = existing(root, path)? else {
            continue;
        };
        let is_dir = SFlag::from_bits_truncate(fstat(target.as_fd())?.st_mode) & SFlag::S_IFMT
            == SFlag::S_IFDIR;
        let result = if let (true, Some(empty)) = (is_dir, &empty_dir) {
            mount(
                Some(&fd_path(empty)),
                &fd_path(&target),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
        } else if is_dir {
            mount(
                Some("tmpfs"),
                &fd_path(&target),
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None::<&str>,
            )
            .and_then(|()| {
                empty_dir = Some(root.open_path(path)?);
                Ok(())
            })
        } else {
            mount(
                Some(&fd_path(&null)),
                &fd_path(&target),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
        };
        result.with_context(|| format!("masking {} (linux.maskedPaths)", path.display()))?;
    }
    Ok(())
}

/// Bind each path onto itself and remount it read-only.
pub fn readonly_paths(root: &Root, paths: &[PathBuf]) -> Result<()> {
    for path in paths {
        let Some(target) = existing(root, path)? else {
            continue;
        };
        mount(
            Some(&fd_path(&target)),
            &fd_path(&target),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .with_context(|| format!("bind-mounting {} (linux.readonlyPaths)", path.display()))?;
        let mounted = root.open_path(path)?;
        remount_bind(&mounted, MsFlags::MS_RDONLY).with_context(|| {
            format!("making {} read-only (linux.readonlyPaths)", path.display())
        })?;
    }
    Ok(())
}

fn is_null_device(fd: &std::os::fd::OwnedFd) -> bool {
    fstat(fd.as_fd()).is_ok_and(|st| {
        SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR
            && (major(st.st_rdev), minor(st.st_rdev)) == (1, 3)
    })
}

fn existing(root: &Root, path: &Path) -> Result<Option<std::os::fd::OwnedFd>> {
    match root.open_path(path) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("resolving {}", path.display())),
    }
}
