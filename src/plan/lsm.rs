//! AppArmor and SELinux labels. hull applies neither, so a config that asks for one gets an
//! error naming the field, never a container silently running without the confinement it
//! asked for. (runc refuses SELinux labels on a host without SELinux the same way, and fails
//! when it cannot apply an AppArmor profile.) Whether the host has them only changes the text.

use anyhow::{bail, Result};
use oci_spec::runtime::Process;

/// The security modules the host has enabled (probed by `security::lsm::host`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostLsms {
    pub apparmor: bool,
    pub selinux: bool,
}

/// A labelling security module.
#[derive(Debug, Clone, Copy)]
pub enum Lsm {
    AppArmor,
    SeLinux,
}

impl HostLsms {
    /// Refuse `process.apparmorProfile` and `process.selinuxLabel` (`prefix` names where the
    /// process came from); empty labels are no labels.
    pub fn refuse_process(self, p: &Process, prefix: &str) -> Result<()> {
        let apparmor = p.apparmor_profile().as_deref();
        self.refuse(&format!("{prefix}apparmorProfile"), apparmor, Lsm::AppArmor)?;
        let selinux = p.selinux_label().as_deref();
        self.refuse(&format!("{prefix}selinuxLabel"), selinux, Lsm::SeLinux)
    }

    /// Refuse the label `field` gives for `lsm`, if any.
    pub fn refuse(self, field: &str, label: Option<&str>, lsm: Lsm) -> Result<()> {
        let Some(label) = label.filter(|l| !l.is_empty()) else {
            return Ok(());
        };
        let (name, enabled) = match lsm {
            Lsm::AppArmor => ("AppArmor", self.apparmor),
            Lsm::SeLinux => ("SELinux", self.selinux),
        };
        if enabled {
            bail!("{field}: {label:?}: hull does not apply {name} labels");
        }
        bail!("{field}: {label:?} given, but {name} is not enabled on this host")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(json: &str) -> Process {
        serde_json::from_str(&format!(
            r#"{{"cwd":"/","args":["sh"],"user":{{"uid":0,"gid":0}},{json}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn labels_are_refused_by_field_and_empty_ones_ignored() {
        let none = HostLsms::default();
        let p = process(r#""apparmorProfile":"docker-default","selinuxLabel":"""#);
        let err = none.refuse_process(&p, "process.").unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "process.apparmorProfile: \"docker-default\" given, but AppArmor is not enabled on this host"
        );
        let p = process(r#""apparmorProfile":"","selinuxLabel":"x""#);
        let err = none.refuse_process(&p, "--process: ").unwrap_err();
        assert!(format!("{err:#}").starts_with("--process: selinuxLabel: \"x\""));
        let p = process(r#""apparmorProfile":"","selinuxLabel":"""#);
        assert!(none.refuse_process(&p, "process.").is_ok());
    }

    #[test]
    fn an_enabled_module_is_still_refused() {
        let all = HostLsms {
            apparmor: true,
            selinux: true,
        };
        let err = all
            .refuse(
                "linux.mountLabel",
                Some("system_u:object_r:x:s0"),
                Lsm::SeLinux,
            )
            .unwrap_err();
        assert!(format!("{err}").contains("hull does not apply SELinux labels"));
    }
}
