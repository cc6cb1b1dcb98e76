//! `hull spec [--bundle B] [--rootless]`: write a default config.json, as `runc spec` does.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::Spec;

use crate::spec::SPEC_VERSION;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write config.json in
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for a container started by an unprivileged user (user namespace, id maps)
    #[arg(long)]
    pub rootless: bool,
}

pub fn run(a: Args) -> Result<i32> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        bail!("{} exists: remove it first", path.display());
    }
    let mut spec = if a.rootless {
        Spec::rootless(
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    } else {
        Spec::default()
    };
    spec.set_version(SPEC_VERSION.into());
    spec.set_hostname(Some("hull".into()));
    let json = serde_json::to_string_pretty(&spec)?;
    std::fs::write(&path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    Ok(0)
}
