//! The resources plan's rules, field by field.

use std::path::Path;

use super::path::systemd_path;
use super::*;

fn plan(json: &str) -> Result<ResourcesPlan> {
    ResourcesPlan::from_spec(&serde_json::from_str(json).unwrap(), "c1", false)
}

#[test]
fn no_cgroup_drops_device_rules_and_refuses_limits() {
    let devices = r#"{"resources":{"devices":[{"allow":false,"access":"rwm"}]}}"#;
    let p = plan(devices).unwrap().without_cgroup_if(true).unwrap();
    assert!(p.no_cgroup && p.devices.is_empty());
    assert!(!plan(devices)
        .unwrap()
        .without_cgroup_if(false)
        .unwrap()
        .devices
        .is_empty());
    let err = plan(r#"{"resources":{"memory":{"limit":67108864}}}"#)
        .unwrap()
        .without_cgroup_if(true)
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("--cgroup-manager disabled"),
        "{err:#}"
    );
}

#[test]
fn default_path_and_absolute_relative() {
    assert_eq!(
        plan("{}").unwrap().path,
        CgroupPath::Absolute("/hull/c1".into())
    );
    assert_eq!(
        plan(r#"{"cgroupsPath":"/a/b"}"#).unwrap().path,
        CgroupPath::Absolute("/a/b".into())
    );
    assert_eq!(
        plan(r#"{"cgroupsPath":"a/b"}"#).unwrap().path,
        CgroupPath::Relative("a/b".into())
    );
    assert!(plan(r#"{"cgroupsPath":"/a/../../b"}"#).is_err());
}

#[test]
fn systemd_slice_prefix_name() {
    let systemd =
        |path: Option<&str>| systemd_path(path.map(Path::new), "c1").map_err(|e| format!("{e:#}"));
    let scope = |slice: Option<&str>, unit: &str| {
        Ok(CgroupPath::Systemd {
            slice: slice.map(Into::into),
            unit: unit.into(),
        })
    };
    assert_eq!(systemd(None), scope(None, "hull-c1.scope"));
    assert_eq!(systemd(Some("")), scope(None, "hull-c1.scope"));
    assert_eq!(
        systemd(Some("machine.slice:podman:abc")),
        scope(Some("machine.slice"), "podman-abc.scope")
    );
    assert_eq!(systemd(Some(":crio:x")), scope(None, "crio-x.scope"));
    assert_eq!(
        systemd(Some("a-b.slice::x")),
        scope(Some("a-b.slice"), "x.scope")
    );
    for bad in [
        "/a/b",
        "a:b",
        "notaslice:p:n",
        "a--b.slice:p:n",
        "-a.slice:p:n",
        "s.slice:p:",
        "s.slice:p:x.slice",
    ] {
        let e = systemd(Some(bad)).unwrap_err();
        assert!(e.starts_with("linux.cgroupsPath: "), "{bad}: {e}");
    }
}

#[test]
fn limits_are_checked_and_named() {
    for (json, field) in [
        (r#"{"memory":{"limit":1000}}"#, "memory.limit"),
        (r#"{"memory":{"limit":-5}}"#, "memory.limit"),
        (
            r#"{"memory":{"limit":104857600,"swap":1048576}}"#,
            "memory.swap",
        ),
        (r#"{"memory":{"swappiness":101}}"#, "swappiness"),
        (r#"{"cpu":{"quota":10}}"#, "cpu.quota"),
        (r#"{"cpu":{"shares":1}}"#, "cpu.shares"),
        (r#"{"cpu":{"period":10}}"#, "cpu.period"),
        (r#"{"cpu":{"cpus":"3-1"}}"#, "cpu.cpus"),
        (r#"{"pids":{"limit":-7}}"#, "pids.limit"),
        (r#"{"blockIO":{"weight":5}}"#, "blockIO.weight"),
        (
            r#"{"devices":[{"allow":true,"access":"rwx"}]}"#,
            "devices[0].access",
        ),
        (r#"{"unified":{"../x":"1"}}"#, "unified"),
    ] {
        let err = plan(&format!(r#"{{"resources":{json}}}"#)).unwrap_err();
        assert!(format!("{err:#}").contains(field), "{json}: {err:#}");
    }
}

#[test]
fn zeros_mean_unset_as_docker_sends_them() {
    let p = plan(r#"{"resources":{"cpu":{"shares":0,"quota":0,"period":0,"realtimeRuntime":0,"realtimePeriod":0},"blockIO":{"weight":0}}}"#).unwrap();
    assert_eq!(p.cpu, CpuPlan::default());
    assert_eq!(p.blkio, BlkioPlan::default());
    assert!(!p.has_limits());
}

#[test]
fn good_limits() {
    let p = plan(
        r#"{"resources":{"memory":{"limit":104857600,"swap":209715200},"cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0-1"},
           "pids":{"limit":64},"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]}}"#,
    )
    .unwrap();
    assert_eq!(p.memory.limit, Some(104857600));
    assert_eq!(p.cpu.cpus.as_deref(), Some("0-1"));
    assert_eq!(p.pids_limit, Some(64));

    assert_eq!(p.devices[0].v1_line(), "a *:* rwm");
    assert_eq!(p.devices[1].v1_line(), "c 1:3 rw");
    let lines: Vec<String> = p.devices.iter().map(|d| d.v1_line()).collect();
    assert!(
        lines.contains(&"c *:* m".to_owned()) && lines.contains(&"c 136:* rwm".to_owned()),
        "{lines:?}"
    );
    let b = plan(
        r#"{"resources":{"blockIO":{"weight":300,"weightDevice":[{"major":254,"minor":0,"weight":500}],
           "throttleReadBpsDevice":[{"major":254,"minor":0,"rate":1048576}],"throttleWriteIOPSDevice":[{"major":254,"minor":0,"rate":100}]}}}"#,
    )
    .unwrap();
    assert_eq!(b.blkio.weight, Some(300));
    assert_eq!(b.blkio.weight_device, vec![(254, 0, Some(500), None)]);
    assert_eq!(
        b.blkio.throttle,
        vec![
            (Throttle::ReadBps, 254, 0, 1048576),
            (Throttle::WriteIops, 254, 0, 100)
        ]
    );
    assert!(plan(
        r#"{"resources":{"blockIO":{"weightDevice":[{"major":1,"minor":2,"weight":5}]}}}"#
    )
    .is_err());
}
