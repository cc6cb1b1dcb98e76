//! Identity and security of the container process: user and groups, rlimits, no_new_privs.
//! (Capabilities and seccomp land here too.)

pub mod caps;
pub mod seccomp;
pub mod user;
