//! Small helpers for cgroup files: every error names the file and the value.

use std::io::ErrorKind;
use std::path::Path;

use anyhow::{Context, Result};
use nix::unistd::Pid;

pub fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    let path = dir.join(file);
    std::fs::write(&path, value)
        .with_context(|| format!("writing {value:?} to {}", path.display()))?;
    #[cfg(test)]
    WRITTEN.with(|w| w.borrow_mut().push((path, value.to_owned())));
    Ok(())
}

#[cfg(test)]
thread_local! {
    /// Under test, every successful write in order: a plain file keeps only the last value,
    /// and the drivers' order (memsw around the memory limit, one line per device) matters.
    /// Per thread, so tests running side by side each see their own.
    static WRITTEN: std::cell::RefCell<Vec<(std::path::PathBuf, String)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The writes this thread made since the last call, oldest first (tests only).
#[cfg(test)]
pub fn take_written() -> Vec<(std::path::PathBuf, String)> {
    WRITTEN.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

pub fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    Ok(crate::sys::read_kernel_file(&path)
        .with_context(|| format!("reading {}", path.display()))?
        .trim()
        .to_owned())
}

pub fn exists(dir: &Path, file: &str) -> bool {
    dir.join(file).exists()
}

/// The processes of `dir` and of every cgroup below it (a container may make its own, as
/// systemd and Docker-in-Docker do): runc's GetAllPids, for `ps`, `kill --all` and `delete`.
pub fn pids(dir: &Path) -> Result<Vec<Pid>> {
    let mut all: Vec<Pid> = read(dir, "cgroup.procs")?
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .map(Pid::from_raw)
        .collect();
    for child in children(dir) {
        // A child removed meanwhile has no processes left to report.
        if let Ok(pids) = pids(&child) {
            all.extend(pids);
        }
    }
    Ok(all)
}

/// The cgroup directories right below `dir`.
fn children(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// Remove `dir` and the cgroups below it, deepest first (rmdir of a cgroup with children
/// fails with EBUSY).
pub fn remove_tree(dir: &Path) -> Result<()> {
    // Usually a leaf whose tasks are gone: one rmdir, no listing.
    match std::fs::remove_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    for child in children(dir) {
        remove_tree(&child)?;
    }
    remove_dir(dir)
}

/// rmdir, retrying briefly while the kernel still counts exiting tasks; a missing dir is fine.
pub fn remove_dir(dir: &Path) -> Result<()> {
    for attempt in 0..50 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 49 => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => return Err(e).with_context(|| format!("removing cgroup {}", dir.display())),
        }
    }
    Ok(())
}

/// The cgroup of this process per hierarchy, from /proc/self/cgroup:
/// (controllers as listed, e.g. "cpu,cpuacct" or "name=systemd" or "" for v2, path).
pub fn own_cgroups() -> Result<Vec<(String, String)>> {
    cgroups_of("self")
}

/// As [`own_cgroups`], for `/proc/<pid>/cgroup`.
pub fn cgroups_of(pid: &str) -> Result<Vec<(String, String)>> {
    let file = format!("/proc/{pid}/cgroup");
    let text = crate::sys::read_kernel_file(&file).with_context(|| format!("reading {file}"))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            Some((controllers.to_owned(), path.to_owned()))
        })
        .collect())
}
