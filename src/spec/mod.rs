//! Load a bundle's `config.json` into oci-spec's types, with line/column on JSON errors.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::Spec;

/// The runtime-spec version hull implements (reported by `--version`, `state`, `features`).
pub const SPEC_VERSION: &str = "1.2.1";

/// Read and parse `BUNDLE/config.json`.
pub fn load(bundle: &Path) -> Result<Spec> {
    match fs::metadata(bundle) {
        Err(e) if e.kind() == ErrorKind::NotFound => bail!("bundle {} does not exist", bundle.display()),
        Err(e) => return Err(e).with_context(|| format!("bundle {}", bundle.display())),
        Ok(m) if !m.is_dir() => bail!("bundle {} is not a directory", bundle.display()),
        Ok(_) => {}
    }
    let path = bundle.join("config.json");
    let text = match fs::read_to_string(&path) {
        Err(e) if e.kind() == ErrorKind::NotFound => bail!("{} does not exist", path.display()),
        r => r.with_context(|| format!("reading {}", path.display()))?,
    };
    parse(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Parse config.json text and check its `ociVersion`.
pub fn parse(text: &str) -> Result<Spec> {
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
        _ => bail!("ociVersion: unsupported version {version:?} (hull supports 1.x, up to {SPEC_VERSION})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_carry_line_and_column() {
        let err = parse("{\n  \"ociVersion\": \"1.0.0\",\n  oops\n}").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.starts_with("line 3 column 3"), "{msg}");
    }

    #[test]
    fn type_errors_name_the_field() {
        let err = parse(r#"{"ociVersion":"1.0.0","process":{"user":{"uid":"root","gid":0},"cwd":"/"}}"#).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.starts_with("process.user.uid: line 1 column"), "{msg}");
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
