//! The `--pid-file`: written atomically (temp + rename) so a reader never sees it half-written.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

pub fn write(path: &Path, pid: i32) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("pid file {} has no file name", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    fs::write(&tmp, pid.to_string())
        .with_context(|| format!("writing pid file {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("renaming pid file into {}", path.display()))
}
