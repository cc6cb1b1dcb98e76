//! process.capabilities: the five sets as kernel capability values.

use std::str::FromStr;

use anyhow::{Context, Result};
use caps::{Capability, CapsHashSet};
use oci_spec::runtime::LinuxCapabilities;

/// The capability sets the container process gets. `None` in the plan means the config had no
/// `capabilities` object: hull then leaves init's capabilities as they are (runc does the same).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapsPlan {
    pub bounding: CapsHashSet,
    pub effective: CapsHashSet,
    pub permitted: CapsHashSet,
    pub inheritable: CapsHashSet,
    pub ambient: CapsHashSet,
}

impl CapsPlan {
    pub fn from_spec(c: &LinuxCapabilities) -> Result<Self> {
        Ok(Self {
            bounding: set(c.bounding(), "bounding")?,
            effective: set(c.effective(), "effective")?,
            permitted: set(c.permitted(), "permitted")?,
            inheritable: set(c.inheritable(), "inheritable")?,
            ambient: set(c.ambient(), "ambient")?,
        })
    }
}

/// oci-spec parses names into its own enum; we map them by name to the `caps` crate's, so an
/// unknown name is reported with the set it appeared in.
fn set(names: &Option<oci_spec::runtime::Capabilities>, field: &str) -> Result<CapsHashSet> {
    names
        .iter()
        .flatten()
        .map(|c| {
            let name = format!("CAP_{}", c.to_string().trim_start_matches("CAP_"));
            Capability::from_str(&name)
                .with_context(|| format!("process.capabilities.{field}: unknown capability {name}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{plan, MINIMAL};
    use crate as _;
    use caps::Capability;

    #[test]
    fn capability_sets_are_planned() {
        let j = MINIMAL.replace(
            r#""cwd":"/""#,
            r#""cwd":"/","capabilities":{"bounding":["CAP_CHOWN","CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]}"#,
        );
        let caps = plan(&j).unwrap().process.unwrap().capabilities.unwrap();
        assert_eq!(caps.bounding.len(), 2);
        assert!(caps.effective.contains(&Capability::CAP_KILL));
        assert!(caps.ambient.is_empty() && caps.inheritable.is_empty());
    }

    #[test]
    fn unknown_capability_is_left_out_by_name() {
        let j = MINIMAL.replace(
            r#""cwd":"/""#,
            r#""cwd":"/","capabilities":{"bounding":["CAP_NOT_A_THING","CAP_KILL"],"ambient":["CAP_NOT_A_THING"]}"#,
        );
        // As runc: a newer kernel's name in an older runtime is ignored (the caller warns).
        let (spec, extras) = crate::spec::parse_with_extras(&j).unwrap();
        assert_eq!(extras.unknown_capabilities, ["CAP_NOT_A_THING"]);
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 1);
        // Not a name at all is still an error, naming the field.
        let j = MINIMAL.replace(
            r#""cwd":"/""#,
            r#""cwd":"/","capabilities":{"bounding":[7]}"#,
        );
        let err = format!("{:#}", crate::spec::parse(&j).unwrap_err());
        assert!(err.contains("process.capabilities.bounding"), "{err}");
    }
}
