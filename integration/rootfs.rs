//! root, mounts, default devices, masked and read-only paths, pivot and --no-pivot.

use serde_json::json;

use crate::common::*;

#[test]
fn readonly_root_and_writable_mounts() {
    let env = Env::new("ro");
    let out = env.sh(
        &env.id("a"),
        config(&[]),
        "touch /x 2>&1 || true; touch /tmp/ok && echo TMP-OK; awk '$5 == \"/\"' /proc/self/mountinfo",
    );
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(out.contains("TMP-OK"), "{out}");
    let root_line = out
        .lines()
        .find(|l| l.split_whitespace().nth(4) == Some("/"))
        .unwrap();
    assert!(
        root_line
            .split_whitespace()
            .nth(5)
            .unwrap()
            .split(',')
            .any(|o| o == "ro"),
        "{root_line}"
    );
}

#[test]
fn writable_root_when_not_readonly() {
    let env = Env::new("rw");
    let mut c = config(&[]);
    c["root"]["readonly"] = json!(false);
    let out = env.sh(
        &env.id("a"),
        c,
        "touch /root/.hull-rw-test && rm /root/.hull-rw-test && echo RW-OK",
    );
    assert_eq!(out, "RW-OK\n");
}

#[test]
fn default_devices_and_links() {
    let env = Env::new("dev");
    let out = env.sh(
        &env.id("a"),
        config(&[]),
        "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done; \
         for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done; echo hi > /dev/null && echo NULL-OK",
    );
    for want in [
        "/dev/null character special file 1:3 666",
        "/dev/zero character special file 1:5 666",
        "/dev/full character special file 1:7 666",
        "/dev/random character special file 1:8 666",
        "/dev/urandom character special file 1:9 666",
        "/dev/tty character special file 5:0 666",
        "/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\npts/ptmx\n",
        "NULL-OK",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}

#[test]
fn mounts_from_config_are_there() {
    let env = Env::new("mounts");
    let out = env.sh(&env.id("a"), config(&[]), "cat /proc/self/mountinfo");
    for (dest, fstype) in [
        ("/proc", "proc"),
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
        ("/sys", "sysfs"),
        ("/tmp", "tmpfs"),
    ] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().nth(4) == Some(dest))
            .unwrap_or_else(|| panic!("{dest} not mounted:\n{out}"));
        assert!(line.contains(&format!(" - {fstype} ")), "{line}");
    }
    let sys = out
        .lines()
        .find(|l| l.split_whitespace().nth(4) == Some("/sys"))
        .unwrap();
    assert!(
        sys.split_whitespace()
            .nth(5)
            .unwrap()
            .split(',')
            .any(|o| o == "ro"),
        "sysfs ro: {sys}"
    );
}

#[test]
fn bind_mount_from_bundle_relative_source() {
    let env = Env::new("bind");
    let id = env.id("a");
    let mut c = config(&[]);
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/data", "type": "bind", "source": "vol", "options": ["rbind", "ro"]}));
    c["process"]["args"] = json!(["sh", "-c", "cat /data/hello; touch /data/x 2>&1 || true"]);
    let bundle = env.bundle(&id, &c);
    std::fs::create_dir_all(bundle.join("vol")).unwrap();
    std::fs::write(bundle.join("vol/hello"), "from the bundle\n").unwrap();
    let out = env.hull(&["run", "-b", bundle.to_str().unwrap(), &id]);
    let text = stdout(&out);
    assert!(
        text.starts_with("from the bundle\n"),
        "{text} {}",
        stderr(&out)
    );
    assert!(text.contains("Read-only file system"), "{text}");
}

#[test]
fn masked_and_readonly_paths() {
    let env = Env::new("mask");
    let out = env.sh(
        &env.id("a"),
        config(&[]),
        "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/ns_last_pid 2>&1 || echo RO-OK",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0", "timer_list masked by /dev/null");
    assert_eq!(lines[1], "0", "/sys/firmware masked by an empty tmpfs");
    assert!(out.contains("RO-OK") || out.contains("Read-only"), "{out}");
}

#[test]
fn mount_destination_symlink_stays_inside_root() {
    let env = Env::new("escape");
    let id = env.id("a");
    // A writable rootfs copy whose /escape is an absolute symlink to the host's /.
    let root = env.base.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(rootfs().join("bin/busybox"), root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    std::os::unix::fs::symlink("/", root.join("escape")).unwrap();
    let mut c = config(&["/bin/busybox", "true"]);
    c["root"] = json!({"path": root, "readonly": false});
    c["mounts"] =
        json!([{"destination": "/escape/hull-escape-test", "type": "tmpfs", "source": "tmpfs"}]);
    c["linux"]["maskedPaths"] = json!([]);
    c["linux"]["readonlyPaths"] = json!([]);
    let (code, _, err) = env.run(&id, &c);
    assert_eq!(code, 0, "{err}");
    assert!(
        root.join("hull-escape-test").is_dir(),
        "created inside the rootfs"
    );
    assert!(
        !std::path::Path::new("/hull-escape-test").exists(),
        "escaped to the host's /"
    );
}

#[test]
fn no_pivot_uses_move_and_chroot() {
    let env = Env::new("nopivot");
    let id = env.id("a");
    let bundle = env.bundle(&id, &config(&["sh", "-c", "echo $$; ls /"]));
    let out = env.hull(&["run", "--no-pivot", "-b", bundle.to_str().unwrap(), &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("1\n") && stdout(&out).contains("bin"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn without_a_mount_namespace_mounts_are_detached_on_delete() {
    let env = Env::new("nomntns");
    let id = env.id("a");
    // A private rootfs: its mounts are made in hull's own namespace, under this path.
    let root = env.base.join("rootfs-nomnt");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(rootfs().join("bin/busybox"), root.join("bin/busybox")).unwrap();
    let mut c = config(&[
        "/bin/busybox",
        "sh",
        "-c",
        "/bin/busybox grep -c . /proc/self/mountinfo; /bin/busybox cat /proc/self/status",
    ]);
    c["root"] = json!({"path": root, "readonly": false});
    c["linux"]["namespaces"] = json!([{"type": "pid"}]);
    c.as_object_mut().unwrap().remove("hostname");
    let host_mnt = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    env.create(&id, &c);
    let pid = env.pid(&id);
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap(),
        host_mnt,
        "shares hull's mount namespace"
    );
    assert!(
        mount_with(&root.join("proc").display().to_string()),
        "proc is mounted under the rootfs"
    );
    env.hull_ok(&["delete", "--force", &id]);
    assert!(
        !mount_with(&root.display().to_string()),
        "delete detached every mount under the rootfs"
    );
}

#[test]
fn rootfs_propagation_shared_and_unbindable() {
    let env = Env::new("shared");
    for (mode, want) in [("shared", "shared:"), ("unbindable", "unbindable")] {
        let mut c = config(&[]);
        c["linux"]["rootfsPropagation"] = json!(mode);
        let out = env.sh(&env.id(mode), c, "awk '$5 == \"/\"' /proc/self/mountinfo");
        assert!(out.contains(want), "/ is {mode}: {out}");
    }
}

#[test]
fn linux_devices_are_created_as_configured() {
    let env = Env::new("devices");
    let mut c = config(&[]);
    c["linux"]["devices"] = json!([
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 384, "uid": 5, "gid": 6},
        {"path": "/dev/hull/loop9", "type": "b", "major": 7, "minor": 9},
        {"path": "/dev/hullfifo", "type": "p", "major": 0, "minor": 0},
        {"path": "/dev/hullu", "type": "u", "major": 1, "minor": 9}
    ]);
    c["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
    let out = env.sh(
        &env.id("a"),
        c,
        "stat -c '%n %F %t:%T %a %u:%g' /dev/fuse /dev/hull/loop9 /dev/hullfifo /dev/hullu",
    );
    // "u": an unbuffered character device, made like "c".
    assert!(
        out.contains("/dev/hullu character special file 1:9"),
        "{out}"
    );
    assert!(out.contains("/dev/hullfifo fifo"), "{out}");
    assert!(
        out.contains("/dev/fuse character special file a:e5 600 5:6"),
        "{out}"
    );
    assert!(
        out.contains("/dev/hull/loop9 block special file 7:9 666 0:0"),
        "{out}"
    );
}

#[test]
fn sysctl_in_own_namespaces_only() {
    let env = Env::new("sysctl");
    let host = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let mut c = config(&[]);
    let want = if host.trim() == "1" { "0" } else { "1" };
    c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": want, "kernel.shmmni": "1000"});
    let out = env.sh(
        &env.id("a"),
        c,
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni",
    );
    assert_eq!(out, format!("{want}\n1000\n"));
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host,
        "the host's value is untouched"
    );

    let id = env.id("bad");
    let mut c = config(&["true"]);
    c["linux"]["sysctl"] = json!({"vm.swappiness": "10"});
    let bundle = env.bundle(&id, &c);
    assert_fails(
        &env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]),
        "linux.sysctl",
    );
}
