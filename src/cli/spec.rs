//! `hull spec [--bundle B] [--rootless]`: write a default config.json, as `runc spec` does.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::Spec;

use super::args::{switch, valued, Command, Matches};
use crate::spec::SPEC_VERSION;

pub struct Args {
    pub bundle: PathBuf,
    pub rootless: bool,
}

pub const COMMAND: Command = Command {
    name: "spec",
    alias: None,
    about: "Write a default config.json",
    flags: &[&[
        valued(
            "bundle",
            Some('b'),
            "DIR",
            "Directory to write config.json in [default: .]",
        ),
        switch(
            "rootless",
            None,
            "A config for a container started by an unprivileged user (user namespace, id maps)",
        ),
    ]],
    usage: "",
    rest_after: None,
};

impl Args {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(Args {
            bundle: m.path("bundle").unwrap_or_else(|| PathBuf::from(".")),
            rootless: m.flag("rootless"),
        })
    }
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
