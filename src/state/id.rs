//! Container IDs: the only names hull turns into paths under the state root.

use anyhow::{bail, Result};

/// Accept `[A-Za-z0-9][A-Za-z0-9_.+-]*` (runc's rule): no `/`, no `..`, no empty ID, so an ID
/// can never name a path outside `ROOT/`.
pub fn validate(id: &str) -> Result<()> {
    let mut chars = id.chars();
    let Some(first) = chars.next() else {
        bail!("invalid container ID: it is empty");
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_.+-".contains(c);
    if !first.is_ascii_alphanumeric() || !chars.all(allowed) {
        bail!("invalid container ID {id:?}: must match [A-Za-z0-9][A-Za-z0-9_.+-]*");
    }
    if id.len() > 1024 {
        bail!("invalid container ID: longer than 1024 bytes");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn accepts_runc_style_ids() {
        for id in ["a", "abc-123", "x.y_z+1", "0"] {
            assert!(validate(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn rejects_paths_and_empty() {
        for id in ["", "../x", "a/b", "..", ".hidden", "-x", "a b", "a\0b"] {
            assert!(validate(id).is_err(), "{id:?}");
        }
    }
}
