//! `hull delete [--force] ID`

use anyhow::Result;

use super::args::{switch, Command, Matches};
use super::Global;
use crate::lifecycle::{self, DeleteMode};

pub struct Args {
    pub force: bool,
    pub id: String,
}

pub const COMMAND: Command = Command {
    name: "delete",
    alias: None,
    about: "Delete a container and everything it holds",
    flags: &[&[switch(
        "force",
        Some('f'),
        "Kill the container first if it is running, and remove whatever a crash left",
    )]],
    usage: "ID",
    rest_after: None,
};

impl Args {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(Args {
            force: m.flag("force"),
            id: m.positional("ID")?,
        })
    }
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let mode = if a.force {
        DeleteMode::Force
    } else {
        DeleteMode::Normal
    };
    lifecycle::delete(&g.root, &a.id, mode)?;
    Ok(0)
}
