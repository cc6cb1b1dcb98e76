//! linux.resources.blockIO: weights and throttles, checked, in the spec's units.

use anyhow::{bail, Result};

/// linux.resources.blockIO.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlkioPlan {
    pub weight: Option<u16>,
    pub leaf_weight: Option<u16>,
    /// (major, minor, weight, leafWeight).
    pub weight_device: Vec<(i64, i64, Option<u16>, Option<u16>)>,
    /// Per device (major, minor, rate) for each throttle: read/write bytes and io per second.
    pub throttle: Vec<(Throttle, i64, i64, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    ReadBps,
    WriteBps,
    ReadIops,
    WriteIops,
}

impl Throttle {
    /// The v1 file and the spec's field name.
    pub fn v1_file(self) -> (&'static str, &'static str) {
        match self {
            Self::ReadBps => ("blkio.throttle.read_bps_device", "throttleReadBpsDevice"),
            Self::WriteBps => ("blkio.throttle.write_bps_device", "throttleWriteBpsDevice"),
            Self::ReadIops => ("blkio.throttle.read_iops_device", "throttleReadIOPSDevice"),
            Self::WriteIops => (
                "blkio.throttle.write_iops_device",
                "throttleWriteIOPSDevice",
            ),
        }
    }

    /// The key in v2's io.max.
    pub fn v2_key(self) -> &'static str {
        match self {
            Self::ReadBps => "rbps",
            Self::WriteBps => "wbps",
            Self::ReadIops => "riops",
            Self::WriteIops => "wiops",
        }
    }
}

pub(super) fn plan(b: &oci_spec::runtime::LinuxBlockIo) -> Result<BlkioPlan> {
    let weight = |w: Option<u16>, field: &str| -> Result<Option<u16>> {
        match w {
            Some(w) if !(10..=1000).contains(&w) => {
                bail!("linux.resources.blockIO.{field}: {w} is outside 10..1000")
            }
            w => Ok(w),
        }
    };
    // 0 means "not set", as runc reads it (Docker sends it).
    let nonzero = |w: Option<u16>| w.filter(|&w| w != 0);
    let mut plan = BlkioPlan {
        weight: weight(nonzero(b.weight()), "weight")?,
        leaf_weight: weight(nonzero(b.leaf_weight()), "leafWeight")?,
        ..Default::default()
    };
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        let field = format!("weightDevice[{i}]");
        plan.weight_device.push((
            d.major(),
            d.minor(),
            weight(d.weight(), &format!("{field}.weight"))?,
            weight(d.leaf_weight(), &format!("{field}.leafWeight"))?,
        ));
    }
    for (kind, list) in [
        (Throttle::ReadBps, b.throttle_read_bps_device()),
        (Throttle::WriteBps, b.throttle_write_bps_device()),
        (Throttle::ReadIops, b.throttle_read_iops_device()),
        (Throttle::WriteIops, b.throttle_write_iops_device()),
    ] {
        for d in list.iter().flatten() {
            plan.throttle.push((kind, d.major(), d.minor(), d.rate()));
        }
    }
    Ok(plan)
}
