//! `hull state ID`: the runtime-spec state as JSON, with runc's extra fields.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use super::args::{Command, IdArgs};
use super::Global;
use crate::lifecycle::{self, Snapshot};
use crate::spec::SPEC_VERSION;
use crate::state::ContainerStatus;

pub const COMMAND: Command = Command::on_id("state", "Print the state of a container as JSON");

/// The JSON object `state` prints (and `list --format json` lists), in runc's field order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateJson {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: &'static str,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl StateJson {
    /// A container whose record cannot be read (`list` shows it rather than hide it).
    pub fn unknown(id: &str) -> Self {
        Self {
            oci_version: SPEC_VERSION.into(),
            id: id.into(),
            pid: 0,
            status: "unknown",
            bundle: PathBuf::new(),
            rootfs: PathBuf::new(),
            created: String::new(),
            owner: String::new(),
            annotations: BTreeMap::new(),
        }
    }

    pub fn new(id: &str, snap: Snapshot) -> Self {
        let status = snap.status;
        match snap.record {
            Some(r) => Self {
                oci_version: r.oci_version,
                id: r.id,
                // A stopped container has no process: runc reports pid 0.
                pid: if status == ContainerStatus::Stopped {
                    0
                } else {
                    r.pid
                },
                status: status.as_str(),
                bundle: r.bundle,
                rootfs: r.rootfs,
                created: r.created,
                owner: r.owner,
                annotations: r.annotations,
            },
            None => Self {
                oci_version: SPEC_VERSION.into(),
                id: id.into(),
                pid: 0,
                status: status.as_str(),
                bundle: PathBuf::new(),
                rootfs: PathBuf::new(),
                created: String::new(),
                owner: String::new(),
                annotations: BTreeMap::new(),
            },
        }
    }
}

pub fn run(g: &Global, a: IdArgs) -> Result<i32> {
    let snap = lifecycle::snapshot(&g.root, &a.id)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&StateJson::new(&a.id, snap))?
    );
    Ok(0)
}
