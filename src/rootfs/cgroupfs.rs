//! A `cgroup`/`cgroup2` mount: the container's view of the host's cgroup hierarchies.
//!
//! On a cgroup2-only host that is one cgroup2 mount. On a v1 (or hybrid) host it is a tmpfs
//! holding one mount per hierarchy, each a fresh mount of that hierarchy (rooted at the
//! container's cgroup when it has a cgroup namespace), or a bind of the host's when a user
//! namespace may not mount v1 hierarchies.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::mount::{mount as mount2, MsFlags};

use super::mount::remount_bind;
use super::resolve::{fd_path, Kind, Root};
use crate::plan::MountPlan;

const HOST_CGROUP: &str = "/sys/fs/cgroup";

/// One cgroup hierarchy of the host: where it is mounted and its filesystem options.
struct Hierarchy {
    mount_point: PathBuf,
    fstype: String,
    options: String,
}

pub fn mount(root: &Root, m: &MountPlan) -> Result<()> {
    let target = root.ensure(&m.destination, Kind::Dir)?;
    let flags = m.flags - MsFlags::MS_RDONLY;
    let hierarchies = host_hierarchies()?;
    if let [only] = hierarchies.as_slice() {
        if only.mount_point == Path::new(HOST_CGROUP) {
            return mount_one(&fd_path(&target), only, m.flags);
        }
    }
    mount2(Some("tmpfs"), &fd_path(&target), Some("tmpfs"), flags, Some("mode=755"))
        .context("mounting the tmpfs for cgroup hierarchies")?;
    for h in &hierarchies {
        let name = h.mount_point.strip_prefix(HOST_CGROUP).unwrap_or(&h.mount_point);
        let dest = m.destination.join(name);
        let sub = root.ensure(&dest, Kind::Dir)?;
        mount_one(&fd_path(&sub), h, m.flags).with_context(|| format!("mounting {}", dest.display()))?;
    }
    if m.flags.contains(MsFlags::MS_RDONLY) {
        remount_bind(&root.open_path(&m.destination)?, MsFlags::MS_RDONLY)?;
    }
    Ok(())
}

fn mount_one(target: &Path, h: &Hierarchy, flags: MsFlags) -> Result<()> {
    match mount2(Some("cgroup"), target, Some(h.fstype.as_str()), flags, Some(h.options.as_str())) {
        Err(Errno::EPERM) => {
            mount2(Some(&h.mount_point), target, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
                .with_context(|| format!("bind-mounting {}", h.mount_point.display()))?;
            Ok(())
        }
        r => r.with_context(|| format!("mounting {} hierarchy {}", h.fstype, h.options)),
    }
}

/// The cgroup hierarchies mounted under /sys/fs/cgroup, from /proc/self/mountinfo.
fn host_hierarchies() -> Result<Vec<Hierarchy>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    Ok(parse_mountinfo(&text))
}

fn parse_mountinfo(text: &str) -> Vec<Hierarchy> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else { continue };
        let mount_point = pre.split(' ').nth(4).unwrap_or("");
        let mut post = post.split(' ');
        let (Some(fstype), _, Some(super_opts)) = (post.next(), post.next(), post.next()) else { continue };
        if !(fstype == "cgroup" || fstype == "cgroup2") || !mount_point.starts_with(HOST_CGROUP) {
            continue;
        }
        let options: Vec<&str> = super_opts.split(',').filter(|o| *o != "rw" && *o != "ro").collect();
        out.push(Hierarchy { mount_point: mount_point.into(), fstype: fstype.into(), options: options.join(",") });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_mountinfo() {
        let text = "\
35 25 0:30 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
36 35 0:31 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
37 35 0:32 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
38 35 0:33 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
39 25 0:34 / /other rw - cgroup cgroup rw,memory";
        let h = parse_mountinfo(text);
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].options, "cpu");
        assert_eq!(h[1].options, "name=systemd");
        assert_eq!(h[2].fstype, "cgroup2");
        assert_eq!(h[2].options, "nsdelegate");
    }
}
