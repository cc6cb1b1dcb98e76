//! `hull update --resources FILE|- ID`: new limits for a live container.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use oci_spec::runtime::LinuxResources;

use super::Global;
use crate::lifecycle;
use crate::state::StateDir;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A runtime-spec linux.resources JSON object, from a file or "-" for stdin
    #[arg(short, long)]
    pub resources: PathBuf,
    /// Container ID
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let text = if a.resources.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("reading --resources from stdin")?;
        s
    } else {
        std::fs::read_to_string(&a.resources).with_context(|| format!("reading --resources {}", a.resources.display()))?
    };
    let resources: LinuxResources = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("parsing --resources: line {} column {}: {e}", e.line(), e.column()))?;
    lifecycle::update(&StateDir::open(&g.root, &a.id)?, &resources)?;
    Ok(0)
}
