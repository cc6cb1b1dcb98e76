//! `hull start ID`

use anyhow::Result;

use super::args::{Command, Matches};
use super::Global;
use crate::lifecycle;
use crate::state::StateDir;

pub struct Args {
    pub id: String,
}

pub const COMMAND: Command = Command {
    name: "start",
    alias: None,
    about: "Run the user process of a created container",
    flags: &[],
    usage: "ID",
    rest_after: None,
};

impl Args {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(Args {
            id: m.positional("ID")?,
        })
    }
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let dir = StateDir::open(&g.root, &a.id)?;
    lifecycle::start(&dir)?;
    Ok(0)
}
