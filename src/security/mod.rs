//! Identity and security of the container process: user and groups, rlimits, capabilities,
//! seccomp, verified writes to procfs, and the protection of hull's own binary.

pub mod caps;
pub mod exe;
pub mod lsm;
pub mod procfs;
pub mod seccomp;
pub mod user;
