//! Idmapped bind mounts (`mounts[].uidMappings/gidMappings`), prepared by the parent: the
//! kernel only lets a process privileged over the source filesystem's user namespace (the
//! host's) idmap a mount, which init inside a container user namespace is not. The parent
//! clones each source as a detached tree, idmaps it, and init attaches it with move_mount.
//!
//! Plain binds are not prepared so, though it would let a user namespace reach sources only
//! the host's root can: a tree attached that way is not locked the way the kernel locks the
//! mounts a user namespace inherits, so the container's root could make a read-only host
//! path writable again.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;

use crate::plan::{IdMap, MountKind, Plan};
use crate::sys;

/// Detached, idmapped mount trees by `mounts` index, ready for init to attach.
#[derive(Default)]
pub struct Prepared(BTreeMap<usize, OwnedFd>);

impl Prepared {
    pub fn get(&self, index: usize) -> Option<&OwnedFd> {
        self.0.get(&index)
    }
}

/// In the parent, before the fork: one detached idmapped tree per mount that asks for one.
pub fn prepare(plan: &Plan) -> Result<Prepared> {
    let mut out = BTreeMap::new();
    for (i, m) in plan.mounts.iter().enumerate() {
        let (Some(map), MountKind::Bind { recursive }) = (&m.id_map, m.kind) else {
            continue;
        };
        let field = format!("mounts[{i}]");
        let uid = container_to_host(&map.uid, &plan.namespaces.uid_map)
            .with_context(|| format!("{field}.uidMappings"))?;
        let gid = container_to_host(&map.gid, &plan.namespaces.gid_map)
            .with_context(|| format!("{field}.gidMappings"))?;
        let source = m.source.as_deref().context("bind mount without a source")?;
        let userns = userns_with(&uid, &gid)
            .with_context(|| format!("{field}: a user namespace for the idmapping"))?;
        let path = CString::new(source.as_os_str().as_bytes())?;
        let tree = sys::open_tree_clone(&path, recursive).with_context(|| {
            format!("{field}.source: cloning the mount at {}", source.display())
        })?;
        sys::mount_setattr(
            tree.as_fd(),
            recursive,
            libc::MOUNT_ATTR_IDMAP,
            0,
            Some(userns.as_fd()),
        )
        .with_context(|| {
            format!(
                "{field}: idmapping {} (does its filesystem support idmapped mounts?)",
                source.display()
            )
        })?;
        out.insert(i, tree);
    }
    Ok(Prepared(out))
}

/// The idmapping's "container" ids are the container's: with a user namespace they are
/// translated to the host ids the kernel works with. Each range must fit one mapping.
fn container_to_host(maps: &[IdMap], container_ns: &[IdMap]) -> Result<Vec<IdMap>> {
    if container_ns.is_empty() {
        return Ok(maps.to_vec());
    }
    maps.iter()
        .map(|m| {
            let Some(ns) = container_ns.iter().find(|n| {
                m.container >= n.container && m.container + m.size <= n.container + n.size
            }) else {
                bail!(
                    "container ids {}..{} are not mapped by the container's user namespace",
                    m.container,
                    m.container + m.size
                );
            };
            Ok(IdMap {
                container: ns.host + (m.container - ns.container),
                host: m.host,
                size: m.size,
            })
        })
        .collect()
}

/// A user namespace for idmapping `uid`/`gid` (on-disk `host` ids appear as `container`
/// ids), held by fd; its process is gone.
fn userns_with(uid: &[IdMap], gid: &[IdMap]) -> Result<OwnedFd> {
    let child = match sys::clone_fork(libc::CLONE_NEWUSER as u64)
        .context("forking into a new user namespace")?
    {
        sys::Forked::Child => loop {
            // Only waits to be killed: nothing but pause(2) runs here after the fork.
            nix::unistd::pause();
        },
        sys::Forked::Parent { child, .. } => child,
    };
    let result = (|| {
        for (file, maps) in [("uid_map", uid), ("gid_map", gid)] {
            let path = format!("/proc/{child}/{file}");
            std::fs::write(&path, crate::plan::namespaces_map_text(&invert(maps)))
                .with_context(|| format!("writing {path}"))?;
        }
        let ns = format!("/proc/{child}/ns/user");
        let fd = nix::fcntl::open(
            ns.as_str(),
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .with_context(|| format!("opening {ns}"))?;
        Ok(fd)
    })();
    let _ = kill(child, Signal::SIGKILL);
    let _ = waitpid(child, None);
    result
}

/// The kernel reads an idmapped mount's on-disk ids as the namespace's *inside* ids and shows
/// them as its outside ones; the spec's entry says on-disk `host` shows as `container`. So the
/// map lines are "host container size": the columns swapped.
fn invert(maps: &[IdMap]) -> Vec<IdMap> {
    maps.iter()
        .map(|m| IdMap {
            container: m.host,
            host: m.container,
            size: m.size,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids_go_through_the_containers_user_namespace() {
        let m = |c, h, s| IdMap {
            container: c,
            host: h,
            size: s,
        };
        assert_eq!(
            container_to_host(&[m(0, 1000, 1)], &[]).unwrap(),
            vec![m(0, 1000, 1)]
        );
        assert_eq!(
            container_to_host(&[m(5, 1000, 2)], &[m(0, 100000, 65536)]).unwrap(),
            vec![m(100005, 1000, 2)]
        );
        assert!(container_to_host(&[m(65535, 1000, 2)], &[m(0, 100000, 65536)]).is_err());
    }
}
