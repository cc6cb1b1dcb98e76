//! Whether hull runs without real root: as a non-root user, or as root of a user namespace
//! (podman's rootless mode runs its runtime that way). Then, as runc: state under the user's
//! runtime dir, and cgroups only where delegated.

/// The identity mapping of the initial user namespace.
fn initial_user_namespace(uid_map: &str) -> bool {
    let mut lines = uid_map.lines();
    let first: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    first == ["0", "0", "4294967295"] && lines.next().is_none()
}

/// Read once per hull process (several parts ask): hull's own situation, which a forked child
/// keeps, whatever namespace it enters later.
pub fn is_rootless() -> bool {
    static ROOTLESS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ROOTLESS.get_or_init(|| {
        !nix::unistd::geteuid().is_root()
            || !crate::sys::read_kernel_file("/proc/self/uid_map")
                .is_ok_and(|m| initial_user_namespace(&m))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_map_is_the_initial_namespace() {
        assert!(initial_user_namespace("         0          0 4294967295\n"));
        assert!(!initial_user_namespace(
            "         0       1000          1\n"
        ));
        assert!(!initial_user_namespace("0 0 4294967295\n1 1 1\n"));
    }
}
