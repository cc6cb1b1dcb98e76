//! `hull update [--resources FILE|-] [runc's limit flags] ID`: new limits for a live
//! container. The flags override the same fields of `--resources`, as in runc.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::LinuxResources;
use serde_json::{json, Value};

use super::args::{valued, Command, Matches};
use super::Global;
use crate::lifecycle;
use crate::state::StateDir;

pub struct Args {
    pub resources: Option<PathBuf>,
    pub blkio_weight: Option<u16>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_share: Option<u64>,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub memory: Option<String>,
    pub memory_reservation: Option<String>,
    pub memory_swap: Option<String>,
    pub kernel_memory: Option<String>,
    pub kernel_memory_tcp: Option<String>,
    pub pids_limit: Option<i64>,
    pub l3_cache_schema: Option<String>,
    pub mem_bw_schema: Option<String>,
    pub id: String,
}

pub const COMMAND: Command = Command {
    name: "update",
    alias: None,
    about: "Change the resource limits of a running container",
    flags: &[&[
        valued(
            "resources",
            Some('r'),
            "FILE|-",
            "A runtime-spec linux.resources JSON object, from a file or \"-\" for stdin",
        ),
        valued("blkio-weight", None, "N", "Block IO weight (10..1000)"),
        valued("cpu-period", None, "US", "CPU CFS period (µs)"),
        valued(
            "cpu-quota",
            None,
            "US",
            "CPU CFS quota (µs per period; -1 for none)",
        ),
        valued("cpu-share", None, "N", "CPU shares (relative weight)"),
        valued("cpu-rt-period", None, "US", "CPU realtime period (µs)"),
        valued("cpu-rt-runtime", None, "US", "CPU realtime runtime (µs)"),
        valued("cpuset-cpus", None, "CPUS", "CPUs to run on (e.g. 0-2,4)"),
        valued("cpuset-mems", None, "NODES", "Memory nodes to use"),
        valued(
            "memory",
            None,
            "SIZE",
            "Memory limit (bytes, or with a k/m/g/t suffix; -1 for none)",
        ),
        valued("memory-reservation", None, "SIZE", "Memory soft limit"),
        valued(
            "memory-swap",
            None,
            "SIZE",
            "Memory plus swap limit (-1 for unlimited swap)",
        ),
        valued(
            "kernel-memory",
            None,
            "SIZE",
            "Kernel memory limit (v1 only, deprecated by the kernel)",
        ),
        valued(
            "kernel-memory-tcp",
            None,
            "SIZE",
            "Kernel TCP buffer memory limit (v1 only)",
        ),
        valued(
            "pids-limit",
            None,
            "N",
            "Maximum number of processes (-1 or 0 for none)",
        ),
        valued(
            "l3-cache-schema",
            None,
            "SCHEMA",
            "Intel RDT L3 cache schema (not supported)",
        ),
        valued(
            "mem-bw-schema",
            None,
            "SCHEMA",
            "Intel RDT memory bandwidth schema (not supported)",
        ),
    ]],
    usage: "ID",
    rest_after: None,
};

impl Args {
    pub fn from(m: &mut Matches) -> Result<Self> {
        Ok(Args {
            resources: m.path("resources"),
            blkio_weight: m.parse("blkio-weight")?,
            cpu_period: m.parse("cpu-period")?,
            cpu_quota: m.parse("cpu-quota")?,
            cpu_share: m.parse("cpu-share")?,
            cpu_rt_period: m.parse("cpu-rt-period")?,
            cpu_rt_runtime: m.parse("cpu-rt-runtime")?,
            cpuset_cpus: m.string("cpuset-cpus")?,
            cpuset_mems: m.string("cpuset-mems")?,
            memory: m.string("memory")?,
            memory_reservation: m.string("memory-reservation")?,
            memory_swap: m.string("memory-swap")?,
            kernel_memory: m.string("kernel-memory")?,
            kernel_memory_tcp: m.string("kernel-memory-tcp")?,
            pids_limit: m.parse("pids-limit")?,
            l3_cache_schema: m.string("l3-cache-schema")?,
            mem_bw_schema: m.string("mem-bw-schema")?,
            id: m.positional("ID")?,
        })
    }
}

pub fn run(g: &Global, a: Args) -> Result<i32> {
    let mut resources = match &a.resources {
        None => json!({}),
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                crate::spec::read_bounded(std::io::stdin(), "--resources from stdin", 0)?
            } else {
                crate::spec::read_input(path, "--resources")?
            };
            serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "parsing --resources: line {} column {}: {e}",
                    e.line(),
                    e.column()
                )
            })?
        }
    };
    apply_flags(&a, &mut resources)?;
    let resources: LinuxResources =
        serde_json::from_value(resources).context("--resources: not a linux.resources object")?;
    lifecycle::update(&StateDir::open(&g.root, &a.id)?, &resources)?;
    Ok(0)
}

/// Set the flags' fields in the `linux.resources` JSON object.
fn apply_flags(a: &Args, r: &mut Value) -> Result<()> {
    if a.l3_cache_schema.is_some() || a.mem_bw_schema.is_some() {
        bail!("--l3-cache-schema, --mem-bw-schema: Intel RDT is not supported by hull");
    }
    if !r.is_object() {
        bail!("--resources: not a JSON object");
    }
    let mut set = |section: &str, key: &str, value: Value| {
        if !r[section].is_object() {
            r[section] = json!({});
        }
        r[section][key] = value;
    };
    // Flags whose value goes in as given.
    let plain = [
        ("blockIO", "weight", a.blkio_weight.map(Value::from)),
        ("cpu", "period", a.cpu_period.map(Value::from)),
        ("cpu", "quota", a.cpu_quota.map(Value::from)),
        ("cpu", "shares", a.cpu_share.map(Value::from)),
        ("cpu", "realtimePeriod", a.cpu_rt_period.map(Value::from)),
        ("cpu", "realtimeRuntime", a.cpu_rt_runtime.map(Value::from)),
        ("cpu", "cpus", a.cpuset_cpus.clone().map(Value::from)),
        ("cpu", "mems", a.cpuset_mems.clone().map(Value::from)),
        ("pids", "limit", a.pids_limit.map(Value::from)),
    ];
    for (section, key, value) in plain {
        if let Some(v) = value {
            set(section, key, v);
        }
    }
    for (flag, key, value) in [
        ("--memory", "limit", &a.memory),
        ("--memory-reservation", "reservation", &a.memory_reservation),
        ("--memory-swap", "swap", &a.memory_swap),
        ("--kernel-memory", "kernel", &a.kernel_memory),
        ("--kernel-memory-tcp", "kernelTCP", &a.kernel_memory_tcp),
    ] {
        if let Some(text) = value {
            set(
                "memory",
                key,
                json!(bytes(text).with_context(|| format!("{flag} {text:?}"))?),
            );
        }
    }
    Ok(())
}

/// A size as runc takes it: bytes, or a number with a binary k/m/g/t/p suffix (optionally
/// followed by "b" or "ib", any case); "-1" means no limit.
fn bytes(text: &str) -> Result<i64> {
    let t = text.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t
        .strip_suffix("ib")
        .or_else(|| t.strip_suffix('b'))
        .unwrap_or(&t);
    let (digits, shift) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 10),
        Some('m') => (&t[..t.len() - 1], 20),
        Some('g') => (&t[..t.len() - 1], 30),
        Some('t') => (&t[..t.len() - 1], 40),
        Some('p') => (&t[..t.len() - 1], 50),
        _ => (t, 0),
    };
    let n: f64 = digits
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("not a size (bytes, or a number with k, m, g, t or p)"))?;
    if n < 0.0 || !n.is_finite() {
        bail!("a size must not be negative (use -1 for no limit)");
    }
    Ok((n * (1u64 << shift) as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_runc_takes_them() {
        assert_eq!(bytes("1048576").unwrap(), 1 << 20);
        assert_eq!(bytes("128m").unwrap(), 128 << 20);
        assert_eq!(bytes("128MiB").unwrap(), 128 << 20);
        assert_eq!(bytes("1g").unwrap(), 1 << 30);
        assert_eq!(bytes("1.5k").unwrap(), 1536);
        assert_eq!(bytes("-1").unwrap(), -1);
        assert!(bytes("lots").is_err());
        assert!(bytes("-5m").is_err());
    }
}
