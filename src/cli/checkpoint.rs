//! `hull checkpoint [flags] ID`: dump a running container with CRIU (runc's flags).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::Global;
use crate::criu::{self, DumpOptions};
use crate::state::{ContainerStatus, StateDir};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory for the images (default: ./checkpoint)
    #[arg(long)]
    pub image_path: Option<PathBuf>,
    /// Directory for CRIU's logs and work files (default: the image path)
    #[arg(long)]
    pub work_path: Option<PathBuf>,
    /// Images of a previous (pre-)dump to build on
    #[arg(long)]
    pub parent_path: Option<PathBuf>,
    /// Leave the container running after the checkpoint
    #[arg(long)]
    pub leave_running: bool,
    /// Allow open TCP connections
    #[arg(long)]
    pub tcp_established: bool,
    /// Allow external unix sockets
    #[arg(long)]
    pub ext_unix_sk: bool,
    /// Allow a container attached to a shell job (terminal)
    #[arg(long)]
    pub shell_job: bool,
    /// Handle file locks
    #[arg(long)]
    pub file_locks: bool,
    /// Dump memory only, leave the container running (needs soft-dirty tracking)
    #[arg(long)]
    pub pre_dump: bool,
    /// Lazy migration through a page server (not supported)
    #[arg(long)]
    pub lazy_pages: bool,
    /// CRIU's cgroup mode: soft, full, strict, ignore (default: ignore; restore puts the
    /// container in its cgroup itself)
    #[arg(long)]
    pub manage_cgroups_mode: Option<String>,
    /// Create a namespace of this type empty instead of dumping it (e.g. network)
    #[arg(long)]
    pub empty_ns: Vec<String>,
    /// Deduplicate images against the parent's
    #[arg(long)]
    pub auto_dedup: bool,
    /// Container ID
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    if a.lazy_pages {
        bail!("--lazy-pages: not supported by hull (it needs CRIU's page server and userfaultfd)");
    }
    let criu_bin = criu::binary(g.criu.as_deref())?;
    if a.pre_dump {
        let ok = std::process::Command::new(&criu_bin).args(["check", "--feature", "mem_dirty_track"]).output().is_ok_and(|o| o.status.success());
        if !ok {
            bail!("--pre-dump: this kernel has no soft-dirty memory tracking (criu check --feature mem_dirty_track fails)");
        }
        bail!("--pre-dump: not supported by hull yet");
    }
    let dir = StateDir::open(&g.root, &a.id)?;
    let record = dir.load()?.with_context(|| format!("container {:?} is still being created", a.id))?;
    match dir.status(Some(&record)) {
        ContainerStatus::Running => {}
        status => bail!("cannot checkpoint container {:?}: it is {status}", a.id),
    }
    let image_path = match a.image_path {
        Some(p) => super::create::absolute(&p)?,
        None => std::env::current_dir()?.join("checkpoint"),
    };
    let opts = DumpOptions {
        image_path,
        work_path: a.work_path.as_deref().map(super::create::absolute).transpose()?,
        parent_path: a.parent_path.as_deref().map(super::create::absolute).transpose()?,
        leave_running: a.leave_running,
        tcp_established: a.tcp_established,
        ext_unix_sk: a.ext_unix_sk,
        shell_job: a.shell_job,
        file_locks: a.file_locks,
        manage_cgroups_mode: a.manage_cgroups_mode,
        empty_ns: a.empty_ns,
        auto_dedup: a.auto_dedup,
    };
    criu::dump(&criu_bin, &record.id, &record.rootfs, record.pid, &opts)?;
    Ok(0)
}
