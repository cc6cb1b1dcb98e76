//! The process's arguments, as its C `main` received them.
//!
//! hull's `main` is the C one (src/main.rs says why). std fills its own copy of argv only
//! from a Rust `main`, or from glibc's start-up, which hands argv to initialisers; musl's
//! does not. So `main` records argv here and hull reads it from here.

use std::ffi::{c_char, c_int, CStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;

static ARGS: OnceLock<Vec<OsString>> = OnceLock::new();

/// The `argv` parameter of a C `main`. Its field is private: safe code cannot make one, only
/// libc's start-up, calling `main`, hands one over, and that one is valid for the process's
/// life.
#[repr(transparent)]
pub struct MainArgv(*const *const c_char);

impl MainArgv {
    /// Keeps a copy of the `argc` strings for `args` (the first call wins).
    pub fn record(self, argc: c_int) {
        let count = usize::try_from(argc).unwrap_or(0);
        let args = (0..count)
            .map(|i| {
                // SAFETY: a `MainArgv` is only ever the argv libc's start-up gives `main`:
                // `argc` pointers to NUL-terminated strings that live as long as the process.
                let arg = unsafe { CStr::from_ptr(*self.0.add(i)) };
                std::ffi::OsStr::from_bytes(arg.to_bytes()).to_owned()
            })
            .collect();
        let _ = ARGS.set(args);
    }
}

/// The process's arguments, program name first: what `main` recorded, else std's (a test
/// harness, or any other Rust `main`).
pub fn args() -> Vec<OsString> {
    match ARGS.get() {
        Some(args) => args.clone(),
        None => std::env::args_os().collect(),
    }
}
