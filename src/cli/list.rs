//! `hull list [--format table|json] [-q]`

use anyhow::Result;

use super::args::{switch, valued, Command, Matches};
use super::state::StateJson;
use super::{Format, Global};
use crate::lifecycle;
use crate::state::list_ids;

pub struct Args {
    pub format: Format,
    pub quiet: bool,
}

pub const COMMAND: Command = Command {
    name: "list",
    alias: Some("ps-all"),
    about: "List containers",
    flags: &[&[
        valued(
            "format",
            Some('f'),
            "table|json",
            "Output format [default: table]",
        ),
        switch("quiet", Some('q'), "Print only the container IDs"),
    ]],
    usage: "",
    rest_after: None,
};

impl Args {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(Args {
            format: m.parse("format")?.unwrap_or(Format::Table),
            quiet: m.flag("quiet"),
        })
    }
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let ids = list_ids(&g.root)?;
    if a.quiet {
        ids.iter().for_each(|id| println!("{id}"));
        return Ok(0);
    }
    // A container deleted while we list is simply not listed; one whose record cannot be
    // read is, as "unknown" (the reason on stderr), so that it can be found and deleted.
    let states: Vec<StateJson> = ids
        .iter()
        .filter_map(|id| match lifecycle::snapshot(&g.root, id) {
            Ok(s) => Some(StateJson::new(id, s)),
            Err(e) if g.root.join(id).is_dir() => {
                crate::log::warn(&format!("container {id:?}: {e:#}"));
                Some(StateJson::unknown(id))
            }
            Err(_) => None,
        })
        .collect();
    match a.format {
        Format::Json => println!("{}", serde_json::to_string(&states)?),
        Format::Table => print!("{}", table(&states)),
    }
    Ok(0)
}

fn table(states: &[StateJson]) -> String {
    let rows: Vec<[String; 6]> = states
        .iter()
        .map(|s| {
            [
                s.id.clone(),
                s.pid.to_string(),
                s.status.into(),
                s.bundle.display().to_string(),
                s.created.clone(),
                s.owner.clone(),
            ]
        })
        .collect();
    let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    std::iter::once(&header)
        .chain(&rows)
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            format!("{}\n", cells.join("   ").trim_end())
        })
        .collect()
}
