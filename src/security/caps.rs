//! process.capabilities: bounding set dropped while init still holds CAP_SETPCAP, then the
//! effective, inheritable, permitted and ambient sets set exactly, after the user switch.

use anyhow::{Context, Result};
use caps::{CapSet, CapsHashSet};

use crate::plan::CapsPlan;

/// Capabilities this kernel does not know are left out, as runc does (a config written for
/// a newer kernel still runs).
fn supported(set: &CapsHashSet, all: &CapsHashSet) -> CapsHashSet {
    set.intersection(all).copied().collect()
}

/// Step 1, before the user switch: shrink the bounding set, and keep the permitted set across
/// setuid to a non-root user.
pub fn drop_bounding(plan: &CapsPlan) -> Result<()> {
    let all = caps::runtime::thread_all_supported();
    for cap in all.difference(&plan.bounding) {
        caps::drop(None, CapSet::Bounding, *cap).with_context(|| {
            format!("dropping {cap} from the bounding set (process.capabilities.bounding)")
        })?;
    }
    nix::sys::prctl::set_keepcaps(true).context("prctl(PR_SET_KEEPCAPS)")
}

/// Step 2, after the user switch: the exact sets.
pub fn apply(plan: &CapsPlan) -> Result<()> {
    let all = caps::runtime::thread_all_supported();
    // No set can gain what init does not hold: name the culprits rather than report EPERM.
    let held =
        caps::read(None, CapSet::Permitted).context("reading init's permitted capabilities")?;
    let wanted: CapsHashSet = plan.permitted.union(&plan.effective).copied().collect();
    let mut missing: Vec<String> = supported(&wanted, &all)
        .difference(&held)
        .map(|c| c.to_string())
        .collect();
    if !missing.is_empty() {
        missing.sort();
        anyhow::bail!(
            "process.capabilities: {} not held by hull (its caller lacks them), so cannot be granted",
            missing.join(", ")
        );
    }
    // The effective set must stay within the permitted one at every step: effective first
    // (shrinking), inheritable, then permitted.
    for (set, values, field) in [
        (CapSet::Effective, &plan.effective, "effective"),
        (CapSet::Inheritable, &plan.inheritable, "inheritable"),
        (CapSet::Permitted, &plan.permitted, "permitted"),
    ] {
        caps::set(None, set, &supported(values, &all))
            .with_context(|| format!("setting process.capabilities.{field}"))?;
    }
    if !plan.ambient.is_empty() {
        // The kernel raises an ambient capability only if it is permitted and inheritable;
        // runc (and crun's own `spec`, which has no inheritable set) skip the others.
        let raisable: CapsHashSet = plan
            .ambient
            .iter()
            .filter(|c| plan.permitted.contains(c) && plan.inheritable.contains(c))
            .copied()
            .collect();
        if raisable.len() != plan.ambient.len() {
            crate::log::debug("process.capabilities.ambient: skipping capabilities that are not both permitted and inheritable");
        }
        caps::set(None, CapSet::Ambient, &supported(&raisable, &all))
            .context("setting process.capabilities.ambient")?;
    }
    nix::sys::prctl::set_keepcaps(false).context("prctl(PR_SET_KEEPCAPS)")
}
