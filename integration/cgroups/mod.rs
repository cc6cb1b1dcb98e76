//! linux.resources and cgroupsPath on this host's cgroups (v1 hybrid here; v2 in the guest
//! of `shared/vm-run`), checked in the cgroup files and from inside the container; pause,
//! resume, ps, update, kill --all, and that delete removes the cgroup.

use std::path::{Path, PathBuf};

use crate::common::*;

mod devices;
mod hierarchy;
mod lifecycle;
mod limits;

const V1: &str = "/sys/fs/cgroup";

fn is_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The container's directory for `controller` (v1) or its one directory (v2).
fn cgroup_dir(controller: &str, path: &str) -> PathBuf {
    if is_v2() {
        Path::new(V1).join(path.trim_start_matches('/'))
    } else {
        Path::new(V1)
            .join(controller)
            .join(path.trim_start_matches('/'))
    }
}
