//! Bind sources for init in a new user namespace. Its root is an unprivileged user on the
//! host and may not reach a source under a directory only the host's root can search (as
//! /root, or a kubelet's pod directories); runc opens such sources on the host side, and so
//! does hull: a short-lived child of the parent joins init's mount namespace, opens each
//! source there (O_PATH, with the host's privileges) and hands the fds back, and init binds
//! from them. Opened in init's namespace, they are init's copies of the host's mounts, which
//! the kernel locked: a bind of one keeps the flags the container's root may not lift (a tree
//! cloned in the parent's own namespace would not be locked).

use std::os::fd::OwnedFd;

use anyhow::{Context, Result};
use nix::fcntl::{open, OFlag};
use nix::sched::{setns, CloneFlags};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::channel::{self, Channel, ToInit};
use crate::plan::Plan;
use crate::sys;

/// Answer init's `NeedMountSources`: the fds of its bind sources in order, then "done". A
/// caller without the host's privileges sends none (init then binds by path, as before).
pub fn send(channel: &Channel, init: Pid, plan: &Plan) -> Result<()> {
    if !crate::rootless::is_rootless() {
        for fd in open_in(init, plan)? {
            channel.send_to_init(ToInit::MountSource(fd))?;
        }
    }
    channel.send_to_init(ToInit::MountSourcesDone)
}

/// Open the sources of `plan.host_bind_sources()` in `init`'s mount namespace.
fn open_in(init: Pid, plan: &Plan) -> Result<Vec<OwnedFd>> {
    let path = format!("/proc/{init}/ns/mnt");
    let ns = open(
        path.as_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening init's mount namespace {path}"))?;
    let indices = plan.host_bind_sources();
    let (ours, theirs) = channel::pair()?;
    let (helper, _) = match sys::clone_fork(0).context("forking the mount-source helper")? {
        sys::Forked::Child => {
            drop(ours);
            let joined = setns(&ns, CloneFlags::CLONE_NEWNS)
                .map_err(|e| format!("joining init's mount namespace: {e}"));
            for &i in &indices {
                let source = plan.mounts[i].source.as_deref().unwrap_or("".as_ref());
                let opened = joined.clone().and_then(|()| {
                    open(source, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
                        .map_err(|e| format!("mounts[{i}]: source {}: {e}", source.display()))
                });
                let failed = opened.is_err();
                if theirs.send_fd_result(opened).is_err() || failed {
                    sys::exit_now(1);
                }
            }
            sys::exit_now(0)
        }
        sys::Forked::Parent { child, pidfd } => (child, pidfd),
    };
    drop(theirs);
    let fds = indices.iter().map(|_| ours.recv_fd_result()).collect();
    let _ = waitpid(helper, None);
    fds
}
