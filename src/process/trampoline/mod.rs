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
    /// waits for it to close learns that the program runs. `before` is what the trampoline
    /// does first (trampoline.c says how). Returns only on failure (of the trampoline's own
    /// exec; the program's is reported by the trampoline).
    pub fn exec(
        &self,
        program: &CStr,
        args: &[CString],
        env: &[CString],
        hold: Option<RawFd>,
        before: Before,
    ) -> Errno {
        let args_of = || -> Result<(CString, CString), Errno> {
            let hold = match hold {
                Some(fd) => inheritable(fd)?,
                None => "-".to_owned(),
            };
            let mode = match before {
                Before::Nothing => "-".to_owned(),
                Before::WaitForStart { release } => format!("w{}", inheritable(release)?),
                Before::ForkIntoPidNamespace { terminal } => {
                    format!(
                        "f{}",
                        terminal.map(inheritable).transpose()?.unwrap_or_default()
                    )
                }
            };
            let c = |s: String| CString::new(s).expect("no NUL in digits");
            Ok((c(hold), c(mode)))
        };
        let (hold, mode) = match args_of() {
            Ok(args) => args,
            Err(e) => return e,
        };
        let mut argv: Vec<&CStr> = Vec::with_capacity(args.len() + 4);
        argv.push(MAGIC);
        argv.push(&hold);
        argv.push(&mode);
        argv.push(program);
        argv.extend(args.iter().map(CString::as_c_str));
        match nix::unistd::execveat(&self.0, c"", &argv, env, AtFlags::AT_EMPTY_PATH) {
            Err(e) => e,
            Ok(never) => match never {},
        }
    }
}

/// What the trampoline does before it execs the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Before {
    Nothing,
    /// Init handing over at ready: let go of `release` (its end of the channel), then wait
    /// for `start`'s byte on the exec fifo (`hold`).
    WaitForStart {
        release: RawFd,
    },
    /// An exec'd process that joined the container's pid namespace: fork into it, send the
    /// child's pid up the channel (`hold`), and have the child lead a session (with
    /// `terminal` as its controlling terminal and stdio).
    ForkIntoPidNamespace {
        terminal: Option<RawFd>,
    },
}

/// An fd the trampoline gets (no longer close-on-exec), as its decimal number.
fn inheritable(fd: RawFd) -> Result<String, Errno> {
    sys::clear_cloexec(fd)?;
    Ok(fd.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
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
            .args(["-", "-", "/bin/sh", "sh", "-c", "echo via $0"])
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
                .args([&hold, "-", "/bin/sh", "sh", "-c", "ls /proc/self/fd"])
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

    #[test]
    fn with_release_it_lets_go_of_it_then_waits_for_the_byte() {
        use std::io::Read;
        let t = Trampoline::new().unwrap();
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&t.0));
        let (hold, start) = nix::unistd::pipe().unwrap();
        let release = std::fs::File::open("/dev/null").unwrap();
        let (hold_fd, release_fd) = (hold.as_raw_fd(), release.as_raw_fd());
        sys::clear_cloexec(hold_fd).unwrap();
        sys::clear_cloexec(release_fd).unwrap();
        let mut child = std::process::Command::new(&path)
            .arg0("hull-trampoline")
            .args([hold_fd.to_string(), format!("w{release_fd}")])
            .args(["/bin/sh", "sh", "-c", "echo ran; ls /proc/self/fd"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let fd_of_child = format!("/proc/{}/fd/{release_fd}", child.id());
        let released = (0..500).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            std::fs::symlink_metadata(&fd_of_child).is_err()
        });
        assert!(released, "the trampoline kept the release fd");
        assert!(child.try_wait().unwrap().is_none(), "it ran before start");
        nix::unistd::write(&start, &[0]).unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(child.wait().unwrap().success());
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("ran"));
        assert!(
            lines.all(|l| l != hold_fd.to_string() && l != release_fd.to_string()),
            "{out}"
        );
    }

    #[test]
    fn with_fork_the_child_runs_in_a_session_of_its_own_and_its_pid_goes_up_the_channel() {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        use std::io::Read;
        let t = Trampoline::new().unwrap();
        let path = format!("/proc/self/fd/{}", t.0.as_raw_fd());
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        sys::clear_cloexec(theirs.as_raw_fd()).unwrap();
        let mut trampoline = std::process::Command::new(&path)
            .arg0("hull-trampoline")
            .args([theirs.as_raw_fd().to_string(), "f".into()])
            .args([
                "/bin/sh",
                "sh",
                "-c",
                "echo $$ $(cut -d' ' -f6 /proc/self/stat)",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(theirs);
        let mut datagram = [0u8; 16];
        let n = nix::unistd::read(&ours, &mut datagram).unwrap();
        assert_eq!(&datagram[..2], &[1, 2], "{:?}", &datagram[..n]);
        assert_eq!(n, 6);
        let pid = i32::from_le_bytes(datagram[2..6].try_into().unwrap());
        assert!(trampoline.wait().unwrap().success());
        let mut out = String::new();
        trampoline
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        // The program is the forked child, and leads its own session.
        assert_eq!(out.trim(), format!("{pid} {pid}"));
    }
}
