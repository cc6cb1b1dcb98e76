//! Which labelling security modules the host has enabled: the plan refuses labels either
//! way (see `plan::lsm`), and says which of the two reasons applies.

use std::path::Path;

use crate::plan::HostLsms;

pub fn host() -> HostLsms {
    HostLsms {
        apparmor: crate::sys::read_kernel_file("/sys/module/apparmor/parameters/enabled")
            .is_ok_and(|s| s.starts_with('Y')),
        selinux: Path::new("/sys/fs/selinux/enforce").exists(),
    }
}
