//! AppArmor and SELinux labels. hull applies neither, and this is checked before anything is
//! made: a config that asks for a label gets an error naming the field, never a container
//! silently running without the confinement it asked for. (runc refuses SELinux labels on a
//! host without SELinux the same way, and fails when it cannot apply an AppArmor profile.)

use std::path::Path;

use anyhow::{bail, Result};
use oci_spec::runtime::{Process, Spec};

/// Refuse the labels of a config: `process.apparmorProfile`, `process.selinuxLabel`,
/// `linux.mountLabel`.
pub fn check_spec(spec: &Spec) -> Result<()> {
    if let Some(p) = spec.process() {
        check_process(p, "process.")?;
    }
    let mount_label = spec.linux().as_ref().and_then(|l| l.mount_label().clone());
    selinux("linux.mountLabel", mount_label.as_deref())
}

/// The same for an exec'd process (`--process` JSON or flags); `prefix` names where it came from.
pub fn check_process(p: &Process, prefix: &str) -> Result<()> {
    apparmor(
        &format!("{prefix}apparmorProfile"),
        p.apparmor_profile().as_deref(),
    )?;
    selinux(
        &format!("{prefix}selinuxLabel"),
        p.selinux_label().as_deref(),
    )
}

/// Refuse an AppArmor profile given in `field`.
pub fn apparmor(field: &str, label: Option<&str>) -> Result<()> {
    check(field, label, Lsm::AppArmor)
}

/// Refuse an SELinux label given in `field`.
pub fn selinux(field: &str, label: Option<&str>) -> Result<()> {
    check(field, label, Lsm::SeLinux)
}

#[derive(Clone, Copy)]
enum Lsm {
    AppArmor,
    SeLinux,
}

fn check(field: &str, label: Option<&str>, lsm: Lsm) -> Result<()> {
    let Some(label) = label.filter(|l| !l.is_empty()) else {
        return Ok(());
    };
    let (name, enabled) = match lsm {
        Lsm::AppArmor => (
            "AppArmor",
            std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
                .is_ok_and(|s| s.starts_with('Y')),
        ),
        Lsm::SeLinux => ("SELinux", Path::new("/sys/fs/selinux/enforce").exists()),
    };
    if enabled {
        bail!("{field}: {label:?}: hull does not apply {name} labels");
    }
    bail!("{field}: {label:?} given, but {name} is not enabled on this host")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_refused_by_field_and_empty_ones_ignored() {
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.2.0","linux":{"mountLabel":"system_u:object_r:x:s0"}}"#,
        )
        .unwrap();
        assert!(format!("{:#}", check_spec(&spec).unwrap_err()).starts_with("linux.mountLabel: "));
        let p: Process = serde_json::from_str(r#"{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0},"apparmorProfile":"docker-default","selinuxLabel":""}"#).unwrap();
        assert!(format!("{:#}", check_process(&p, "process.").unwrap_err())
            .starts_with("process.apparmorProfile: \"docker-default\""));
        let p: Process = serde_json::from_str(r#"{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0},"apparmorProfile":"","selinuxLabel":""}"#).unwrap();
        assert!(check_process(&p, "process.").is_ok());
    }
}
