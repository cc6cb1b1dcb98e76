//! hull: a small, fast, runc-compatible OCI container runtime.
//!
//! The spine: `spec` loads config.json → `plan` validates it into an immutable `Plan` →
//! `process` forks init and applies the plan with `rootfs` and `security`; `state` keeps what
//! later commands need; `cli` is the runc-compatible command line; `log` writes `--log`; `sys` holds all `unsafe`.

pub mod cgroups;
pub mod cli;
pub mod crash;
pub mod criu;
pub mod hooks;
pub mod lifecycle;
pub mod log;
pub mod mountinfo;
pub mod netdev;
pub mod plan;
pub mod process;
pub mod resctrl;
pub mod rootfs;
pub mod rootless;
pub mod security;
pub mod spec;
pub mod state;
pub mod sys;
