//! Find `process.args[0]` inside the container, so a missing program fails `create`.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{bail, Result};
use nix::fcntl::{AtFlags, AT_FDCWD};
use nix::unistd::{faccessat, AccessFlags};

/// runc's default when the container's env has no PATH.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Resolve `arg0` like execvp: as a path if it has a '/', else through `PATH`. Run after
/// pivot_root and the user switch, so it sees the container's files with its credentials.
pub fn resolve(arg0: &CStr, path_env: Option<&str>) -> Result<CString> {
    let name = Path::new(std::ffi::OsStr::from_bytes(arg0.to_bytes()));
    if arg0.to_bytes().contains(&b'/') {
        check(name).map_err(|why| anyhow::anyhow!("process.args[0]: {}: {why}", name.display()))?;
        return Ok(arg0.to_owned());
    }
    for dir in path_env
        .unwrap_or(DEFAULT_PATH)
        .split(':')
        .filter(|d| !d.is_empty())
    {
        let candidate = Path::new(dir).join(name);
        if check(&candidate).is_ok() {
            return Ok(CString::new(candidate.as_os_str().as_bytes())?);
        }
    }
    bail!(
        "process.args[0]: {:?}: executable file not found in $PATH",
        name
    )
}

fn check(path: &Path) -> std::result::Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.is_dir() {
        return Err("is a directory".into());
    }
    // The kernel's own rule: no exec bit at all is never executable, even for root.
    if meta.permissions().mode() & 0o111 == 0 {
        return Err("permission denied (not executable)".into());
    }
    // With the effective ids and capabilities execve will use (CAP_DAC_OVERRIDE lets a user
    // run a file whose exec bit is another's), not access(2)'s real ids.
    faccessat(AT_FDCWD, path, AccessFlags::X_OK, AtFlags::AT_EACCESS)
        .map_err(|e| e.desc().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_through_path_and_rejects_missing() {
        let sh = resolve(c"sh", Some("/nonexistent:/bin")).unwrap();
        assert_eq!(sh.as_bytes(), b"/bin/sh");
        assert!(resolve(c"no-such-program-xyz", None)
            .unwrap_err()
            .to_string()
            .contains("not found"));
        assert!(resolve(c"/proc/version", None).is_err());
        assert!(resolve(c"/", None)
            .unwrap_err()
            .to_string()
            .contains("directory"));
    }
}
