//! Load a bundle's `config.json` into oci-spec's types, with line/column on JSON errors.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::Spec;

/// The runtime-spec version hull implements (reported by `--version`, `state`, `features`).
pub const SPEC_VERSION: &str = "1.3.0";

/// Fields of runtime-spec 1.2 that oci-spec 0.8 has no place for: taken out of the JSON before
/// it is deserialized, and carried next to the `Spec`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    /// `linux.seccomp.flags` holds `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`.
    pub seccomp_wait_killable_recv: bool,
    /// `mounts[i].uidMappings`/`gidMappings` (idmapped mounts), by mount index.
    pub mount_id_maps: std::collections::BTreeMap<usize, MountIdMaps>,
    /// Capability names hull does not know (a newer kernel's), left out as runc leaves them,
    /// for the caller to warn about.
    pub unknown_capabilities: Vec<String>,
    /// `linux.resources.pids` is `{}`: no limit. oci-spec reads a missing `limit` as 0, which
    /// runtime-spec 1.3.0 makes a real limit ("0 is a valid limit value").
    pub pids_without_limit: bool,
    /// `linux.intelRdt` with runtime-spec 1.3.0's fields (`schemata`, `enableMonitoring`),
    /// which oci-spec 0.8 does not hold.
    pub intel_rdt: Option<IntelRdt>,
}

/// `linux.intelRdt` as config-linux.md (1.3.0) writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntelRdt {
    #[serde(rename = "closID")]
    pub clos_id: Option<String>,
    pub l3_cache_schema: Option<String>,
    pub mem_bw_schema: Option<String>,
    pub schemata: Option<Vec<String>>,
    pub enable_monitoring: Option<bool>,
    /// runtime-spec 1.1–1.2's names, replaced by `enableMonitoring`.
    #[serde(rename = "enableCMT")]
    pub enable_cmt: Option<bool>,
    #[serde(rename = "enableMBM")]
    pub enable_mbm: Option<bool>,
}

impl From<&oci_spec::runtime::LinuxIntelRdt> for IntelRdt {
    /// What oci-spec holds of it (a spec built in code, not read by [`load`]).
    fn from(r: &oci_spec::runtime::LinuxIntelRdt) -> Self {
        IntelRdt {
            clos_id: r.clos_id().clone(),
            l3_cache_schema: r.l3_cache_schema().clone(),
            mem_bw_schema: r.mem_bw_schema().clone(),
            enable_cmt: *r.enable_cmt(),
            enable_mbm: *r.enable_mbm(),
            ..Default::default()
        }
    }
}

/// One mount's `uidMappings` and `gidMappings`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MountIdMaps {
    pub uid_mappings: Option<Vec<oci_spec::runtime::LinuxIdMapping>>,
    pub gid_mappings: Option<Vec<oci_spec::runtime::LinuxIdMapping>>,
}

pub const WAIT_KILLABLE_RECV: &str = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV";

/// Read and parse `BUNDLE/config.json`.
pub fn load(bundle: &Path) -> Result<(Spec, Extras)> {
    match fs::metadata(bundle) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            bail!("bundle {} does not exist", bundle.display())
        }
        Err(e) => return Err(e).with_context(|| format!("bundle {}", bundle.display())),
        Ok(m) if !m.is_dir() => bail!("bundle {} is not a directory", bundle.display()),
        Ok(_) => {}
    }
    let path = bundle.join("config.json");
    let text = read_input(&path, "")?;
    parse_with_extras(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The most hull reads of a config.json, `--process` or `--resources` file: far above any real
/// one (Kubernetes caps a pod's annotations at 256 KiB), far below what would hurt the caller.
pub const MAX_INPUT: u64 = 16 << 20;

/// Read a caller's JSON input: a regular file only (a FIFO would hang hull, a link to
/// /dev/zero grow it until the OOM killer), at most [`MAX_INPUT`] bytes. `what` names the
/// flag the path came from (or is empty).
pub fn read_input(path: &Path, what: &str) -> Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = format!(
        "{what}{}{}",
        if what.is_empty() { "" } else { " " },
        path.display()
    );
    // Non-blocking: opening a FIFO must not wait for a writer. Regular files ignore the flag.
    let file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Err(e) if e.kind() == ErrorKind::NotFound => bail!("{name} does not exist"),
        r => r.with_context(|| format!("opening {name}"))?,
    };
    let meta = file.metadata().with_context(|| format!("reading {name}"))?;
    if !meta.is_file() {
        bail!("{name} is not a regular file");
    }
    read_bounded(file, &name, meta.len())
}

/// Read at most [`MAX_INPUT`] bytes of UTF-8 from `r` (a file or stdin), naming `name` in errors;
/// `expected` (its size, when known) sizes the buffer: one read instead of a doubling series.
pub fn read_bounded(r: impl std::io::Read, name: &str, expected: u64) -> Result<String> {
    use std::io::Read as _;
    let mut text = String::with_capacity(expected.min(MAX_INPUT) as usize + 1);
    r.take(MAX_INPUT + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {name}"))?;
    if text.len() as u64 > MAX_INPUT {
        bail!(
            "{name} is larger than {} MiB, hull's limit for JSON input",
            MAX_INPUT >> 20
        );
    }
    Ok(text)
}

/// Parse config.json text and check its `ociVersion`.
pub fn parse(text: &str) -> Result<Spec> {
    parse_with_extras(text).map(|(spec, _)| spec)
}

/// [`parse`], also returning the [`Extras`].
pub fn parse_with_extras(text: &str) -> Result<(Spec, Extras)> {
    let mut extras = Extras {
        pids_without_limit: has_empty_object(text, "\"pids\""),
        ..Extras::default()
    };
    // Rare, so the cost of a second pass (and line numbers of the re-serialized text in
    // errors) is only paid by configs that use the flag.
    if !text.contains(WAIT_KILLABLE_RECV)
        && !text.contains("Mappings")
        && !text.contains("intelRdt")
    {
        match parse_spec(text) {
            // Perhaps a capability name newer than hull: the slow path leaves those out.
            Err(e) if format!("{e}").starts_with("process.capabilities") => {}
            r => return r.map(|spec| (spec, extras)),
        }
    }
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) else {
        // The typed parse reports the error with its field, line and column.
        return Ok((parse_spec(text)?, extras));
    };
    for (i, m) in value
        .get("mounts")
        .and_then(|m| m.as_array())
        .into_iter()
        .flatten()
        .enumerate()
    {
        let maps: MountIdMaps = serde_json::from_value(m.clone())
            .with_context(|| format!("mounts[{i}]: uidMappings/gidMappings"))?;
        if maps.uid_mappings.is_some() || maps.gid_mappings.is_some() {
            extras.mount_id_maps.insert(i, maps);
        }
    }
    if let Some(rdt) = value.pointer("/linux/intelRdt") {
        extras.intel_rdt = Some(
            serde_json::from_value(rdt.clone())
                .context("linux.intelRdt: not an intelRdt object")?,
        );
    }
    if let Some(flags) = value
        .pointer_mut("/linux/seccomp/flags")
        .and_then(|f| f.as_array_mut())
    {
        let before = flags.len();
        flags.retain(|f| f != WAIT_KILLABLE_RECV);
        extras.seccomp_wait_killable_recv = flags.len() != before;
    }
    extras.unknown_capabilities = drop_unknown_capabilities(&mut value);
    // Only then is the text oci-spec sees different from the file (line numbers too).
    let spec = if extras.seccomp_wait_killable_recv || !extras.unknown_capabilities.is_empty() {
        parse_spec(&value.to_string())?
    } else {
        parse_spec(text)?
    };
    Ok((spec, extras))
}

/// Whether `key` appears in `text` followed by an empty object (`"pids": {}`), read without
/// parsing the JSON a second time.
fn has_empty_object(text: &str, key: &str) -> bool {
    text.match_indices(key).any(|(i, _)| {
        let mut rest = text[i + key.len()..].trim_start();
        for expected in [':', '{', '}'] {
            match rest.strip_prefix(expected) {
                Some(r) => rest = r.trim_start(),
                None => return false,
            }
        }
        true
    })
}

/// Take the names oci-spec does not know out of every `process.capabilities` set; the names.
fn drop_unknown_capabilities(config: &mut serde_json::Value) -> Vec<String> {
    let known = |name: &serde_json::Value| {
        serde_json::from_value::<oci_spec::runtime::Capability>(name.clone()).is_ok()
    };
    let mut unknown = Vec::new();
    let Some(sets) = config
        .pointer_mut("/process/capabilities")
        .and_then(|c| c.as_object_mut())
    else {
        return unknown;
    };
    for set in sets.values_mut().filter_map(|s| s.as_array_mut()) {
        set.retain(|name| {
            let keep = !name.is_string() || known(name);
            if !keep {
                let name = name.as_str().unwrap_or_default().to_string();
                if !unknown.contains(&name) {
                    unknown.push(name);
                }
            }
            keep
        });
    }
    unknown
}

fn parse_spec(text: &str) -> Result<Spec> {
    // serde_path_to_error names the field at fault ("process.user.uid"), which serde_json's
    // own message does not.
    let mut de = serde_json::Deserializer::from_str(text);
    let spec: Spec = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        let at = format!("line {} column {}", inner.line(), inner.column());
        match path.as_str() {
            "." | "" | "?" => anyhow::anyhow!("{at}: {}", strip_position(&inner.to_string())),
            _ => anyhow::anyhow!("{path}: {at}: {}", strip_position(&inner.to_string())),
        }
    })?;
    check_version(spec.version())?;
    Ok(spec)
}

/// serde_json appends " at line L column C" to its messages; we print the position first.
fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}

/// hull runs configs of runtime-spec 1.x (1.0.0 onward), as runc does.
fn check_version(version: &str) -> Result<()> {
    let mut parts = version.split(['.', '-', '+']);
    let major = parts.next().and_then(|p| p.parse::<u32>().ok());
    let minor = parts.next().and_then(|p| p.parse::<u32>().ok());
    match (major, minor) {
        (Some(1), Some(_)) => Ok(()),
        _ => bail!(
            "ociVersion: unsupported version {version:?} (hull supports 1.x, up to {SPEC_VERSION})"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_pids_object_has_no_limit() {
        let key = "\"pids\"";
        assert!(has_empty_object(
            r#"{"linux":{"resources":{"pids": { } }}}"#,
            key
        ));
        assert!(!has_empty_object(r#"{"pids":{"limit":0}}"#, key));
        assert!(!has_empty_object(r#"{"annotations":{"pids":"x"}}"#, key));
    }

    #[test]
    fn json_errors_carry_line_and_column() {
        let err = parse("{\n  \"ociVersion\": \"1.0.0\",\n  oops\n}").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.starts_with("line 3 column 3"), "{msg}");
    }

    #[test]
    fn type_errors_name_the_field() {
        let err =
            parse(r#"{"ociVersion":"1.0.0","process":{"user":{"uid":"root","gid":0},"cwd":"/"}}"#)
                .unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.starts_with("process.user.uid: line 1 column"), "{msg}");
    }

    #[test]
    fn wait_killable_recv_is_carried_beside_the_spec() {
        let j = r#"{"ociVersion":"1.2.0","linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW",
            "flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}}}"#;
        let (spec, extras) = parse_with_extras(j).unwrap();
        assert!(extras.seccomp_wait_killable_recv);
        let flags = spec
            .linux()
            .as_ref()
            .unwrap()
            .seccomp()
            .as_ref()
            .unwrap()
            .flags()
            .clone()
            .unwrap();
        assert_eq!(flags.len(), 1);
        assert!(
            !parse_with_extras(&j.replace(",\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"", ""))
                .unwrap()
                .1
                .seccomp_wait_killable_recv
        );
    }

    #[test]
    fn version_must_be_1_x() {
        assert!(parse(r#"{"ociVersion":"1.0.2-dev"}"#).is_ok());
        assert!(parse(r#"{"ociVersion":"1.2.1"}"#).is_ok());
        for bad in ["2.0.0", "0.9", "", "x"] {
            let err = parse(&format!(r#"{{"ociVersion":"{bad}"}}"#)).unwrap_err();
            assert!(format!("{err:#}").contains("ociVersion"), "{bad}");
        }
    }
}
