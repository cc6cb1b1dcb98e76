//! Integration tests: drive the real `hull` binary through real bundles (as root) and check
//! the effects from inside the container. Run by `hack/test`.

mod bad_configs;
mod cgroups;
mod checkpoint;
mod clients;
mod common;
mod crash;
mod cve;
mod errors;
mod examples;
mod exec;
mod features;
mod foreground;
mod hooks;
mod lifecycle;
mod mounts;
mod namespaces;
mod parity;
mod process;
mod rootfs;
mod rootless;
mod seccomp;
mod stress;
mod systemd_cgroup;
pub mod terminal;
