//! Checkpoint and restore with CRIU, driven through its command line: no protobuf/RPC
//! dependency in hull, and CRIU's own log files say what went wrong. CRIU is found on PATH
//! (Debian bookworm's 3.17 fails on new kernels: `../shared/build-criu` installs 4.1 as
//! /usr/local/sbin/criu) or given with the global `--criu PATH`.
//!
//! What CRIU needs told about a hull container: the stdio of init is usually outside the
//! container (host /dev/null, a file or a pipe of the caller): it is dumped as an external
//! file and handed back at restore (`--inherit-fd`) from hull's own stdio; bind mounts from
//! the host (and the /dev/null binds of maskedPaths) are found by CRIU (`--ext-mount-map
//! auto`); the restored tasks start in the container's new cgroup because CRIU does.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// What hull writes next to CRIU's images.
const DESCRIPTOR: &str = "hull-checkpoint.json";

#[derive(Debug, Serialize, Deserialize)]
struct Descriptor {
    id: String,
    rootfs: PathBuf,
    /// CRIU's keys for init's fds 0, 1, 2 when they are outside the container.
    stdio: Vec<(i32, String)>,
    /// /dev/console is the bind of the container's terminal: an external mount CRIU cannot
    /// find a master for; restore binds the new terminal there.
    #[serde(default)]
    console: bool,
}

/// CRIU's key for the /dev/console bind of a terminal container.
const CONSOLE_KEY: &str = "dev-console";

/// What `checkpoint` and `restore` share (runc's flags of the same names).
#[derive(Debug, Clone, Default)]
pub struct Shared {
    pub image_path: PathBuf,
    pub work_path: Option<PathBuf>,
    pub tcp_established: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub manage_cgroups_mode: Option<String>,
    pub empty_ns: Vec<String>,
    pub auto_dedup: bool,
}

impl Shared {
    /// Where CRIU's logs and work files go: `--work-path`, else the images' directory.
    pub fn work(&self) -> PathBuf {
        self.work_path
            .clone()
            .unwrap_or_else(|| self.image_path.clone())
    }

    /// The criu arguments both commands take; `log` is the log file's name in the work dir.
    fn args(&self, log: &str) -> Vec<String> {
        let mut args = vec![
            "--images-dir".into(),
            self.image_path.display().to_string(),
            "--work-dir".into(),
            self.work().display().to_string(),
        ];
        args.extend(["--log-file".into(), log.into(), "-v4".into()]);
        args.extend(
            [
                "--ext-mount-map",
                "auto",
                "--enable-external-sharing",
                "--enable-external-masters",
            ]
            .map(String::from),
        );
        let flags = [
            (self.tcp_established, "--tcp-established"),
            (self.ext_unix_sk, "--ext-unix-sk"),
            (self.shell_job, "--shell-job"),
            (self.file_locks, "--file-locks"),
            (self.auto_dedup, "--auto-dedup"),
        ];
        args.extend(
            flags
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, f)| f.to_string()),
        );
        args.push(format!(
            "--manage-cgroups={}",
            self.manage_cgroups_mode.as_deref().unwrap_or("ignore")
        ));
        for ns in &self.empty_ns {
            args.extend(["--empty-ns".into(), ns.clone()]);
        }
        args
    }
}

/// `hull checkpoint` options.
#[derive(Debug, Clone, Default)]
pub struct DumpOptions {
    pub shared: Shared,
    pub parent_path: Option<PathBuf>,
    pub leave_running: bool,
}

/// The criu binary: `--criu`, else the first `criu` on PATH.
pub fn binary(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_owned());
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join("criu");
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("criu not found on PATH: install CRIU 4.x (../shared/build-criu; Debian bookworm's criu 3.17 cannot run on this kernel) or pass --criu PATH")
}

/// Dump the container whose init is `pid` into `opts.image_path`.
pub fn dump(criu: &Path, id: &str, rootfs: &Path, pid: i32, opts: &DumpOptions) -> Result<()> {
    let images = &opts.shared.image_path;
    std::fs::create_dir_all(images)
        .with_context(|| format!("--image-path {}", images.display()))?;
    let work = opts.shared.work();
    std::fs::create_dir_all(&work).with_context(|| format!("--work-path {}", work.display()))?;
    let mut args = vec!["dump".to_owned(), "--tree".into(), pid.to_string()];
    args.extend(opts.shared.args("dump.log"));
    if opts.leave_running {
        args.push("--leave-running".into());
    }
    if let Some(parent) = &opts.parent_path {
        args.extend([
            "--prev-images-dir".into(),
            parent.display().to_string(),
            "--track-mem".into(),
        ]);
    }
    let stdio = external_stdio(pid)?;
    for (_, key) in &stdio {
        args.extend(["--external".into(), key.clone()]);
    }
    let console = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some("/dev/console"));
    if console {
        args.extend([
            "--ext-mount-map".into(),
            format!("/dev/console:{CONSOLE_KEY}"),
        ]);
    }
    let descriptor = Descriptor {
        id: id.to_owned(),
        rootfs: rootfs.to_owned(),
        stdio,
        console,
    };
    std::fs::write(
        images.join(DESCRIPTOR),
        serde_json::to_vec_pretty(&descriptor)?,
    )
    .context("writing the checkpoint descriptor")?;
    run_criu(criu, &args, &work.join("dump.log"), "checkpoint")
}

/// Init's fds 0-2 that live on mounts outside its mount namespace, as CRIU's external keys.
fn external_stdio(pid: i32) -> Result<Vec<(i32, String)>> {
    let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .context("reading the container's mountinfo")?;
    let inside: Vec<u64> = mounts
        .lines()
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect();
    let mut out = Vec::new();
    for fd in 0..3 {
        let Ok(info) = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")) else {
            continue;
        };
        let mnt_id: u64 = info
            .lines()
            .find_map(|l| l.strip_prefix("mnt_id:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap_or_default();
        let target = target.to_string_lossy();
        let key = if let Some(ino) = target
            .strip_prefix("pipe:[")
            .and_then(|t| t.strip_suffix(']'))
        {
            format!("pipe:[{ino}]")
        } else if inside.contains(&mnt_id) {
            continue;
        } else {
            let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(format!(
                "/proc/{pid}/fd/{fd}"
            ))?);
            format!("file[{mnt_id:x}:{ino:x}]")
        };
        out.push((fd, key));
    }
    Ok(out)
}

/// Check the images are a hull checkpoint of a container with this rootfs.
pub fn check_images(opts: &Shared, rootfs: &Path) -> Result<()> {
    let images = &opts.image_path;
    if !images.join("inventory.img").exists() {
        bail!(
            "--image-path {}: no checkpoint there (inventory.img missing)",
            images.display()
        );
    }
    let d = descriptor(images)?;
    if d.rootfs != rootfs {
        bail!(
            "--image-path {}: the checkpoint is of container {:?} with rootfs {}, not this bundle's {}",
            images.display(),
            d.id,
            d.rootfs.display(),
            rootfs.display()
        );
    }
    Ok(())
}

fn descriptor(images: &Path) -> Result<Descriptor> {
    let path = images.join(DESCRIPTOR);
    let text = std::fs::read(&path).with_context(|| {
        format!(
            "--image-path: {} missing (not made by hull checkpoint)",
            path.display()
        )
    })?;
    serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The `criu restore` command line; the restored init's pid goes to `pidfile`. Run by a child
/// already in the container's cgroup, so the restored tasks start there. `terminal`: the new
/// pty's slave (a host path), bound at /dev/console where the checkpoint had the old one.
pub fn restore_args(
    rootfs: &Path,
    opts: &Shared,
    pidfile: &Path,
    terminal: Option<&Path>,
) -> Result<Vec<String>> {
    let images = &opts.image_path;
    let mut args = vec![
        "restore".to_owned(),
        "--root".into(),
        rootfs.display().to_string(),
    ];
    args.extend(opts.args("restore.log"));
    args.extend([
        "--restore-detached".into(),
        "--pidfile".into(),
        pidfile.display().to_string(),
    ]);
    let descriptor = descriptor(images)?;
    // The checkpointed stdio comes back as hull's own.
    for (fd, key) in descriptor.stdio {
        args.extend(["--inherit-fd".into(), format!("fd[{fd}]:{key}")]);
    }
    if descriptor.console {
        let tty = terminal.context(
            "the checkpoint has a terminal (/dev/console): restore it with --console-socket",
        )?;
        args.extend([
            "--ext-mount-map".into(),
            format!("{CONSOLE_KEY}:{}", tty.display()),
        ]);
    }
    Ok(args)
}

/// Run criu; on failure, the error names the step and quotes CRIU's own errors from its log.
pub fn run_criu(criu: &Path, args: &[String], log: &Path, what: &str) -> Result<()> {
    let status = Command::new(criu)
        .args(args)
        .status()
        .with_context(|| format!("running {}", criu.display()))?;
    if status.success() {
        return Ok(());
    }
    bail!("{what}: criu {} failed: {}", args[0], log_errors(log))
}

/// CRIU's "Error" lines (but the harmless rlimit one), for messages.
pub fn log_errors(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("Error") && !l.contains("RLIMIT_NOFILE"))
        .map(|l| l.split_once(": ").map_or(l, |(_, m)| m))
        .collect();
    if errors.is_empty() {
        format!("see {}", log.display())
    } else {
        format!("{} (log: {})", errors.join("; "), log.display())
    }
}
