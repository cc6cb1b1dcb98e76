//! The cgroup filesystems mounted under /sys/fs/cgroup, read from /proc/self/mountinfo: one
//! parser for the v1 driver (its hierarchies) and for the container's `cgroup` mount (read
//! by the parent and handed to init, see `rootfs::FromParent`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Where the host's cgroup filesystems are mounted.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// A mounted cgroup filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    pub mount_point: PathBuf,
    /// "cgroup" (v1) or "cgroup2".
    pub fstype: String,
    /// Super-block options without rw/ro: the controllers (`cpu,cpuacct`, `name=systemd`) for v1.
    pub options: String,
}

impl CgroupMount {
    /// v1 controllers (and `name=` of named hierarchies), minus options that are not controllers.
    pub fn controllers(&self) -> Vec<String> {
        const NOT_CONTROLLERS: [&str; 4] = ["clone_children", "noprefix", "xattr", "nsdelegate"];
        self.options
            .split(',')
            .filter(|o| {
                !o.is_empty() && !o.starts_with("release_agent") && !NOT_CONTROLLERS.contains(o)
            })
            .map(str::to_owned)
            .collect()
    }
}

/// The cgroup mounts visible under /sys/fs/cgroup in hull's mount namespace, read once per
/// hull process (the driver, the container's cgroup mount and `delete` each ask; no hull
/// command changes them).
pub fn cgroup_mounts() -> Result<Vec<CgroupMount>> {
    static MOUNTS: std::sync::OnceLock<Vec<CgroupMount>> = std::sync::OnceLock::new();
    if let Some(mounts) = MOUNTS.get() {
        return Ok(mounts.clone());
    }
    let text = crate::sys::read_kernel_file("/proc/self/mountinfo")
        .context("reading /proc/self/mountinfo")?;
    Ok(MOUNTS.get_or_init(|| parse(&text)).clone())
}

/// Mounts hidden by a later mount on the same point or above it (a tmpfs laid over
/// /sys/fs/cgroup to show fewer hierarchies, say) are left out.
pub fn parse(mountinfo: &str) -> Vec<CgroupMount> {
    let entries: Vec<(PathBuf, Option<CgroupMount>)> = mountinfo
        .lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let mount_point = PathBuf::from(pre.split(' ').nth(4)?);
            let mut post = post.split(' ');
            let (fstype, _, opts) = (post.next()?, post.next()?, post.next()?);
            let cgroup = (matches!(fstype, "cgroup" | "cgroup2")
                && mount_point.starts_with(CGROUP_ROOT))
            .then(|| CgroupMount {
                mount_point: mount_point.clone(),
                fstype: fstype.to_owned(),
                options: opts
                    .split(',')
                    .filter(|o| *o != "rw" && *o != "ro")
                    .collect::<Vec<_>>()
                    .join(","),
            });
            Some((mount_point, cgroup))
        })
        .collect();
    entries
        .iter()
        .enumerate()
        .filter_map(|(i, (point, cgroup))| {
            let hidden = entries[i + 1..]
                .iter()
                .any(|(later, _)| point.starts_with(later) && later != Path::new("/"));
            cgroup.as_ref().filter(|_| !hidden).cloned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_host() {
        let m = parse(
            "35 25 0:30 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
36 35 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
37 35 0:32 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
38 35 0:33 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
39 25 0:34 / /other rw - cgroup cgroup rw,memory",
        );
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].controllers(), vec!["cpu", "cpuacct"]);
        assert_eq!(m[1].controllers(), vec!["name=systemd"]);
        assert_eq!(
            (m[2].fstype.as_str(), m[2].options.as_str()),
            ("cgroup2", "nsdelegate")
        );
    }

    #[test]
    fn hierarchies_under_a_later_tmpfs_are_hidden() {
        let m = parse(
            "35 25 0:30 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
36 35 0:31 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
38 35 0:33 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
50 35 0:40 / /sys/fs/cgroup rw - tmpfs cgview rw,mode=755
51 50 0:31 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu",
        );
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].options, "cpu");
    }
}
