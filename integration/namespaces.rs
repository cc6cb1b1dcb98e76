//! linux.namespaces: new ones differ from the host's, joined ones are the same, user and time
//! namespaces carry their maps and offsets.

use serde_json::json;

use crate::common::*;

fn host_ns(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn new_namespaces_differ_from_the_host() {
    let env = Env::new("nsnew");
    let kinds = ["pid", "net", "ipc", "uts", "mnt", "cgroup"];
    let script: String = kinds
        .iter()
        .map(|k| format!("readlink /proc/self/ns/{k}; "))
        .collect();
    let out = env.sh(&env.id("a"), config(&[]), &script);
    let inside: Vec<&str> = out.lines().collect();
    assert_eq!(inside.len(), kinds.len(), "{out}");
    for (kind, ns) in kinds.iter().zip(inside) {
        assert!(ns.starts_with(&format!("{kind}:[")), "{ns}");
        assert_ne!(ns, host_ns(kind), "{kind} namespace is the host's");
    }
}

#[test]
fn omitted_namespaces_are_shared_with_the_host() {
    let env = Env::new("nsshared");
    let mut c = config(&[]);
    c["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "pid"}]);
    c.as_object_mut().unwrap().remove("hostname");
    let out = env.sh(
        &env.id("a"),
        c,
        "readlink /proc/self/ns/net; readlink /proc/self/ns/uts",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, vec![host_ns("net"), host_ns("uts")]);
}

#[test]
fn pid_one_and_hostname() {
    let env = Env::new("pid1");
    let out = env.sh(&env.id("a"), config(&[]), "echo $$; hostname");
    assert_eq!(out, "1\nhull-test\n");
}

#[test]
fn joining_namespaces_by_path() {
    let env = Env::new("nsjoin");
    let a = env.id("a");
    env.run_detached(&a, &config(&["sleep", "30"]));
    let pid = env.pid(&a);
    let target = |k: &str| {
        std::fs::read_link(format!("/proc/{pid}/ns/{k}"))
            .unwrap()
            .display()
            .to_string()
    };

    let mut c = config(&[]);
    c["linux"]["namespaces"] = json!([
        {"type": "mount"}, {"type": "uts"},
        {"type": "network", "path": format!("/proc/{pid}/ns/net")},
        {"type": "ipc", "path": format!("/proc/{pid}/ns/ipc")},
        {"type": "pid", "path": format!("/proc/{pid}/ns/pid")}
    ]);
    let out = env.sh(
        &env.id("b"),
        c,
        "for k in net ipc pid; do readlink /proc/self/ns/$k; done; echo $$",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..3], &[target("net"), target("ipc"), target("pid")]);
    assert_ne!(lines[3], "1", "in a joined pid namespace we are not pid 1");
}

#[test]
fn joining_a_missing_namespace_path_fails_cleanly() {
    let env = Env::new("nsbadpath");
    let id = env.id("a");
    let mut c = config(&["true"]);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "network");
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "network", "path": "/no/such/netns"}));
    env.assert_create_refused(&id, &c, "/no/such/netns");
}

fn userns_config() -> serde_json::Value {
    with_user_namespace(config(&[]))
}

#[test]
fn user_namespace_maps_ids() {
    let env = Env::new("userns");
    let out = env.sh(
        &env.id("a"),
        userns_config(),
        "cat /proc/self/uid_map /proc/self/gid_map; id -u",
    );
    let fields: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(fields[0], vec!["0", "100000", "65536"]);
    assert_eq!(fields[1], vec!["0", "100000", "65536"]);
    assert_eq!(fields[2], vec!["0"]);
    assert_ne!(
        std::fs::read_link("/proc/self/ns/user")
            .unwrap()
            .display()
            .to_string(),
        "",
        "host has a user namespace link"
    );
}

#[test]
fn user_namespace_with_joined_namespace() {
    // Joining goes before creating, so a new user namespace can still join the host's ipc.
    let env = Env::new("usernsjoin");
    let mut c = userns_config();
    // mqueue needs the container's own ipc namespace.
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "mqueue");
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "ipc");
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "ipc", "path": "/proc/self/ns/ipc"}));
    let out = env.sh(
        &env.id("a"),
        c,
        "readlink /proc/self/ns/ipc; cat /proc/self/uid_map",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], host_ns("ipc"));
    assert!(lines[1].split_whitespace().eq(["0", "100000", "65536"]));
}

#[test]
fn time_namespace_offsets() {
    let env = Env::new("timens");
    let mut c = config(&[]);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "time"}));
    c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 86400 * 365, "nanosecs": 0}});
    let out = env.sh(
        &env.id("a"),
        c,
        "cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time",
    );
    let lines: Vec<&str> = out.lines().collect();
    let inside: u64 = lines[0].parse().unwrap();
    let host: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        inside >= 86400 * 365 + host as u64 - 5,
        "uptime inside {inside}, host {host}"
    );
    assert_ne!(lines[1], host_ns("time"));
}

/// A rootfs owned by the mapped root (host 100000) is the container root's own: it may write
/// anywhere in it, and its files are owned by 100000 on the host.
#[test]
fn rootfs_owned_by_the_mapped_root() {
    let env = Env::new("usernsowned");
    let root = env.base.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(rootfs().join("bin/busybox"), root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    for p in [env.base.clone(), root.clone(), root.join("bin")] {
        std::os::unix::fs::chown(&p, Some(100000), Some(100000)).unwrap();
    }
    let mut c = userns_config();
    c["root"] = json!({"path": root, "readonly": false});
    c["mounts"] = json!([{"destination": "/proc", "type": "proc", "source": "proc"}]);
    c["linux"]["maskedPaths"] = json!([]);
    c["linux"]["readonlyPaths"] = json!([]);
    let out = env.sh(
        &env.id("a"),
        c,
        "echo mine > /owned && /bin/busybox stat -c %u:%g /owned /bin",
    );
    assert_eq!(out, "0:0\n0:0\n");
    let meta = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(root.join("owned")).unwrap());
    assert_eq!(meta, 100000);
}

/// `spec --rootless` gives a config that runs as is (here as root: its single mapping is 0→0).
#[test]
fn rootless_spec_runs_as_generated() {
    let env = Env::new("rootlessspec");
    let dir = env.base.join("rl");
    std::fs::create_dir_all(&dir).unwrap();
    env.hull_ok(&["spec", "--rootless", "--bundle", dir.to_str().unwrap()]);
    let mut c: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    c["root"]["path"] = json!(rootfs());
    c["process"]["args"] = json!(["sh", "-c", "cat /proc/self/uid_map; id -u"]);
    c["process"]["terminal"] = json!(false);
    let (code, out, err) = env.run(&env.id("a"), &c);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].split_whitespace().eq(["0", "0", "1"]), "{out}");
    assert_eq!(lines[1], "0");
}

/// Keys are not namespaced: each container (init and exec'd processes) joins a session keyring
/// of its own, `_ses.<id>`, so a key in the caller's session keyring is out of its reach, and
/// two containers share nothing; `--no-new-keyring` keeps the caller's (the control).
#[test]
fn each_container_has_a_session_keyring_of_its_own() {
    let env = Env::new("keyring");
    let probe = rootfs().join("bin/hull-probe");
    // `hull ARGS` in a new session keyring of the caller's, holding a secret key.
    // Output through a file: a detached container keeps hull's stdout open.
    let in_keyring = |args: &[&str]| {
        let file = env.base.join("keys.out");
        let status = std::process::Command::new(&probe)
            .arg("keyring-run")
            .arg(HULL)
            .arg("--root")
            .arg(&env.root)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&file).unwrap())
            .status()
            .unwrap();
        let out = std::fs::read_to_string(&file).unwrap();
        assert!(status.success(), "hull {args:?}: {out}");
        out
    };
    let session = |out: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix("session "))
            .unwrap_or_else(|| panic!("{out}"))
            .to_string()
    };
    let run = |id: &str, extra: &[&str]| {
        let bundle = env.bundle(id, &config(&["hull-probe", "keys"]));
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-b", bundle.to_str().unwrap(), id]);
        in_keyring(&args)
    };
    let (a, b) = (env.id("a"), env.id("b"));
    let out_a = run(&a, &[]);
    let out_b = run(&b, &[]);
    assert!(session(&out_a).ends_with(&format!(" _ses.{a}")), "{out_a}");
    assert!(session(&out_b).ends_with(&format!(" _ses.{b}")), "{out_b}");
    assert_ne!(session(&out_a), session(&out_b));
    for out in [&out_a, &out_b] {
        assert!(out.contains("secret: ") && !out.contains("s3cret"), "{out}");
    }
    let out = run(&env.id("c"), &["--no-new-keyring"]);
    assert!(out.contains("secret: s3cret"), "the control: {out}");
    // An exec'd process joins the container's keyring, not the caller of exec's.
    let id = env.id("d");
    let bundle = env.bundle(&id, &config(&["sleep", "30"]));
    in_keyring(&["run", "-d", "-b", bundle.to_str().unwrap(), &id]);
    let out = in_keyring(&["exec", &id, "hull-probe", "keys"]);
    assert!(session(&out).ends_with(&format!(" _ses.{id}")), "{out}");
    assert!(!out.contains("s3cret"), "{out}");
    env.hull_ok(&["delete", "--force", &id]);
}

/// `linux.netDevices` (runtime-spec 1.3.0): a host device (one end of a veth pair made here; this
/// kernel has no dummy driver) is moved into the container's network namespace, renamed as
/// asked, with its permanent address, and up; the host no longer has it. A device that does
/// not exist is named in the error, and nothing is left. (A virtual device goes with the
/// namespace, and its peer with it, as the spec says.)
#[test]
fn net_devices_are_moved_in_renamed_with_their_addresses_and_up() {
    let env = Env::new("netdev");
    let host = format!("hulld{}", std::process::id() % 100_000);
    let ip = |args: &[&str]| {
        let st = std::process::Command::new("ip")
            .args(args)
            .status()
            .unwrap();
        assert!(st.success(), "ip {args:?}");
    };
    let peer = format!("{host}p");
    ip(&["link", "add", &host, "type", "veth", "peer", "name", &peer]);
    ip(&["addr", "add", "10.213.7.1/24", "dev", &host]);
    let id = env.id("a");
    let mut c = config(&[
        "sh",
        "-c",
        "ip -4 addr show dev inside9 | grep -o 'inet [0-9./]*'; cat /sys/class/net/inside9/flags",
    ]);
    c["linux"]["netDevices"] = json!({host.clone(): {"name": "inside9"}});
    let (code, out, err) = env.run(&id, &c);
    let still_on_host = std::path::Path::new("/sys/class/net").join(&host).exists();
    if still_on_host {
        ip(&["link", "del", &host]);
    }
    // The container is gone: its end of the pair with it, and so the peer.
    if std::path::Path::new("/sys/class/net").join(&peer).exists() {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &peer])
            .status();
    }
    assert_eq!(code, 0, "{out} {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "inet 10.213.7.1/24", "{out}");
    let flags = u32::from_str_radix(lines[1].trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & 1, 1, "IFF_UP: {out}");
    assert!(!still_on_host, "the device stayed on the host");
    // A device the host lacks: refused by name, nothing left.
    let id = env.id("b");
    let mut c = config(&["true"]);
    c["linux"]["netDevices"] = json!({"hull-none0": {}});
    env.assert_create_refused(&id, &c, "no network device \"hull-none0\"");
}
