//! The one path resolver for the rootfs: every container path is opened with
//! `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` relative to the rootfs fd, so `..` and
//! absolute symlinks cannot lead out of it (CVE-2021-30465 and friends). Mounts then target the
//! opened fd through `/proc/self/fd/N`, never a path that could be swapped in between.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{mkdirat, mknodat, Mode, SFlag};

/// What to create at a missing path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// An open rootfs directory.
pub struct Root {
    fd: OwnedFd,
}

impl Root {
    pub fn open(path: &Path) -> Result<Self> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("opening rootfs {}", path.display()))?;
        Ok(Self { fd })
    }

    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The one openat2 call: `path` resolved inside the root (always RESOLVE_IN_ROOT).
    fn open_in_root(
        &self,
        path: &Path,
        flags: OFlag,
        resolve: ResolveFlag,
    ) -> nix::Result<OwnedFd> {
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | resolve);
        openat2(self.fd.as_fd(), relative(path).as_path(), how)
    }

    /// Open an existing container path as an O_PATH fd, resolved inside the root.
    pub fn open_path(&self, path: &Path) -> nix::Result<OwnedFd> {
        self.open_in_root(path, OFlag::O_PATH, ResolveFlag::RESOLVE_NO_MAGICLINKS)
    }

    /// Like [`Root::open_path`], but refusing any symlink on the way (ELOOP).
    pub fn open_no_symlinks(&self, path: &Path) -> nix::Result<OwnedFd> {
        self.open_in_root(path, OFlag::O_PATH, ResolveFlag::RESOLVE_NO_SYMLINKS)
    }

    /// Write to an existing procfs file inside the root (the container's /proc/sys), after
    /// checking it really is on procfs (not a file the rootfs put in the way).
    pub fn write_proc_file(&self, path: &Path, data: &[u8]) -> Result<()> {
        let fd = self.open_in_root(
            path,
            OFlag::O_WRONLY | OFlag::O_NOFOLLOW,
            ResolveFlag::RESOLVE_NO_MAGICLINKS,
        )?;
        crate::security::procfs::write_verified(fd, path, data)
    }

    /// Open a container path, creating it (and missing parents, as directories) when absent.
    pub fn ensure(&self, path: &Path, kind: Kind) -> Result<OwnedFd> {
        self.ensure_following(path, kind, 0)
    }

    /// `links`: dangling symlinks followed so far (their targets are created, inside the root,
    /// as runc does); bounded like the kernel's own limit.
    fn ensure_following(&self, path: &Path, kind: Kind, links: u32) -> Result<OwnedFd> {
        let rel = relative(path);
        match self.open_path(&rel) {
            Err(Errno::ENOENT) => {}
            r => return r.with_context(|| format!("resolving {} in the rootfs", path.display())),
        }
        let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
            return self
                .open_path(&rel)
                .with_context(|| format!("resolving {}", path.display()));
        };
        let dir = self.ensure_following(parent, Kind::Dir, links)?;
        let made = match kind {
            Kind::Dir => mkdirat(dir.as_fd(), name, Mode::from_bits_truncate(0o755)),
            Kind::File => mknodat(
                dir.as_fd(),
                name,
                SFlag::S_IFREG,
                Mode::from_bits_truncate(0o644),
                0,
            ),
        };
        match made {
            Ok(()) => {}
            // Present but not resolvable: a dangling symlink. Create what it points to.
            Err(Errno::EEXIST) => {
                if let Ok(target) = nix::fcntl::readlinkat(dir.as_fd(), name) {
                    if links >= 40 {
                        anyhow::bail!(
                            "resolving {} in the rootfs: too many levels of symlinks",
                            path.display()
                        );
                    }
                    let next = Path::new("/").join(parent).join(target);
                    return self.ensure_following(&next, kind, links + 1);
                }
            }
            Err(e) => {
                return Err(e).with_context(|| format!("creating {} in the rootfs", path.display()))
            }
        }
        self.open_path(&rel)
            .with_context(|| format!("resolving {} in the rootfs", path.display()))
    }
}

/// The magic-link path by which mount(2) reaches an fd we opened.
pub fn fd_path(fd: &impl AsRawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// A container path as a lexically clean path relative to the root ("." for the root).
/// `..` stops at the root, exactly as RESOLVE_IN_ROOT treats it.
fn relative(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn relative_paths_stay_under_root() {
        assert_eq!(relative(Path::new("/a/b/../c")), Path::new("a/c"));
        assert_eq!(relative(Path::new("/../../etc")), Path::new("etc"));
        assert_eq!(relative(Path::new("/")), Path::new("."));
    }

    #[test]
    fn symlinks_resolve_inside_root() {
        let base = std::env::temp_dir().join(format!("hull-resolve-{}", std::process::id()));
        let root_dir = base.join("root");
        std::fs::create_dir_all(root_dir.join("etc")).unwrap();
        // An absolute symlink that would escape on the host lands inside the root.
        symlink("/etc", root_dir.join("escape")).unwrap();
        let root = Root::open(&root_dir).unwrap();
        let fd = root
            .ensure(Path::new("/escape/made-inside"), Kind::File)
            .unwrap();
        drop(fd);
        assert!(root_dir.join("etc/made-inside").exists());
        assert!(!Path::new("/etc/made-inside").exists());
        root.ensure(Path::new("/x/y/z"), Kind::Dir).unwrap();
        assert!(root_dir.join("x/y/z").is_dir());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
