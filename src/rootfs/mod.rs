//! The container's filesystem: mounts, devices, masked and read-only paths, pivot_root.
//! Runs in init, inside the new mount namespace, in the order of config-linux.md.

mod cgroupfs;
mod copyup;
mod dev;
pub mod idmap;
mod mask;
mod mount;
mod pivot;
mod remount;
pub mod resolve;

use anyhow::{Context, Result};
use nix::mount::{mount, MsFlags};

use crate::plan::{NsKind, Plan};
use resolve::Root;

/// What the parent prepares, before the fork, for init to build the rootfs with.
#[derive(Default)]
pub struct FromParent {
    pub idmapped: idmap::Prepared,
    /// The container's cgroup directories: a `cgroup` mount of a container without its own
    /// cgroup namespace shows these (as runc binds them), not the hierarchies' roots.
    pub cgroup_dirs: Vec<std::path::PathBuf>,
    /// The host's cgroup hierarchies, read when the plan has a `cgroup` mount.
    pub cgroup_hierarchies: Vec<crate::mountinfo::CgroupMount>,
}

impl FromParent {
    /// What init needs for `plan`, whose cgroup lives in `cgroup_dirs`.
    pub fn prepare(plan: &Plan, cgroup_dirs: Vec<std::path::PathBuf>) -> Result<Self> {
        let has_cgroup_mount = plan
            .mounts
            .iter()
            .any(|m| m.kind == crate::plan::MountKind::Cgroup);
        Ok(FromParent {
            idmapped: idmap::prepare(plan)?,
            cgroup_dirs,
            cgroup_hierarchies: if has_cgroup_mount {
                crate::mountinfo::cgroup_mounts()?
            } else {
                Vec::new()
            },
        })
    }
}

/// Build the container's root and enter it; `before_pivot` runs once the mounts are made
/// (the hooks' moment).
/// `sources`: bind sources the parent opened (by mount index), used instead of their paths.
pub fn setup(
    plan: &Plan,
    prepared: &FromParent,
    sources: &[(usize, std::os::fd::OwnedFd)],
    before_pivot: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let rootfs = &plan.root.path;
    let own_ns = plan.namespaces.has_mount_namespace();
    if own_ns {
        // Keep the container's mounts from propagating back to the host (and vice versa).
        // An unbindable "/" could not be bind-mounted below: make it a slave until after
        // pivot_root, where the configured propagation is applied again.
        let before = if plan.root.propagation.contains(MsFlags::MS_UNBINDABLE) {
            MsFlags::MS_SLAVE | MsFlags::MS_REC
        } else {
            plan.root.propagation
        };
        mount(None::<&str>, "/", None::<&str>, before, None::<&str>)
            .context("setting the propagation of / (linux.rootfsPropagation)")?;
        // pivot_root refuses a root whose parent mount is shared (rootfsPropagation "shared");
        // after a recursive slave or private, none is.
        let none_shared = before.contains(MsFlags::MS_REC)
            && before.intersects(MsFlags::MS_SLAVE | MsFlags::MS_PRIVATE);
        if !none_shared {
            make_parent_private(rootfs)?;
        }
    }
    // Its own user namespace, or hull's (podman's rootless mode): no mknod, bind devices.
    let in_userns = plan.namespaces.has(NsKind::User) || crate::rootless::is_rootless();
    // Relative paths in mount options (overlay's lowerdir=, ...) are the bundle's, as in runc.
    // Init starts there (the parent's cwd at the clone, as runc's): a bundle the mapped root
    // of a user namespace cannot search is not entered again by path.
    if std::fs::read_link("/proc/self/cwd").ok().as_deref() != Some(plan.bundle.as_path()) {
        nix::unistd::chdir(&plan.bundle)
            .with_context(|| format!("entering the bundle {}", plan.bundle.display()))?;
    }
    // pivot_root needs the new root to be a mount point: the rootfs bound onto itself, or the
    // mount the config puts at "/" (an overlay of image layers, say).
    let root_mount = plan
        .mounts
        .iter()
        .position(|m| m.destination == std::path::Path::new("/"));
    match root_mount {
        Some(i) => mount_root(&plan.mounts[i], rootfs)
            .with_context(|| format!("mounts[{i}]: mounting the root at {}", rootfs.display()))?,
        None => mount(
            Some(rootfs),
            rootfs,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .with_context(|| {
            let hint = if in_userns {
                " (in a user namespace the mapped root must be able to reach it)"
            } else {
                ""
            };
            format!(
                "bind-mounting rootfs {} onto itself{hint}",
                rootfs.display()
            )
        })?,
    }
    let root = Root::open(rootfs)?;
    for (i, m) in plan
        .mounts
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != root_mount)
    {
        let how = mount::How {
            idmapped: prepared.idmapped.get(i),
            source: sources.iter().find(|(at, _)| *at == i).map(|(_, fd)| fd),
            in_userns,
            cgroups: cgroupfs::View {
                hierarchies: &prepared.cgroup_hierarchies,
                own: (!plan.namespaces.has(NsKind::Cgroup))
                    .then_some(prepared.cgroup_dirs.as_slice()),
            },
        };
        mount::mount(&root, m, &how).with_context(|| {
            format!(
                "mounts[{i}]: mounting {} at {}",
                m.fstype_or_bind(),
                m.destination.display()
            )
        })?;
    }
    if plan.default_devices {
        dev::create_default_devices(&root, in_userns, &plan.devices)?;
    }
    dev::create_devices(&root, &plan.devices, in_userns)?;
    // As runc: a process.cwd the rootfs lacks is made, inside the root (a symlink on the way
    // resolves inside it too), once the mounts it may lie on exist.
    if let Some(process) = &plan.process {
        root.ensure(&process.cwd, resolve::Kind::Dir)
            .with_context(|| format!("process.cwd: making {}", process.cwd.display()))?;
    }
    // A terminal's /dev/console is bound after pivot_root: its mount point is made now,
    // while /dev may still be written to.
    if plan.process.as_ref().is_some_and(|p| p.terminal) && own_ns {
        root.ensure(std::path::Path::new("/dev/console"), resolve::Kind::File)
            .context("making /dev/console for the terminal")?;
    }
    // The hooks run before sysctls and the read-only and masked paths, as with runc: a
    // prestart hook may bring in the network device a sysctl names (Docker's libnetwork
    // moves eth0 in from its hook), and hooks see /proc/sys as it was.
    before_pivot()?;
    // Before readonlyPaths, which usually make /proc/sys read-only.
    write_sysctls(&root, plan)?;
    for m in plan.mounts.iter().filter(|m| m.defer_readonly) {
        mount::finish_readonly(&root, m)?;
    }
    mask::readonly_paths(&root, &plan.readonly_paths)?;
    mask::mask_paths(&root, &plan.masked_paths)?;
    drop(root);
    if !own_ns {
        // pivot_root or MS_MOVE would change hull's own namespace: only chroot.
        pivot::chroot_into(rootfs)?;
    } else if plan.root.no_pivot {
        pivot::move_root(rootfs)?;
    } else {
        pivot::pivot_root(rootfs)?;
    }
    if own_ns && plan.root.propagation_set {
        // The pivot left "/" private-ish; give it the propagation the config asked for.
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            plan.root.propagation,
            None::<&str>,
        )
        .context("setting the propagation of / (linux.rootfsPropagation)")?;
    }
    if plan.root.readonly {
        remount::remount_readonly(std::path::Path::new("/"))
            .context("making the rootfs read-only (root.readonly)")?;
    }
    Ok(())
}

/// Remove the mounts a container without its own mount namespace made under `rootfs` in
/// hull's namespace: everything hangs off the rootfs bind mount, so one lazy detach of it
/// takes them all. Best effort: used on cleanup paths.
pub fn detach_host_mounts(rootfs: &std::path::Path) {
    let _ = nix::mount::umount2(rootfs, nix::mount::MntFlags::MNT_DETACH);
}

/// linux.sysctl, through the container's own /proc (so its namespaces' values are set).
fn write_sysctls(root: &Root, plan: &Plan) -> Result<()> {
    for (key, value) in &plan.sysctl {
        let path = std::path::PathBuf::from(format!("/proc/sys/{}", key.replace('.', "/")));
        root.write_proc_file(&path, value.as_bytes())
            .with_context(|| {
                format!(
                    "linux.sysctl: writing {value:?} to {} (is /proc mounted?)",
                    path.display()
                )
            })?;
    }
    Ok(())
}

/// A `mounts` entry at "/": mounted onto the rootfs directory itself, which it replaces.
fn mount_root(m: &crate::plan::MountPlan, rootfs: &std::path::Path) -> Result<()> {
    let (source, fstype, flags) = match m.kind {
        crate::plan::MountKind::Bind { recursive } => {
            let rec = if recursive {
                MsFlags::MS_REC
            } else {
                MsFlags::empty()
            };
            (
                m.source.as_deref().context("bind mount without a source")?,
                None,
                MsFlags::MS_BIND | rec,
            )
        }
        crate::plan::MountKind::Fresh => (
            m.source
                .as_deref()
                .unwrap_or(std::path::Path::new(&m.fstype)),
            Some(m.fstype.as_str()),
            m.flags,
        ),
        crate::plan::MountKind::Cgroup => anyhow::bail!("a cgroup filesystem cannot be the root"),
    };
    let data = (!m.data.is_empty()).then_some(m.data.as_str());
    mount(Some(source), rootfs, fstype, flags, data).map_err(Into::into)
}

/// Make the mount that holds `path` private if it is shared.
fn make_parent_private(path: &std::path::Path) -> Result<()> {
    let text = crate::sys::read_kernel_file("/proc/self/mountinfo")
        .context("reading /proc/self/mountinfo")?;
    let Some((mount_point, shared)) = parent_mount(&text, path) else {
        return Ok(());
    };
    if shared {
        mount(
            None::<&str>,
            mount_point.as_str(),
            None::<&str>,
            MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .with_context(|| format!("making {mount_point} private for pivot_root"))?;
    }
    Ok(())
}

/// The mount point holding `path` (the longest mount point that is a prefix of it) and
/// whether it is shared.
fn parent_mount(mountinfo: &str, path: &std::path::Path) -> Option<(String, bool)> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let mount_point = *fields.get(4)?;
            let optional = fields.iter().skip(6).take_while(|f| **f != "-");
            let shared = optional.clone().any(|f| f.starts_with("shared:"));
            path.starts_with(mount_point)
                .then(|| (mount_point.to_owned(), shared))
        })
        // The longest mount point wins; among equals the last (top-most) one, as max_by_key
        // returns the last maximum.
        .max_by_key(|(mount_point, _)| mount_point.len())
}

#[cfg(test)]
mod tests {
    use super::parent_mount;
    use std::path::Path;

    #[test]
    fn finds_the_longest_prefix_mount() {
        let mi = "\
1 0 8:1 / / rw shared:1 - ext4 /dev/vda rw
2 1 0:5 / /run rw shared:2 - tmpfs tmpfs rw
3 1 0:6 / /run/x rw - tmpfs tmpfs rw
4 1 0:7 / /runner rw shared:9 - tmpfs tmpfs rw";
        assert_eq!(
            parent_mount(mi, Path::new("/run/b/rootfs")),
            Some(("/run".into(), true))
        );
        assert_eq!(
            parent_mount(mi, Path::new("/run/x/rootfs")),
            Some(("/run/x".into(), false))
        );
        assert_eq!(
            parent_mount(mi, Path::new("/srv/r")),
            Some(("/".into(), true))
        );
    }
}
