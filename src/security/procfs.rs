//! Writes to /proc that set security-relevant state go through a handle checked to be on
//! procfs, so a file or mount the rootfs put in the way cannot take them (CVE-2019-19921,
//! CVE-2025-52881 class).

use std::os::fd::OwnedFd;
use std::path::Path;

use anyhow::{bail, Context, Result};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use nix::sys::statfs::{fstatfs, PROC_SUPER_MAGIC};

/// Open `path` for writing (not through a symlink), check it is procfs, write `data`.
pub fn write(path: &str, data: &[u8]) -> Result<()> {
    let fd = open(
        path,
        OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
    .with_context(|| format!("opening {path}"))?;
    write_verified(fd, Path::new(path), data)
}

/// Write `data` to an open file, if it is on procfs.
pub fn write_verified(fd: OwnedFd, path: &Path, data: &[u8]) -> Result<()> {
    let fs = fstatfs(&fd).with_context(|| format!("fstatfs of {}", path.display()))?;
    if fs.filesystem_type() != PROC_SUPER_MAGIC {
        bail!(
            "{} is not on procfs: refusing to write to it",
            path.display()
        );
    }
    let written =
        nix::unistd::write(&fd, data).with_context(|| format!("writing {}", path.display()))?;
    if written != data.len() {
        bail!("short write to {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_files_outside_procfs() {
        let dir = std::env::temp_dir().join(format!("hull-procfs-{}", std::process::id()));
        std::fs::write(&dir, "x").unwrap();
        let err = write(dir.to_str().unwrap(), b"1").unwrap_err();
        std::fs::remove_file(&dir).unwrap();
        assert!(format!("{err:#}").contains("not on procfs"), "{err:#}");
        let adj = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap();
        write("/proc/self/oom_score_adj", adj.trim().as_bytes()).unwrap();
    }
}
