//! `mounts` beyond the basics: recursive attributes, tmpcopyup, idmapped binds, a mount at "/"
//! (an overlay root), and the escape attempts a hostile rootfs can make.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::common::*;

mod escapes;
mod options;
mod userns;

/// A tmpfs mounted on the host for one test, lazily unmounted when dropped.
struct HostMount(PathBuf);

impl HostMount {
    fn tmpfs(at: &Path) -> HostMount {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                "size=1m",
                "hull-test",
                at.to_str().unwrap(),
            ])
            .status()
            .unwrap();
        assert!(ok.success());
        HostMount(at.to_owned())
    }
}

impl Drop for HostMount {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// A small writable rootfs of the test's own (busybox + sh), for rootfs-shape attacks.
fn own_rootfs(env: &Env) -> PathBuf {
    let root = env.base.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(rootfs().join("bin/busybox"), root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    root
}

fn minimal_config(root: &Path, args: &[&str]) -> serde_json::Value {
    let mut c = config(args);
    c["root"] = json!({"path": root, "readonly": false});
    c["mounts"] = json!([]);
    c["linux"]["maskedPaths"] = json!([]);
    c["linux"]["readonlyPaths"] = json!([]);
    c
}

fn mountinfo_options(out: &str, mount_point: &str) -> String {
    out.lines()
        .find(|l| l.split(' ').nth(4) == Some(mount_point))
        .unwrap_or_else(|| panic!("{mount_point} not in {out}"))
        .to_owned()
}

fn host_mount(args: &[&str]) {
    let st = Command::new("mount").args(args).status().unwrap();
    assert!(st.success(), "mount {args:?}");
}
