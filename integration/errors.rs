//! Bad input: a clear error naming the field or path, exit status 1, and nothing left behind
//! (no state dir, no process, no mount).

use serde_json::{json, Value};

use crate::common::*;

/// Create must fail with `needle` in its error and leave no trace of `id`.
fn assert_clean_failure(env: &Env, id: &str, args: &[&str], needle: &str) {
    let out = env.hull(args);
    assert_fails(&out, needle);
    assert!(!env.state_dir(id).exists(), "state dir of {id} left behind");
    assert!(
        !process_with(&env.base.display().to_string()),
        "a process of {id} left behind"
    );
    assert!(
        !mount_with(&env.base.display().to_string()),
        "a mount of {id} left behind"
    );
}

fn create_with(env: &Env, id: &str, config: &Value, needle: &str) {
    let bundle = env.bundle(id, config);
    assert_clean_failure(
        env,
        id,
        &["create", "--bundle", bundle.to_str().unwrap(), id],
        needle,
    );
}

#[test]
fn missing_bundle_and_config() {
    let env = Env::new("errbundle");
    let id = env.id("a");
    let missing = env.base.join("no-such-bundle");
    assert_clean_failure(
        &env,
        &id,
        &["create", "-b", missing.to_str().unwrap(), &id],
        "no-such-bundle",
    );
    let empty = env.base.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert_clean_failure(
        &env,
        &id,
        &["create", "-b", empty.to_str().unwrap(), &id],
        "config.json does not exist",
    );
}

#[test]
fn malformed_config_reports_line_and_column() {
    let env = Env::new("errjson");
    let id = env.id("a");
    let dir = env.base.join("bad");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        "{\n  \"ociVersion\": \"1.2.1\",\n  \"process\": [\n",
    )
    .unwrap();
    assert_clean_failure(
        &env,
        &id,
        &["create", "-b", dir.to_str().unwrap(), &id],
        "column",
    );
    std::fs::write(
        dir.join("config.json"),
        "{\"ociVersion\": \"1.2.1\", \"process\": 5}",
    )
    .unwrap();
    assert_clean_failure(
        &env,
        &id,
        &["create", "-b", dir.to_str().unwrap(), &id],
        "line 1 column",
    );
}

#[test]
fn unsupported_oci_version() {
    let env = Env::new("errversion");
    let mut c = config(&["true"]);
    c["ociVersion"] = json!("2.0.0");
    create_with(&env, &env.id("a"), &c, "ociVersion");
}

#[test]
fn invalid_ids() {
    let env = Env::new("errid");
    let bundle = env.bundle("b", &config(&["true"]));
    for id in ["../x", "", "a/b", ".."] {
        let out = env.hull(&["create", "-b", bundle.to_str().unwrap(), id]);
        assert_fails(&out, "invalid container ID");
    }
    assert!(!env.root.join("x").exists() && !env.base.join("x").exists());
    let leftovers = std::fs::read_dir(&env.root).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "nothing created under the state root");
}

#[test]
fn nonexistent_program_fails_create() {
    let env = Env::new("errexec");
    create_with(
        &env,
        &env.id("a"),
        &config(&["/bin/no-such-program"]),
        "process.args[0]",
    );
    create_with(
        &env,
        &env.id("b"),
        &config(&["no-such-program"]),
        "not found in $PATH",
    );
}

#[test]
fn missing_rootfs() {
    let env = Env::new("errrootfs");
    let mut c = config(&["true"]);
    c["root"]["path"] = json!("no-such-rootfs");
    create_with(&env, &env.id("a"), &c, "root.path");
}

#[test]
fn missing_cwd_and_bad_mount_name_the_field() {
    let env = Env::new("errfield");
    let mut c = config(&["true"]);
    // A missing cwd is made (as runc does); one that cannot be is named.
    c["process"]["cwd"] = json!("/etc/passwd/dir");
    create_with(&env, &env.id("a"), &c, "process.cwd");
    let mut c = config(&["true"]);
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/mnt", "type": "bind", "source": "/no/such/src", "options": ["bind"]}));
    create_with(&env, &env.id("b"), &c, "/no/such/src");
    let mut c = config(&["true"]);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    create_with(&env, &env.id("c"), &c, "linux.uidMappings");
}

#[test]
fn errors_go_to_the_json_log() {
    let env = Env::new("errlog");
    let id = env.id("a");
    let log = env.base.join("log.json");
    let bundle = env.bundle(&id, &config(&["/bin/no-such-program"]));
    let out = env.hull(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "create",
        "-b",
        bundle.to_str().unwrap(),
        &id,
    ]);
    assert_fails(&out, "process.args[0]");
    let text = std::fs::read_to_string(&log).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert!(last["msg"].as_str().unwrap().contains("no-such-program"));
    assert!(last["time"].as_str().unwrap().ends_with('Z'));
}

/// Hostile input is bounded: config.json, `exec --process` and `update -r` must be regular
/// files (a link to /dev/zero would grow hull until the OOM killer, a FIFO would hang it) of at
/// most 16 MiB; the error names the file, at once.
#[test]
fn inputs_must_be_bounded_regular_files() {
    let env = Env::new("errinput");
    // config.json: a link to /dev/zero, a FIFO, an oversized file.
    for (name, make) in [
        ("zero", "ln -s /dev/zero config.json"),
        ("fifo", "mkfifo config.json"),
        ("huge", "truncate -s 17M config.json"),
    ] {
        let id = env.id(name);
        let bundle = env.base.join(&id);
        std::fs::create_dir_all(&bundle).unwrap();
        let ok = std::process::Command::new("sh")
            .args(["-c", make])
            .current_dir(&bundle)
            .status()
            .unwrap();
        assert!(ok.success());
        let started = std::time::Instant::now();
        let needle = if name == "huge" {
            "larger than 16 MiB"
        } else {
            "is not a regular file"
        };
        assert_clean_failure(
            &env,
            &id,
            &["create", "--bundle", bundle.to_str().unwrap(), &id],
            needle,
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    // exec --process and update -r, against a running container.
    let id = env.id("run");
    env.run_detached(&id, &config(&["sleep", "30"]));
    let fifo = env.base.join("process.fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = env.hull(&["exec", "--process", fifo.to_str().unwrap(), &id]);
    assert_fails(&out, "--process");
    assert_fails(&out, "is not a regular file");
    let out = env.hull(&["exec", "--process", "/dev/zero", &id]);
    assert_fails(&out, "--process /dev/zero is not a regular file");
    let out = env.hull(&["update", "-r", "/dev/zero", &id]);
    assert_fails(&out, "--resources /dev/zero is not a regular file");
    env.hull_ok(&["delete", "--force", &id]);
}

/// `--preserve-fds` is one unsigned, bounded count for every command: a negative one would
/// take the container's stdio, 2147483647 overflowed so that no fd was close-on-exec.
#[test]
fn preserve_fds_is_unsigned_and_bounded() {
    let env = Env::new("errpreserve");
    let id = env.id("a");
    let bundle = env.bundle(&id, &config(&["sleep", "30"]));
    let b = bundle.to_str().unwrap();
    for n in ["-1", "2147483647", "4294967296", "x"] {
        for cmd in ["create", "run"] {
            let out = env.hull(&[cmd, "--preserve-fds", n, "-b", b, &id]);
            assert_fails(&out, "--preserve-fds");
            assert!(!env.state_dir(&id).exists(), "{cmd} {n}: state dir left");
        }
    }
    env.hull_ok(&["run", "-d", "-b", b, &id]);
    for n in ["-1", "2147483647"] {
        assert_fails(
            &env.hull(&["exec", "--preserve-fds", n, &id, "true"]),
            "--preserve-fds",
        );
    }
    env.hull_ok(&["delete", "--force", &id]);
}

/// uid/gid 4294967295 is (uid_t)-1, "no change" to setresuid: the process would stay root.
/// Ids above runc's bound (2^31-1) are refused by field, from the config and from `exec -u`.
#[test]
fn ids_above_the_bound_are_refused() {
    let env = Env::new("errids");
    let id = env.id("a");
    let mut c = config(&["id"]);
    c["process"]["user"] = json!({"uid": 4294967295u32, "gid": 0});
    create_with(
        &env,
        &id,
        &c,
        "process.user.uid: 4294967295 is out of range",
    );
    env.run_detached(&id, &config(&["sleep", "30"]));
    for (user, field) in [
        ("4294967295", "process.user.uid"),
        ("0:4294967295", "process.user.gid"),
        ("-1", "--user"),
    ] {
        assert_fails(&env.hull(&["exec", "-u", user, &id, "id", "-u"]), field);
    }
    env.hull_ok(&["delete", "--force", &id]);
}

/// An error of init longer than any buffer (70,000 additionalGids named in it) reaches the
/// caller whole, not as "init exited before it was ready".
#[test]
fn long_init_errors_arrive_whole() {
    let env = Env::new("errlong");
    let id = env.id("a");
    let mut c = config(&["true"]);
    c["process"]["user"] =
        json!({"uid": 0, "gid": 0, "additionalGids": (1..=70_000).collect::<Vec<u32>>()});
    let bundle = env.bundle(&id, &c);
    let out = env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("process.user.additionalGids"),
        "{}",
        &err[..err.len().min(300)]
    );
    assert!(err.contains("70000"), "the message was cut");
    assert!(!env.state_dir(&id).exists());
}

/// Init's own log lines (here a debug line it writes after pivot_root, where the host's
/// `--log` path is gone) travel to the parent, which writes them to the log file; none go to
/// the container's stderr.
#[test]
fn init_log_lines_reach_the_log_file() {
    let env = Env::new("errlog");
    let id = env.id("a");
    let mut c = config(&["true"]);
    c["process"]["capabilities"] = json!({
        "bounding": ["CAP_CHOWN", "CAP_NET_ADMIN"], "effective": ["CAP_CHOWN"],
        "permitted": ["CAP_CHOWN"], "ambient": ["CAP_NET_ADMIN"]
    });
    let (out, text) = env.run_with_debug_log(&id, &c, &["--log-format", "json"]);
    let line = text
        .lines()
        .find(|l| l.contains("process.capabilities.ambient: skipping"))
        .unwrap_or_else(|| panic!("init's line is not in the log: {text}"));
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["level"], "debug");
    assert!(!stderr(&out).contains("ambient"), "{}", stderr(&out));
}
