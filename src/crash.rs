//! Crash points for the reliability tests: with `HULL_CRASH_AT=<phase>` a debug build of hull
//! SIGKILLs itself at that phase boundary, so tests can check that `delete --force` cleans up
//! whatever a crash at any point leaves. Release builds compile this to nothing.

/// Die here if `HULL_CRASH_AT` names this phase (debug builds only).
#[inline]
pub fn crash_point(phase: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("HULL_CRASH_AT").is_ok_and(|p| p == phase) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    #[cfg(not(debug_assertions))]
    let _ = phase;
}

/// Every phase with a crash point, for the tests.
pub const PHASES: [&str; 10] = [
    "create:state-dir",
    "create:cgroup",
    "create:clone",
    "create:ready",
    "create:record",
    "start:signalled",
    "exec:forked",
    "delete:loaded",
    "delete:killed",
    "delete:cleaned",
];
