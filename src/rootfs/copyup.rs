//! `tmpcopyup`: a tmpfs mounted over a directory starts with a copy of what the directory held
//! (files, directories, symlinks, with modes and owners), as runc and crun do. The tmpfs's own
//! root keeps the mode and owner its options gave it (`mode=`, else 1777), as in runc: podman's
//! `--tmpfs /x:mode=1770` relies on it.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{lchown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Copy the tree under the directory `from` into the directory `to` (both O_PATH fds).
pub fn copy_tree(from: &OwnedFd, to: &OwnedFd) -> Result<()> {
    copy_entries(&fd_dir(from), &fd_dir(to))
}

/// A path that opens the fd's directory (the magic link, then the entries below it).
fn fd_dir(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// A copied subdirectory: its mode and owner, then its entries.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let meta = std::fs::metadata(from).with_context(|| format!("stat {}", from.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    lchown(to, Some(meta.uid()), Some(meta.gid()))?;
    copy_entries(from, to)
}

fn copy_entries(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let meta = entry.metadata()?;
        let kind = meta.file_type();
        if kind.is_dir() {
            std::fs::create_dir(&dst)?;
            copy_dir(&src, &dst)?;
            continue;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
            std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        } else {
            // Devices, fifos and sockets are not copied (runc does not either).
            continue;
        }
        lchown(&dst, Some(meta.uid()), Some(meta.gid()))?;
    }
    Ok(())
}
