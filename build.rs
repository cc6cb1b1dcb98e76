//! Builds the exec trampoline (src/process/trampoline/trampoline.c): a static, libc-free
//! program that hull embeds and execs from a sealed memfd (see that file for why); links
//! Debian's static libseccomp into a musl build (`seccomp_for_musl`); and names the commit
//! hull is built from (`hull --version`), when it is built in a git checkout.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The channel bytes the trampoline writes (`src/process/channel_wire.rs`, shared with hull).
mod channel_wire {
    #![allow(dead_code)]
    include!("src/process/channel_wire.rs");
}

fn main() {
    let src = "src/process/trampoline/trampoline.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-changed=src/process/channel_wire.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("trampoline");
    let defines = [
        format!("-DHULL_LAST={}", channel_wire::LAST),
        format!("-DHULL_INIT_PID={}", channel_wire::INIT_PID),
        format!("-DHULL_ERROR={}", channel_wire::ERROR),
    ];
    let flags = [
        "-Os",
        "-static",
        "-nostdlib",
        "-nostartfiles",
        "-fno-stack-protector",
        "-fno-pie",
        "-no-pie",
        "-fno-asynchronous-unwind-tables",
        "-fno-builtin",
        "-Wall",
        "-Werror",
        "-Wl,--build-id=none",
        "-Wl,-z,noexecstack",
        "-Wl,-z,norelro",
        "-Wl,-z,max-page-size=4096",
        "-s",
    ];
    let args: Vec<&str> = flags
        .iter()
        .copied()
        .chain(defines.iter().map(String::as_str))
        .collect();
    compile("the exec trampoline", src, &args, &out);
    seccomp_for_musl();
    hot_functions();
    commit();
}

/// The release binary's link places the functions in hack/hot-functions.ld (the ones hull's
/// everyday commands run) together at the start of .text: fewer 64 kB windows of the binary
/// mapped per command (hack/hot-functions says why and regenerates the list). The list names
/// the musl release build's symbols; other builds would match none of them.
fn hot_functions() {
    let list = "hack/hot-functions.ld";
    println!("cargo:rerun-if-changed={list}");
    // hack/hot-functions asks for the link map of the build it traces (the shipped build is
    // stripped: the map names its functions' sections).
    println!("cargo:rerun-if-env-changed=HULL_LINK_MAP");
    if let Ok(map) = std::env::var("HULL_LINK_MAP") {
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map}");
    }
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let musl = std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|e| e == "musl");
    if !(release && musl && std::path::Path::new(list).exists()) {
        return;
    }
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    // A script of SECTIONS ... INSERT: it adds to the linker's default script, not replaces it.
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{dir}/{list}");
}

/// hull links libseccomp statically (libseccomp-sys; .cargo/config.toml says where from).
/// Debian's libseccomp.a is built against glibc; a musl build takes it as it is: its only
/// glibc-specific symbol is `__fprintf_chk` (fortified fprintf, reached only by libseccomp's
/// text export of a filter, which hull never calls), given here by src/sys/fprintf_chk.c.
fn seccomp_for_musl() {
    let shim = "src/sys/fprintf_chk.c";
    println!("cargo:rerun-if-changed={shim}");
    if std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default() != "musl" {
        return;
    }
    let object = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("fprintf_chk.o");
    let flags = [
        "-Os",
        "-c",
        "-fPIC",
        "-ffreestanding",
        "-fno-stack-protector",
        "-Wall",
        "-Werror",
    ];
    compile(shim, shim, &flags, &object);
    // An object, not an archive: the linker takes it whole, wherever libseccomp.a falls on the line.
    println!("cargo:rustc-link-arg={}", object.display());
}

/// Run the C compiler (`$CC`, else `cc`) on `src` with `flags`, writing `out`; a failure
/// fails the build, naming `what`.
fn compile(what: &str, src: &str, flags: &[&str], out: &Path) {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(flags)
        .arg("-o")
        .arg(out)
        .arg(src)
        .status()
        .unwrap_or_else(|e| panic!("running {cc} to build {what}: {e}"));
    assert!(status.success(), "{cc} failed to build {what} ({src})");
}

/// HULL_COMMIT: `git rev-parse HEAD` of the checkout (absent outside one: "unknown").
fn commit() {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "HEAD"]) else {
        return;
    };
    // Rebuilt when HEAD moves (a commit, a checkout).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{reference}");
        }
        println!("cargo:rerun-if-changed={dir}/packed-refs");
    }
    println!("cargo:rustc-env=HULL_COMMIT={head}");
}
