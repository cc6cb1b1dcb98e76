//! `hull features`: what this build supports (runtime-spec features.md), generated from the
//! tables the code itself uses, so it cannot drift from the truth.

use anyhow::Result;
use serde_json::json;

use super::args::Command;
use crate::plan::mounts::{FLAG_OPTIONS, PROPAGATION, RECURSIVE_OPTIONS};
use crate::spec::SPEC_VERSION;

pub const COMMAND: Command = Command {
    name: "features",
    alias: None,
    about: "Print what this build supports (runtime-spec features.md) as JSON",
    flags: &[],
    usage: "",
    rest_after: None,
};

/// The spec's name of a value (its serde form: "SCMP_ACT_ALLOW", "network", "MPOL_BIND").
fn spec_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn spec_names<'a, T: serde::Serialize + 'a>(
    values: impl IntoIterator<Item = &'a T>,
) -> Vec<String> {
    values.into_iter().map(spec_name).collect()
}

pub fn run() -> Result<i32> {
    use crate::plan::{MEMORY_POLICY_FLAGS, MEMORY_POLICY_MODES};
    use crate::security::seccomp;
    let mut mount_options: Vec<&str> = FLAG_OPTIONS.iter().map(|(n, ..)| *n).collect();
    mount_options.extend(PROPAGATION.iter().map(|(n, _)| *n));
    mount_options.extend(RECURSIVE_OPTIONS.iter().map(|(n, ..)| *n));
    mount_options.extend(["bind", "rbind", "tmpcopyup"]);
    let mut flags = spec_names(crate::plan::SECCOMP_FLAGS.iter().map(|(f, _)| f));
    flags.push(crate::spec::WAIT_KILLABLE_RECV.into());
    let mut caps: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
    caps.sort();
    let features = json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": SPEC_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_options,
        "linux": {
            "namespaces": spec_names(&crate::plan::NAMESPACE_KINDS),
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": true, "systemdUser": true, "rdma": true},
            "seccomp": {
                "enabled": true,
                "actions": spec_names(&seccomp::ACTIONS),
                "operators": spec_names(&seccomp::OPERATORS),
                "archs": seccomp::ARCHS,
                "knownFlags": &flags,
                "supportedFlags": &flags
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": true, "schemata": true, "monitoring": true},
            "netDevices": {"enabled": true},
            "memoryPolicy": {
                "modes": spec_names(MEMORY_POLICY_MODES.iter().map(|(m, _)| m)),
                "flags": spec_names(MEMORY_POLICY_FLAGS.iter().map(|(f, _)| f))
            },
            "mountExtensions": {"idmap": {"enabled": true}}
        },
        "annotations": {"org.hull.version": env!("CARGO_PKG_VERSION")}
    });
    println!("{}", serde_json::to_string_pretty(&features)?);
    Ok(0)
}
