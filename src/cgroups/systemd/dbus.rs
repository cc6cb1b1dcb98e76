//! Just enough D-Bus to call systemd's manager: SASL EXTERNAL auth, method calls with the few
//! argument types the unit API takes, and the reply (or error) to each call.
//!
//! Why not a D-Bus crate: zbus brings an async runtime and threads, dbus-rs needs libdbus;
//! the calls hull makes are four, their wire format small (dbus-specification "Message
//! Format"), and a runtime must stay single-threaded up to its forks.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// A value of a unit property, in the D-Bus types systemd's properties use.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    U64(u64),
    /// `au`, e.g. PIDs.
    U32s(Vec<u32>),
    /// `ay`, e.g. AllowedCPUs as a bitmask.
    Bytes(Vec<u8>),
}

impl Value {
    fn signature(&self) -> &'static str {
        match self {
            Value::Str(_) => "s",
            Value::Bool(_) => "b",
            Value::U64(_) => "t",
            Value::U32s(_) => "au",
            Value::Bytes(_) => "ay",
        }
    }
}

/// A method call's arguments, in order.
pub enum Arg<'a> {
    Str(&'a str),
    Bool(bool),
    /// `a(sv)`: unit properties.
    Properties(&'a [(&'a str, Value)]),
    /// `a(sa(sv))`: StartTransientUnit's auxiliary units (hull passes none).
    NoAuxUnits,
}

impl Arg<'_> {
    fn signature(&self) -> &'static str {
        match self {
            Arg::Str(_) => "s",
            Arg::Bool(_) => "b",
            Arg::Properties(_) => "a(sv)",
            Arg::NoAuxUnits => "a(sa(sv))",
        }
    }
}

/// A D-Bus error reply: its name (e.g. `org.freedesktop.systemd1.NoSuchUnit`) and message.
#[derive(Debug)]
pub struct DbusError {
    pub name: String,
    pub message: String,
}

impl std::fmt::Display for DbusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for DbusError {}

/// Little-endian D-Bus marshalling into a buffer whose offset 0 is 8-aligned.
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn align(&mut self, n: usize) {
        while self.buf.len() % n != 0 {
            self.buf.push(0);
        }
    }
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.align(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    fn signature(&mut self, s: &str) {
        self.u8(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    /// An array: its byte length is patched in after `body` wrote the elements.
    fn array(&mut self, element_align: usize, body: impl FnOnce(&mut Self)) {
        self.u32(0);
        let len_at = self.buf.len() - 4;
        self.align(element_align);
        let start = self.buf.len();
        body(self);
        let len = (self.buf.len() - start) as u32;
        self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    }
    fn value(&mut self, v: &Value) {
        match v {
            Value::Str(s) => self.str(s),
            Value::Bool(b) => self.u32(u32::from(*b)),
            Value::U64(n) => self.u64(*n),
            Value::U32s(ns) => self.array(4, |w| ns.iter().for_each(|n| w.u32(*n))),
            Value::Bytes(bs) => self.array(1, |w| w.buf.extend_from_slice(bs)),
        }
    }
    fn properties(&mut self, props: &[(&str, Value)]) {
        self.array(8, |w| {
            for (name, value) in props {
                w.align(8);
                w.str(name);
                w.signature(value.signature());
                w.value(value);
            }
        });
    }
}

/// Little-endian reading of a received message.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn align(&mut self, n: usize) {
        self.at = self.at.next_multiple_of(n);
    }
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .context("D-Bus message truncated")?;
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        self.align(4);
        Ok(u32::from_le_bytes(self.take(4)?.try_into()?))
    }
    fn str(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        let s = String::from_utf8_lossy(self.take(n)?).into_owned();
        self.take(1)?;
        Ok(s)
    }
    fn signature(&mut self) -> Result<String> {
        let n = self.u8()? as usize;
        let s = String::from_utf8_lossy(self.take(n)?).into_owned();
        self.take(1)?;
        Ok(s)
    }
}

const METHOD_CALL: u8 = 1;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;

/// A connection to a systemd manager: the system's or the caller's own (`systemd --user`),
/// at its private socket (no bus daemon needed) or through a bus.
pub struct Connection {
    stream: UnixStream,
    serial: u32,
}

/// A `unix:path=…` D-Bus address from the environment variable `var`.
fn address_from(var: &str) -> Option<PathBuf> {
    let value = std::env::var(var).ok()?;
    let path = value
        .split(';')
        .find_map(|a| a.strip_prefix("unix:path="))?;
    Some(PathBuf::from(path.split(',').next().unwrap_or(path)))
}

/// Where to reach systemd's system manager: `$DBUS_SYSTEM_BUS_ADDRESS` when set, else its
/// private socket when we are root and it exists (no bus daemon needed, as systemctl does),
/// else the system bus. Returns the socket and whether a bus daemon is behind it.
fn system_address() -> (PathBuf, bool) {
    if let Some(path) = address_from("DBUS_SYSTEM_BUS_ADDRESS") {
        return (path, true);
    }
    let private = Path::new("/run/systemd/private");
    if nix::unistd::geteuid().is_root() && private.exists() {
        return (private.to_owned(), false);
    }
    (PathBuf::from("/run/dbus/system_bus_socket"), true)
}

/// The caller's own user manager (`systemd --user`), for rootless containers:
/// `$DBUS_SESSION_BUS_ADDRESS`, else its private socket in `$XDG_RUNTIME_DIR`, else the
/// session bus there.
fn user_address() -> Result<(PathBuf, bool)> {
    if let Some(path) = address_from("DBUS_SESSION_BUS_ADDRESS") {
        return Ok((path, true));
    }
    let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR")
        .context("no DBUS_SESSION_BUS_ADDRESS or XDG_RUNTIME_DIR to find the user's systemd")?;
    let private = Path::new(&runtime_dir).join("systemd/private");
    if private.exists() {
        return Ok((private, false));
    }
    Ok((Path::new(&runtime_dir).join("bus"), true))
}

/// Our uid as the bus sees it (SO_PEERCRED): in a user namespace (podman's rootless mode)
/// that is the host uid our euid maps to, not the euid itself.
fn host_uid() -> u32 {
    let euid = nix::unistd::geteuid().as_raw();
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    map.lines()
        .filter_map(|l| {
            let f: Vec<u32> = l
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            (f.len() == 3 && euid >= f[0] && euid - f[0] < f[2]).then(|| f[1] + (euid - f[0]))
        })
        .next()
        .unwrap_or(euid)
}

impl Connection {
    /// The system manager (`user` false) or the caller's user manager.
    pub fn to_manager(user: bool) -> Result<Self> {
        let (path, is_bus) = if user {
            user_address()?
        } else {
            system_address()
        };
        let which = if user {
            "the user's systemd"
        } else {
            "systemd"
        };
        let stream = UnixStream::connect(&path).with_context(|| {
            format!(
                "connecting to {which} at {} (is {which} running?)",
                path.display()
            )
        })?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut c = Connection { stream, serial: 0 };
        c.authenticate()
            .with_context(|| format!("D-Bus authentication at {}", path.display()))?;
        if is_bus {
            c.call(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "Hello",
                &[],
            )?;
        }
        Ok(c)
    }

    fn authenticate(&mut self) -> Result<()> {
        let uid = host_uid().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        self.stream
            .write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())?;
        let mut line = String::new();
        BufReader::new(&self.stream)
            .take(512)
            .read_line(&mut line)?;
        if !line.starts_with("OK ") {
            bail!("refused: {}", line.trim());
        }
        self.stream.write_all(b"BEGIN\r\n")?;
        Ok(())
    }

    /// Call a method of systemd's manager object.
    pub fn manager(&mut self, method: &str, args: &[Arg]) -> Result<()> {
        self.call(
            "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            method,
            args,
        )
    }

    /// Send a method call and wait for its reply; an error reply is a [`DbusError`].
    fn call(
        &mut self,
        destination: &str,
        path: &str,
        interface: &str,
        member: &str,
        args: &[Arg],
    ) -> Result<()> {
        self.serial += 1;
        let serial = self.serial;
        self.stream
            .write_all(&method_call(
                serial,
                destination,
                path,
                interface,
                member,
                args,
            ))
            .context("writing to D-Bus")?;
        loop {
            let (kind, reply_to, error) = self.read_message().context("reading from D-Bus")?;
            if reply_to != Some(serial) {
                continue; // a signal, or a reply to something else
            }
            return match kind {
                METHOD_RETURN => Ok(()),
                ERROR => Err(error
                    .unwrap_or_else(|| DbusError {
                        name: "unknown".into(),
                        message: String::new(),
                    })
                    .into()),
                _ => continue,
            };
        }
    }

    /// One message: its type, the serial it replies to, and for errors their name and text.
    fn read_message(&mut self) -> Result<(u8, Option<u32>, Option<DbusError>)> {
        let mut fixed = [0u8; 16];
        self.stream.read_exact(&mut fixed)?;
        if fixed[0] != b'l' {
            bail!("big-endian D-Bus messages are not supported");
        }
        let body_len = u32::from_le_bytes(fixed[4..8].try_into()?) as usize;
        let fields_len = u32::from_le_bytes(fixed[12..16].try_into()?) as usize;
        let header_len = (16 + fields_len).next_multiple_of(8);
        if header_len + body_len > 1 << 20 {
            bail!("D-Bus message too large");
        }
        let mut msg = vec![0u8; header_len + body_len];
        msg[..16].copy_from_slice(&fixed);
        self.stream.read_exact(&mut msg[16..])?;
        let mut r = Reader {
            buf: &msg[..16 + fields_len],
            at: 16,
        };
        let (mut reply_to, mut error_name, mut signature) = (None, None, String::new());
        while r.at < r.buf.len() {
            r.align(8);
            let code = r.u8()?;
            let sig = r.signature()?;
            match sig.as_str() {
                "u" => {
                    let v = r.u32()?;
                    if code == 5 {
                        reply_to = Some(v);
                    }
                }
                "s" | "o" => {
                    let v = r.str()?;
                    if code == 4 {
                        error_name = Some(v);
                    }
                }
                "g" => {
                    let v = r.signature()?;
                    if code == 8 {
                        signature = v;
                    }
                }
                other => bail!("unexpected D-Bus header field type {other:?}"),
            }
        }
        let error = error_name.map(|name| {
            let message = if signature.starts_with('s') {
                Reader {
                    buf: &msg[header_len..],
                    at: 0,
                }
                .str()
                .unwrap_or_default()
            } else {
                String::new()
            };
            DbusError { name, message }
        });
        Ok((fixed[1], reply_to, error))
    }
}

/// A method call message (header and body).
fn method_call(
    serial: u32,
    destination: &str,
    path: &str,
    interface: &str,
    member: &str,
    args: &[Arg],
) -> Vec<u8> {
    let mut body = Writer::default();
    for arg in args {
        match arg {
            Arg::Str(s) => body.str(s),
            Arg::Bool(b) => body.u32(u32::from(*b)),
            Arg::Properties(p) => body.properties(p),
            Arg::NoAuxUnits => body.array(8, |_| {}),
        }
    }
    let signature: String = args.iter().map(Arg::signature).collect();
    let mut m = Writer::default();
    m.buf.extend_from_slice(&[b'l', METHOD_CALL, 0, 1]);
    m.u32(body.buf.len() as u32);
    m.u32(serial);
    m.array(8, |w| {
        let field = |w: &mut Writer, code: u8, sig: &str, value: &str| {
            w.align(8);
            w.u8(code);
            w.signature(sig);
            if sig == "g" {
                w.signature(value)
            } else {
                w.str(value)
            }
        };
        field(w, 1, "o", path);
        field(w, 2, "s", interface);
        field(w, 3, "s", member);
        field(w, 6, "s", destination);
        if !signature.is_empty() {
            field(w, 8, "g", &signature);
        }
    });
    m.align(8);
    m.buf.extend_from_slice(&body.buf);
    m.buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_marshalled_as_the_specification_says() {
        let props = [
            ("PIDs", Value::U32s(vec![7])),
            ("Delegate", Value::Bool(true)),
        ];
        let m = method_call(
            3,
            "d",
            "/p",
            "i",
            "M",
            &[
                Arg::Str("u.scope"),
                Arg::Properties(&props),
                Arg::NoAuxUnits,
            ],
        );
        assert_eq!(&m[..4], &[b'l', 1, 0, 1]);
        assert_eq!(
            u32::from_le_bytes(m[8..12].try_into().unwrap()),
            3,
            "serial"
        );
        let fields = u32::from_le_bytes(m[12..16].try_into().unwrap()) as usize;
        let body_at = (16 + fields).next_multiple_of(8);
        let body = &m[body_at..];
        assert_eq!(
            u32::from_le_bytes(m[4..8].try_into().unwrap()) as usize,
            body.len()
        );
        // "u.scope": length 7, the bytes, a NUL; then the a(sv) length, padded to 8.
        assert_eq!(&body[..12], b"\x07\0\0\0u.scope\0");
        let props_len = u32::from_le_bytes(body[12..16].try_into().unwrap()) as usize;
        // (s "PIDs", g "au", au [7]): 4+5, 1+2+1, padding to 4, the array's length, 7.
        let first = [
            &b"\x04\0\0\0PIDs\0"[..],
            b"\x02au\0",
            b"\0\0\0",
            b"\x04\0\0\0",
            b"\x07\0\0\0",
        ]
        .concat();
        assert_eq!(&body[16..16 + first.len()], &first[..]);
        assert_eq!(
            props_len,
            24 + 20,
            "two structs, the second starting 8-aligned"
        );
        // The signature header field names all three arguments.
        let header = String::from_utf8_lossy(&m[..body_at]);
        assert!(header.contains("sa(sv)a(sa(sv))"), "{header}");
        // The empty aux array: its length, then padding to 8 (no elements).
        assert_eq!(&body[16 + props_len..16 + props_len + 4], &[0, 0, 0, 0]);
    }

    #[test]
    fn replies_and_errors_are_read_back() {
        // An error reply built with the same writer: fields REPLY_SERIAL(5)=3, ERROR_NAME(4), SIGNATURE(8)="s".
        let mut body = Writer::default();
        body.str("Unit x.scope not loaded.");
        let mut m = Writer::default();
        m.buf.extend_from_slice(&[b'l', ERROR, 0, 1]);
        m.u32(body.buf.len() as u32);
        m.u32(9);
        m.array(8, |w| {
            w.align(8);
            w.u8(5);
            w.signature("u");
            w.u32(3);
            w.align(8);
            w.u8(4);
            w.signature("s");
            w.str("org.freedesktop.systemd1.NoSuchUnit");
            w.align(8);
            w.u8(8);
            w.signature("g");
            w.signature("s");
        });
        m.align(8);
        m.buf.extend_from_slice(&body.buf);
        let (a, b) = UnixStream::pair().unwrap();
        (&a).write_all(&m.buf).unwrap();
        let mut c = Connection {
            stream: b,
            serial: 0,
        };
        let (kind, reply_to, error) = c.read_message().unwrap();
        assert_eq!((kind, reply_to), (ERROR, Some(3)));
        let e = error.unwrap();
        assert_eq!(
            (e.name.as_str(), e.message.as_str()),
            (
                "org.freedesktop.systemd1.NoSuchUnit",
                "Unit x.scope not loaded."
            )
        );
    }
}
