//! The thin syscall layer: every `unsafe` block in hull lives here, each with its reason.
//!
//! Everything else calls these safe wrappers (or `nix`), so the rest of the crate is `unsafe`-free.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::unistd::Pid;

pub mod argv;
mod bpf_device;
mod signals;
pub use bpf_device::{
    bpf_attach_device_program, bpf_detach_device_program, bpf_device_programs,
    bpf_load_device_program,
};
pub use signals::{default_signal_dispositions, ignored_signals, set_sigpipe, unblock_all_signals};

/// What `clone3` returned in the calling process.
pub enum Forked {
    Parent { child: Pid, pidfd: OwnedFd },
    Child,
}

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// fork(2) with namespace flags, via clone3 so that `CLONE_NEWTIME` and `CLONE_PIDFD` work.
///
/// The caller must be single-threaded: the child continues on a copy of this thread only.
pub fn clone_fork(namespace_flags: u64) -> Result<Forked, Errno> {
    clone_fork_into(namespace_flags, None).map(|(forked, _)| forked)
}

/// [`clone_fork`], the child starting in the cgroup v2 directory `cgroup` (CLONE_INTO_CGROUP).
/// The flag says whether it did: not after the fallback to clone(2).
pub fn clone_fork_into(
    namespace_flags: u64,
    cgroup: Option<BorrowedFd>,
) -> Result<(Forked, bool), Errno> {
    let mut pidfd: RawFd = -1;
    // CLONE_INTO_CGROUP is bit 33: libc's c_int constant cannot hold it.
    let into: u64 = cgroup.map_or(0, |_| 0x2_0000_0000);
    let mut args = CloneArgs {
        flags: namespace_flags | libc::CLONE_PIDFD as u64 | into,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.map_or(0, |fd| fd.as_raw_fd() as u64),
        ..Default::default()
    };
    // SAFETY: with stack == 0 clone3 behaves like fork(): the child gets a copy of the address
    // space and returns here with 0. hull is single-threaded at every fork, so no lock can be
    // held by a thread that does not exist in the child. `args` outlives the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    // A cgroup at its pids.max (a limit of 0) refuses a child cloned into it, but not one
    // moved in (migration is not limited): clone outside it; the caller moves the child.
    if Errno::result(ret) == Err(Errno::EAGAIN) && cgroup.is_some() {
        return clone_fork_into(namespace_flags, None);
    }
    // Seccomp profiles older than clone3 make it fail with ENOSYS (startContainer hooks run
    // under the container's filter): fall back to clone(2) and a pidfd from pidfd_open.
    if Errno::result(ret) == Err(Errno::ENOSYS) {
        // SAFETY: as above; with a null stack, clone behaves like fork.
        let pid = unsafe {
            libc::syscall(
                libc::SYS_clone,
                namespace_flags | libc::SIGCHLD as u64,
                0,
                0,
                0,
                0,
            )
        };
        return match Errno::result(pid)? {
            0 => Ok((Forked::Child, false)),
            pid => {
                let child = Pid::from_raw(pid as i32);
                Ok((
                    Forked::Parent {
                        child,
                        pidfd: pidfd_open(child)?,
                    },
                    false,
                ))
            }
        };
    }
    match Errno::result(ret)? {
        0 => Ok((Forked::Child, into != 0)),
        pid => Ok((
            Forked::Parent {
                child: Pid::from_raw(pid as i32),
                // SAFETY: CLONE_PIDFD made the kernel store a new, owned fd in `pidfd`.
                pidfd: unsafe { OwnedFd::from_raw_fd(pidfd) },
            },
            into != 0,
        )),
    }
}

/// pidfd_open(2): a handle on a process that cannot be confused with a later one reusing its pid.
pub fn pidfd_open(pid: Pid) -> Result<OwnedFd, Errno> {
    // SAFETY: plain syscall with integer arguments; on success it returns a new fd we own.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    let fd = Errno::result(ret)? as RawFd;
    // SAFETY: the kernel just returned this fd to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// pidfd_send_signal(2).
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: i32) -> Result<(), Errno> {
    // SAFETY: integer arguments and a null siginfo, which the kernel accepts.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<u8>(),
            0,
        )
    };
    Errno::result(ret).map(drop)
}

/// Mark every fd from `first` upward close-on-exec, so nothing of hull's leaks past execve.
pub fn cloexec_from(first: RawFd) -> Result<(), Errno> {
    // SAFETY: close_range only changes fd flags; no memory is passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    Errno::result(ret).map(drop)
}

/// Make an inherited fd (one hull did not open, e.g. from --preserve-fds) survive execve.
pub fn clear_cloexec(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: F_SETFD on a number only changes its flags; a closed fd yields EBADF.
    let ret = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    Errno::result(ret).map(drop)
}

/// dup2(2) on raw fds (in a forked child, before exec).
pub fn dup2(old: RawFd, new: RawFd) -> Result<(), Errno> {
    // SAFETY: dup2 only manipulates the fd table; an invalid fd yields EBADF.
    let ret = unsafe { libc::dup2(old, new) };
    Errno::result(ret).map(drop)
}

/// TIOCSCTTY: make `fd` (a terminal) the caller's controlling terminal.
pub fn set_controlling_tty(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: TIOCSCTTY takes an integer argument, no memory.
    let ret = unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) };
    Errno::result(ret).map(drop)
}

/// TIOCSWINSZ: set a terminal's size.
pub fn set_window_size(fd: RawFd, rows: u16, cols: u16) -> Result<(), Errno> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize struct that lives through the call.
    let ret = unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
    Errno::result(ret).map(drop)
}

/// memfd_create(2), close-on-exec.
pub fn memfd(name: &str) -> Result<OwnedFd, Errno> {
    memfd_with(name, libc::MFD_CLOEXEC)
}

/// A close-on-exec memfd that can be sealed and executed (MFD_EXEC where the kernel has it,
/// so `vm.memfd_noexec=1` does not make it non-executable).
pub fn exec_memfd(name: &str) -> Result<OwnedFd, Errno> {
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    match memfd_with(name, flags | libc::MFD_EXEC) {
        // Before Linux 6.3 there is no MFD_EXEC, and every memfd is executable.
        Err(Errno::EINVAL) => memfd_with(name, flags),
        r => r,
    }
}

fn memfd_with(name: &str, flags: libc::c_uint) -> Result<OwnedFd, Errno> {
    let name = std::ffi::CString::new(name).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `name` is a valid C string for the duration of the call.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    let fd = Errno::result(fd)?;
    // SAFETY: the kernel just returned this fd to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING): join the session keyring named `name` (made if no
/// keyring of that name is searchable by us), then add `add_perm` (KEY_*_* bits) to its
/// permissions. Returns the keyring's serial.
pub fn join_session_keyring(name: &CStr, add_perm: u32) -> Result<i32, Errno> {
    const JOIN: libc::c_long = 1; // KEYCTL_JOIN_SESSION_KEYRING
    const SETPERM: libc::c_long = 5; // KEYCTL_SETPERM
    const DESCRIBE: libc::c_long = 6; // KEYCTL_DESCRIBE
                                      // SAFETY: `name` is a valid C string for the duration of the call.
    let serial = unsafe { libc::syscall(libc::SYS_keyctl, JOIN, name.as_ptr()) };
    let serial = Errno::result(serial)? as i32;
    // "type;uid;gid;perm;description", perm in hex.
    let mut desc = [0u8; 256];
    // SAFETY: the kernel writes at most `desc.len()` bytes into `desc`.
    let n = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            DESCRIBE,
            serial,
            desc.as_mut_ptr(),
            desc.len(),
        )
    };
    let n = (Errno::result(n)? as usize).min(desc.len());
    let perm = std::str::from_utf8(&desc[..n])
        .ok()
        .and_then(|d| d.split(';').nth(3))
        .and_then(|p| u32::from_str_radix(p, 16).ok())
        .ok_or(Errno::EINVAL)?;
    // SAFETY: plain syscall with integer arguments.
    let ret = unsafe { libc::syscall(libc::SYS_keyctl, SETPERM, serial, perm | add_perm) };
    Errno::result(ret)?;
    Ok(serial)
}

/// Set `lo` up in the current network namespace (SIOCGIFFLAGS, then SIOCSIFFLAGS with IFF_UP):
/// a new network namespace starts with its loopback down.
pub fn loopback_up() -> Result<(), Errno> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain old data; all zeroes is a valid value (an empty name, no flags).
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    ifr.ifr_name[0] = b'l' as libc::c_char;
    ifr.ifr_name[1] = b'o' as libc::c_char;
    // SAFETY: SIOCGIFFLAGS reads the NUL-terminated name and writes the flags into `ifr`,
    // which outlives the call.
    Errno::result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut ifr) })?;
    // SAFETY: after SIOCGIFFLAGS the union holds the flags.
    unsafe { ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: as above; SIOCSIFFLAGS only reads `ifr`.
    Errno::result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &ifr) }).map(drop)
}

/// seccomp(SECCOMP_SET_MODE_FILTER): install a BPF program (raw sock_filter entries).
/// With SECCOMP_FILTER_FLAG_NEW_LISTENER, returns the notification listener fd.
pub fn seccomp_load(bpf: &[u8], flags: u32) -> Result<Option<OwnedFd>, Errno> {
    let prog = libc::sock_fprog {
        len: u16::try_from(bpf.len() / std::mem::size_of::<libc::sock_filter>())
            .map_err(|_| Errno::E2BIG)?,
        filter: bpf.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points into `bpf`, which outlives the call; the kernel copies the program
    // and validates every instruction, so a malformed buffer is an EINVAL, not UB.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    let ret = Errno::result(ret)?;
    let listener = flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32 != 0;
    // SAFETY: with NEW_LISTENER the kernel returns a fresh fd that nothing else owns.
    Ok(listener.then(|| unsafe { OwnedFd::from_raw_fd(ret as RawFd) }))
}

/// mount_setattr(2) on the mount `fd` refers to (AT_EMPTY_PATH): set and clear MOUNT_ATTR_*
/// flags, over the whole tree below it when `recursive`; `userns` for MOUNT_ATTR_IDMAP.
pub fn mount_setattr(
    fd: BorrowedFd,
    recursive: bool,
    set: u64,
    clr: u64,
    userns: Option<BorrowedFd>,
) -> Result<(), Errno> {
    let attr = libc::mount_attr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: userns.map_or(0, |u| u.as_raw_fd() as u64),
    };
    let flags = libc::AT_EMPTY_PATH as libc::c_uint
        | if recursive {
            libc::AT_RECURSIVE as libc::c_uint
        } else {
            0
        };
    // SAFETY: `attr` is a valid mount_attr that outlives the call, its size is passed, and
    // the path is an empty C string (AT_EMPTY_PATH: the fd itself is the target).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    Errno::result(ret).map(drop)
}

/// open_tree(2) with OPEN_TREE_CLONE: a detached copy of the mount (tree, if `recursive`) at
/// `path`, to be set up and attached with [`move_mount_to`].
pub fn open_tree_clone(path: &CStr, recursive: bool) -> Result<OwnedFd, Errno> {
    let flags = libc::OPEN_TREE_CLONE
        | libc::OPEN_TREE_CLOEXEC
        | if recursive {
            libc::AT_RECURSIVE as libc::c_uint
        } else {
            0
        };
    // SAFETY: `path` is a valid C string for the duration of the call.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
    let fd = Errno::result(fd)?;
    // SAFETY: the kernel just returned this fd to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// move_mount(2): attach the detached mount `from` onto the directory or file `to`.
pub fn move_mount_to(from: BorrowedFd, to: BorrowedFd) -> Result<(), Errno> {
    let flags = libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH;
    // SAFETY: both paths are empty C strings; the fds name source and target.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            flags,
        )
    };
    Errno::result(ret).map(drop)
}

/// Take ownership of an fd the kernel handed us (e.g. through SCM_RIGHTS).
pub fn owned_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: callers pass fds freshly received from the kernel that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// TIOCGWINSZ: a terminal's size as (rows, columns), if `fd` is a terminal.
pub fn window_size(fd: RawFd) -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize struct into `ws`, which lives through the call.
    let ret = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (ret == 0).then_some((ws.ws_row, ws.ws_col))
}

/// sched_setattr(2) for the calling thread.
pub fn sched_setattr(
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
) -> Result<(), Errno> {
    #[repr(C)]
    struct SchedAttr {
        size: u32,
        policy: u32,
        flags: u64,
        nice: i32,
        priority: u32,
        runtime: u64,
        deadline: u64,
        period: u64,
    }
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy,
        flags,
        nice,
        priority,
        runtime,
        deadline,
        period,
    };
    // SAFETY: `attr` is a complete sched_attr (VER0 layout, its size in `size`) that outlives
    // the call; pid 0 is the calling thread.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    Errno::result(ret).map(drop)
}

/// ioprio_set(IOPRIO_WHO_PROCESS, self, value).
pub fn ioprio_set(value: u16) -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, libc::c_int::from(value)) };
    Errno::result(ret).map(drop)
}

/// personality(2).
pub fn set_personality(persona: u64) -> Result<(), Errno> {
    // SAFETY: integer argument only.
    let ret = unsafe { libc::personality(persona as libc::c_ulong) };
    Errno::result(ret).map(drop)
}

/// set_mempolicy(2) for the calling thread (inherited across fork and execve): `mode` with its
/// flags OR'ed in, and the nodes as a bitmask of `nodemask.len() * 64` bits.
pub fn set_mempolicy(mode: i32, nodemask: &[u64]) -> Result<(), Errno> {
    let maxnode = (nodemask.len() * 64) as libc::c_ulong;
    let mask = if nodemask.is_empty() {
        std::ptr::null()
    } else {
        nodemask.as_ptr()
    };
    // SAFETY: the kernel reads `maxnode` bits from `mask`, which `nodemask` holds (or none).
    let ret = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, mask, maxnode) };
    Errno::result(ret).map(drop)
}

/// prlimit(2) of another process (nix wraps only the calling process's limits).
pub fn prlimit(
    pid: Pid,
    resource: nix::sys::resource::Resource,
    soft: u64,
    hard: u64,
) -> Result<(), Errno> {
    let limit = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `limit` is a complete rlimit64 that outlives the call; no old limit is asked for.
    let ret = unsafe {
        libc::prlimit64(
            pid.as_raw(),
            // glibc types the resource as an enum, musl as an int.
            resource as _,
            &limit,
            std::ptr::null_mut(),
        )
    };
    Errno::result(ret).map(drop)
}

/// setdomainname(2), which nix does not wrap.
pub fn set_domainname(name: &str) -> Result<(), Errno> {
    // SAFETY: the pointer and length describe `name`, which lives through the call.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    Errno::result(ret).map(drop)
}

/// Exit the current process at once, without running atexit handlers or flushing stdio
/// buffers that belong to the parent (used by forked children that fail before exec).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is always safe to call; it never returns.
    unsafe { libc::_exit(code) }
}

/// umask(2).
pub fn set_umask(mask: u32) {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
}

/// Fds 0, 1 and 2 open (on /dev/null when closed), as std's start-up makes them and hull's
/// C `main` does not: a file hull opens must never become its stdout. One poll when all are.
pub fn ensure_stdio_open() {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    // SAFETY: 0, 1 and 2 are only polled here; a closed one is reported, not used.
    let fds = [0, 1, 2].map(|fd| unsafe { BorrowedFd::borrow_raw(fd) });
    let mut polled = fds.map(|fd| PollFd::new(fd, PollFlags::empty()));
    if poll(&mut polled, PollTimeout::ZERO).is_err() {
        return;
    }
    let closed: Vec<RawFd> = polled
        .iter()
        .zip(0..)
        .filter(|(p, _)| p.revents().is_some_and(|r| r.contains(PollFlags::POLLNVAL)))
        .map(|(_, fd)| fd)
        .collect();
    for fd in closed {
        // Opened in fd order, the lowest free fd is the one closed.
        if let Ok(null) = nix::fcntl::open(
            "/dev/null",
            nix::fcntl::OFlag::O_RDWR,
            nix::sys::stat::Mode::empty(),
        ) {
            if null.as_raw_fd() == fd {
                std::mem::forget(null);
            }
        }
    }
}

/// A file the kernel generates (procfs, sysfs, cgroupfs) as text, in as few reads as it
/// takes: such files report size 0, so `std::fs::read_to_string` grows its buffer from 32
/// bytes, one read each step (eight for a 1 KiB mountinfo); this starts at 4 KiB.
pub fn read_kernel_file(path: impl AsRef<std::path::Path>) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::with_capacity(4096);
    // Through `Take`, not the `File` itself: std then neither asks for the (useless) size nor
    // probes with a small read first, and fills the capacity given.
    std::fs::File::open(path)?
        .take(u64::MAX)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), which with
/// the pid identifies one process for its whole life, across pid reuse.
pub fn process_start_time(pid: Pid) -> Option<u64> {
    let stat = read_kernel_file(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

/// Parse field 22 (starttime) of a /proc/PID/stat line; the comm field may hold spaces and
/// parentheses, so fields are counted from the last ')'.
pub fn parse_start_time(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // after ')' come field 3 (state) onward; starttime is field 22 → index 19 here.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

/// The one-letter state of a process from /proc/PID/stat (R, S, Z, ...).
pub fn process_state(pid: Pid) -> Option<char> {
    let stat = read_kernel_file(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// execve that returns only on failure.
pub fn execve(path: &CStr, args: &[std::ffi::CString], env: &[std::ffi::CString]) -> Errno {
    match nix::unistd::execve(path, args, env) {
        Err(e) => e,
        Ok(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_even_with_odd_comm() {
        let line =
            "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        assert_eq!(parse_start_time(line), Some(98765));
    }

    #[test]
    fn start_time_of_self_is_known() {
        assert!(process_start_time(nix::unistd::getpid()).is_some());
    }
}
