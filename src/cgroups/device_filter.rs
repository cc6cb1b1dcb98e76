//! cgroup v2 device rules: v2 has no devices.allow/deny files; the kernel asks a
//! BPF_PROG_TYPE_CGROUP_DEVICE program instead. This builds that program from the rules
//! (pure, unit-tested) and replaces the cgroup's program with it.
//!
//! Semantics are v1's, as runc emulates them: a rule for all devices (`a *:* rwm`) resets the
//! list and sets the default; after that the last rule that matches a device decides.

use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{Context, Result};

use crate::plan::DeviceRule;
use crate::sys;

// struct bpf_cgroup_dev_ctx { u32 access_type /* (access << 16) | type */; u32 major; u32 minor; }
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

/// One `struct bpf_insn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Insn {
    code: u8,
    dst: u8,
    src: u8,
    off: i16,
    imm: i32,
}

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }
    /// dst = *(u32 *)(src + off)
    const fn load_word(dst: u8, src: u8, off: i16) -> Self {
        Self::new(0x61, dst, src, off, 0)
    }
    /// dst = src (64-bit)
    const fn mov_reg(dst: u8, src: u8) -> Self {
        Self::new(0xbf, dst, src, 0, 0)
    }
    /// dst = imm (64-bit)
    const fn mov_imm(dst: u8, imm: i32) -> Self {
        Self::new(0xb7, dst, 0, 0, imm)
    }
    /// dst &= imm (32-bit)
    const fn and_imm(dst: u8, imm: i32) -> Self {
        Self::new(0x54, dst, 0, 0, imm)
    }
    /// dst >>= imm (32-bit)
    const fn rsh_imm(dst: u8, imm: i32) -> Self {
        Self::new(0x74, dst, 0, 0, imm)
    }
    /// if dst != imm goto +off
    const fn jne_imm(dst: u8, imm: i32, off: i16) -> Self {
        Self::new(0x55, dst, 0, off, imm)
    }
    const fn exit() -> Self {
        Self::new(0x95, 0, 0, 0, 0)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.code);
        out.push((self.src << 4) | (self.dst & 0x0f));
        out.extend_from_slice(&self.off.to_le_bytes());
        out.extend_from_slice(&self.imm.to_le_bytes());
    }
}

/// Registers after the prologue: r2 type, r3 access, r4 major, r5 minor; r1 scratch.
const PROLOGUE: [Insn; 6] = [
    Insn::load_word(2, 1, 0),
    Insn::mov_reg(3, 2),
    Insn::and_imm(2, 0xffff),
    Insn::rsh_imm(3, 16),
    Insn::load_word(4, 1, 4),
    Insn::load_word(5, 1, 8),
];

fn access_bits(access: &str) -> i32 {
    access.chars().fold(0, |bits, c| {
        bits | match c {
            'm' => ACC_MKNOD,
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            _ => 0,
        }
    })
}

fn is_catch_all(r: &DeviceRule) -> bool {
    r.kind == 'a'
        && r.major.is_none()
        && r.minor.is_none()
        && access_bits(&r.access) == ACC_MKNOD | ACC_READ | ACC_WRITE
}

/// The rules that matter and the default: everything before the last catch-all is moot.
fn effective(rules: &[DeviceRule]) -> (bool, &[DeviceRule]) {
    match rules.iter().rposition(is_catch_all) {
        Some(i) => (rules[i].allow, &rules[i + 1..]),
        None => (true, rules),
    }
}

/// The program for `rules`, as raw `struct bpf_insn` bytes.
pub fn program(rules: &[DeviceRule]) -> Vec<u8> {
    let (default_allow, rules) = effective(rules);
    let mut insns = PROLOGUE.to_vec();
    // Last match wins: test the rules from the last one back.
    for rule in rules.iter().rev() {
        let mut block = Vec::new();
        match rule.kind {
            'c' => block.push(Insn::jne_imm(2, DEV_CHAR, 0)),
            'b' => block.push(Insn::jne_imm(2, DEV_BLOCK, 0)),
            _ => {}
        }
        let denied_bits = !access_bits(&rule.access) & (ACC_MKNOD | ACC_READ | ACC_WRITE);
        if denied_bits != 0 {
            // The rule applies only if every requested access is one it names.
            block.extend([
                Insn::mov_reg(1, 3),
                Insn::and_imm(1, denied_bits),
                Insn::jne_imm(1, 0, 0),
            ]);
        }
        if let Some(major) = rule.major {
            block.push(Insn::jne_imm(4, major as i32, 0));
        }
        if let Some(minor) = rule.minor {
            block.push(Insn::jne_imm(5, minor as i32, 0));
        }
        block.extend([Insn::mov_imm(0, i32::from(rule.allow)), Insn::exit()]);
        // Each failed condition jumps past the rest of the block.
        let len = block.len();
        for (i, insn) in block.iter_mut().enumerate() {
            if insn.code == 0x55 {
                insn.off = (len - i - 1) as i16;
            }
        }
        insns.extend(block);
    }
    insns.extend([Insn::mov_imm(0, i32::from(default_allow)), Insn::exit()]);
    let mut out = Vec::with_capacity(insns.len() * 8);
    for i in &insns {
        i.encode(&mut out);
    }
    out
}

/// Make `rules` the cgroup's device policy: load the new program, attach it, then detach the
/// ones that were there (so there is no moment without a filter).
pub fn apply(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    let field = "linux.resources.devices";
    let cgroup = nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("{field}: opening {}", dir.display()))?;
    let old = sys::bpf_device_programs(cgroup.as_fd())
        .with_context(|| format!("{field}: listing the device programs of {}", dir.display()))?;
    let prog = sys::bpf_load_device_program(&program(rules))
        .with_context(|| format!("{field}: loading the eBPF device filter"))?;
    sys::bpf_attach_device_program(cgroup.as_fd(), prog.as_fd()).with_context(|| {
        format!(
            "{field}: attaching the eBPF device filter to {}",
            dir.display()
        )
    })?;
    for p in old {
        sys::bpf_detach_device_program(cgroup.as_fd(), p.as_fd())
            .with_context(|| format!("{field}: detaching the previous device filter"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        allow: bool,
        kind: char,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            kind,
            major,
            minor,
            access: access.into(),
        }
    }

    /// Run the program the way the kernel would, for one device access.
    fn eval(prog: &[u8], kind: i32, access: i32, major: u32, minor: u32) -> i64 {
        let insns: Vec<Insn> = prog
            .chunks(8)
            .map(|c| Insn {
                code: c[0],
                dst: c[1] & 0xf,
                src: c[1] >> 4,
                off: i16::from_le_bytes([c[2], c[3]]),
                imm: i32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        let ctx = [((access << 16) | kind) as u32, major, minor];
        let mut r = [0i64; 11];
        let mut pc = 0usize;
        loop {
            let i = insns[pc];
            let (d, s) = (i.dst as usize, i.src as usize);
            pc += 1;
            match i.code {
                0x61 => r[d] = i64::from(ctx[i.off as usize / 4]),
                0xbf => r[d] = r[s],
                0xb7 => r[d] = i64::from(i.imm),
                0x54 => r[d] = i64::from((r[d] as u32) & (i.imm as u32)),
                0x74 => r[d] = i64::from((r[d] as u32) >> i.imm),
                0x55 => {
                    if r[d] != i64::from(i.imm) {
                        pc += i.off as usize;
                    }
                }
                0x95 => return r[0],
                c => panic!("unknown opcode {c:#x}"),
            }
        }
    }

    #[test]
    fn deny_all_then_allow_some() {
        let p = program(&[
            rule(false, 'a', None, None, "rwm"),
            rule(true, 'c', Some(1), Some(3), "rw"),
            rule(true, 'c', Some(136), None, "rwm"),
        ]);
        assert_eq!(
            eval(&p, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3),
            1,
            "/dev/null rw"
        );
        assert_eq!(
            eval(&p, DEV_CHAR, ACC_MKNOD, 1, 3),
            0,
            "no mknod of /dev/null"
        );
        assert_eq!(eval(&p, DEV_CHAR, ACC_READ, 136, 7), 1, "any pts");
        assert_eq!(
            eval(&p, DEV_BLOCK, ACC_READ, 1, 3),
            0,
            "a block 1:3 is not the char 1:3"
        );
        assert_eq!(eval(&p, DEV_BLOCK, ACC_READ, 8, 0), 0, "sda");
    }

    #[test]
    fn last_match_wins_and_no_catch_all_means_allow() {
        let p = program(&[rule(false, 'b', Some(8), None, "rwm")]);
        assert_eq!(eval(&p, DEV_BLOCK, ACC_READ, 8, 0), 0);
        assert_eq!(eval(&p, DEV_CHAR, ACC_READ, 1, 5), 1);
        let p = program(&[
            rule(false, 'a', None, None, "rwm"),
            rule(true, 'b', Some(8), None, "r"),
            rule(false, 'b', Some(8), Some(1), "r"),
        ]);
        assert_eq!(eval(&p, DEV_BLOCK, ACC_READ, 8, 0), 1);
        assert_eq!(eval(&p, DEV_BLOCK, ACC_READ, 8, 1), 0);
        assert_eq!(eval(&p, DEV_BLOCK, ACC_WRITE, 8, 0), 0);
        let p = program(&[
            rule(true, 'c', Some(1), Some(3), "rwm"),
            rule(false, 'a', None, None, "rwm"),
        ]);
        assert_eq!(
            eval(&p, DEV_CHAR, ACC_READ, 1, 3),
            0,
            "a later catch-all resets the list"
        );
    }
}
