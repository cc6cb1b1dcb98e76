//! What a hostile rootfs or host tries with mounts: symlinked and `..` destinations, a fake
//! /dev/null for the masks, a missing source; and that masks reveal nothing of the host.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use super::*;

/// CVE-2019-16884 class: a rootfs whose /proc is a symlink (here to "/") must not get
/// procfs mounted wherever the link points.
#[test]
fn proc_destination_that_is_a_symlink_is_refused() {
    let env = Env::new("procsymlink");
    let root = own_rootfs(&env);
    std::os::unix::fs::symlink("/", root.join("proc")).unwrap();
    let mut c = minimal_config(&root, &["true"]);
    c["mounts"] = json!([{"destination": "/proc", "type": "proc", "source": "proc"}]);
    let id = env.id("a");
    env.assert_create_refused(&id, &c, "destination /proc is a symlink");
}

/// `..` and dangling symlinks in destinations resolve inside the rootfs, never on the host.
#[test]
fn dotdot_and_dangling_symlink_destinations_stay_inside() {
    let env = Env::new("dotdot");
    let root = own_rootfs(&env);
    let marker = format!("hull-dotdot-{}", std::process::id());
    std::os::unix::fs::symlink(format!("/{marker}-dangling/deeper"), root.join("dangling"))
        .unwrap();
    let mut c = minimal_config(&root, &["/bin/busybox", "true"]);
    c["mounts"] = json!([
        {"destination": format!("/../../../../{marker}"), "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/dangling", "type": "tmpfs", "source": "tmpfs"}
    ]);
    let (code, _, err) = env.run(&env.id("a"), &c);
    assert_eq!(code, 0, "{err}");
    assert!(
        root.join(&marker).is_dir() && root.join(format!("{marker}-dangling/deeper")).is_dir(),
        "made inside the rootfs"
    );
    assert!(
        !Path::new("/").join(&marker).exists()
            && !Path::new("/").join(format!("{marker}-dangling")).exists(),
        "escaped to the host"
    );
}

#[test]
fn a_missing_bind_source_is_named() {
    let env = Env::new("nosource");
    let mut c = config(&["true"]);
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/x", "type": "bind", "source": "/no/such/source", "options": ["rbind"]}));
    let id = env.id("a");
    let bundle = env.bundle(&id, &c);
    let out = env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]);
    assert_fails(&out, "mounts[7]");
    assert!(
        stderr(&out).contains("source /no/such/source"),
        "{}",
        stderr(&out)
    );
    assert!(!env.state_dir(&id).exists());
}

/// CVE-2025-31133 class: masking binds /dev/null only after checking it is the real null
/// device; here (in a private mount namespace) /dev/null is a plain file, and the container
/// has the host's /dev (so neither its own /dev/null nor the host's is the device).
#[test]
fn masking_refuses_a_dev_null_that_is_not_the_null_device() {
    let env = Env::new("fakenull");
    let id = env.id("a");
    let mut c = config(&["true"]);
    let mounts = c["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| !m["destination"].as_str().unwrap().starts_with("/dev"));
    mounts.push(
        json!({"destination": "/dev", "type": "bind", "source": "/dev", "options": ["rbind"]}),
    );
    let bundle = env.bundle(&id, &c);
    let fake = env.base.join("fake-null");
    std::fs::write(&fake, "").unwrap();
    let script = format!(
        "mount --bind {} /dev/null && exec {HULL} --root {} run -b {} {id}",
        fake.display(),
        env.root.display(),
        bundle.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/dev/null is not the null device"),
        "{}",
        stderr(&out)
    );
    assert!(!env.state_dir(&id).exists());
}

/// A masked file is the real null device (1:3) and a masked directory a read-only tmpfs.
#[test]
fn masked_paths_are_the_null_device_and_a_read_only_tmpfs() {
    let env = Env::new("maskstat");
    let out = env.sh(
        &env.id("a"),
        config(&[]),
        "stat -c '%F %t:%T' /proc/timer_list; grep ' /sys/firmware ' /proc/self/mountinfo; \
         touch /sys/firmware/x 2>/dev/null || echo RO-DIR",
    );
    assert!(out.contains("character special file 1:3"), "{out}");
    let fw = out
        .lines()
        .find(|l| l.contains(" /sys/firmware "))
        .expect("/sys/firmware masked");
    assert!(
        fw.split(' ').nth(5).unwrap().starts_with("ro") && fw.contains(" - tmpfs "),
        "{fw}"
    );
    assert!(out.contains("RO-DIR"), "{out}");
}

/// A masked file is the container's own /dev/null (its /dev tmpfs in mountinfo), never the
/// host's devtmpfs, whose options (size=, nr_inodes=) tell the host's memory; masked
/// directories share one empty read-only tmpfs (one superblock however many there are).
#[test]
fn masks_reveal_nothing_of_the_host_and_share_one_tmpfs() {
    let env = Env::new("maskhost");
    let mut c = config(&[
        "sh",
        "-c",
        "grep -E ' /proc/(kcore|keys|timer_list|scsi) | /sys/firmware | /sys/kernel/debug | /sys/fs/fuse ' /proc/self/mountinfo",
    ]);
    c["linux"]["maskedPaths"] = json!([
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/sys/firmware",
        "/proc/scsi",
        "/sys/kernel/debug",
        "/sys/fs/fuse"
    ]);
    let (code, out, err) = env.run(&env.id("a"), &c);
    assert_eq!(code, 0, "{err}");
    let mut dir_devices = std::collections::BTreeSet::new();
    for line in out.lines() {
        assert!(!line.contains("devtmpfs"), "the host's /dev/null: {line}");
        let (_, fs) = line.split_once(" - ").unwrap();
        assert!(fs.starts_with("tmpfs "), "{line}");
        let target = line.split(' ').nth(4).unwrap();
        if target.starts_with("/sys/") || target == "/proc/scsi" {
            dir_devices.insert(line.split(' ').nth(2).unwrap().to_string());
        }
    }
    assert!(out.lines().count() >= 5, "{out}");
    assert_eq!(
        dir_devices.len(),
        1,
        "one tmpfs for every masked directory: {out}"
    );
}
