//! `hull restore --image-path P [--bundle B] [-d] ID`: a new, running container from CRIU
//! images and a bundle (runc's flags). Without `-d` it waits for the container, as `run`.

use anyhow::Result;
use std::os::fd::AsFd;

use super::args::{switch, Command, Matches};
use super::{create, Global};
use crate::criu;
use crate::lifecycle::{self, DeleteMode};
use crate::process::{restore, wait};

/// restore's arguments (`--no-subreaper` is accepted and has no effect).
pub struct Args {
    pub create: create::CreateArgs,
    pub criu: crate::criu::Shared,
    pub detach: bool,
}

pub const COMMAND: Command = Command {
    name: "restore",
    alias: None,
    about: "Restore a container from a checkpoint",
    flags: &[
        create::FLAGS,
        super::checkpoint::CRIU_FLAGS,
        &[
            switch(
                "detach",
                Some('d'),
                "Return once restored; do not wait for the container",
            ),
            switch(
                "no-subreaper",
                None,
                "Accepted for runc compatibility (hull is a subreaper only while it waits)",
            ),
        ],
    ],
    usage: "ID",
    rest_after: None,
};

impl Args {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(Args {
            criu: super::checkpoint::criu_options(m)?,
            detach: m.flag("detach"),
            create: create::CreateArgs::from(m)?,
        })
    }
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    if a.create.io.pidfd_socket.is_some() {
        anyhow::bail!("--pidfd-socket: not supported by restore (CRIU makes the processes)");
    }
    if a.create.io.console_socket.is_some() && !a.criu.shell_job {
        anyhow::bail!("--console-socket: restoring a terminal container needs --shell-job");
    }
    let r = a.criu;
    let criu_bin = criu::binary(g.criu.as_deref())?;
    let (plan, opts) = create::prepare(g, &a.create)?;
    // In the foreground the restored init (reparented when criu exits) is ours to wait for.
    let waited = if a.detach {
        None
    } else {
        Some(wait::prepare()?)
    };
    let restored = restore::restore(&g.root, &plan, &opts, &criu_bin, &r)?;
    let Some(waited) = waited else { return Ok(0) };
    let id = plan.id.clone();
    drop(restored.dir);
    let code = wait::wait_forwarding(
        restored.pid,
        restored.pidfd.as_fd(),
        &waited,
        wait::Streams::Inherited,
    )?;
    let _ = lifecycle::delete(&g.root, &id, DeleteMode::Force);
    Ok(code)
}
