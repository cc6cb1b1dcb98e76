//! The container's filesystem: mounts, devices, masked and read-only paths, pivot_root.
//! Runs in init, inside the new mount namespace, in the order of config-linux.md.

mod cgroupfs;
mod dev;
mod mask;
mod mount;
mod pivot;
pub mod resolve;

use anyhow::{Context, Result};
use nix::mount::{mount, MsFlags};

use crate::plan::{NsKind, Plan};
use resolve::Root;

/// Build the container's root and enter it.
pub fn setup(plan: &Plan) -> Result<()> {
    // Keep the container's mounts from propagating back to the host (and vice versa).
    mount(None::<&str>, "/", None::<&str>, plan.root.propagation, None::<&str>)
        .context("setting the propagation of / (linux.rootfsPropagation)")?;
    // pivot_root needs the new root to be a mount point.
    let rootfs = &plan.root.path;
    mount(Some(rootfs), rootfs, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
        .with_context(|| format!("bind-mounting rootfs {} onto itself", rootfs.display()))?;
    let root = Root::open(rootfs)?;
    let in_userns = plan.namespaces.creates(NsKind::User) || plan.namespaces.joins(NsKind::User);
    for m in &plan.mounts {
        mount::mount(&root, m, in_userns)
            .with_context(|| format!("mounting {} at {}", m.fstype_or_bind(), m.destination.display()))?;
    }
    if plan.default_devices {
        dev::create_default_devices(&root, in_userns)?;
    }
    mask::readonly_paths(&root, &plan.readonly_paths)?;
    mask::mask_paths(&root, &plan.masked_paths)?;
    drop(root);
    if plan.root.no_pivot {
        pivot::move_root(rootfs)?;
    } else {
        pivot::pivot_root(rootfs)?;
    }
    if plan.root.readonly {
        mount::remount_readonly(std::path::Path::new("/")).context("making the rootfs read-only (root.readonly)")?;
    }
    Ok(())
}
