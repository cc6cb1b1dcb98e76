//! Mounts in and for user namespaces: idmapped binds, the host's locked flags, devices bound
//! from the host, and a user namespace joined by path.

use std::os::unix::fs::MetadataExt;

use serde_json::json;

use super::*;

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

/// A bind source that only the host's root can reach (under a 0700 directory the container's
/// mapped root cannot search, as /root or a kubelet's pod directories) still works in a user
/// namespace, as with runc: the parent opens it on the host side, in the container's mount
/// namespace, and init binds what it opened. The bind keeps the kernel's locks: the
/// container's root cannot make a read-only host mount writable through it.
#[test]
fn bind_sources_only_the_hosts_root_can_reach_work_in_a_user_namespace() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new("mntreach");
    let private = env.base.join("private");
    let vol = private.join("vol");
    let _vol = HostMount::tmpfs(&vol);
    std::fs::write(vol.join("secret"), "only-root-reaches-me").unwrap();
    host_mount(&["-o", "remount,ro", vol.to_str().unwrap()]);
    std::fs::write(private.join("file"), "a-file").unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut c = with_user_namespace(config(&[]));
    let mounts = c["mounts"].as_array_mut().unwrap();
    mounts
        .push(json!({"destination": "/mnt", "type": "bind", "source": vol, "options": ["rbind"]}));
    mounts.push(json!({"destination": "/etc/bound-file", "type": "bind", "source": private.join("file"), "options": ["bind"]}));
    let out = env.sh(
        &env.id("a"),
        c,
        "cat /mnt/secret; echo; cat /etc/bound-file; echo; \
         mount -o remount,bind,rw /mnt 2>/dev/null && echo remounted-rw; \
         touch /mnt/new 2>/dev/null && echo wrote; true",
    );
    assert_eq!(out, "only-root-reaches-me\na-file\n");
}

/// An idmapped bind whose source lies in a bundle directory the container's mapped ids cannot
/// search (0700, the host root's) works: the parent prepares the idmapped tree on the host
/// side, with the host's privileges.
#[test]
fn idmapped_binds_work_from_a_bundle_the_mapped_ids_cannot_search() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new("idmapbundle");
    let id = env.id("a");
    let maps = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    let mut c = with_user_namespace(config(&["cat", "/data/f"]));
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/data", "type": "bind", "source": "volume", "options": ["rbind"],
        "uidMappings": maps, "gidMappings": maps}));
    let bundle = env.bundle(&id, &c);
    std::fs::create_dir_all(bundle.join("volume")).unwrap();
    std::fs::write(bundle.join("volume/f"), "in-the-bundle\n").unwrap();
    std::fs::set_permissions(&bundle, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = env.hull(&["run", "-b", bundle.to_str().unwrap(), &id]);
    assert_eq!(stdout(&out), "in-the-bundle\n", "{}", stderr(&out));
}
