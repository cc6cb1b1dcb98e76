//! The controllers a host may lack or a device needs: device rules, blockIO throttles and
//! weight, network and rdma, hugepages; written where the host has them, else refused by name.

use std::path::Path;

use serde_json::json;

use super::*;

#[test]
fn device_rules_deny_all_but_the_default_devices() {
    let env = Env::new("cgdevices");
    let mut c = config(&[]);
    c["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
    let out = env.sh(
        &env.id("a"),
        c,
        "echo x > /dev/null && head -c1 /dev/zero | wc -c; mknod /dev/sda-test b 8 0 && head -c1 /dev/sda-test 2>&1; true",
    );
    assert!(out.starts_with("1\n"), "default devices work: {out}");
    // v1: devices.deny; v2: the eBPF device filter. (Unfiltered, the open would fail with
    // ENXIO: there is no 8:0 disk here.)
    assert!(
        out.contains("head: /dev/sda-test: Operation not permitted"),
        "{out}"
    );
}

/// The machine's first block device (a disk, else a loop device), as (major, minor).
fn a_disk() -> Option<(i64, i64)> {
    let mut disks: Vec<_> = std::fs::read_dir("/sys/block")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    disks.sort_by_key(|d| (d.starts_with("loop"), d.clone()));
    let disk = disks
        .iter()
        .find(|d| !d.starts_with("ram") && !d.starts_with("zram"))?;
    let dev = std::fs::read_to_string(format!("/sys/block/{disk}/dev")).unwrap();
    let (major, minor) = dev.trim().split_once(':').unwrap();
    Some((major.parse().unwrap(), minor.parse().unwrap()))
}

#[test]
fn block_io_throttles_are_written() {
    let env = Env::new("cgblkio");
    let id = env.id("a");
    let path = format!("{CGROUP_BASE}/{id}");
    let Some((major, minor)) = a_disk() else {
        // The host (v1) always has a disk; hack/guest-v2 gives the v2 guest a loop device and
        // says so with HULL_TEST_DISK=1.
        assert!(
            is_v2() && std::env::var_os("HULL_TEST_DISK").is_none(),
            "no block device in /sys/block"
        );
        eprintln!("SKIPPED: no block device to throttle on this machine");
        return;
    };
    let mut c = config(&["sleep", "60"]);
    c["linux"]["resources"] = json!({"blockIO": {
        "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}],
        "throttleWriteBpsDevice": [{"major": major, "minor": minor, "rate": 2097152}],
        "throttleReadIOPSDevice": [{"major": major, "minor": minor, "rate": 300}],
        "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 200}]
    }});
    env.run_detached(&id, &c);
    let dev = format!("{major}:{minor}");
    if is_v2() {
        let max = read_file(&cgroup_dir("", &path), "io.max");
        assert_eq!(
            max,
            format!("{dev} rbps=1048576 wbps=2097152 riops=300 wiops=200")
        );
    } else {
        let d = cgroup_dir("blkio", &path);
        assert_eq!(
            read_file(&d, "blkio.throttle.read_bps_device"),
            format!("{dev} 1048576")
        );
        assert_eq!(
            read_file(&d, "blkio.throttle.write_bps_device"),
            format!("{dev} 2097152")
        );
        assert_eq!(
            read_file(&d, "blkio.throttle.read_iops_device"),
            format!("{dev} 300")
        );
        assert_eq!(
            read_file(&d, "blkio.throttle.write_iops_device"),
            format!("{dev} 200")
        );
    }
}

/// network (net_cls/net_prio) and rdma: written where the host has the controller, else a
/// clear error naming the field, and nothing left behind.
#[test]
fn network_and_rdma_limits_are_written_or_refused_by_name() {
    let env = Env::new("cgnetrdma");
    for (name, resources, field, controller, file, value) in [
        (
            "net",
            json!({"network": {"classID": 1048577}}),
            "linux.resources.network",
            "net_cls",
            "net_cls.classid",
            "1048577",
        ),
        (
            "rdma",
            json!({"rdma": {"hull_test_dev": {"hcaHandles": 2, "hcaObjects": 20}}}),
            "linux.resources.rdma.hull_test_dev",
            "rdma",
            "rdma.max",
            "",
        ),
    ] {
        let id = env.id(name);
        let mut c = config(&["sleep", "30"]);
        c["linux"]["resources"] = resources;
        let bundle = env.bundle(&id, &c);
        let out = env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]);
        let has_controller = !is_v2() && Path::new(V1).join(controller).is_dir();
        if has_controller && !value.is_empty() {
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(
                read_file(
                    &cgroup_dir(controller, &format!("{CGROUP_BASE}/{id}")),
                    file
                ),
                value
            );
            continue;
        }
        // No such controller here (v1 host without it; v2 has no net_cls), or no such device.
        assert_fails(&out, field);
        assert!(!env.state_dir(&id).exists());
    }
}

/// hugepageLimits: written where the host has the hugetlb controller, else refused by name.
#[test]
fn hugepage_limits_are_written_or_refused_by_name() {
    let env = Env::new("cghuge");
    let id = env.id("a");
    let mut c = config(&["sleep", "30"]);
    c["linux"]["resources"] = json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]});
    let bundle = env.bundle(&id, &c);
    let out = env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]);
    let (has, file) = if is_v2() {
        let controllers =
            std::fs::read_to_string(Path::new(V1).join("cgroup.controllers")).unwrap();
        (
            controllers.split_whitespace().any(|c| c == "hugetlb"),
            "hugetlb.2MB.max",
        )
    } else {
        (
            Path::new(V1).join("hugetlb").is_dir(),
            "hugetlb.2MB.limit_in_bytes",
        )
    };
    if has {
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            read_file(&cgroup_dir("hugetlb", &format!("{CGROUP_BASE}/{id}")), file),
            "4194304"
        );
        env.hull_ok(&["delete", "--force", &id]);
    } else {
        assert_fails(&out, "linux.resources.hugepageLimits");
        assert!(!env.state_dir(&id).exists());
    }
}

/// blockIO.weight: written (v2's io.weight, converted from the v1 range) where the host has
/// a weight file, else refused by name (this v1 host has no BFQ, so no blkio.weight).
#[test]
fn block_io_weight_is_written_or_refused_by_name() {
    let env = Env::new("cgweight");
    let id = env.id("a");
    let mut c = config(&["sleep", "30"]);
    c["linux"]["resources"] = json!({"blockIO": {"weight": 500}});
    let bundle = env.bundle(&id, &c);
    let out = env.hull(&["create", "-b", bundle.to_str().unwrap(), &id]);
    if out.status.success() {
        let path = format!("{CGROUP_BASE}/{id}");
        if is_v2() {
            assert_eq!(
                read_file(&cgroup_dir("", &path), "io.weight"),
                "default 4950"
            );
        } else {
            assert_eq!(
                read_file(&cgroup_dir("blkio", &path), "blkio.weight"),
                "500"
            );
        }
        env.hull_ok(&["delete", "--force", &id]);
    } else {
        assert_fails(&out, "linux.resources.blockIO.weight");
        assert!(!env.state_dir(&id).exists());
        assert!(!cgroup_dir("blkio", &format!("{CGROUP_BASE}/{id}")).exists());
    }
}
