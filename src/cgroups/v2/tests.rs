//! The v2 driver on a scratch directory standing in for the container's cgroup: what
//! `apply` writes for each section of linux.resources (with runc's conversions), in which
//! order, and what it refuses. Device rules are left out: they load an eBPF program
//! (device_filter tests the program itself).

use super::*;
use crate::cgroups::test_support::{plan, writes, Scratch};

/// The interface files of a cgroup with every controller enabled (as empty files: the
/// driver refuses to write a file the kernel does not show).
const FILES: [&str; 14] = [
    "memory.max",
    "memory.low",
    "memory.swap.max",
    "cpu.weight",
    "cpu.max",
    "cpu.max.burst",
    "cpu.idle",
    "cpuset.cpus",
    "cpuset.mems",
    "pids.max",
    "io.weight",
    "io.max",
    "hugetlb.2MB.max",
    "rdma.max",
];

/// A V2 manager over the cgroup directory `cg` in `s`, showing `files`.
fn v2_over(s: &Scratch, files: &[&str]) -> V2 {
    let dir = s.dir("cg");
    Scratch::touch(&dir, files);
    V2::from_record(&CgroupRecord {
        version: 2,
        dirs: vec![dir],
        parents: Vec::new(),
        systemd_unit: None,
    })
}

/// A cgroup with every controller's files.
fn v2(s: &Scratch) -> V2 {
    v2_over(s, &FILES)
}

#[test]
fn memory_max_low_and_swap_alone() {
    let s = Scratch::new("v2-memory");
    let r = plan(r#"{"memory":{"limit":268435456,"swap":536870912,"reservation":134217728}}"#);
    v2(&s).apply(&r).unwrap();
    // memory.swap.max is swap alone: (memory+swap) - memory.
    assert_eq!(
        s.written(),
        writes(&[
            ("cg/memory.max", "268435456"),
            ("cg/memory.low", "134217728"),
            ("cg/memory.swap.max", "268435456"),
        ])
    );
    assert_eq!(s.read("cg/memory.swap.max"), "268435456");
}

#[test]
fn swap_conversion() {
    let s = Scratch::new("v2-swap");
    let v2 = v2(&s);
    for (memory, swap_max) in [
        (r#"{"limit":268435456,"swap":-1}"#, "max"),
        (r#"{"limit":268435456,"swap":268435456}"#, "0"),
        (r#"{"limit":-1,"swap":536870912}"#, "536870912"),
        (r#"{"swap":536870912}"#, "536870912"),
    ] {
        v2.apply(&plan(&format!(r#"{{"memory":{memory}}}"#)))
            .unwrap();
        assert_eq!(s.read("cg/memory.swap.max"), swap_max, "{memory}");
    }
    v2.apply(&plan(r#"{"memory":{"limit":-1,"reservation":-1}}"#))
        .unwrap();
    assert_eq!(s.read("cg/memory.max"), "max");
    assert_eq!(s.read("cg/memory.low"), "max");
}

#[test]
fn a_file_the_kernel_does_not_show_is_named_by_field_and_path() {
    let s = Scratch::new("v2-missing");
    let v2 = v2_over(&s, &["memory.max"]);
    let err = v2
        .apply(&plan(r#"{"memory":{"limit":268435456,"swap":536870912}}"#))
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        format!(
            "linux.resources.memory.swap: {} does not exist (controller not enabled, or not in this kernel)",
            s.root.join("cg/memory.swap.max").display()
        )
    );
    assert_eq!(s.written(), writes(&[("cg/memory.max", "268435456")]));
    assert!(!s.root.join("cg/memory.swap.max").exists());
}

#[test]
fn cpu_weight_max_burst_and_idle() {
    let s = Scratch::new("v2-cpu");
    let r = plan(r#"{"cpu":{"shares":1024,"quota":50000,"period":200000,"burst":10000,"idle":1}}"#);
    v2(&s).apply(&r).unwrap();
    assert_eq!(
        s.written(),
        writes(&[
            ("cg/cpu.weight", "39"),
            ("cg/cpu.max", "50000 200000"),
            ("cg/cpu.max.burst", "10000"),
            ("cg/cpu.idle", "1"),
        ])
    );
}

#[test]
fn cpu_max_defaults() {
    let s = Scratch::new("v2-cpu-max");
    let v2 = v2(&s);
    for (cpu, max) in [
        (r#"{"quota":50000}"#, "50000 100000"),
        (r#"{"period":200000}"#, "max 200000"),
        (r#"{"quota":-1,"period":50000}"#, "max 50000"),
    ] {
        v2.apply(&plan(&format!(r#"{{"cpu":{cpu}}}"#))).unwrap();
        assert_eq!(s.read("cg/cpu.max"), max, "{cpu}");
    }
    // The realtime fields have no v2 file.
    v2.apply(&plan(
        r#"{"cpu":{"realtimePeriod":1000000,"realtimeRuntime":950000}}"#,
    ))
    .unwrap();
    assert_eq!(s.written().len(), 3);
}

#[test]
fn cpuset_cpus_and_mems() {
    let s = Scratch::new("v2-cpuset");
    v2(&s)
        .apply(&plan(r#"{"cpu":{"cpus":"0-1,3","mems":"0"}}"#))
        .unwrap();
    assert_eq!(
        s.written(),
        writes(&[("cg/cpuset.cpus", "0-1,3"), ("cg/cpuset.mems", "0")])
    );
}

#[test]
fn pids_max_with_max_for_unlimited() {
    let s = Scratch::new("v2-pids");
    let v2 = v2(&s);
    for (limit, file) in [("64", "64"), ("-1", "max"), ("0", "0")] {
        v2.apply(&plan(&format!(r#"{{"pids":{{"limit":{limit}}}}}"#)))
            .unwrap();
        assert_eq!(s.read("cg/pids.max"), file, "limit {limit}");
    }
    assert_eq!(s.written().len(), 3);
}

#[test]
fn io_weight_and_max_one_line_per_device() {
    let s = Scratch::new("v2-io");
    let r = plan(
        r#"{"blockIO":{"weight":500,"leafWeight":200,
            "weightDevice":[{"major":8,"minor":0,"weight":1000,"leafWeight":100},{"major":8,"minor":16,"leafWeight":100}],
            "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],
            "throttleWriteBpsDevice":[{"major":8,"minor":0,"rate":2097152}],
            "throttleReadIOPSDevice":[{"major":8,"minor":16,"rate":300}],
            "throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":100}]}}"#,
    );
    v2(&s).apply(&r).unwrap();
    // Leaf weights have no v2 file.
    assert_eq!(
        s.written(),
        writes(&[
            ("cg/io.weight", "4950"),
            ("cg/io.weight", "8:0 10000"),
            ("cg/io.max", "8:0 rbps=1048576"),
            ("cg/io.max", "8:0 wbps=2097152"),
            ("cg/io.max", "8:16 riops=300"),
            ("cg/io.max", "8:16 wiops=100"),
        ])
    );
}

#[test]
fn hugetlb_max_per_page_size() {
    let s = Scratch::new("v2-hugetlb");
    let v2 = v2(&s);
    v2.apply(&plan(
        r#"{"hugepageLimits":[{"pageSize":"2MB","limit":209715200}]}"#,
    ))
    .unwrap();
    assert_eq!(s.read("cg/hugetlb.2MB.max"), "209715200");
    v2.apply(&plan(
        r#"{"hugepageLimits":[{"pageSize":"2MB","limit":-1}]}"#,
    ))
    .unwrap();
    assert_eq!(s.read("cg/hugetlb.2MB.max"), "max");
    let err = v2
        .apply(&plan(
            r#"{"hugepageLimits":[{"pageSize":"1GB","limit":1073741824}]}"#,
        ))
        .unwrap_err();
    assert!(
        format!("{err:#}").starts_with("linux.resources.hugepageLimits: "),
        "{err:#}"
    );
    assert_eq!(s.written().len(), 2);
}

#[test]
fn network_is_refused() {
    let s = Scratch::new("v2-network");
    let v2 = v2(&s);
    for network in [
        r#"{"classID":1048577}"#,
        r#"{"priorities":[{"name":"eth0","priority":5}]}"#,
    ] {
        let err = v2
            .apply(&plan(&format!(
                r#"{{"pids":{{"limit":5}},"network":{network}}}"#
            )))
            .unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "linux.resources.network: cgroup v2 has no net_cls/net_prio controllers (use eBPF or the network manager)"
        );
    }
    // Refused after the sections before it are written.
    assert_eq!(
        s.written(),
        writes(&[("cg/pids.max", "5"), ("cg/pids.max", "5")])
    );
}

#[test]
fn rdma_max_per_device() {
    let s = Scratch::new("v2-rdma");
    let r =
        plan(r#"{"rdma":{"mlx4_0":{"hcaHandles":2},"mlx5_1":{"hcaHandles":3,"hcaObjects":4}}}"#);
    v2(&s).apply(&r).unwrap();
    assert_eq!(
        s.written(),
        writes(&[
            ("cg/rdma.max", "mlx4_0 hca_handle=2 hca_object=max"),
            ("cg/rdma.max", "mlx5_1 hca_handle=3 hca_object=4"),
        ])
    );
}

#[test]
fn unified_files_written_as_given_after_the_named_fields() {
    let s = Scratch::new("v2-unified");
    let v2 = v2_over(&s, &["memory.max", "memory.high", "pids.max"]);
    let r = plan(
        r#"{"memory":{"limit":268435456},"unified":{"pids.max":"10","memory.high":"200000000"}}"#,
    );
    v2.apply(&r).unwrap();
    assert_eq!(
        s.written(),
        writes(&[
            ("cg/memory.max", "268435456"),
            ("cg/memory.high", "200000000"),
            ("cg/pids.max", "10"),
        ])
    );
    let err = v2
        .apply(&plan(r#"{"unified":{"io.latency":"8:0 target=10"}}"#))
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        format!(
            "linux.resources.unified.io.latency: {} does not exist (controller not enabled, or not in this kernel)",
            s.root.join("cg/io.latency").display()
        )
    );
}

#[test]
fn sections_are_written_in_a_fixed_order() {
    let s = Scratch::new("v2-order");
    let r = plan(
        r#"{"memory":{"limit":268435456},"cpu":{"shares":512,"cpus":"0"},"pids":{"limit":5},
            "blockIO":{"weight":300},"hugepageLimits":[{"pageSize":"2MB","limit":2097152}],
            "rdma":{"mlx4_0":{"hcaHandles":2}},"unified":{"memory.low":"1"}}"#,
    );
    v2(&s).apply(&r).unwrap();
    let files: Vec<String> = s.written().into_iter().map(|(path, _)| path).collect();
    assert_eq!(
        files,
        [
            "cg/memory.max",
            "cg/cpu.weight",
            "cg/cpuset.cpus",
            "cg/pids.max",
            "cg/io.weight",
            "cg/hugetlb.2MB.max",
            "cg/rdma.max",
            "cg/memory.low",
        ]
    );
}

#[test]
fn absent_fields_write_nothing() {
    let s = Scratch::new("v2-absent");
    let v2 = v2(&s);
    for r in [
        "{}",
        r#"{"memory":{},"cpu":{},"blockIO":{},"network":{},"hugepageLimits":[],"devices":[],"unified":{}}"#,
        // Docker's zeros mean "not set".
        r#"{"memory":{"limit":0,"swap":0},"cpu":{"shares":0,"quota":0,"period":0},"blockIO":{"weight":0}}"#,
    ] {
        v2.apply(&plan(r)).unwrap();
        assert_eq!(s.written(), writes(&[]), "{r}");
    }
    for f in FILES {
        assert_eq!(s.read(&format!("cg/{f}")), "", "{f}");
    }
    assert_eq!(s.files().len(), FILES.len());
}
