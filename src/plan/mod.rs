//! `Plan::from_spec`: config.json → a validated, immutable plan. Pure code: no syscalls, no
//! file reads, so every rule here is unit-tested without root. The executors (process, rootfs,
//! security) only ever see a `Plan`, never the raw spec.

mod devices;
#[cfg(test)]
mod fuzz;
mod hooks;
mod intel_rdt;
mod lsm;
mod memory_policy;
pub mod mounts;
mod namespaces;
mod net_devices;
mod options;
mod process;
mod resources;
mod seccomp;
mod security;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::mount::MsFlags;
use oci_spec::runtime::Spec;

pub use devices::DevicePlan;
pub use hooks::{HookPlan, HooksPlan};
pub use intel_rdt::{IntelRdtPlan, RdtGroup};
pub use lsm::{HostLsms, Lsm};
pub use memory_policy::{MemoryPolicyPlan, MEMORY_POLICY_FLAGS, MEMORY_POLICY_MODES};
pub use mounts::{MountKind, MountPlan};
pub use namespaces::{
    map_text as namespaces_map_text, IdMap, Join, NamespacePlan, NsKind,
    ALL_KINDS as NAMESPACE_KINDS,
};
pub use net_devices::NetDevicePlan;
pub use options::{CgroupDriver, NotifyOptions, PlanOptions, NOTIFY_DIR, NOTIFY_SOCKET};
pub use process::{ProcessPlan, Rlimit, SchedPlan, UserPlan};
pub use resources::{
    BlkioPlan, CgroupPath, CpuPlan, DeviceRule, MemoryPlan, ResourcesPlan, Throttle,
};
pub use seccomp::{Listener, SeccompPlan, FILTER_FLAGS as SECCOMP_FLAGS};
pub use security::CapsPlan;

/// Everything `create` needs, checked and in the shape the executors use.
#[derive(Debug, Clone)]
pub struct Plan {
    pub id: String,
    pub oci_version: String,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    pub root: RootPlan,
    /// `None` when the config has no `process`: create works, `start` reports the error.
    pub process: Option<ProcessPlan>,
    pub namespaces: NamespacePlan,
    pub mounts: Vec<MountPlan>,
    /// Create the default devices in `/dev` (false when `/dev` is bind-mounted from the host).
    pub default_devices: bool,
    pub masked_paths: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub annotations: BTreeMap<String, String>,
    pub hooks: HooksPlan,
    pub resources: ResourcesPlan,
    /// linux.devices, created in the container's /dev.
    pub devices: Vec<DevicePlan>,
    /// linux.sysctl, only keys of the container's own namespaces.
    pub sysctl: BTreeMap<String, String>,
    /// linux.personality as the personality(2) persona.
    pub personality: Option<u64>,
    /// linux.memoryPolicy, ready for set_mempolicy(2).
    pub memory_policy: Option<MemoryPolicyPlan>,
    /// linux.seccomp, compiled (and so validated) by the parent before the fork.
    pub seccomp: Option<SeccompPlan>,
    /// linux.netDevices, moved in by the parent once init made its network namespace.
    pub net_devices: Vec<NetDevicePlan>,
    /// The session keyring init and exec'd processes join (`_ses.<id>`, as runc and crun
    /// name it): keys are not namespaced, and the caller's would be every container's.
    /// `None` with `--no-new-keyring`.
    pub session_keyring: Option<String>,
    /// The caller's `NOTIFY_SOCKET`, to which `start` forwards the container's READY=1.
    pub notify: Option<PathBuf>,
    /// linux.intelRdt: the resctrl group the container's processes join.
    pub intel_rdt: Option<IntelRdtPlan>,
}

/// Ranges of a list like `0-3,5,7-8` (cpus, memory nodes).
pub(crate) fn id_ranges(list: &str) -> std::result::Result<Vec<(u32, u32)>, &'static str> {
    list.split(',')
        .map(|part| {
            let mut ends = part.splitn(2, '-').map(|n| n.trim().parse::<u32>());
            match (ends.next(), ends.next()) {
                (Some(Ok(a)), Some(Ok(b))) if a <= b => Ok((a, b)),
                (Some(Ok(a)), None) => Ok((a, a)),
                _ => Err("not a list like 0-3,5"),
            }
        })
        .collect()
}

/// The ids of such a list, each below 1024 (a CPU set's or node mask's size here).
pub(crate) fn id_set(list: &str, field: &str) -> Result<Vec<u32>> {
    let ranges = id_ranges(list).map_err(|why| anyhow::anyhow!("{field}: {list:?}: {why}"))?;
    if ranges.iter().any(|&(_, b)| b >= 1024) {
        bail!("{field}: {list:?}: ids go up to 1023");
    }
    Ok(ranges.into_iter().flat_map(|(a, b)| a..=b).collect())
}

#[derive(Debug, Clone)]
pub struct RootPlan {
    /// Absolute path of the rootfs on the host (`root.path` joined to the bundle).
    pub path: PathBuf,
    pub readonly: bool,
    /// Propagation of `/` in the container (`linux.rootfsPropagation`, default rslave as runc).
    pub propagation: MsFlags,
    /// Whether `linux.rootfsPropagation` was given (then it is applied again after pivot).
    pub propagation_set: bool,
    /// `--no-pivot`: MS_MOVE + chroot instead of pivot_root (for ramfs roots).
    pub no_pivot: bool,
}

impl Plan {
    /// Validate `spec` (loaded from the absolute `bundle`) into a plan for container `id`.
    pub fn from_spec(spec: &Spec, bundle: &Path, id: &str, opts: &PlanOptions) -> Result<Plan> {
        if !bundle.is_absolute() {
            bail!("bundle path {} must be absolute", bundle.display());
        }
        let root = spec
            .root()
            .as_ref()
            .context("root: missing (the rootfs path is required)")?;
        if root.path().as_os_str().is_empty() {
            bail!("root.path: empty");
        }
        let linux = spec.linux().clone().unwrap_or_default();
        let mount_label = linux.mount_label().as_deref();
        (opts.host_lsms).refuse("linux.mountLabel", mount_label, lsm::Lsm::SeLinux)?;
        let namespaces = NamespacePlan::from_spec(&linux)?;
        let sysctl = devices::sysctls(&linux, &namespaces)?;
        let process = spec
            .process()
            .as_ref()
            .map(|p| ProcessPlan::from_spec(p, opts))
            .transpose()?;
        let mut mounts = spec
            .mounts()
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, m)| {
                MountPlan::from_spec(m, opts.extras.mount_id_maps.get(&i), bundle)
                    .with_context(|| format!("mounts[{i}]"))
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(notify) = &opts.notify {
            mounts.push(MountPlan::notify_socket_dir(&notify.socket_dir)?);
        }
        mounts::defer_readonly(&mut mounts);
        let hostname = spec.hostname().clone().filter(|h| !h.is_empty());
        let domainname = spec.domainname().clone().filter(|h| !h.is_empty());
        if (hostname.is_some() || domainname.is_some()) && !namespaces.has(NsKind::Uts) {
            bail!("hostname: setting a hostname or domainname needs a uts namespace in linux.namespaces");
        }
        let propagation = match linux.rootfs_propagation().as_deref() {
            None | Some("") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
            Some(p) => mounts::propagation_flag(p)
                .with_context(|| format!("linux.rootfsPropagation: unknown value {p:?}"))?,
        };
        let default_devices = !mounts
            .iter()
            .any(|m| m.destination == Path::new("/dev") && m.is_bind());
        let net_devices = net_devices::plan(&linux, &namespaces)?;
        Ok(Plan {
            net_devices,
            session_keyring: (!opts.no_new_keyring).then(|| format!("_ses.{id}")),
            id: id.to_owned(),
            oci_version: spec.version().clone(),
            bundle: bundle.to_owned(),
            root: RootPlan {
                path: bundle.join(root.path()),
                readonly: root.readonly().unwrap_or(false),
                propagation,
                propagation_set: linux
                    .rootfs_propagation()
                    .as_deref()
                    .is_some_and(|p| !p.is_empty()),
                no_pivot: opts.no_pivot,
            },
            process,
            namespaces,
            mounts,
            default_devices,
            masked_paths: container_paths(linux.masked_paths(), "linux.maskedPaths")?,
            readonly_paths: container_paths(linux.readonly_paths(), "linux.readonlyPaths")?,
            hostname,
            domainname,
            annotations: spec
                .annotations()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            hooks: spec
                .hooks()
                .as_ref()
                .map(HooksPlan::from_spec)
                .transpose()?
                .unwrap_or_default(),
            notify: opts.notify.as_ref().map(|n| n.host_socket.clone()),
            intel_rdt: intel_rdt(&linux, &opts.extras, id)?,
            resources: ResourcesPlan::from_spec(
                &linux,
                id,
                opts.cgroup_driver == CgroupDriver::Systemd,
            )
            .map(|mut r| {
                if opts.extras.pids_without_limit {
                    r.pids_limit = None;
                }
                r
            })?
            .without_cgroup_if(opts.cgroup_driver == CgroupDriver::Disabled)?,
            devices: devices::devices(&linux)?,
            sysctl,
            seccomp: linux
                .seccomp()
                .as_ref()
                .map(|s| SeccompPlan::from_spec(s, opts.extras.seccomp_wait_killable_recv))
                .transpose()?,
            memory_policy: linux
                .memory_policy()
                .as_ref()
                .map(MemoryPolicyPlan::from_spec)
                .transpose()?,
            personality: linux.personality().as_ref().map(|p| match p.domain() {
                oci_spec::runtime::LinuxPersonalityDomain::PerLinux => 0x0000,
                oci_spec::runtime::LinuxPersonalityDomain::PerLinux32 => 0x0008,
            }),
        })
    }
}

impl Plan {
    /// The mounts (by index) whose sources the parent opens for init: binds, in a new user
    /// namespace, whose root may not reach a source the host's root can (runc opens them on
    /// the host side too). Idmapped binds the parent prepares anyway.
    pub fn host_bind_sources(&self) -> Vec<usize> {
        if !self.namespaces.creates(NsKind::User) {
            return Vec::new();
        }
        let plain_bind = |m: &MountPlan| m.is_bind() && m.id_map.is_none();
        (self.mounts.iter().enumerate())
            .filter(|(_, m)| plain_bind(m))
            .map(|(i, _)| i)
            .collect()
    }
}

/// linux.intelRdt with its 1.3 fields as `spec::load` read them, else as oci-spec holds it.
fn intel_rdt(
    linux: &oci_spec::runtime::Linux,
    extras: &crate::spec::Extras,
    id: &str,
) -> Result<Option<IntelRdtPlan>> {
    let rdt = match (&extras.intel_rdt, linux.intel_rdt()) {
        (Some(rdt), _) => rdt.clone(),
        (None, Some(r)) => r.into(),
        (None, None) => return Ok(None),
    };
    IntelRdtPlan::from_spec(&rdt, id).map(Some)
}

/// maskedPaths / readonlyPaths must be absolute container paths.
fn container_paths(paths: &Option<Vec<String>>, field: &str) -> Result<Vec<PathBuf>> {
    paths
        .iter()
        .flatten()
        .map(|p| {
            if !p.starts_with('/') {
                bail!("{field}: {p:?} is not an absolute path");
            }
            Ok(PathBuf::from(p))
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn spec(json: &str) -> Spec {
        serde_json::from_str(json).unwrap()
    }

    pub const MINIMAL: &str = r#"{"ociVersion":"1.2.1","root":{"path":"rootfs"},
        "process":{"args":["/bin/true"],"cwd":"/","user":{"uid":0,"gid":0}},
        "linux":{"namespaces":[{"type":"mount"},{"type":"pid"}]}}"#;

    pub fn plan(json: &str) -> Result<Plan> {
        Plan::from_spec(&spec(json), Path::new("/b"), "t", &PlanOptions::default())
    }

    /// What the caller's environment and flags add: socket activation's variables and the
    /// notify socket's variable and mount, after the config's own (so they win), in the plan
    /// only: the config's process (exec's defaults) stays as written.
    #[test]
    fn caller_options_shape_the_plan_not_the_config() {
        let spec = spec(&MINIMAL.replace(
            r#""cwd":"/","#,
            r#""cwd":"/","env":["LISTEN_FDS=9","A=1","NOTIFY_SOCKET=/x"],"#,
        ));
        let opts = PlanOptions {
            listen_fds: 2,
            notify: Some(NotifyOptions {
                host_socket: "/run/systemd/notify".into(),
                socket_dir: "/run/hull/t/notify".into(),
            }),
            cgroup_driver: CgroupDriver::Disabled,
            ..Default::default()
        };
        let p = Plan::from_spec(&spec, Path::new("/b"), "t", &opts).unwrap();
        let env: Vec<_> = p
            .process
            .as_ref()
            .unwrap()
            .env
            .iter()
            .map(|e| e.to_str().unwrap())
            .collect();
        assert_eq!(
            env,
            [
                "A=1",
                "LISTEN_FDS=2",
                "LISTEN_PID=1",
                "NOTIFY_SOCKET=/run/notify/notify.sock"
            ]
        );
        let raw = p.process.as_ref().unwrap().source.env().clone().unwrap();
        assert_eq!(raw, ["LISTEN_FDS=9", "A=1", "NOTIFY_SOCKET=/x"]);
        let m = p.mounts.last().unwrap();
        assert_eq!(m.destination, Path::new(NOTIFY_DIR));
        assert_eq!(m.source.as_deref(), Some(Path::new("/run/hull/t/notify")));
        assert!(m.is_bind());
        assert_eq!(p.notify.as_deref(), Some(Path::new("/run/systemd/notify")));
        assert!(p.resources.no_cgroup);
        let plain = plan(MINIMAL).unwrap();
        assert!(plain.notify.is_none() && !plain.resources.no_cgroup);
    }

    #[test]
    fn labels_are_refused_by_the_plan() {
        let err = plan(&MINIMAL.replace(
            r#""linux":{"#,
            r#""linux":{"mountLabel":"system_u:object_r:x:s0","#,
        ))
        .unwrap_err();
        assert!(
            format!("{err:#}").starts_with("linux.mountLabel: "),
            "{err:#}"
        );
        let err = plan(&MINIMAL.replace(r#""cwd":"/","#, r#""cwd":"/","apparmorProfile":"p","#))
            .unwrap_err();
        assert!(
            format!("{err:#}").starts_with("process.apparmorProfile: "),
            "{err:#}"
        );
    }

    #[test]
    fn minimal_config_plans() {
        let p = plan(MINIMAL).unwrap();
        assert_eq!(p.root.path, Path::new("/b/rootfs"));
        assert!(!p.root.readonly);
        assert_eq!(p.root.propagation, MsFlags::MS_SLAVE | MsFlags::MS_REC);
        assert!(p.default_devices);
    }

    #[test]
    fn absolute_root_path_is_kept() {
        let p = plan(&MINIMAL.replace(r#""path":"rootfs""#, r#""path":"/srv/r","readonly":true"#))
            .unwrap();
        assert_eq!(p.root.path, Path::new("/srv/r"));
        assert!(p.root.readonly);
    }

    #[test]
    fn missing_root_is_an_error_missing_process_is_not() {
        let err = plan(
            r#"{"ociVersion":"1.2.1","process":{"args":["x"],"cwd":"/","user":{"uid":0,"gid":0}}}"#,
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("root"));
        let p = plan(r#"{"ociVersion":"1.2.1","root":{"path":"r"},"linux":{"namespaces":[{"type":"mount"}]}}"#).unwrap();
        assert!(p.process.is_none());
    }

    #[test]
    fn intel_rdt_is_planned_from_the_spec_read_or_built() {
        let j = MINIMAL.replace(
            r#""linux":{"#,
            r#""linux":{"intelRdt":{"closID":"x","memBwSchema":"MB:0=20","schemata":["L2:0=f"],"enableMonitoring":true},"#,
        );
        let (spec, extras) = crate::spec::parse_with_extras(&j).unwrap();
        let opts = PlanOptions {
            extras,
            ..Default::default()
        };
        let p = Plan::from_spec(&spec, Path::new("/b"), "t", &opts).unwrap();
        let rdt = p.intel_rdt.unwrap();
        assert_eq!(rdt.group, RdtGroup::Named("x".into()));
        assert_eq!(rdt.schemata, ["MB:0=20", "L2:0=f"]);
        assert!(rdt.monitoring);
        // Built in code, without the 1.3 fields: what oci-spec holds.
        let rdt = plan(&j).unwrap().intel_rdt.unwrap();
        assert_eq!(
            (rdt.schemata, rdt.monitoring),
            (vec!["MB:0=20".to_owned()], false)
        );
        let err = plan(&j.replace(r#""closID":"x""#, r#""closID":"../x""#)).unwrap_err();
        assert!(
            format!("{err:#}").starts_with("linux.intelRdt.closID"),
            "{err:#}"
        );
    }

    #[test]
    fn net_devices_need_names_and_a_network_namespace_of_their_own() {
        let with = |ns: &str, devices: &str| {
            plan(&MINIMAL.replace(
                r#""namespaces":[{"type":"mount"},{"type":"pid"}]"#,
                &format!(r#""namespaces":[{{"type":"mount"}},{{"type":"pid"}},{ns}],"netDevices":{devices}"#),
            ))
        };
        let net = r#"{"type":"network"}"#;
        let p = with(net, r#"{"dummy0":{"name":"eth9"},"dummy1":{}}"#).unwrap();
        assert_eq!(
            p.net_devices,
            [
                NetDevicePlan {
                    host: "dummy0".into(),
                    name: "eth9".into()
                },
                NetDevicePlan {
                    host: "dummy1".into(),
                    name: "dummy1".into()
                },
            ]
        );
        for (ns, devices, needle) in [
            (
                r#"{"type":"uts"}"#,
                r#"{"d0":{}}"#,
                "network namespace of the container's own",
            ),
            (
                r#"{"type":"network","path":"/proc/self/ns/net"}"#,
                r#"{"d0":{}}"#,
                "network namespace",
            ),
            (
                net,
                r#"{"d0":{"name":"a/b"}}"#,
                "linux.netDevices[\"d0\"].name",
            ),
            (
                net,
                r#"{"a-name-far-too-long-0":{}}"#,
                "not a network device name",
            ),
            (
                net,
                r#"{"d0":{"name":"x"},"d1":{"name":"x"}}"#,
                "given to two devices",
            ),
        ] {
            let err = format!("{:#}", with(ns, devices).unwrap_err());
            assert!(err.contains(needle), "{devices}: {err}");
        }
    }

    #[test]
    fn memory_policy_and_id_lists() {
        let with = |p: &str| {
            plan(&MINIMAL.replace(r#""linux":{"#, &format!(r#""linux":{{"memoryPolicy":{p},"#)))
        };
        let p = with(r#"{"mode":"MPOL_BIND","nodes":"0,2-3,64","flags":["MPOL_F_STATIC_NODES"]}"#)
            .unwrap();
        let m = p.memory_policy.unwrap();
        assert_eq!(m.mode, 2 | 1 << 15);
        assert_eq!(m.nodemask, vec![0b1101, 1]);
        assert_eq!(
            with(r#"{"mode":"MPOL_LOCAL"}"#)
                .unwrap()
                .memory_policy
                .unwrap()
                .mode,
            4
        );
        for bad in [
            r#"{"mode":"MPOL_BIND"}"#,
            r#"{"mode":"MPOL_DEFAULT","nodes":"0"}"#,
            r#"{"mode":"MPOL_BIND","nodes":"3-1"}"#,
            r#"{"mode":"MPOL_BIND","nodes":"4096"}"#,
        ] {
            assert!(
                format!("{:#}", with(bad).unwrap_err()).contains("linux.memoryPolicy"),
                "{bad}"
            );
        }
        assert_eq!(id_set("0-2,5", "f").unwrap(), vec![0, 1, 2, 5]);
        assert!(id_ranges("1,").is_err() && id_ranges("a").is_err() && id_ranges("2-1").is_err());
    }

    #[test]
    fn exec_cpu_affinity_is_planned() {
        let j = MINIMAL.replace(
            r#""cwd":"/""#,
            r#""cwd":"/","execCPUAffinity":{"initial":"0-1","final":"1"}"#,
        );
        let a = plan(&j).unwrap().process.unwrap().exec_affinity;
        assert_eq!((a.initial, a.final_cpus), (Some(vec![0, 1]), Some(vec![1])));
    }

    #[test]
    fn hostname_needs_uts_namespace() {
        let j = MINIMAL.replace(r#""root""#, r#""hostname":"h","root""#);
        assert!(format!("{:#}", plan(&j).unwrap_err()).contains("uts"));
        let j = j.replace(r#"{"type":"pid"}"#, r#"{"type":"pid"},{"type":"uts"}"#);
        assert_eq!(plan(&j).unwrap().hostname.as_deref(), Some("h"));
    }

    #[test]
    fn bind_mounted_dev_skips_default_devices() {
        let j = MINIMAL.replace(
            r#""root""#,
            r#""mounts":[{"destination":"/dev","type":"bind","source":"/dev","options":["rbind"]}],"root""#,
        );
        assert!(!plan(&j).unwrap().default_devices);
    }

    #[test]
    fn masked_paths_must_be_absolute() {
        let j = MINIMAL.replace(
            r#""namespaces""#,
            r#""maskedPaths":["proc/kcore"],"namespaces""#,
        );
        assert!(format!("{:#}", plan(&j).unwrap_err()).contains("linux.maskedPaths"));
    }
}
