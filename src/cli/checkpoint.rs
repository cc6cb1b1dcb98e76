//! `hull checkpoint [flags] ID`: dump a running container with CRIU (runc's flags).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::Global;
use crate::criu::{self, DumpOptions, Shared};
use crate::state::{ContainerStatus, StateDir};

/// Flags `checkpoint` and `restore` share (runc's names).
#[derive(Debug, clap::Args)]
pub struct CriuFlags {
    /// Directory of the images (default: ./checkpoint)
    #[arg(long)]
    pub image_path: Option<PathBuf>,
    /// Directory for CRIU's logs and work files (default: the image path)
    #[arg(long)]
    pub work_path: Option<PathBuf>,
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
    /// CRIU's cgroup mode: soft, full, strict, ignore (default: ignore; restore puts the
    /// container in its cgroup itself)
    #[arg(long)]
    pub manage_cgroups_mode: Option<String>,
    /// A namespace of this type created empty instead of dumped (e.g. network)
    #[arg(long)]
    pub empty_ns: Vec<String>,
    /// Deduplicate images against the parent's
    #[arg(long)]
    pub auto_dedup: bool,
    /// Lazy migration through a page server (not supported)
    #[arg(long)]
    pub lazy_pages: bool,
}

impl CriuFlags {
    /// The options, paths made absolute; `--lazy-pages` refused.
    pub fn shared(&self) -> Result<Shared> {
        if self.lazy_pages {
            bail!(
                "--lazy-pages: not supported by hull (it needs CRIU's page server and userfaultfd)"
            );
        }
        let image_path = match &self.image_path {
            Some(p) => super::create::absolute(p)?,
            None => std::env::current_dir()?.join("checkpoint"),
        };
        Ok(Shared {
            image_path,
            work_path: self
                .work_path
                .as_deref()
                .map(super::create::absolute)
                .transpose()?,
            tcp_established: self.tcp_established,
            ext_unix_sk: self.ext_unix_sk,
            shell_job: self.shell_job,
            file_locks: self.file_locks,
            manage_cgroups_mode: self.manage_cgroups_mode.clone(),
            empty_ns: self.empty_ns.clone(),
            auto_dedup: self.auto_dedup,
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub criu: CriuFlags,
    /// Images of a previous (pre-)dump to build on
    #[arg(long)]
    pub parent_path: Option<PathBuf>,
    /// Leave the container running after the checkpoint
    #[arg(long)]
    pub leave_running: bool,
    /// Dump memory only, leave the container running (needs soft-dirty tracking)
    #[arg(long)]
    pub pre_dump: bool,
    /// Container ID
    pub id: String,
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let shared = a.criu.shared()?;
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
    match dir.status(Some(&record)) {
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
