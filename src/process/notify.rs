//! `NOTIFY_SOCKET` (sd_notify): when hull is run with one, the container gets its own socket at
//! /run/notify/notify.sock (a bind of `ROOT/ID/notify`), and `start` waits for the container's
//! READY=1 there and passes it on to the caller's socket, as runc does for systemd units.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::state::{Liveness, Record};

/// The socket's name in its directory (see `plan::NOTIFY_SOCKET`).
const SOCKET: &str = "notify.sock";

/// The caller's NOTIFY_SOCKET, if any.
pub fn host_socket() -> Option<PathBuf> {
    std::env::var_os("NOTIFY_SOCKET")
        .map(PathBuf::from)
        .filter(|p| !p.as_os_str().is_empty())
}

/// The directory in the state dir that holds the container's socket (bound at
/// `plan::NOTIFY_DIR` by the plan's mount).
pub fn state_dir(container_dir: &Path) -> PathBuf {
    container_dir.join("notify")
}

/// In `create`: the directory (the socket itself is bound by `start`).
pub fn make_dir(container_dir: &Path) -> Result<()> {
    let dir = state_dir(container_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        &dir,
        nix::sys::stat::Mode::from_bits_truncate(0o755),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .with_context(|| format!("chmod {}", dir.display()))
}

/// In `start`, before releasing init: listen on the container's socket.
pub fn listen(container_dir: &Path) -> Result<UnixDatagram> {
    let path = state_dir(container_dir).join(SOCKET);
    let _ = std::fs::remove_file(&path);
    let sock = UnixDatagram::bind(&path).with_context(|| format!("binding {}", path.display()))?;
    // Any user in the container may notify.
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o777))?;
    sock.set_read_timeout(Some(Duration::from_millis(100)))?;
    Ok(sock)
}

/// In `start`, after releasing init: wait for READY=1 (while the container lives) and pass
/// the message on to the caller's socket.
pub fn forward_ready(sock: &UnixDatagram, record: &Record, host: &Path) -> Result<()> {
    let mut buf = vec![0u8; 4096];
    while Liveness::of(record) == Liveness::Alive {
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(e) => return Err(e).context("reading the container's notify socket"),
        };
        let msg = &buf[..n];
        if msg.split(|b| *b == b'\n').any(|l| l == b"READY=1") {
            let out = UnixDatagram::unbound()?;
            out.send_to(msg, host).with_context(|| {
                format!("forwarding READY=1 to NOTIFY_SOCKET {}", host.display())
            })?;
            return Ok(());
        }
    }
    Ok(())
}
