//! The v1 driver on a scratch directory laid out as one directory per hierarchy: what
//! `apply` writes for each section of linux.resources, in which order, and what it refuses.

use super::*;
use crate::cgroups::test_support::{plan, writes, Scratch};

/// The hierarchies of a typical v1 host, each a directory named after its controllers.
const HIERARCHIES: [&str; 9] = [
    "memory",
    "cpu,cpuacct",
    "cpuset",
    "pids",
    "blkio",
    "hugetlb",
    "devices",
    "net_cls,net_prio",
    "rdma",
];

/// A V1 manager over `hierarchies` in `s`; `memsw`: the kernel does swap accounting (the
/// memory directory shows memory.memsw.limit_in_bytes).
fn v1_over(s: &Scratch, hierarchies: &[&str], memsw: bool) -> V1 {
    let dirs = hierarchies
        .iter()
        .map(|h| {
            let controllers = h.split(',').map(str::to_owned).collect();
            (controllers, s.dir(h))
        })
        .collect();
    if memsw {
        Scratch::touch(&s.root.join("memory"), &["memory.memsw.limit_in_bytes"]);
    }
    V1 {
        dirs,
        parents: Default::default(),
    }
}

/// Every hierarchy, with swap accounting: the usual v1 host.
fn v1(s: &Scratch) -> V1 {
    v1_over(s, &HIERARCHIES, true)
}

#[test]
fn controller_sets_match_in_any_order() {
    assert!(same_set(
        "cpuacct,cpu",
        &["cpu".to_owned(), "cpuacct".to_owned()]
    ));
    assert!(!same_set("", &["cpu".to_owned()]));
}

#[test]
fn memory_raises_memsw_before_the_limit_then_sets_it_again() {
    let s = Scratch::new("v1-memory");
    let r = plan(
        r#"{"memory":{"limit":268435456,"swap":536870912,"reservation":134217728,"useHierarchy":true,
            "swappiness":10,"kernel":67108864,"kernelTCP":33554432,"disableOOMKiller":true}}"#,
    );
    v1(&s).apply(&r).unwrap();
    assert_eq!(
        s.written(),
        writes(&[
            ("memory/memory.memsw.limit_in_bytes", "536870912"),
            ("memory/memory.limit_in_bytes", "268435456"),
            ("memory/memory.memsw.limit_in_bytes", "536870912"),
            ("memory/memory.soft_limit_in_bytes", "134217728"),
            ("memory/memory.use_hierarchy", "1"),
            ("memory/memory.swappiness", "10"),
            ("memory/memory.kmem.limit_in_bytes", "67108864"),
            ("memory/memory.kmem.tcp.limit_in_bytes", "33554432"),
            ("memory/memory.oom_control", "1"),
        ])
    );
    assert_eq!(s.read("memory/memory.limit_in_bytes"), "268435456");
    assert_eq!(s.read("memory/memory.memsw.limit_in_bytes"), "536870912");
}

#[test]
fn memory_unlimited_and_use_hierarchy_off() {
    let s = Scratch::new("v1-memory-unlimited");
    let r = plan(r#"{"memory":{"limit":-1,"swap":-1,"useHierarchy":false}}"#);
    v1(&s).apply(&r).unwrap();
    assert_eq!(
        s.written(),
        writes(&[
            ("memory/memory.memsw.limit_in_bytes", "-1"),
            ("memory/memory.limit_in_bytes", "-1"),
            ("memory/memory.memsw.limit_in_bytes", "-1"),
            ("memory/memory.use_hierarchy", "0"),
        ])
    );
}

#[test]
fn swap_without_swap_accounting() {
    let s = Scratch::new("v1-no-memsw");
    let v1 = v1_over(&s, &HIERARCHIES, false);
    // No limit on memory+swap: nothing to write, nothing to refuse.
    v1.apply(&plan(r#"{"memory":{"limit":268435456,"swap":-1}}"#))
        .unwrap();
    assert_eq!(
        s.written(),
        writes(&[("memory/memory.limit_in_bytes", "268435456")])
    );
    // A limit is refused, after the memory limit is written (runc's order).
    let err = v1
        .apply(&plan(r#"{"memory":{"limit":268435456,"swap":536870912}}"#))
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "linux.resources.memory.swap: this kernel has no swap accounting (memory.memsw.limit_in_bytes)"
    );
    assert_eq!(
        s.written(),
        writes(&[("memory/memory.limit_in_bytes", "268435456")])
    );
    assert!(!s.root.join("memory/memory.memsw.limit_in_bytes").exists());
}

#[test]
fn a_missing_hierarchy_is_named_by_field() {
    let s = Scratch::new("v1-unmounted");
    let v1 = v1_over(&s, &["cpu,cpuacct"], false);
    let err = v1
        .apply(&plan(r#"{"memory":{"limit":268435456}}"#))
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "linux.resources.memory.limit: the memory cgroup controller is not mounted"
    );
    let err = v1.apply(&plan(r#"{"pids":{"limit":5}}"#)).unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "linux.resources.pids.limit: the pids cgroup controller is not mounted"
    );
    assert_eq!(s.written(), writes(&[]));
}

#[test]
fn cpu_shares_cfs_rt_and_idle() {
    let s = Scratch::new("v1-cpu");
    let r = plan(
        r#"{"cpu":{"shares":512,"period":200000,"quota":50000,"burst":10000,
            "realtimePeriod":1000000,"realtimeRuntime":950000,"idle":1}}"#,
    );
    v1(&s).apply(&r).unwrap();
    assert_eq!(
        s.written(),
        writes(&[
            ("cpu,cpuacct/cpu.shares", "512"),
            ("cpu,cpuacct/cpu.cfs_period_us", "200000"),
            ("cpu,cpuacct/cpu.cfs_quota_us", "50000"),
            ("cpu,cpuacct/cpu.cfs_burst_us", "10000"),
            ("cpu,cpuacct/cpu.rt_period_us", "1000000"),
            ("cpu,cpuacct/cpu.rt_runtime_us", "950000"),
            ("cpu,cpuacct/cpu.idle", "1"),
        ])
    );
    assert_eq!(s.read("cpu,cpuacct/cpu.cfs_quota_us"), "50000");
}

#[test]
fn cpu_quota_unlimited() {
    let s = Scratch::new("v1-cpu-unlimited");
    v1(&s).apply(&plan(r#"{"cpu":{"quota":-1}}"#)).unwrap();
    assert_eq!(
        s.written(),
        writes(&[("cpu,cpuacct/cpu.cfs_quota_us", "-1")])
    );
}

#[test]
fn cpuset_cpus_and_mems() {
    let s = Scratch::new("v1-cpuset");
    v1(&s)
        .apply(&plan(r#"{"cpu":{"cpus":"0-1,3","mems":"0"}}"#))
        .unwrap();
    assert_eq!(
        s.written(),
        writes(&[("cpuset/cpuset.cpus", "0-1,3"), ("cpuset/cpuset.mems", "0")])
    );
}

#[test]
fn pids_max_with_max_for_unlimited() {
    let s = Scratch::new("v1-pids");
    let v1 = v1(&s);
    for (limit, file) in [("64", "64"), ("-1", "max"), ("0", "0")] {
        v1.apply(&plan(&format!(r#"{{"pids":{{"limit":{limit}}}}}"#)))
            .unwrap();
        assert_eq!(s.read("pids/pids.max"), file, "limit {limit}");
    }
    assert_eq!(s.written().len(), 3);
}

#[test]
fn blkio_weights_and_throttles_one_line_per_device() {
    let s = Scratch::new("v1-blkio");
    let r = plan(
        r#"{"blockIO":{"weight":300,"leafWeight":200,
            "weightDevice":[{"major":8,"minor":0,"weight":500,"leafWeight":100},{"major":8,"minor":16,"weight":700}],
            "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],
            "throttleWriteBpsDevice":[{"major":8,"minor":0,"rate":2097152}],
            "throttleReadIOPSDevice":[{"major":8,"minor":16,"rate":300}],
            "throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":100}]}}"#,
    );
    v1(&s).apply(&r).unwrap();
    assert_eq!(
        s.written(),
        writes(&[
            ("blkio/blkio.weight", "300"),
            ("blkio/blkio.leaf_weight", "200"),
            ("blkio/blkio.weight_device", "8:0 500"),
            ("blkio/blkio.leaf_weight_device", "8:0 100"),
            ("blkio/blkio.weight_device", "8:16 700"),
            ("blkio/blkio.throttle.read_bps_device", "8:0 1048576"),
            ("blkio/blkio.throttle.write_bps_device", "8:0 2097152"),
            ("blkio/blkio.throttle.read_iops_device", "8:16 300"),
            ("blkio/blkio.throttle.write_iops_device", "8:16 100"),
        ])
    );
    assert_eq!(s.read("blkio/blkio.weight"), "300");
}

#[test]
fn hugetlb_limit_per_page_size() {
    let s = Scratch::new("v1-hugetlb");
    let r = plan(
        r#"{"hugepageLimits":[{"pageSize":"2MB","limit":209715200},{"pageSize":"1GB","limit":1073741824}]}"#,
    );
    v1(&s).apply(&r).unwrap();
    assert_eq!(
        s.written(),
        writes(&[
            ("hugetlb/hugetlb.2MB.limit_in_bytes", "209715200"),
            ("hugetlb/hugetlb.1GB.limit_in_bytes", "1073741824"),
        ])
    );
}

#[test]
fn devices_one_rule_a_line_in_config_order() {
    let s = Scratch::new("v1-devices");
    let r = plan(
        r#"{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]}"#,
    );
    v1(&s).apply(&r).unwrap();
    let expected: Vec<(String, String)> = r
        .devices
        .iter()
        .map(|d| {
            let file = if d.allow {
                "devices/devices.allow"
            } else {
                "devices/devices.deny"
            };
            (file.to_owned(), d.v1_line())
        })
        .collect();
    let written = s.written();
    assert_eq!(written, expected);
    assert_eq!(
        written[..2],
        writes(&[
            ("devices/devices.deny", "a *:* rwm"),
            ("devices/devices.allow", "c 1:3 rw"),
        ])
    );
}

#[test]
fn net_cls_classid_and_net_prio_per_interface() {
    let s = Scratch::new("v1-net");
    let r = plan(
        r#"{"network":{"classID":1048577,"priorities":[{"name":"eth0","priority":5},{"name":"lo","priority":1}]}}"#,
    );
    v1(&s).apply(&r).unwrap();
    assert_eq!(
        s.written(),
        writes(&[
            ("net_cls,net_prio/net_cls.classid", "1048577"),
            ("net_cls,net_prio/net_prio.ifpriomap", "eth0 5"),
            ("net_cls,net_prio/net_prio.ifpriomap", "lo 1"),
        ])
    );
}

#[test]
fn rdma_max_per_device() {
    let s = Scratch::new("v1-rdma");
    let r =
        plan(r#"{"rdma":{"mlx4_0":{"hcaHandles":2},"mlx5_1":{"hcaHandles":3,"hcaObjects":4}}}"#);
    v1(&s).apply(&r).unwrap();
    assert_eq!(
        s.written(),
        writes(&[
            ("rdma/rdma.max", "mlx4_0 hca_handle=2 hca_object=max"),
            ("rdma/rdma.max", "mlx5_1 hca_handle=3 hca_object=4"),
        ])
    );
}

#[test]
fn unified_is_refused_after_the_v1_files() {
    let s = Scratch::new("v1-unified");
    let err = v1(&s)
        .apply(&plan(
            r#"{"pids":{"limit":5},"unified":{"memory.high":"1"}}"#,
        ))
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "linux.resources.unified: needs a cgroup v2 host (this one is v1)"
    );
    assert_eq!(s.written(), writes(&[("pids/pids.max", "5")]));
}

#[test]
fn sections_are_written_in_a_fixed_order() {
    let s = Scratch::new("v1-order");
    let r = plan(
        r#"{"memory":{"limit":268435456},"cpu":{"shares":512,"cpus":"0"},"pids":{"limit":5},
            "blockIO":{"weight":300},"hugepageLimits":[{"pageSize":"2MB","limit":2097152}],
            "devices":[{"allow":false,"access":"rwm"}],"network":{"classID":1},
            "rdma":{"mlx4_0":{"hcaHandles":2}}}"#,
    );
    v1(&s).apply(&r).unwrap();
    let mut dirs: Vec<String> = s
        .written()
        .into_iter()
        .map(|(path, _)| path.split('/').next().unwrap().to_owned())
        .collect();
    dirs.dedup();
    assert_eq!(dirs, HIERARCHIES);
}

#[test]
fn absent_fields_write_nothing() {
    let s = Scratch::new("v1-absent");
    let v1 = v1(&s);
    for r in [
        "{}",
        r#"{"memory":{},"cpu":{},"blockIO":{},"network":{},"hugepageLimits":[],"devices":[],"unified":{}}"#,
        // Docker's zeros mean "not set".
        r#"{"memory":{"limit":0,"swap":0},"cpu":{"shares":0,"quota":0,"period":0},"blockIO":{"weight":0}}"#,
    ] {
        v1.apply(&plan(r)).unwrap();
        assert_eq!(s.written(), writes(&[]), "{r}");
    }
    assert_eq!(s.files(), ["memory/memory.memsw.limit_in_bytes"]);
    assert_eq!(s.read("memory/memory.memsw.limit_in_bytes"), "");
}
