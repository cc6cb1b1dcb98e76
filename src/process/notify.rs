//! `NOTIFY_SOCKET` (sd_notify): when hull is run with one, the container gets its own socket at
//! /run/notify/notify.sock (a bind of `ROOT/ID/notify`), and `start` waits for the container's
//! READY=1 there and passes it on to the caller's socket, as runc does for systemd units.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use oci_spec::runtime::{MountBuilder, Spec};

use crate::state::{Liveness, Record};

/// Where the socket appears inside the container.
const IN_CONTAINER_DIR: &str = "/run/notify";
const SOCKET: &str = "notify.sock";

/// The caller's NOTIFY_SOCKET, if any.
pub fn host_socket() -> Option<PathBuf> {
    std::env::var_os("NOTIFY_SOCKET")
        .map(PathBuf::from)
        .filter(|p| !p.as_os_str().is_empty())
}

/// The directory in the state dir that holds the container's socket.
pub fn state_dir(container_dir: &Path) -> PathBuf {
    container_dir.join("notify")
}

/// Give the container the bind mount and the NOTIFY_SOCKET variable (before planning).
pub fn add_to_spec(spec: &mut Spec, container_dir: &Path) {
    let mount = MountBuilder::default()
        .destination(IN_CONTAINER_DIR)
        .typ("bind")
        .source(state_dir(container_dir))
        .options(vec![
            "bind".to_owned(),
            "nosuid".to_owned(),
            "nodev".to_owned(),
        ])
        .build();
    if let Ok(m) = mount {
        let mut mounts = spec.mounts().clone().unwrap_or_default();
        mounts.push(m);
        spec.set_mounts(Some(mounts));
    }
    if let Some(p) = spec.process_mut().as_mut() {
        let mut env = p.env().clone().unwrap_or_default();
        env.retain(|e| !e.starts_with("NOTIFY_SOCKET="));
        env.push(format!("NOTIFY_SOCKET={IN_CONTAINER_DIR}/{SOCKET}"));
        p.set_env(Some(env));
    }
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
