//! `hull restore --image-path P [--bundle B] [-d] ID`: a new, running container from CRIU
//! images and a bundle (runc's flags). Without `-d` it waits for the container, as `run`.

use std::os::fd::AsFd;
use std::path::PathBuf;

use anyhow::Result;

use super::{create, Global};
use crate::criu::{self, RestoreOptions};
use crate::lifecycle::{self, DeleteMode};
use crate::process::{restore, wait};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub create: create::CreateArgs,
    /// Directory of the images (default: ./checkpoint)
    #[arg(long)]
    pub image_path: Option<PathBuf>,
    /// Directory for CRIU's logs and work files (default: the image path)
    #[arg(long)]
    pub work_path: Option<PathBuf>,
    /// Return once restored; do not wait for the container
    #[arg(short, long)]
    pub detach: bool,
    #[arg(long)]
    pub tcp_established: bool,
    #[arg(long)]
    pub ext_unix_sk: bool,
    #[arg(long)]
    pub shell_job: bool,
    #[arg(long)]
    pub file_locks: bool,
    #[arg(long)]
    pub manage_cgroups_mode: Option<String>,
    #[arg(long)]
    pub empty_ns: Vec<String>,
    #[arg(long)]
    pub auto_dedup: bool,
    /// Lazy migration (not supported)
    #[arg(long)]
    pub lazy_pages: bool,
    /// Accepted for runc compatibility (hull is a subreaper only while it waits)
    #[arg(long)]
    pub no_subreaper: bool,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    if a.lazy_pages {
        anyhow::bail!("--lazy-pages: not supported by hull (it needs CRIU's page server and userfaultfd)");
    }
    if a.create.console_socket.is_some() {
        anyhow::bail!("--console-socket: restoring a terminal container needs --shell-job (and runs on the caller's terminal)");
    }
    let criu_bin = criu::binary(g.criu.as_deref())?;
    let (plan, opts) = create::prepare(g, &a.create)?;
    let image_path = match &a.image_path {
        Some(p) => create::absolute(p)?,
        None => std::env::current_dir()?.join("checkpoint"),
    };
    let r = RestoreOptions {
        image_path,
        work_path: a.work_path.as_deref().map(create::absolute).transpose()?,
        tcp_established: a.tcp_established,
        ext_unix_sk: a.ext_unix_sk,
        shell_job: a.shell_job,
        file_locks: a.file_locks,
        manage_cgroups_mode: a.manage_cgroups_mode.clone(),
        empty_ns: a.empty_ns.clone(),
        auto_dedup: a.auto_dedup,
    };
    // In the foreground the restored init (reparented when criu exits) is ours to wait for.
    let waited = if a.detach { None } else { Some(wait::prepare()?) };
    let restored = restore::restore(&g.root, &plan, &opts, &criu_bin, &r)?;
    let Some(waited) = waited else { return Ok(0) };
    let id = plan.id.clone();
    drop(restored.dir);
    let code = wait::wait_forwarding(restored.pid, restored.pidfd.as_fd(), &waited, None)?;
    let _ = lifecycle::delete(&g.root, &id, DeleteMode::Force);
    Ok(code)
}
