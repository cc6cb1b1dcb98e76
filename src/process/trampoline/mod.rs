//! The exec trampoline: a tiny static program (trampoline.c, built by build.rs) that the
//! container's process execs from a sealed memfd, and which then execs the container's
//! program, so the hull binary is never `/proc/self/exe` of a process the container can
//! influence (CVE-2019-5736).

use std::ffi::{CStr, CString};
use std::os::fd::{OwnedFd, RawFd};

use anyhow::Result;
use nix::errno::Errno;
use nix::fcntl::AtFlags;

use crate::sys;

const IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/trampoline"));

/// argv[0] the trampoline insists on: a `#!/proc/self/exe` script reaching it gets nothing.
const MAGIC: &CStr = c"hull-trampoline";

/// The trampoline, sealed in a close-on-exec memfd (made by the parent, before the fork).
pub struct Trampoline(OwnedFd);

impl Trampoline {
    pub fn new() -> Result<Trampoline> {
        crate::security::exe::sealed_exec_copy("hull-trampoline", &mut &IMAGE[..]).map(Trampoline)
    }

    /// In the child: exec `program` with `args` and `env` through the trampoline. `hold` (a
    /// close-on-exec fd) stays open until the program's own execve, not the trampoline's: whoever
    /// waits for it to close learns that the program runs. Returns only on failure (of the
    /// trampoline's own exec; the program's is reported by the trampoline).
    pub fn exec(
        &self,
        program: &CStr,
        args: &[CString],
        env: &[CString],
        hold: Option<RawFd>,
    ) -> Errno {
        let hold = match hold.map(sys::clear_cloexec) {
            None => CString::from(c"-"),
            Some(Err(e)) => return e,
            Some(Ok(())) => CString::new(hold.unwrap_or(-1).to_string()).expect("digits"),
        };
        let mut argv: Vec<&CStr> = Vec::with_capacity(args.len() + 3);
        argv.push(MAGIC);
        argv.push(&hold);
        argv.push(program);
        argv.extend(args.iter().map(CString::as_c_str));
        match nix::unistd::execveat(&self.0, c"", &argv, env, AtFlags::AT_EMPTY_PATH) {
            Err(e) => e,
            Ok(never) => match never {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn image_is_a_small_static_elf() {
        assert_eq!(&IMAGE[..4], b"\x7fELF");
        assert!(IMAGE.len() < 16 * 1024, "{} bytes", IMAGE.len());
    }

    #[test]
    fn refuses_to_run_without_the_magic_argv0() {
        let t = Trampoline::new().unwrap();
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&t.0));
        let out = std::process::Command::new(&path)
            .arg("/bin/true")
            .arg("true")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(126));
        let out = std::process::Command::new(&path)
            .arg0("hull-trampoline")
            .args(["-", "/bin/sh", "sh", "-c", "echo via $0"])
            .output();
        assert_eq!(String::from_utf8_lossy(&out.unwrap().stdout), "via sh\n");
    }

    #[test]
    fn the_held_fd_closes_at_the_programs_exec_not_before() {
        let t = Trampoline::new().unwrap();
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&t.0));
        // An inheritable fd: the trampoline gets it; the program must not, when it is held.
        let held = std::fs::File::open("/dev/null").unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&held);
        sys::clear_cloexec(fd).unwrap();
        let fds_of_program = |hold: String| {
            let out = std::process::Command::new(&path)
                .arg0("hull-trampoline")
                .args([&hold, "/bin/sh", "sh", "-c", "ls /proc/self/fd"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l == fd.to_string())
        };
        assert!(
            fds_of_program("-".into()),
            "without hold, the fd is inherited"
        );
        assert!(
            !fds_of_program(fd.to_string()),
            "the held fd leaked into the program"
        );
    }
}
