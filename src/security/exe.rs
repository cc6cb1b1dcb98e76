//! The host binary out of the container's reach (CVE-2019-5736): before hull starts a process
//! a container can see while it runs hull's code, it re-execs itself from a read-only view of
//! its own binary, so that no hull process a container can see has a writable host file as
//! `/proc/PID/exe`.
//!
//! Why a re-exec: a forked child keeps its parent's executable, and a hull process the
//! container can see must not be the host binary: init when the container's pid namespace is
//! shared or init cannot leave hull's code before `create` returns, an exec child when the
//! container's pid namespace is hull's own or there is no trampoline to fork it into the
//! container's (`process::handover` decides; in the usual cases neither is in sight while it
//! runs hull's code, and this ~1.5 ms is saved). A holder of
//! `CAP_SYS_PTRACE` in there can open `/proc/PID/exe` — non-dumpable does not stop it — keep
//! an `O_PATH` handle, and reopen it for writing through `/proc/self/fd/N` once hull is gone.
//! Through a read-only mount, every such reopen fails with `EROFS`.
//!
//! How: a detached clone of the binary's mount (`open_tree(OPEN_TREE_CLONE)`), made read-only
//! (`mount_setattr`) and exec'd by fd. The clone is in no mount namespace: nothing appears in
//! any mount table, and it goes away with the last process running from it. Without the right
//! to clone mounts (rootless), a sealed memfd copy instead (costs the binary's size in memory).
//! A binary already on a read-only mount, or already sealed, is run as it is.

use std::ffi::{CString, OsString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{fcntl, open, AtFlags, FcntlArg, OFlag, SealFlag};
use nix::sys::stat::Mode;
use nix::sys::statvfs::{fstatvfs, FsFlags};

use crate::sys;

/// Set in the environment of the re-exec'd hull (and removed at once): if its binary is still
/// not protected, the mechanism failed, and looping would not help.
const MARK: &str = "_HULL_EXE_PROTECTED";

/// Make sure this process runs from a binary no container can write to: returns at once when
/// it does, re-execs hull (same argv and environment) from a protected view otherwise.
pub fn ensure_protected() -> Result<()> {
    let retried = std::env::var_os(MARK).is_some();
    if retried {
        std::env::remove_var(MARK);
    }
    let exe = open(
        "/proc/self/exe",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("opening /proc/self/exe")?;
    if is_protected(&exe)? {
        return Ok(());
    }
    if retried {
        bail!("hull's binary is still writable after re-executing from a read-only view of it");
    }
    let image = match read_only_clone() {
        Ok(fd) => fd,
        // No right to clone mounts (rootless, or a user namespace that does not own our mount
        // namespace): a sealed copy instead.
        Err(Errno::EPERM | Errno::EACCES | Errno::ENOSYS | Errno::EINVAL) => {
            sealed_exec_copy("hull", &mut std::fs::File::from(exe))?
        }
        Err(e) => return Err(e).context("cloning the mount of hull's binary read-only"),
    };
    let args = c_strings(sys::argv::args().into_iter())?;
    let mut env = c_strings(
        std::env::vars_os().map(|(k, v)| [k, OsString::from("="), v].into_iter().collect()),
    )?;
    env.push(CString::new(format!("{MARK}=1")).expect("no NUL in MARK"));
    let err = match nix::unistd::execveat(&image, c"", &args, &env, AtFlags::AT_EMPTY_PATH) {
        Err(e) => e,
        Ok(never) => match never {},
    };
    Err(err).context("re-executing hull from a read-only view of its binary")
}

/// On a read-only mount (no write can reach the inode through it), or a memfd sealed against
/// writes.
fn is_protected(exe: &OwnedFd) -> Result<bool> {
    let fs = fstatvfs(exe).context("statvfs of /proc/self/exe")?;
    if fs.flags().contains(FsFlags::ST_RDONLY) {
        return Ok(true);
    }
    Ok(match fcntl(exe, FcntlArg::F_GET_SEALS) {
        Ok(seals) => SealFlag::from_bits_truncate(seals).contains(SealFlag::F_SEAL_WRITE),
        Err(_) => false,
    })
}

/// A detached, read-only bind of the binary alone (the clone's root is the file itself).
fn read_only_clone() -> Result<OwnedFd, Errno> {
    let fd = sys::open_tree_clone(c"/proc/self/exe", false)?;
    let ro = libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV;
    sys::mount_setattr(fd.as_fd(), false, ro, 0, None)?;
    Ok(fd)
}

/// `contents` in a close-on-exec, executable memfd named `name`, sealed so that nothing, not
/// even a process that got hold of the fd, can change it (hull's own copy here, the exec
/// trampoline in `process::trampoline`).
pub fn sealed_exec_copy(name: &str, contents: &mut impl std::io::Read) -> Result<OwnedFd> {
    let memfd = sys::exec_memfd(name).with_context(|| format!("memfd for {name}"))?;
    let mut copy = std::fs::File::from(memfd);
    std::io::copy(contents, &mut copy).with_context(|| format!("writing {name} into its memfd"))?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    fcntl(&copy, FcntlArg::F_ADD_SEALS(seals)).with_context(|| format!("sealing {name}"))?;
    Ok(copy.into())
}

fn c_strings(items: impl Iterator<Item = OsString>) -> Result<Vec<CString>> {
    items
        .map(|s| CString::new(s.into_vec()).context("a NUL byte in argv or the environment"))
        .collect()
}
