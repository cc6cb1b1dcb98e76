//! The parent ↔ init channel: one SOCK_SEQPACKET pair, one typed message per frame: a
//! message of any size (a container state with Kubernetes' annotations for hooks, an error
//! naming 70,000 groups) travels as datagrams of at most [`CHUNK`] bytes, each starting with
//! [`MORE`] or [`LAST`].
//!
//! ```text
//!  parent (hull create)                      init (child of clone3)
//!        | ------------ CgroupJoined ---------> | (first thing: init waits for it)
//!        |                                      | [joins namespaces, unshares the rest]
//!        | <------------- NeedIdMaps ---------- | (only with a new user namespace)
//!   write uid_map/gid_map                       |
//!        | ------------ IdMapsWritten --------> |
//!        | <------------- InitPid(p) ---------- | (only via an intermediate process)
//!        | <--------- NeedMountSources -------- | (binds, in a new user namespace)
//!   open them in init's mount namespace         |
//!        | ------ MountSource(fd) ... Done ---> |
//!        |                                      | [hostname, mounts]
//!        | <-------------- RunHooks ----------- | (only with hooks)
//!   prestart, createRuntime hooks               |
//!        | ---------- HooksDone(state) -------> | createContainer hooks, pivot_root,
//!        |                                      | [caps, user, seccomp]
//!        | <--- SeccompListener(fd) ----------- | (only with SCMP_ACT_NOTIFY)
//!   fd → linux.seccomp.listenerPath             | [checks]
//!        | <---- Ready(timeline) | Error(msg) -- |
//!   pid file, state.json, exit                  | blocks on exec.fifo until `start`
//! ```

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::{bail, Context, Result};
use nix::sys::socket::{
    recvmsg, send, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned,
    MsgFlags, SockFlag, SockType, UnixAddr,
};

use super::channel_wire::{ERROR, INIT_PID, LAST};
use crate::sys;

/// Messages from init (or its intermediate process) to the parent.
#[derive(Debug)]
pub enum ToParent {
    /// A new user namespace exists: the parent must write its id maps.
    NeedIdMaps,
    /// The pid (in the parent's pid namespace) of init, when an intermediate process forked it.
    InitPid(i32),
    /// Init has made its mounts and waits for the parent's hooks (then pivots).
    RunHooks,
    /// Init is set up and waits for `start`; carries init's `--debug` timeline marks.
    Ready(String),
    /// Init failed; the message names the step.
    Error(String),
    /// The seccomp filter is loaded; its notification listener fd (SCM_RIGHTS).
    SeccompListener(OwnedFd),
    /// A log line of the child's, for the parent to write (the child cannot reach `--log`).
    Log { level: String, msg: String },
    /// Init, in a new user namespace, needs its bind sources opened with the host's
    /// privileges (see `process::mount_sources`).
    NeedMountSources,
    /// The process, in a user namespace, needs the parent to set its rlimits (prlimit).
    NeedRlimits,
}

/// Messages from the parent to init.
#[derive(Debug)]
pub enum ToInit {
    /// The child is in the container's cgroup (so a new cgroup namespace is rooted there).
    CgroupJoined,
    IdMapsWritten,
    /// The parent's hooks ran; the container state (JSON) for init's own hooks.
    HooksDone(Vec<u8>),
    /// The next bind source, opened by the parent (O_PATH, SCM_RIGHTS).
    MountSource(OwnedFd),
    /// Every bind source is sent (none, when the parent could not open them for init).
    MountSourcesDone,
    /// The parent set the process's rlimits.
    RlimitsSet,
}

/// One end of the channel.
pub struct Channel(OwnedFd);

/// A connected pair: (parent's end, init's end). Both CLOEXEC.
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("creating the init sync socketpair")?;
    Ok((Channel(a), Channel(b)))
}

impl ToParent {
    /// The handshake step this message is (log lines and errors are none).
    pub fn step(&self) -> Option<super::handshake::Step> {
        use super::handshake::Step;
        match self {
            Self::NeedIdMaps => Some(Step::IdMaps),
            Self::InitPid(_) => Some(Step::InitPid),
            Self::RunHooks => Some(Step::Hooks),
            Self::SeccompListener(_) => Some(Step::SeccompListener),
            Self::Ready(_) => Some(Step::Ready),
            Self::NeedMountSources => Some(Step::MountSources),
            Self::NeedRlimits => Some(Step::Rlimits),
            Self::Error(_) | Self::Log { .. } => None,
        }
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Self::NeedIdMaps => vec![1],
            Self::InitPid(pid) => [&[INIT_PID][..], &pid.to_le_bytes()].concat(),
            Self::Ready(marks) => [&[3u8][..], marks.as_bytes()].concat(),
            Self::Error(msg) => [&[ERROR][..], msg.as_bytes()].concat(),
            Self::RunHooks => vec![5],
            Self::SeccompListener(_) => vec![6],
            Self::NeedMountSources => vec![8],
            Self::NeedRlimits => vec![9],
            Self::Log { level, msg } => {
                let level = &level.as_bytes()[..level.len().min(255)];
                [&[7u8, level.len() as u8][..], level, msg.as_bytes()].concat()
            }
        }
    }

    fn decode(buf: &[u8], fd: Option<OwnedFd>) -> Result<Self> {
        Ok(match (buf, fd) {
            ([6], Some(fd)) => Self::SeccompListener(fd),
            (_, Some(_)) => bail!("unexpected fd from init with {buf:?}"),
            (buf, None) => Self::decode_plain(buf)?,
        })
    }

    fn decode_plain(buf: &[u8]) -> Result<Self> {
        Ok(match buf {
            [1] => Self::NeedIdMaps,
            [INIT_PID, p @ ..] if p.len() == 4 => Self::InitPid(i32::from_le_bytes(p.try_into()?)),
            [3, marks @ ..] => Self::Ready(String::from_utf8_lossy(marks).into_owned()),
            [ERROR, msg @ ..] => Self::Error(String::from_utf8_lossy(msg).into_owned()),
            [5] => Self::RunHooks,
            [8] => Self::NeedMountSources,
            [9] => Self::NeedRlimits,
            [7, n, rest @ ..] if rest.len() >= *n as usize => {
                let (level, msg) = rest.split_at(*n as usize);
                Self::Log {
                    level: String::from_utf8_lossy(level).into_owned(),
                    msg: String::from_utf8_lossy(msg).into_owned(),
                }
            }
            _ => bail!("malformed message from init: {buf:?}"),
        })
    }
}

impl std::os::fd::AsRawFd for Channel {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

/// The most payload one datagram carries (well below any socket buffer).
const CHUNK: usize = 32 * 1024;
/// First byte of a datagram: more of the message follows.
const MORE: u8 = 0;

/// Send one message on `fd`, in as many datagrams as it takes.
fn send_framed(fd: RawFd, bytes: &[u8]) -> Result<()> {
    let mut chunks = bytes.chunks(CHUNK);
    // An empty message is one empty LAST datagram.
    let first: &[u8] = &[];
    let mut next = chunks.next().or(Some(first));
    while let Some(chunk) = next {
        next = chunks.next();
        let flag = if next.is_some() { MORE } else { LAST };
        let datagram = [&[flag][..], chunk].concat();
        send(fd, &datagram, MsgFlags::MSG_NOSIGNAL).context("writing to the init sync socket")?;
    }
    Ok(())
}

/// The child's end of the channel, for the log lines it forwards (-1: none).
static LOG_CHANNEL: AtomicI32 = AtomicI32::new(-1);

fn forward_log_line(level: &str, msg: &str) {
    let fd = LOG_CHANNEL.load(Ordering::Relaxed);
    if fd >= 0 {
        let line = ToParent::Log {
            level: level.into(),
            msg: msg.into(),
        };
        let _ = send_framed(fd, &line.encode());
    }
}

impl Channel {
    fn send(&self, bytes: &[u8]) -> Result<()> {
        send_framed(self.0.as_raw_fd(), bytes)
    }

    /// In the child: from now on, every log line goes to the parent over this channel.
    pub fn forward_logs(&self) {
        LOG_CHANNEL.store(self.0.as_raw_fd(), Ordering::Relaxed);
        crate::log::forward_with(forward_log_line);
    }

    /// Receive one message (all its datagrams) and the fd its last may carry; `None` when the
    /// other end is closed.
    fn recv(&self) -> Result<Option<(Vec<u8>, Option<OwnedFd>)>> {
        let mut message = Vec::new();
        loop {
            let Some((datagram, fd)) = self.recv_datagram()? else {
                if message.is_empty() {
                    return Ok(None);
                }
                bail!("the init sync socket closed in the middle of a message");
            };
            let (flag, payload) = datagram
                .split_first()
                .context("an empty datagram on the init sync socket")?;
            message.extend_from_slice(payload);
            match *flag {
                LAST => return Ok(Some((message, fd))),
                MORE if fd.is_none() => continue,
                _ => bail!("a malformed datagram on the init sync socket"),
            }
        }
    }

    fn recv_datagram(&self) -> Result<Option<(Vec<u8>, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; CHUNK + 1];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let (n, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<UnixAddr>(
                self.0.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => {
                    let msg = r.context("reading the init sync socket")?;
                    let mut fd = None;
                    for c in msg.cmsgs().context("reading the init sync socket")? {
                        if let ControlMessageOwned::ScmRights(fds) = c {
                            fd = fds.first().map(|&f| sys::owned_fd(f));
                        }
                    }
                    break (msg.bytes, fd);
                }
            }
        };
        buf.truncate(n);
        Ok((n > 0).then_some((buf, fd)))
    }

    /// A one-datagram message carrying `fd`.
    fn send_with_fd(&self, bytes: &[u8], fd: &OwnedFd) -> Result<()> {
        let fds = [fd.as_raw_fd()];
        let tagged = [&[LAST][..], bytes].concat();
        sendmsg::<UnixAddr>(
            self.0.as_raw_fd(),
            &[IoSlice::new(&tagged)],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .context("sending an fd over the init sync socket")?;
        Ok(())
    }

    /// For a helper process: one fd it opened, or why it could not.
    pub fn send_fd_result(&self, r: std::result::Result<OwnedFd, String>) -> Result<()> {
        match r {
            Ok(fd) => self.send_with_fd(&[1], &fd),
            Err(why) => self.send(&[&[0u8][..], why.as_bytes()].concat()),
        }
    }

    /// What [`Channel::send_fd_result`] sent; the helper's error, or its end, is an error.
    pub fn recv_fd_result(&self) -> Result<OwnedFd> {
        match self.recv()? {
            Some((bytes, Some(fd))) if bytes == [1] => Ok(fd),
            Some((bytes, None)) if bytes.first() == Some(&0) => {
                bail!("{}", String::from_utf8_lossy(&bytes[1..]))
            }
            Some(_) => bail!("a malformed message from the helper"),
            None => bail!("the helper ended before it sent every fd"),
        }
    }

    pub fn send_to_parent(&self, msg: &ToParent) -> Result<()> {
        match msg {
            ToParent::SeccompListener(fd) => self.send_with_fd(&msg.encode(), fd),
            _ => self.send(&msg.encode()),
        }
    }

    /// A message from init if one arrives within `ms` milliseconds (for error reports).
    pub fn try_recv_from_init(&self, ms: u16) -> Option<ToParent> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut fds = [PollFd::new(
            std::os::fd::AsFd::as_fd(&self.0),
            PollFlags::POLLIN,
        )];
        loop {
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(n) if n > 0 => match self.recv_from_init().ok().flatten() {
                    Some(ToParent::Log { level, msg }) => crate::log::from_child(&level, &msg),
                    other => return other,
                },
                _ => return None,
            }
        }
    }

    pub fn recv_from_init(&self) -> Result<Option<ToParent>> {
        self.recv()?
            .map(|(b, fd)| ToParent::decode(&b, fd))
            .transpose()
    }

    pub fn send_to_init(&self, msg: ToInit) -> Result<()> {
        match msg {
            ToInit::IdMapsWritten => self.send(&[1]),
            ToInit::CgroupJoined => self.send(&[3]),
            ToInit::HooksDone(state) => self.send(&[&[2u8][..], &state].concat()),
            ToInit::MountSource(fd) => self.send_with_fd(&[4], &fd),
            ToInit::MountSourcesDone => self.send(&[5]),
            ToInit::RlimitsSet => self.send(&[6]),
        }
    }

    pub fn recv_from_parent(&self) -> Result<ToInit> {
        let Some((bytes, fd)) = self.recv()? else {
            bail!("the parent closed the sync socket")
        };
        match (bytes.as_slice(), fd) {
            ([4], Some(fd)) => Ok(ToInit::MountSource(fd)),
            (_, Some(_)) => bail!("unexpected fd from the parent with {bytes:?}"),
            ([1], None) => Ok(ToInit::IdMapsWritten),
            ([3], None) => Ok(ToInit::CgroupJoined),
            ([5], None) => Ok(ToInit::MountSourcesDone),
            ([6], None) => Ok(ToInit::RlimitsSet),
            ([2, state @ ..], None) => Ok(ToInit::HooksDone(state.to_vec())),
            (other, None) => bail!("malformed message from the parent: {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_one_per_datagram() {
        let (parent, init) = pair().unwrap();
        for m in [
            ToParent::NeedIdMaps,
            ToParent::InitPid(-7),
            ToParent::RunHooks,
            ToParent::Ready(String::new()),
            ToParent::Ready("mounts=12".into()),
            ToParent::NeedMountSources,
            ToParent::NeedRlimits,
            ToParent::Error("mounting x: EPERM".into()),
            ToParent::Log {
                level: "debug".into(),
                msg: "a line".into(),
            },
        ] {
            let expected = format!("{m:?}");
            init.send_to_parent(&m).unwrap();
            assert_eq!(
                format!("{:?}", parent.recv_from_init().unwrap().unwrap()),
                expected
            );
        }
        let file = std::fs::File::open("/proc/self/cmdline").unwrap();
        init.send_to_parent(&ToParent::SeccompListener(file.into()))
            .unwrap();
        let Some(ToParent::SeccompListener(fd)) = parent.recv_from_init().unwrap() else {
            panic!("no fd")
        };
        let target = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
        assert!(target.ends_with("cmdline"), "{target:?}");
        for m in [
            ToInit::CgroupJoined,
            ToInit::IdMapsWritten,
            ToInit::HooksDone(b"{}".to_vec()),
            ToInit::MountSourcesDone,
            ToInit::RlimitsSet,
        ] {
            let expected = format!("{m:?}");
            parent.send_to_init(m).unwrap();
            assert_eq!(format!("{:?}", init.recv_from_parent().unwrap()), expected);
        }
        let dir = std::fs::File::open("/proc/self").unwrap();
        parent
            .send_to_init(ToInit::MountSource(dir.into()))
            .unwrap();
        let ToInit::MountSource(fd) = init.recv_from_parent().unwrap() else {
            panic!("no fd")
        };
        assert!(std::fs::read_dir(format!("/proc/self/fd/{}", fd.as_raw_fd())).is_ok());
        drop(init);
        assert!(parent.recv_from_init().unwrap().is_none());
    }

    #[test]
    fn messages_of_any_size_arrive_whole() {
        let (parent, init) = pair().unwrap();
        for size in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 20 * CHUNK + 7] {
            let text: String = (0..size).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            // From another thread: a message larger than the socket buffer needs a reader.
            let sent = text.clone();
            let init = &init;
            std::thread::scope(|s| {
                s.spawn(move || init.send_to_parent(&ToParent::Error(sent)).unwrap());
                let Some(ToParent::Error(got)) = parent.recv_from_init().unwrap() else {
                    panic!("size {size}: not an error message")
                };
                assert_eq!(got.len(), size);
                assert!(got == text, "size {size}: content differs");
            });
            let state = vec![b'x'; size];
            std::thread::scope(|s| {
                s.spawn(|| {
                    parent
                        .send_to_init(ToInit::HooksDone(state.clone()))
                        .unwrap()
                });
                let ToInit::HooksDone(got) = init.recv_from_parent().unwrap() else {
                    panic!("size {size}: not the hooks' state")
                };
                assert!(got == state, "size {size}: content differs");
            });
        }
    }
}
