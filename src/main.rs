//! The `hull` binary: argv → cli → exit status.
//!
//! No Rust `main`: the C one, so std's start-up (a poll of fds 0-2, SIGPIPE ignored, a
//! guard page and signal stack for stack overflows, found by reading /proc/self/maps) is not
//! done — about twenty syscalls of every command. hull keeps SIGPIPE at its default anyway,
//! and std still gets argv and the environment (glibc hands them over before `main`).
#![no_main]

#[no_mangle]
extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    hull::cli::main()
}
