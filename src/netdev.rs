//! `linux.netDevices` (runtime-spec 1.3.0): host network devices moved into the container's
//! network namespace, renamed when asked, with their permanent global addresses kept and the
//! link set up, over rtnetlink (a few messages, built here: no netlink crate for them).
//!
//! After the move the device is the namespace's: hull does not move it back at `delete`
//! (config-linux.md: the runtime "MUST NOT attempt to move the interface out of the namespace
//! before deletion"); when the namespace goes, the kernel returns physical devices to the
//! host and destroys virtual ones.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use anyhow::{bail, Context, Result};
use nix::fcntl::{open, OFlag};
use nix::sched::{setns, CloneFlags};
use nix::sys::socket::{
    bind, recv, send, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
    SockType,
};
use nix::sys::stat::Mode;

use crate::plan::NetDevicePlan;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_EXCL: u16 = 0x200;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
const RT_SCOPE_UNIVERSE: u8 = 0;
const IFF_UP: u32 = 1;

/// One address of a device, as RTM_GETADDR gave it (enough to add it again).
#[derive(Debug, Clone, PartialEq)]
struct Address {
    family: u8,
    prefix_len: u8,
    flags: u32,
    scope: u8,
    /// (attribute type, payload): IFA_ADDRESS and IFA_LOCAL.
    attrs: Vec<(u16, Vec<u8>)>,
}

/// Move each of `devices` into the network namespace of process `pid`, as planned.
pub fn move_into(devices: &[NetDevicePlan], pid: i32) -> Result<()> {
    if devices.is_empty() {
        return Ok(());
    }
    let target = open(
        format!("/proc/{pid}/ns/net").as_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("linux.netDevices: opening the container's network namespace")?;
    let host = Netlink::new()?;
    let mut moved = Vec::new();
    for d in devices {
        let field = format!("linux.netDevices[{:?}]", d.host);
        let index = nix::net::if_::if_nametoindex(d.host.as_str())
            .with_context(|| format!("{field}: no network device {:?} on the host", d.host))?;
        let addresses = host
            .addresses(index)
            .with_context(|| format!("{field}: reading its addresses"))?;
        host.move_link(index, &target, &d.name)
            .with_context(|| format!("{field}: moving it into the container as {:?}", d.name))?;
        moved.push((d, addresses));
    }
    // Inside the namespace: its addresses again, and up (the spec's MUST). The socket must be
    // made there; hull is single-threaded, so switching and back is safe.
    let own = open(
        "/proc/self/ns/net",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("opening hull's own network namespace")?;
    setns(&target, CloneFlags::CLONE_NEWNET)
        .context("entering the container's network namespace")?;
    let inside = Netlink::new();
    setns(&own, CloneFlags::CLONE_NEWNET).context("returning to hull's network namespace")?;
    let inside = inside?;
    for (d, addresses) in moved {
        let field = format!("linux.netDevices[{:?}]", d.host);
        let index = inside
            .index_of(&d.name)
            .with_context(|| format!("{field}: finding {:?} in the container", d.name))?;
        for a in &addresses {
            inside
                .add_address(index, a)
                .with_context(|| format!("{field}: restoring an address"))?;
        }
        inside
            .set_up(index)
            .with_context(|| format!("{field}: setting {:?} up", d.name))?;
    }
    Ok(())
}

/// A NETLINK_ROUTE socket of the network namespace it was made in.
struct Netlink {
    fd: OwnedFd,
}

impl Netlink {
    fn new() -> Result<Self> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )
        .context("opening a netlink socket")?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).context("binding the netlink socket")?;
        Ok(Netlink { fd })
    }

    /// Send one request and read until its ack (or, for a dump, its end); the replies.
    fn request(&self, kind: u16, flags: u16, body: &[u8]) -> Result<Vec<(u16, Vec<u8>)>> {
        let len = 16 + body.len();
        let mut msg = Vec::with_capacity(len);
        msg.extend_from_slice(&(len as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence
        msg.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel's
        msg.extend_from_slice(body);
        send(self.fd.as_raw_fd(), &msg, MsgFlags::empty()).context("netlink send")?;
        let mut replies = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n =
                recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()).context("netlink recv")?;
            let mut at = 0;
            while at + 16 <= n {
                let len = u32::from_ne_bytes(buf[at..at + 4].try_into()?) as usize;
                let kind = u16::from_ne_bytes(buf[at + 4..at + 6].try_into()?);
                if len < 16 || at + len > n {
                    bail!("a malformed netlink reply");
                }
                let payload = &buf[at + 16..at + len];
                match kind {
                    NLMSG_DONE => return Ok(replies),
                    NLMSG_ERROR => {
                        let code = i32::from_ne_bytes(payload[..4].try_into()?);
                        if code != 0 {
                            return Err(nix::errno::Errno::from_raw(-code).into());
                        }
                        return Ok(replies);
                    }
                    _ => replies.push((kind, payload.to_vec())),
                }
                at += align(len);
            }
        }
    }

    /// The permanent addresses of global scope of device `index` (the ones the spec keeps).
    fn addresses(&self, index: u32) -> Result<Vec<Address>> {
        let replies = self.request(RTM_GETADDR, NLM_F_DUMP, &ifaddrmsg(0, 0, 0, 0, 0))?;
        Ok(replies
            .iter()
            .filter(|(kind, _)| *kind == RTM_NEWADDR)
            .filter_map(|(_, p)| parse_address(p, index))
            .filter(|a| a.flags & IFA_F_PERMANENT != 0 && a.scope == RT_SCOPE_UNIVERSE)
            .collect())
    }

    /// Move device `index` into the namespace `netns`, named `name` there.
    fn move_link(&self, index: u32, netns: &OwnedFd, name: &str) -> Result<()> {
        let mut body = ifinfomsg(index, 0, 0);
        attr(
            &mut body,
            IFLA_NET_NS_FD,
            &(netns.as_fd().as_raw_fd() as u32).to_ne_bytes(),
        );
        attr(&mut body, IFLA_IFNAME, &nul_terminated(name));
        self.request(RTM_NEWLINK, NLM_F_ACK, &body).map(drop)
    }

    fn index_of(&self, name: &str) -> Result<u32> {
        let mut body = ifinfomsg(0, 0, 0);
        attr(&mut body, IFLA_IFNAME, &nul_terminated(name));
        // RTM_GETLINK by name: the reply's ifinfomsg holds the index.
        let replies = self.request(18, NLM_F_ACK, &body)?;
        let (_, p) = replies.first().context("no such device")?;
        Ok(u32::from_ne_bytes(p[4..8].try_into()?))
    }

    fn add_address(&self, index: u32, a: &Address) -> Result<()> {
        let mut body = ifaddrmsg(a.family, a.prefix_len, a.flags as u8, a.scope, index);
        for (kind, value) in &a.attrs {
            attr(&mut body, *kind, value);
        }
        attr(&mut body, IFA_FLAGS, &a.flags.to_ne_bytes());
        self.request(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &body)
            .map(drop)
    }

    fn set_up(&self, index: u32) -> Result<()> {
        self.request(RTM_NEWLINK, NLM_F_ACK, &ifinfomsg(index, IFF_UP, IFF_UP))
            .map(drop)
    }
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

fn nul_terminated(s: &str) -> Vec<u8> {
    [s.as_bytes(), &[0]].concat()
}

/// struct ifinfomsg: family, pad, type, index, flags, change.
fn ifinfomsg(index: u32, flags: u32, change: u32) -> Vec<u8> {
    let mut b = vec![0u8; 4]; // AF_UNSPEC, pad, ARPHRD 0
    b.extend_from_slice(&(index as i32).to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&change.to_ne_bytes());
    b
}

/// struct ifaddrmsg: family, prefixlen, flags, scope, index.
fn ifaddrmsg(family: u8, prefix_len: u8, flags: u8, scope: u8, index: u32) -> Vec<u8> {
    let mut b = vec![family, prefix_len, flags, scope];
    b.extend_from_slice(&index.to_ne_bytes());
    b
}

/// Append an rtattr (length, type, value, padding).
fn attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = 4 + value.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(align(buf.len()), 0);
}

/// An RTM_NEWADDR payload of device `index`, if it is that device's.
fn parse_address(p: &[u8], index: u32) -> Option<Address> {
    if p.len() < 8 || u32::from_ne_bytes(p[4..8].try_into().ok()?) != index {
        return None;
    }
    let mut a = Address {
        family: p[0],
        prefix_len: p[1],
        flags: p[2] as u32,
        scope: p[3],
        attrs: Vec::new(),
    };
    let mut at = 8;
    while at + 4 <= p.len() {
        let len = u16::from_ne_bytes(p[at..at + 2].try_into().ok()?) as usize;
        let kind = u16::from_ne_bytes(p[at + 2..at + 4].try_into().ok()?);
        if len < 4 || at + len > p.len() {
            break;
        }
        let value = &p[at + 4..at + len];
        match kind {
            IFA_ADDRESS | IFA_LOCAL => a.attrs.push((kind, value.to_vec())),
            IFA_FLAGS if value.len() == 4 => a.flags = u32::from_ne_bytes(value.try_into().ok()?),
            _ => {}
        }
        at += align(len);
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_addresses_parse_back() {
        let mut body = ifaddrmsg(2, 24, 0x80, 0, 7);
        attr(&mut body, IFA_LOCAL, &[10, 0, 0, 1]);
        attr(&mut body, IFA_ADDRESS, &[10, 0, 0, 1]);
        attr(&mut body, IFA_FLAGS, &0x80u32.to_ne_bytes());
        attr(&mut body, 3, b"eth0\0");
        assert_eq!(body.len() % 4, 0);
        let a = parse_address(&body, 7).unwrap();
        assert_eq!((a.family, a.prefix_len, a.flags, a.scope), (2, 24, 0x80, 0));
        assert_eq!(a.attrs.len(), 2);
        assert!(parse_address(&body, 8).is_none(), "another device's");
    }
}
