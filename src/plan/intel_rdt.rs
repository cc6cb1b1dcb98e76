//! linux.intelRdt: the container's resctrl group (its class of service), the lines for its
//! `schemata` file and its monitoring group, checked by field. `crate::resctrl` makes, joins
//! and removes them.

use anyhow::{bail, Result};

use crate::spec::IntelRdt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntelRdtPlan {
    pub group: RdtGroup,
    /// The `schemata` lines, in config-linux.md's order: l3CacheSchema, memBwSchema, then
    /// `schemata`. Empty: nothing is written.
    pub schemata: Vec<String>,
    /// `enableMonitoring`: a MON group named after the container.
    pub monitoring: bool,
}

/// Which resctrl group the container's processes join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RdtGroup {
    /// `closID` "/": the default class of service (resctrl's root).
    Default,
    /// `closID`: a group that may be there already (then never removed by hull).
    Named(String),
    /// No `closID`: a group named after the container, made and removed with it.
    Own(String),
}

impl IntelRdtPlan {
    pub fn from_spec(rdt: &IntelRdt, id: &str) -> Result<Self> {
        let group = match rdt.clos_id.as_deref() {
            None => RdtGroup::Own(id.to_owned()),
            Some("/") => RdtGroup::Default,
            Some(name) if is_group_name(name) => RdtGroup::Named(name.to_owned()),
            Some(name) => bail!("linux.intelRdt.closID: {name:?} is not a resctrl group name"),
        };
        let mut schemata = Vec::new();
        if let Some(l3) = &rdt.l3_cache_schema {
            schemata.push(one_line(l3, "linux.intelRdt.l3CacheSchema")?);
        }
        if let Some(mb) = &rdt.mem_bw_schema {
            let line = one_line(mb, "linux.intelRdt.memBwSchema")?;
            if !line.starts_with("MB:") {
                bail!("linux.intelRdt.memBwSchema: {line:?} must start with \"MB:\"");
            }
            schemata.push(line);
        }
        for (i, line) in rdt.schemata.iter().flatten().enumerate() {
            schemata.push(one_line(line, &format!("linux.intelRdt.schemata[{i}]"))?);
        }
        Ok(IntelRdtPlan {
            group,
            schemata,
            // enableCMT/enableMBM (1.1–1.2) asked for monitoring, which 1.3 names as one.
            monitoring: [rdt.enable_monitoring, rdt.enable_cmt, rdt.enable_mbm]
                .into_iter()
                .any(|e| e == Some(true)),
        })
    }
}

/// A directory name resctrl can hold: not empty, no `/`, not `.` or `..`, one line.
fn is_group_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\n', '\0'])
}

/// A schemata line: `RESOURCE:...`, one line (a newline would write a line of its own).
fn one_line(line: &str, field: &str) -> Result<String> {
    let line = line.trim();
    if line.contains(['\n', '\r', '\0']) {
        bail!("{field}: {line:?} must be one line");
    }
    match line.split_once(':') {
        Some((resource, rest)) if !resource.is_empty() && !rest.is_empty() => Ok(line.to_owned()),
        _ => bail!("{field}: {line:?} is not a schemata line like \"L3:0=ff\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(json: &str) -> Result<IntelRdtPlan> {
        IntelRdtPlan::from_spec(&serde_json::from_str(json).unwrap(), "c1")
    }

    #[test]
    fn the_group_is_the_clos_id_the_root_or_the_containers_own() {
        assert_eq!(plan("{}").unwrap().group, RdtGroup::Own("c1".into()));
        assert_eq!(plan(r#"{"closID":"/"}"#).unwrap().group, RdtGroup::Default);
        assert_eq!(
            plan(r#"{"closID":"gold"}"#).unwrap().group,
            RdtGroup::Named("gold".into())
        );
        for bad in ["", ".", "..", "a/b", "../x", "a\nb"] {
            let json = serde_json::json!({ "closID": bad }).to_string();
            let err = format!("{:#}", plan(&json).unwrap_err());
            assert!(err.starts_with("linux.intelRdt.closID: "), "{bad:?}: {err}");
        }
    }

    #[test]
    fn schemata_lines_come_in_the_specs_order() {
        let p = plan(
            r#"{"closID":"g","schemata":["L2:0=f","MB:0=70"],"memBwSchema":"MB:0=20",
                "l3CacheSchema":"L3:0=7f0;1=1f"}"#,
        )
        .unwrap();
        assert_eq!(
            p.schemata,
            ["L3:0=7f0;1=1f", "MB:0=20", "L2:0=f", "MB:0=70"]
        );
        assert!(!p.monitoring);
        assert!(plan("{}").unwrap().schemata.is_empty());
    }

    #[test]
    fn lines_that_would_write_more_or_other_lines_are_refused_by_field() {
        for (json, field) in [
            (
                r#"{"memBwSchema":"L3:0=1"}"#,
                "linux.intelRdt.memBwSchema: ",
            ),
            (
                r#"{"memBwSchema":"MB:0=1\nL3:0=1"}"#,
                "linux.intelRdt.memBwSchema: ",
            ),
            (
                r#"{"l3CacheSchema":"L3:0=1\nMB:0=1"}"#,
                "linux.intelRdt.l3CacheSchema: ",
            ),
            (
                r#"{"schemata":["L3:0=1","garbage"]}"#,
                "linux.intelRdt.schemata[1]: ",
            ),
            (r#"{"schemata":["L3:"]}"#, "linux.intelRdt.schemata[0]: "),
        ] {
            let err = format!("{:#}", plan(json).unwrap_err());
            assert!(err.starts_with(field), "{json}: {err}");
        }
    }

    #[test]
    fn monitoring_by_its_1_3_name_or_the_older_ones() {
        for json in [
            r#"{"enableMonitoring":true}"#,
            r#"{"enableCMT":true}"#,
            r#"{"enableMBM":true}"#,
        ] {
            assert!(plan(json).unwrap().monitoring, "{json}");
        }
        assert!(!plan(r#"{"enableMonitoring":false}"#).unwrap().monitoring);
    }
}
