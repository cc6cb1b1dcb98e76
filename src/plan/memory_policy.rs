//! linux.memoryPolicy: set_mempolicy(2)'s mode, flags and node mask, checked.

use anyhow::{bail, Context, Result};

use super::id_set;

/// `linux.memoryPolicy`: set_mempolicy(2)'s mode (flags OR'ed in) and node bitmask.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemoryPolicyPlan {
    pub mode: i32,
    pub nodemask: Vec<u64>,
}

/// set_mempolicy(2)'s modes by the spec's names (`features` lists them from here).
pub const MEMORY_POLICY_MODES: [(oci_spec::runtime::MemoryPolicyModeType, i32); 7] = {
    use oci_spec::runtime::MemoryPolicyModeType as M;
    [
        (M::MpolDefault, 0),
        (M::MpolPreferred, 1),
        (M::MpolBind, 2),
        (M::MpolInterleave, 3),
        (M::MpolLocal, 4),
        (M::MpolPreferredMany, 5),
        (M::MpolWeightedInterleave, 6),
    ]
};

/// set_mempolicy(2)'s mode flags by the spec's names.
pub const MEMORY_POLICY_FLAGS: [(oci_spec::runtime::MemoryPolicyFlagType, i32); 3] = {
    use oci_spec::runtime::MemoryPolicyFlagType as F;
    [
        (F::MpolFNumaBalancing, 1 << 13),
        (F::MpolFRelativeNodes, 1 << 14),
        (F::MpolFStaticNodes, 1 << 15),
    ]
};

impl MemoryPolicyPlan {
    pub(super) fn from_spec(p: &oci_spec::runtime::LinuxMemoryPolicy) -> Result<Self> {
        let mode = MEMORY_POLICY_MODES
            .iter()
            .find(|(m, _)| *m == p.mode())
            .map(|(_, v)| *v)
            .with_context(|| format!("linux.memoryPolicy.mode: {:?} is not supported", p.mode()))?;
        let mut flags = 0;
        for f in p.flags().iter().flatten() {
            flags |= MEMORY_POLICY_FLAGS
                .iter()
                .find(|(known, _)| known == f)
                .map(|(_, v)| *v)
                .with_context(|| format!("linux.memoryPolicy.flags: {f:?} is not supported"))?;
        }
        let nodes = match p.nodes().as_deref().filter(|n| !n.is_empty()) {
            None => Vec::new(),
            Some(list) => id_set(list, "linux.memoryPolicy.nodes")?,
        };
        // DEFAULT and LOCAL take no nodes; the others need some (the kernel says EINVAL).
        if matches!(mode, 0 | 4) != nodes.is_empty() {
            bail!(
                "linux.memoryPolicy: {:?} {}",
                p.mode(),
                if nodes.is_empty() {
                    "needs nodes"
                } else {
                    "takes no nodes"
                }
            );
        }
        let mut nodemask = Vec::new();
        for n in nodes {
            let (word, bit) = (n as usize / 64, n % 64);
            if nodemask.len() <= word {
                nodemask.resize(word + 1, 0);
            }
            nodemask[word] |= 1 << bit;
        }
        Ok(MemoryPolicyPlan {
            mode: mode | flags,
            nodemask,
        })
    }
}
