//! Values the drivers compute alike from the spec's numbers, written once: "max" for no
//! limit, `rdma.max` lines, and runc's v1 → v2 weight conversions (v2 files and systemd's
//! properties).

/// A limit as the cgroup files take it: a negative one (the spec's -1) is "max", no limit.
pub fn max_or(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

/// An `rdma.max` line (same format in v1 and v2): `mlx4_0 hca_handle=2 hca_object=2000`.
pub fn rdma_line(dev: &str, (handles, objects): (Option<u32>, Option<u32>)) -> String {
    let num = |v: Option<u32>| v.map_or("max".to_owned(), |v| v.to_string());
    format!(
        "{dev} hca_handle={} hca_object={}",
        num(handles),
        num(objects)
    )
}

/// cgroup v1 cpu.shares (2..262144) → v2 cpu.weight (1..10000), as runc converts.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// v1 blkio.weight (10..1000) → v2 io.weight (1..10000).
pub fn blkio_to_io_weight(w: u16) -> u64 {
    1 + (u64::from(w).clamp(10, 1000) - 10) * 9999 / 990
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_conversions() {
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
        assert_eq!(blkio_to_io_weight(500), 4950);
        assert_eq!(
            rdma_line("mlx4_0", (Some(2), None)),
            "mlx4_0 hca_handle=2 hca_object=max"
        );
    }

    #[test]
    fn negative_limits_are_max() {
        assert_eq!(max_or(-1), "max");
        assert_eq!(max_or(0), "0");
        assert_eq!(max_or(64), "64");
    }
}
