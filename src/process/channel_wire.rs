// The channel's bytes that the exec trampoline (trampoline.c) writes too: build.rs includes
// this file and hands the values to the trampoline's compiler, so the two cannot disagree.
// (Plain comments: build.rs includes it as items.)

/// First byte of a datagram: the message's last (or only) one.
pub const LAST: u8 = 1;
/// The tag of `ToParent::InitPid` (the pid follows, 4 bytes little-endian).
pub const INIT_PID: u8 = 2;
/// The tag of `ToParent::Error` (the text follows).
pub const ERROR: u8 = 4;
