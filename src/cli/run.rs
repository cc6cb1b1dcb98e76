//! `hull run`: create + start, then wait for the container and exit with its status
//! (128+N when killed by signal N), forwarding the signals hull receives to it.

use std::os::fd::AsFd;

use anyhow::Result;

use super::args::{switch, Command, Matches};
use super::process_io::ProcessIo;
use super::{create, Global};
use crate::lifecycle::{self, DeleteMode};
use crate::process::create::create as create_container;
use crate::process::timeline::Timeline;
use crate::process::wait;

pub struct Args {
    pub create: create::CreateArgs,
    pub detach: bool,
    pub keep: bool,
    pub tty: bool,
}

pub const COMMAND: Command = Command {
    name: "run",
    alias: None,
    about: "Create and start a container, and wait for it",
    flags: &[create::FLAGS, &[
        switch("detach", Some('d'), "Return after start; do not wait for the container"),
        switch("keep", None, "Keep the container's state after it exits (no delete)"),
        switch("tty", Some('t'), "Give the process a terminal (process.terminal), proxied by hull unless --console-socket"),
        switch("no-subreaper", None, "Accepted for runc compatibility (hull is a subreaper only while it waits)"),
    ]],
    usage: "ID",
    rest_after: None,
};

impl Args {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(Args {
            detach: m.flag("detach"),
            keep: m.flag("keep"),
            tty: m.flag("tty"),
            create: create::CreateArgs::from(m)?,
        })
    }
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let c = &a.create;
    crate::state::id::validate(&c.id)?;
    let bundle = create::absolute(&c.bundle)?;
    let (spec, extras) = crate::spec::load(&bundle)?;
    let (plan, mut opts) = create::prepare_with(g, c, spec, extras, &bundle, a.tty, !a.detach)?;
    let (stdio, pipes) = ProcessIo::pipes(!a.detach, &opts.console)?;
    opts.stdio = stdio;
    let id = plan.id.clone();
    let waited = if a.detach {
        None
    } else {
        Some(wait::prepare()?)
    };
    // With --debug, a second timeline for the whole run (create's own has its steps).
    let mut timeline = Timeline::default();
    let created = create_container(&g.root, &plan, &opts)?;
    timeline.mark("create");
    // The child's ends of the pipes are the container's now: hull's copies would hold them
    // open past its exit.
    opts.stdio = None;
    let created = create::send_pidfd(g, &id, created)?;
    if let Err(e) = lifecycle::start(&created.dir) {
        drop(created.dir);
        let _ = lifecycle::delete(&g.root, &id, DeleteMode::Force);
        return Err(e);
    }
    timeline.mark("start");
    let Some(waited) = waited else { return Ok(0) };
    // Let `kill`, `delete` etc. work on the container while we wait.
    drop(created.dir);
    let code = wait::wait_forwarding(
        created.pid,
        created.pidfd.as_fd(),
        &waited,
        super::process_io::streams(created.master.as_ref(), pipes),
    )?;
    timeline.mark("wait");
    // The program's status is what `run` reports: a cleanup that fails is said, not
    // mistaken for the program's failure (as runc).
    if !a.keep {
        if let Err(e) = lifecycle::delete(&g.root, &id, DeleteMode::Force) {
            crate::log::warn(&format!("removing container {id:?} after it ran: {e:#}"));
        }
        timeline.mark("delete");
    }
    crate::log::debug(&timeline.render("run"));
    Ok(code)
}
