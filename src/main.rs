//! The `hull` binary: argv → cli → exit status.
//!
//! No Rust `main`: the C one, so std's start-up (a poll of fds 0-2, SIGPIPE ignored, a
//! guard page and signal stack for stack overflows, found by reading /proc/self/maps) is not
//! done — about twenty syscalls of every command. hull keeps SIGPIPE at its default anyway.
//! std reads the environment from libc; argv it would not get (`sys::argv` says why), so
//! `main` records it.
#![no_main]

use hull::sys::argv::MainArgv;

/// dlmalloc rather than musl's allocator, which hands freed memory back to the kernel at once:
/// ~70 mmap/munmap pairs in one `run`, every page faulted in again (~0.4 ms of CPU).
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

#[no_mangle]
extern "C" fn main(argc: std::ffi::c_int, argv: MainArgv) -> std::ffi::c_int {
    argv.record(argc);
    hull::cli::main()
}
