//! linux.cgroupsPath: where the container's cgroup goes, for the cgroupfs drivers (a path)
//! and the systemd driver (runc's `slice:prefix:name`).

use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Result};

/// Where the container's cgroup goes, inside each hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupPath {
    /// From the hierarchy's root.
    Absolute(PathBuf),
    /// Below hull's own cgroup (per hierarchy), as runc does.
    Relative(PathBuf),
    /// A transient systemd scope `unit` in `slice` (`--systemd-cgroup`); no slice: the
    /// manager's default (system.slice, or user.slice for a rootless caller's own systemd).
    Systemd { slice: Option<String>, unit: String },
}

/// The container's cgroup path from `linux.cgroupsPath`; `id` names the default, `/hull/ID`
/// (systemd: `:hull:ID`, in the manager's default slice).
pub(super) fn cgroup_path(path: Option<&Path>, id: &str, systemd: bool) -> Result<CgroupPath> {
    Ok(match path {
        p if systemd => systemd_path(p, id)?,
        None => CgroupPath::Absolute(Path::new("/hull").join(id)),
        Some(p) if p.as_os_str().is_empty() => CgroupPath::Absolute(Path::new("/hull").join(id)),
        Some(p) => {
            if p.components().any(|c| matches!(c, Component::ParentDir))
                || p.to_string_lossy().contains(':')
            {
                bail!("linux.cgroupsPath: {} must not contain \"..\" (or be a systemd slice:prefix:name without --systemd-cgroup)", p.display());
            }
            if p.is_absolute() {
                CgroupPath::Absolute(p.to_owned())
            } else {
                CgroupPath::Relative(p.to_owned())
            }
        }
    })
}

/// runc's `slice:prefix:name` for the systemd driver: the scope `prefix-name.scope` in
/// `slice` (default: the manager's); an empty path is `:hull:ID`.
pub(super) fn systemd_path(path: Option<&Path>, id: &str) -> Result<CgroupPath> {
    let text = path
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (slice, prefix, name) = match text.split(':').collect::<Vec<_>>()[..] {
        [""] => ("", "hull", id),
        [slice, prefix, name] => (slice, prefix, name),
        _ => bail!(
            "linux.cgroupsPath: expected \"slice:prefix:name\" for systemd cgroups, got {text:?}"
        ),
    };
    let base = slice.strip_suffix(".slice").unwrap_or_default();
    let bad_base = base.is_empty()
        || (base != "-" && (base.starts_with('-') || base.ends_with('-') || base.contains("--")));
    if !slice.is_empty() && (bad_base || slice.contains('/')) {
        bail!("linux.cgroupsPath: {slice:?} is not a valid systemd slice name");
    }
    if name.is_empty() || name.contains('/') || name.ends_with(".slice") {
        bail!("linux.cgroupsPath: {name:?} is not a valid systemd scope name (a container in its own slice is not supported)");
    }
    let unit = if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    Ok(CgroupPath::Systemd {
        slice: (!slice.is_empty()).then(|| slice.to_owned()),
        unit,
    })
}
