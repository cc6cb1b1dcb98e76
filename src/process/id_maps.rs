//! A new user namespace's id maps, written by the parent for the child that made it.

use anyhow::{bail, Context, Result};
use nix::unistd::Pid;

use crate::plan::{namespaces_map_text, IdMap, NamespacePlan};

/// Write init's uid_map and gid_map. Root writes any mapping. Without root, the kernel lets a
/// process map only its own id (and its gid only once setgroups is denied); more ranges go
/// through the setuid helpers newuidmap/newgidmap, which check /etc/subuid and /etc/subgid.
pub fn write(pid: Pid, ns: &NamespacePlan) -> Result<()> {
    let (euid, egid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    for (file, maps, field, own) in [
        ("uid_map", &ns.uid_map, "linux.uidMappings", euid.as_raw()),
        ("gid_map", &ns.gid_map, "linux.gidMappings", egid.as_raw()),
    ] {
        let path = format!("/proc/{pid}/{file}");
        let only_own = matches!(maps.as_slice(), [m] if m.host == own && m.size == 1);
        if !euid.is_root() && !only_own {
            let helper = if file == "uid_map" {
                "newuidmap"
            } else {
                "newgidmap"
            };
            run_map_helper(helper, pid, maps)
                .with_context(|| format!("{field}: mapping more than id {own} without root"))?;
            continue;
        }
        if !euid.is_root() && file == "gid_map" {
            let setgroups = format!("/proc/{pid}/setgroups");
            std::fs::write(&setgroups, "deny")
                .with_context(|| format!("{field}: writing deny to {setgroups}"))?;
        }
        std::fs::write(&path, namespaces_map_text(maps))
            .with_context(|| format!("{field}: writing {path}"))?;
    }
    Ok(())
}

/// `newuidmap PID inside outside count ...` (or newgidmap), from Debian's `uidmap`.
fn run_map_helper(helper: &str, pid: Pid, maps: &[IdMap]) -> Result<()> {
    let mut cmd = std::process::Command::new(helper);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container.to_string(),
            m.host.to_string(),
            m.size.to_string(),
        ]);
    }
    let out = cmd
        .output()
        .with_context(|| format!("running {helper} (install the uidmap package)"))?;
    if !out.status.success() {
        bail!(
            "{helper} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
