//! Signal dispositions: SIGPIPE for hull itself, and what a container's program inherits.

use nix::errno::Errno;

/// SIGPIPE ignored (a write to a closed pipe fails with EPIPE instead of killing us), or back
/// to its default (Rust's runtime ignores it; a program we exec should not inherit that).
pub fn set_sigpipe(ignored: bool) -> Result<(), Errno> {
    use nix::sys::signal::{signal, SigHandler, Signal};
    let handler = if ignored {
        SigHandler::SigIgn
    } else {
        SigHandler::SigDfl
    };
    // SAFETY: SIG_IGN and SIG_DFL are not handler functions: no Rust code runs as a handler.
    unsafe { signal(Signal::SIGPIPE, handler) }.map(drop)
}

/// No signal blocked: what a program exec'd by hull starts with (a foreground `run` blocks
/// the signals it forwards before it forks).
pub fn unblock_all_signals() -> Result<(), Errno> {
    use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow};
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
}

/// The signals this process ignores (`SigIgn` of /proc/self/status: bit N-1 for signal N);
/// all of them when it cannot be read.
pub fn ignored_signals() -> u64 {
    super::read_kernel_file("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("SigIgn:"))?;
            u64::from_str_radix(line.split_whitespace().nth(1)?, 16).ok()
        })
        .unwrap_or(u64::MAX)
}

/// The signals in `ignored` (bit N-1 for signal N) back to their default disposition, except
/// those in `keep` (and those no process can change): what the caller ignored does not reach
/// the container's program. Through rt_sigaction(2) itself: the C library refuses the signals
/// it keeps for its threads (32, 33), which a caller may have ignored all the same.
pub fn default_signal_dispositions(ignored: u64, keep: &[i32]) {
    /// The kernel's `struct sigaction` (not the C library's).
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    let default = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // 1..=64: the kernel's _NSIG, real-time signals included.
    let ignored = |s: &i32| ignored & (1 << (s - 1)) != 0;
    for signo in (1..=64).filter(ignored).filter(|s| !keep.contains(s)) {
        if signo == libc::SIGKILL || signo == libc::SIGSTOP {
            continue;
        }
        // SAFETY: `default` is a complete kernel sigaction (SIG_DFL: no handler, so no Rust
        // code can run as one) that outlives the call; no old action is asked for; the last
        // argument is the size of the mask, as the kernel requires.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signo,
                &default as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                std::mem::size_of::<u64>(),
            )
        };
    }
}
