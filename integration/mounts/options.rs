//! A `mounts` entry's options seen inside: recursive attributes, tmpcopyup, per-mount flags,
//! propagation, plain and recursive binds, and a mount at "/" (an overlay root).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::json;

use super::*;

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
