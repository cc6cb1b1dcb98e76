//! A bounded property test of config parsing and planning: thousands of mutations of a valid
//! config (type swaps, extreme numbers, odd strings, deleted and duplicated fields) must each
//! end in a plan or an error, never a panic. Deterministic (a fixed-seed xorshift), so a
//! failure reproduces; no nightly toolchain or extra crate needed.

use std::path::Path;

use serde_json::{json, Value};

use super::{Plan, PlanOptions};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn seed_config() -> Value {
    json!({
        "ociVersion": "1.2.1",
        "process": {"terminal": false, "user": {"uid": 0, "gid": 0, "additionalGids": [1]}, "args": ["sh", "-c", "true"],
                    "env": ["PATH=/bin", "A=b"], "cwd": "/", "noNewPrivileges": true, "oomScoreAdj": 10,
                    "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}],
                    "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
                    "scheduler": {"policy": "SCHED_OTHER", "nice": 1}, "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4}},
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "h",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "rslave"]},
                   {"destination": "/data", "type": "bind", "source": "vol", "options": ["rbind", "ro"]}],
        "hooks": {"createRuntime": [{"path": "/bin/true", "args": ["true"], "timeout": 3}]},
        "annotations": {"a": "b"},
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "network"}, {"type": "user"}, {"type": "time"}],
            "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}],
            "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}],
            "timeOffsets": {"monotonic": {"secs": 1, "nanosecs": 2}},
            "sysctl": {"net.ipv4.ip_forward": "1"},
            "resources": {"memory": {"limit": 104857600, "swap": 209715200}, "cpu": {"shares": 512, "cpus": "0-1"},
                          "pids": {"limit": 10}, "devices": [{"allow": false, "access": "rwm"}]},
            "cgroupsPath": "/a/b",
            "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}],
            "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"], "rootfsPropagation": "rslave",
            "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]},
            "personality": {"domain": "LINUX"}
        }
    })
}

/// Odd values a field may be swapped for.
fn odd_value(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0 => Value::Null,
        1 => json!(-1),
        2 => json!(u64::MAX),
        3 => json!(i64::MIN),
        4 => json!(""),
        5 => json!("../../etc"),
        6 => json!("\u{0}\u{ffff}"),
        7 => json!([]),
        8 => json!({}),
        9 => json!(true),
        10 => json!(1.5e300),
        _ => json!("x".repeat(5000)),
    }
}

/// Replace, delete or duplicate one randomly chosen node of the tree.
fn mutate(v: &mut Value, rng: &mut Rng, depth: usize) {
    let descend = depth < 6 && rng.below(3) != 0;
    match v {
        Value::Object(map) if !map.is_empty() => {
            let key = map.keys().nth(rng.below(map.len())).unwrap().clone();
            if descend {
                mutate(map.get_mut(&key).unwrap(), rng, depth + 1);
            } else if rng.below(2) == 0 {
                map.remove(&key);
            } else {
                map.insert(key, odd_value(rng));
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = rng.below(items.len());
            if descend {
                mutate(&mut items[i], rng, depth + 1);
            } else if rng.below(2) == 0 {
                let copy = items[i].clone();
                items.push(copy);
            } else {
                items[i] = odd_value(rng);
            }
        }
        _ => *v = odd_value(rng),
    }
}

#[test]
fn mutated_configs_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let seed = seed_config();
    let mut planned = 0;
    for _ in 0..3000 {
        let mut cfg = seed.clone();
        for _ in 0..=rng.below(3) {
            mutate(&mut cfg, &mut rng, 0);
        }
        let text = cfg.to_string();
        if let Ok(spec) = crate::spec::parse(&text) {
            if Plan::from_spec(&spec, Path::new("/bundle"), "fuzz", &PlanOptions::default()).is_ok()
            {
                planned += 1;
            }
        }
    }
    // The seed itself is valid, so some mutations (e.g. of annotations) still plan.
    assert!(planned > 0);
    let spec = crate::spec::parse(&seed.to_string()).unwrap();
    Plan::from_spec(&spec, Path::new("/bundle"), "fuzz", &PlanOptions::default()).unwrap();
}
