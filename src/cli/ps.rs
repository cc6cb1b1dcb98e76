//! `hull ps [--format table|json] ID [PS_ARGS...]`: the processes in the container's cgroup;
//! with PS_ARGS, the host's `ps PS_ARGS` rows of those processes (runc's form, e.g. `-ef`).

use anyhow::{bail, Context, Result};

use super::args::{valued, Command, Matches};
use super::{Format, Global};
use crate::lifecycle;
use crate::state::StateDir;

pub struct Args {
    pub format: Format,
    pub id: String,
    pub ps_args: Vec<String>,
}

pub const COMMAND: Command = Command {
    name: "ps",
    alias: None,
    about: "List the processes of the container",
    flags: &[&[valued(
        "format",
        Some('f'),
        "table|json",
        "Output format: json is the list of pids (what containerd reads) [default: table]",
    )]],
    usage: "ID [PS_ARGS... (for the host's ps, e.g. -ef: its rows of the container's processes)]",
    rest_after: Some(1),
};

impl Args {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(Args {
            format: m.parse("format")?.unwrap_or(Format::Table),
            id: m.positional("ID")?,
            ps_args: m.rest()?,
        })
    }
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let pids = lifecycle::pids(&StateDir::open(&g.root, &a.id)?)?;
    if !a.ps_args.is_empty() {
        if a.format == Format::Json {
            bail!("ps arguments cannot be used with --format json");
        }
        let pids: Vec<i32> = pids.iter().map(|p| p.as_raw()).collect();
        return ps_rows(&a.ps_args, &pids);
    }
    match a.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string(&pids.iter().map(|p| p.as_raw()).collect::<Vec<_>>())?
        ),
        Format::Table => {
            println!("PID   CMD");
            for pid in pids {
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let cmd: Vec<String> = cmd
                    .split(|b| *b == 0)
                    .filter(|s| !s.is_empty())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect();
                println!("{:<5} {}", pid, cmd.join(" "));
            }
        }
    }
    Ok(0)
}

/// Run `ps ARGS` and print its header and the rows whose PID column holds one of `pids`.
fn ps_rows(args: &[String], pids: &[i32]) -> Result<i32> {
    let out = std::process::Command::new("ps")
        .args(args)
        .output()
        .context("running ps (procps)")?;
    if !out.status.success() {
        bail!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let Some(column) = header.split_whitespace().position(|h| h == "PID") else {
        bail!("ps {}: its output has no PID column", args.join(" "));
    };
    println!("{header}");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(column)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(0)
}
