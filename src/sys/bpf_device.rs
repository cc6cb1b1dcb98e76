//! bpf(2) for the cgroup v2 device filter: load a BPF_PROG_TYPE_CGROUP_DEVICE program,
//! attach and detach it, list a cgroup's programs.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

/// bpf(2), for the cgroup v2 device filter only: commands and the `union bpf_attr` members
/// they use (from linux/bpf.h; the kernel accepts a shorter attr whose tail it knows is zero).
mod bpf {
    pub const PROG_LOAD: libc::c_int = 5;
    pub const PROG_ATTACH: libc::c_int = 8;
    pub const PROG_DETACH: libc::c_int = 9;
    pub const PROG_GET_FD_BY_ID: libc::c_int = 13;
    pub const PROG_QUERY: libc::c_int = 16;
    pub const PROG_TYPE_CGROUP_DEVICE: u32 = 15;
    pub const CGROUP_DEVICE: u32 = 6;
    pub const F_ALLOW_MULTI: u32 = 2;

    #[repr(C)]
    #[derive(Default)]
    pub struct ProgLoad {
        pub prog_type: u32,
        pub insn_cnt: u32,
        pub insns: u64,
        pub license: u64,
        pub log_level: u32,
        pub log_size: u32,
        pub log_buf: u64,
        pub kern_version: u32,
        pub prog_flags: u32,
    }

    #[repr(C)]
    #[derive(Default)]
    pub struct Attach {
        pub target_fd: u32,
        pub attach_bpf_fd: u32,
        pub attach_type: u32,
        pub attach_flags: u32,
    }

    #[repr(C)]
    #[derive(Default)]
    pub struct Query {
        pub target_fd: u32,
        pub attach_type: u32,
        pub query_flags: u32,
        pub attach_flags: u32,
        pub prog_ids: u64,
        pub prog_cnt: u32,
    }

    #[repr(C)]
    #[derive(Default)]
    pub struct GetFdById {
        pub prog_id: u32,
    }
}

fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> Result<libc::c_long, Errno> {
    // SAFETY: `attr` is one of the #[repr(C)] prefixes of `union bpf_attr` above, valid for
    // the call; the kernel reads (and for queries writes) at most its size.
    let ret =
        unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) };
    Errno::result(ret)
}

/// Load a BPF_PROG_TYPE_CGROUP_DEVICE program (raw `struct bpf_insn` bytes).
pub fn bpf_load_device_program(insns: &[u8]) -> Result<OwnedFd, Errno> {
    let license = c"Apache-2.0";
    let mut attr = bpf::ProgLoad {
        prog_type: bpf::PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: (insns.len() / 8) as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    let fd = bpf(bpf::PROG_LOAD, &mut attr)?;
    // SAFETY: PROG_LOAD returns a new fd that we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Attach a device program to a cgroup (alongside others: BPF_F_ALLOW_MULTI).
pub fn bpf_attach_device_program(cgroup: BorrowedFd, prog: BorrowedFd) -> Result<(), Errno> {
    let mut attr = bpf::Attach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: bpf::CGROUP_DEVICE,
        attach_flags: bpf::F_ALLOW_MULTI,
    };
    bpf(bpf::PROG_ATTACH, &mut attr).map(drop)
}

/// Detach a device program from a cgroup.
pub fn bpf_detach_device_program(cgroup: BorrowedFd, prog: BorrowedFd) -> Result<(), Errno> {
    let mut attr = bpf::Attach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: bpf::CGROUP_DEVICE,
        attach_flags: 0,
    };
    bpf(bpf::PROG_DETACH, &mut attr).map(drop)
}

/// The device programs attached to a cgroup itself, as fds.
pub fn bpf_device_programs(cgroup: BorrowedFd) -> Result<Vec<OwnedFd>, Errno> {
    let mut ids = [0u32; 64];
    let mut attr = bpf::Query {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: bpf::CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Default::default()
    };
    bpf(bpf::PROG_QUERY, &mut attr)?;
    let count = (attr.prog_cnt as usize).min(ids.len());
    ids[..count]
        .iter()
        .map(|&prog_id| {
            let fd = bpf(bpf::PROG_GET_FD_BY_ID, &mut bpf::GetFdById { prog_id })?;
            // SAFETY: GET_FD_BY_ID returns a new fd that we own.
            Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
        })
        .collect()
}
