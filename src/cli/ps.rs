//! `hull ps [--format table|json] ID`: the processes in the container's cgroup.

use anyhow::Result;

use super::{Format, Global};
use crate::lifecycle;
use crate::state::StateDir;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format: json is the list of pids (what containerd reads)
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: Format,
    /// Container ID
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let pids = lifecycle::pids(&StateDir::open(&g.root, &a.id)?)?;
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
