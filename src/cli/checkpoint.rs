//! `hull checkpoint [flags] ID`: dump a running container with CRIU (runc's flags).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::args::{switch, valued, Command, Flag, Matches};
use super::Global;
use crate::criu::{self, DumpOptions, Shared};
use crate::state::{ContainerStatus, StateDir};

pub const CRIU_FLAGS: &[Flag] = &[
    valued("image-path", None, "DIR", "Directory of the images (default: ./checkpoint)"),
    valued("work-path", None, "DIR", "Directory for CRIU's logs and work files (default: the image path)"),
    switch("tcp-established", None, "Allow open TCP connections"),
    switch("ext-unix-sk", None, "Allow external unix sockets"),
    switch("shell-job", None, "Allow a container attached to a shell job (terminal)"),
    switch("file-locks", None, "Handle file locks"),
    valued("manage-cgroups-mode", None, "MODE", "CRIU's cgroup mode: soft, full, strict, ignore (default: ignore; restore puts the container in its cgroup itself)"),
    valued("empty-ns", None, "TYPE", "A namespace of this type created empty instead of dumped (e.g. network); repeatable"),
    switch("auto-dedup", None, "Deduplicate images against the parent's"),
    switch("lazy-pages", None, "Lazy migration through a page server (not supported)"),
];

/// The flags `checkpoint` and `restore` share, paths made absolute; `--lazy-pages` refused.
pub fn criu_options(m: &mut Matches) -> Result<Shared> {
    if m.flag("lazy-pages") {
        bail!("--lazy-pages: not supported by hull (it needs CRIU's page server and userfaultfd)");
    }
    let image_path = match m.path("image-path") {
        Some(p) => super::create::absolute(&p)?,
        None => std::env::current_dir()?.join("checkpoint"),
    };
    Ok(Shared {
        image_path,
        work_path: m
            .path("work-path")
            .as_deref()
            .map(super::create::absolute)
            .transpose()?,
        tcp_established: m.flag("tcp-established"),
        ext_unix_sk: m.flag("ext-unix-sk"),
        shell_job: m.flag("shell-job"),
        file_locks: m.flag("file-locks"),
        manage_cgroups_mode: m.string("manage-cgroups-mode")?,
        empty_ns: m
            .strings("empty-ns")?
            .iter()
            .map(|ns| criu_namespace(ns))
            .collect::<Result<_>>()?,
        auto_dedup: m.flag("auto-dedup"),
    })
}

/// runc's `--empty-ns` takes the runtime-spec's name; CRIU's own flag knows only `net`.
fn criu_namespace(ns: &str) -> Result<String> {
    match ns {
        "network" | "net" => Ok("net".into()),
        other => bail!("--empty-ns {other}: CRIU can leave only the network namespace empty"),
    }
}

pub struct Args {
    pub criu: Shared,
    pub parent_path: Option<PathBuf>,
    pub leave_running: bool,
    pub pre_dump: bool,
    pub id: String,
}

pub const COMMAND: Command = Command {
    name: "checkpoint",
    alias: None,
    about: "Checkpoint a running container with CRIU",
    flags: &[
        CRIU_FLAGS,
        &[
            valued(
                "parent-path",
                None,
                "DIR",
                "Images of a previous (pre-)dump to build on",
            ),
            switch(
                "leave-running",
                None,
                "Leave the container running after the checkpoint",
            ),
            switch(
                "pre-dump",
                None,
                "Dump memory only, leave the container running (needs soft-dirty tracking)",
            ),
        ],
    ],
    usage: "ID",
    rest_after: None,
};

impl Args {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(Args {
            criu: criu_options(m)?,
            parent_path: m.path("parent-path"),
            leave_running: m.flag("leave-running"),
            pre_dump: m.flag("pre-dump"),
            id: m.positional("ID")?,
        })
    }
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let shared = a.criu;
    let criu_bin = criu::binary(g.criu.as_deref())?;
    if a.pre_dump {
        let ok = std::process::Command::new(&criu_bin)
            .args(["check", "--feature", "mem_dirty_track"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            bail!("--pre-dump: this kernel has no soft-dirty memory tracking (criu check --feature mem_dirty_track fails)");
        }
        bail!("--pre-dump: not supported by hull yet");
    }
    let dir = StateDir::open(&g.root, &a.id)?;
    let record = dir
        .load()?
        .with_context(|| format!("container {:?} is still being created", a.id))?;
    match crate::lifecycle::status(&dir, Some(&record)) {
        ContainerStatus::Running => {}
        status => bail!("cannot checkpoint container {:?}: it is {status}", a.id),
    }
    let opts = DumpOptions {
        shared,
        parent_path: a
            .parent_path
            .as_deref()
            .map(super::create::absolute)
            .transpose()?,
        leave_running: a.leave_running,
    };
    criu::dump(&criu_bin, &record.id, &record.rootfs, record.pid, &opts)?;
    Ok(0)
}
