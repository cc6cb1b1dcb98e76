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
/// /sys/fs/cgroup to show fewer hierarchies, say) are left out. Only mounts at or above
/// /sys/fs/cgroup can hide one, so only those are kept to compare: a node with thousands of
/// mounts costs one pass, not a comparison of every pair.
pub fn parse(mountinfo: &str) -> Vec<CgroupMount> {
    let cgroup_root = Path::new(CGROUP_ROOT);
    // In mountinfo's order: each cgroup mount, and each mount point that could cover one.
    let mut seen: Vec<(PathBuf, Option<CgroupMount>)> = Vec::new();
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let Some(point) = pre.split(' ').nth(4).map(Path::new) else {
            continue;
        };
        let mut post = post.split(' ');
        let (Some(fstype), Some(_), Some(opts)) = (post.next(), post.next(), post.next()) else {
            continue;
        };
        let is_cgroup = matches!(fstype, "cgroup" | "cgroup2") && point.starts_with(cgroup_root);
        let may_cover = point != Path::new("/")
            && (cgroup_root.starts_with(point) || point.starts_with(cgroup_root));
        if !is_cgroup && !may_cover {
            continue;
        }
        let cgroup = is_cgroup.then(|| CgroupMount {
            mount_point: point.to_owned(),
            fstype: fstype.to_owned(),
            options: opts
                .split(',')
                .filter(|o| *o != "rw" && *o != "ro")
                .collect::<Vec<_>>()
                .join(","),
        });
        seen.push((point.to_owned(), cgroup));
    }
    seen.iter()
        .enumerate()
        .filter_map(|(i, (point, cgroup))| {
            let hidden = seen[i + 1..]
                .iter()
                .any(|(later, _)| point.starts_with(later));
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
    fn unrelated_mounts_neither_count_nor_hide() {
        let mut text = String::from("36 35 0:31 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n");
        for n in 0..5000 {
            text.push_str(&format!(
                "{n} 1 0:9 / /var/lib/pods/{n}/volume rw - tmpfs tmpfs rw\n"
            ));
        }
        text.push_str("9 1 0:9 / / rw - ext4 /dev/vda rw\n");
        let m = parse(&text);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].options, "cpu");
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
