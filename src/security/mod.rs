//! Identity and security of the container process: user and groups, rlimits, capabilities,
//! seccomp, and verified writes to procfs.

pub mod caps;
pub mod lsm;
pub mod procfs;
pub mod seccomp;
pub mod user;
