//! `mounts` beyond the basics: recursive attributes, tmpcopyup, idmapped binds, a mount at "/"
//! (an overlay root), and the escape attempts a hostile rootfs can make.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::common::*;

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

#[test]
fn recursive_attributes_reach_submounts() {
    let env = Env::new("rro");
    let host = env.base.join("vol");
    let _sub = HostMount::tmpfs(&host.join("sub"));
    let mut c = config(&[]);
    let m = c["mounts"].as_array_mut().unwrap();
    m.push(
        json!({"destination": "/ro", "type": "bind", "source": host, "options": ["rbind", "ro"]}),
    );
    m.push(
        json!({"destination": "/rro", "type": "bind", "source": host, "options": ["rbind", "rro"]}),
    );
    m.push(json!({"destination": "/rx", "type": "bind", "source": host, "options": ["rbind", "rnoexec", "rnosuid", "rnodev", "rnoatime"]}));
    let out = env.sh(
        &env.id("a"),
        c,
        "touch /ro/sub/x && echo ro-sub-writable; touch /rro/sub/y 2>&1; touch /rro/z 2>&1; cat /proc/self/mountinfo",
    );
    assert!(
        out.contains("ro-sub-writable"),
        "plain ro leaves submounts writable: {out}"
    );
    assert!(
        out.contains("touch: /rro/sub/y: Read-only file system"),
        "{out}"
    );
    assert!(
        out.contains("touch: /rro/z: Read-only file system"),
        "{out}"
    );
    let rx = mountinfo_options(&out, "/rx/sub");
    assert!(
        ["nosuid", "nodev", "noexec", "noatime"]
            .iter()
            .all(|o| rx.contains(o)),
        "{rx}"
    );
    assert!(
        mountinfo_options(&out, "/rro/sub").contains(" ro,"),
        "{out}"
    );
}

#[test]
fn tmpcopyup_fills_the_tmpfs_with_what_was_there() {
    let env = Env::new("copyup");
    let mut c = config(&[]);
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "mode=755"]}));
    let out = env.sh(
        &env.id("a"),
        c,
        "cat /etc/hostname; stat -c '%a %U' /etc/passwd; echo new > /etc/new && cat /etc/new; awk '$5 == \"/etc\" {print $9}' /proc/self/mountinfo",
    );
    assert_eq!(out, "hull\n644 root\nnew\ntmpfs\n");
    assert!(
        !rootfs().join("etc/new").exists(),
        "writes stay in the tmpfs"
    );
    // The tmpfs root keeps the mode its options give it (podman's `--tmpfs /x:mode=1770`
    // passes tmpcopyup); without mode= it takes the covered directory's (runc 1.1.5 gives
    // /bin 755 here too); subdirectories keep theirs.
    let mut c = config(&[]);
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "mode=1770"]}));
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/bin", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]}));
    let out = env.sh(
        &env.id("b"),
        c,
        "/bin/busybox stat -c %a /etc /bin; /bin/busybox cat /etc/hostname",
    );
    assert_eq!(out, "1770\n755\nhull\n");
}

#[test]
fn idmapped_bind_mount_shows_and_writes_mapped_owners() {
    let env = Env::new("idmap");
    let host = env.base.join("owned");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("f"), "x").unwrap();
    for p in [&host, &host.join("f")] {
        std::os::unix::fs::chown(p, Some(1000), Some(1000)).unwrap();
    }
    let maps = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
    let idmapped = json!({"destination": "/data", "type": "bind", "source": host, "options": ["rbind"], "uidMappings": maps, "gidMappings": maps});
    // Without a user namespace: on-disk 1000 is root inside; root's new files are 1000 outside.
    let mut c = config(&[]);
    c["mounts"].as_array_mut().unwrap().push(idmapped.clone());
    let out = env.sh(
        &env.id("plain"),
        c,
        "stat -c %u:%g /data /data/f; touch /data/new && echo made",
    );
    assert_eq!(out, "0:0\n0:0\nmade\n");
    let meta = std::fs::metadata(host.join("new")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1000, 1000));
    // In a user namespace (container 0 = host 100000), the same mapping means the same.
    let mut c = with_user_namespace(config(&[]));
    c["mounts"].as_array_mut().unwrap().push(idmapped);
    // The shared rootfs and its mount options suit a user namespace? /sys needs a netns: it has one.
    let out = env.sh(
        &env.id("userns"),
        c,
        "stat -c %u:%g /data/f; touch /data/new2 && echo made; cat /proc/self/uid_map",
    );
    assert!(out.starts_with("0:0\nmade\n"), "{out}");
    let meta = std::fs::metadata(host.join("new2")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1000, 1000));
}

#[test]
fn a_mount_at_root_makes_an_overlay_rootfs() {
    let env = Env::new("overlayroot");
    let bundle = env.base.join("ovl");
    for d in ["rootfs", "upper", "work"] {
        std::fs::create_dir_all(bundle.join(d)).unwrap();
    }
    std::os::unix::fs::symlink(rootfs(), bundle.join("lower")).unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("bundle-examples/overlay/config.json");
    let mut c: serde_json::Value =
        serde_json::from_slice(&std::fs::read(example).unwrap()).unwrap();
    c["process"]["args"] = json!(["sh", "-c", "echo layered > /new-file; rm /etc/hostname; ls /bin/busybox; awk '$5 == \"/\" {print $9}' /proc/self/mountinfo"]);
    c["linux"]["cgroupsPath"] = json!(format!("{CGROUP_BASE}/overlayroot"));
    std::fs::write(bundle.join("config.json"), serde_json::to_vec(&c).unwrap()).unwrap();
    let id = env.id("a");
    let out = env.hull(&["run", "-b", bundle.to_str().unwrap(), &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "/bin/busybox\noverlay\n");
    assert_eq!(
        std::fs::read_to_string(bundle.join("upper/new-file")).unwrap(),
        "layered\n"
    );
    let whiteout = std::fs::metadata(bundle.join("upper/etc/hostname")).unwrap();
    assert_eq!(whiteout.rdev(), 0, "a whiteout in the upper layer");
    assert!(
        rootfs().join("etc/hostname").exists() && !rootfs().join("new-file").exists(),
        "the lower layer is untouched"
    );
    assert_eq!(
        std::fs::read_dir(bundle.join("rootfs")).unwrap().count(),
        0,
        "nothing left mounted on the bundle's rootfs"
    );
}

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

/// Per-mount flags, tmpfs size/mode, propagation flags of a `mounts` entry, and a file bound
/// onto a destination that does not exist yet (created as a file, not a directory), each
/// seen in the container's own mountinfo or with stat.
#[test]
fn mount_flags_propagation_and_file_binds_are_seen_inside() {
    let env = Env::new("mntflags");
    let file = env.base.join("bound-file");
    std::fs::write(&file, "file-bind\n").unwrap();
    let mut c = config(&[]);
    let mounts = c["mounts"].as_array_mut().unwrap();
    for m in [
        json!({"destination": "/t1", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "nodev", "noexec", "strictatime", "size=1m", "mode=700"]}),
        json!({"destination": "/t2", "type": "tmpfs", "source": "tmpfs", "options": ["relatime", "rshared"]}),
        json!({"destination": "/t3", "type": "tmpfs", "source": "tmpfs", "options": ["unbindable"]}),
        json!({"destination": "/t4", "type": "tmpfs", "source": "tmpfs", "options": ["private"]}),
        json!({"destination": "/etc/bound-file", "type": "bind", "source": file, "options": ["bind", "ro"]}),
    ] {
        mounts.push(m);
    }
    let out = env.sh(
        &env.id("a"),
        c,
        "for t in /t1 /t2 /t3 /t4 /etc/bound-file; do grep \" $t \" /proc/self/mountinfo; done; \
         stat -c '%F %a' /t1; [ -f /etc/bound-file ] && cat /etc/bound-file; \
         echo x > /etc/bound-file 2>/dev/null || echo RO",
    );
    let line = |dest: &str| -> String {
        out.lines()
            .find(|l| l.split(' ').nth(4) == Some(dest))
            .unwrap_or_else(|| panic!("{dest} not mounted: {out}"))
            .to_owned()
    };
    // mountinfo: id parent major:minor root mountpoint per-mount-options [optional...] - fs source super-options
    let per_mount = |l: &str| l.split(' ').nth(5).unwrap().to_owned();
    let optional = |l: &str| {
        l.split(" - ")
            .next()
            .unwrap()
            .split(' ')
            .skip(6)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let t1 = line("/t1");
    let opts = per_mount(&t1);
    for flag in ["nosuid", "nodev", "noexec"] {
        assert!(opts.split(',').any(|o| o == flag), "/t1 lacks {flag}: {t1}");
    }
    assert!(
        !opts.contains("relatime") && !opts.contains("noatime"),
        "strictatime: {t1}"
    );
    assert!(t1.contains("size=1024k") && t1.contains("mode=700"), "{t1}");
    let t2 = line("/t2");
    assert!(per_mount(&t2).split(',').any(|o| o == "relatime"), "{t2}");
    assert!(optional(&t2).contains("shared:"), "rshared: {t2}");
    assert!(
        optional(&line("/t3")).contains("unbindable"),
        "{}",
        line("/t3")
    );
    assert!(
        optional(&line("/t4")).is_empty(),
        "private: {}",
        line("/t4")
    );
    assert!(
        per_mount(&line("/etc/bound-file")).starts_with("ro"),
        "{}",
        line("/etc/bound-file")
    );
    assert!(out.contains("directory 700"), "{out}");
    assert!(
        out.contains("file-bind\nRO"),
        "a file bound on a new file, read-only: {out}"
    );
    // The destination was made inside the rootfs copy, never on the host's /etc.
    assert!(!Path::new("/etc/bound-file").exists());
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

fn host_mount(args: &[&str]) {
    let st = Command::new("mount").args(args).status().unwrap();
    assert!(st.success(), "mount {args:?}");
}

/// `rslave` on a bind of a shared host mount: the container's copy is its slave (master:N)
/// and a mount made on the host later appears inside; a plain `bind` leaves the source's
/// submounts out (only `rbind` takes them).
#[test]
fn slave_binds_receive_host_mounts_and_plain_binds_leave_submounts_out() {
    let env = Env::new("mntslave");
    let vol = env.base.join("vol");
    let _vol = HostMount::tmpfs(&vol);
    host_mount(&["--make-shared", vol.to_str().unwrap()]);
    let outer = env.base.join("outer");
    let _sub = HostMount::tmpfs(&outer.join("sub"));
    std::fs::write(outer.join("sub/marker"), "x").unwrap();
    let id = env.id("a");
    let mut c = config(&["sleep", "30"]);
    let m = c["mounts"].as_array_mut().unwrap();
    m.push(json!({"destination": "/slave", "type": "bind", "source": vol, "options": ["rbind", "rslave"]}));
    m.push(json!({"destination": "/plain", "type": "bind", "source": outer, "options": ["bind"]}));
    m.push(
        json!({"destination": "/recursive", "type": "bind", "source": outer, "options": ["rbind"]}),
    );
    env.run_detached(&id, &c);
    let late = vol.join("late");
    let _late = HostMount::tmpfs(&late);
    let out = stdout(&env.hull(&[
        "exec",
        &id,
        "sh",
        "-c",
        "cat /proc/self/mountinfo; ls /plain/sub; ls /recursive/sub",
    ]));
    let slave = mountinfo_options(&out, "/slave");
    assert!(slave.contains(" master:"), "rslave: {slave}");
    assert!(
        out.lines()
            .any(|l| l.split(' ').nth(4) == Some("/slave/late")),
        "the host's later mount propagated: {out}"
    );
    assert!(
        !out.lines()
            .any(|l| l.split(' ').nth(4) == Some("/plain/sub")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.split(' ').nth(4) == Some("/recursive/sub")),
        "{out}"
    );
    assert_eq!(
        out.matches("marker").count(),
        1,
        "only the rbind has the submount's file: {out}"
    );
    env.hull_ok(&["delete", "--force", &id]);
}

/// In a user namespace the flags of a mount from the host are locked: a bind remounted
/// read-only must keep the source's nosuid/nodev/noexec, or the kernel refuses (EPERM).
#[test]
fn a_read_only_bind_keeps_the_sources_locked_flags_in_a_user_namespace() {
    let env = Env::new("mntlocked");
    let vol = env.base.join("vol");
    let _vol = HostMount::tmpfs(&vol);
    host_mount(&["-o", "remount,nosuid,nodev,noexec", vol.to_str().unwrap()]);
    let mut c = with_user_namespace(config(&[]));
    // /home exists in the test rootfs, which the namespace's root cannot write to.
    c["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/home", "type": "bind", "source": vol, "options": ["bind", "ro"]}),
    );
    let out = env.sh(&env.id("a"), c, "grep ' /home ' /proc/self/mountinfo");
    let opts = out.split(' ').nth(5).unwrap_or_default().to_owned();
    for flag in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(opts.split(',').any(|o| o == flag), "{flag}: {out}");
    }
}

/// In a user namespace a read-only host mount is locked read-only: a bind of it whose options
/// do not say `ro` keeps it read-only instead of failing with EPERM (runc's behaviour).
#[test]
fn a_bind_of_a_locked_read_only_source_stays_read_only() {
    let env = Env::new("mntlockro");
    let vol = env.base.join("rovol");
    let _vol = HostMount::tmpfs(&vol);
    std::fs::write(vol.join("f"), "kept\n").unwrap();
    host_mount(&["-o", "remount,ro", vol.to_str().unwrap()]);
    let mut c = with_user_namespace(config(&[]));
    c["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/home", "type": "bind", "source": vol, "options": ["bind", "nosuid"]}),
    );
    let out = env.sh(
        &env.id("a"),
        c,
        "cat /home/f; grep ' /home ' /proc/self/mountinfo | cut -d' ' -f6",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "kept", "{out}");
    assert!(lines[1].split(',').any(|o| o == "ro"), "{out}");
}

/// `linux.devices` in a user namespace (no mknod there): bound from the host's device node.
#[test]
fn devices_in_a_user_namespace_are_bound_from_the_host() {
    let env = Env::new("usernsdev");
    let mut c = with_user_namespace(config(&[]));
    c["linux"]["devices"] = json!([{"path": "/dev/full", "type": "c", "major": 1, "minor": 7}]);
    let out = env.sh(
        &env.id("a"),
        c,
        "stat -c '%F %t:%T' /dev/full; echo x 2>&1 > /dev/full; grep -c ' /dev/full ' /proc/self/mountinfo",
    );
    assert!(out.contains("character special file 1:7"), "{out}");
    assert!(
        out.contains("No space left on device"),
        "it is the full device: {out}"
    );
    assert!(out.trim_end().ends_with('1'), "a bind mount: {out}");
}

/// A `user` namespace joined by path: the container gets that namespace's mappings.
#[test]
fn a_user_namespace_is_joined_by_path() {
    let env = Env::new("usernspath");
    let a = env.id("a");
    env.run_detached(&a, &with_user_namespace(config(&["sleep", "30"])));
    let pid = env.pid(&a);
    let want = std::fs::read_link(format!("/proc/{pid}/ns/user")).unwrap();
    let mut c = config(&[]);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user", "path": format!("/proc/{pid}/ns/user")}));
    let out = env.sh(
        &env.id("b"),
        c,
        "readlink /proc/self/ns/user; cat /proc/self/uid_map",
    );
    assert!(
        out.starts_with(&format!("{}\n", want.display())),
        "{out} vs {}",
        want.display()
    );
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .eq(["0", "100000", "65536"]),
        "{out}"
    );
    env.hull_ok(&["delete", "--force", &a]);
}
