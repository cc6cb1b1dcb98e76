# Shared helpers for hack/ scripts (sourced, not run).

# Install Debian packages that are missing (quietly), e.g. `need_pkgs busybox-static`.
need_pkgs() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "hack: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  }
}

# Make sure cargo is on PATH (rustup installs into ~/.cargo/bin), with the standard library
# of hull's target (musl: .cargo/config.toml says why) and Debian's static libseccomp.
need_cargo() {
  command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"
  command -v cargo >/dev/null 2>&1 || { echo "hack: cargo not found" >&2; exit 1; }
  local target=x86_64-unknown-linux-musl
  if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    echo "hack: installing the Rust standard library for $target" >&2
    rustup target add "$target" >/dev/null
  fi
  need_pkgs libseccomp-dev
}

# The lints CI holds the tree to: rustfmt and clippy (installed with rustup when missing).
need_lints() {
  if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    rustup component add rustfmt clippy >/dev/null
  fi
}

# A CRIU that works on this kernel (Debian bookworm's 3.17 does not): ../shared/build-criu
# builds CRIU 4.1 from Debian's source and installs it as /usr/local/sbin/criu (idempotent).
need_criu() {
  local build=${BUILD_CRIU:-$(dirname "${BASH_SOURCE[0]}")/../../shared/build-criu}
  if criu check >/dev/null 2>&1; then return 0; fi
  [ -x "$build" ] || { echo "hack: no working criu and no $build: checkpoint tests will be skipped" >&2; return 0; }
  "$build" >/dev/null || echo "hack: build-criu failed: checkpoint tests will be skipped" >&2
}

# The bundle hack/bench measures (and hack/hot-functions traces): `run`'s default mounts and
# namespaces, a read-only busybox root, every device denied but the defaults (as `runc spec`).
bench_bundle() { # DIR ARGS_JSON CGROUP_PARENT ROOTFS [MASKED_LIST_FILE]
  mkdir -p "$1"
  # An absolute root.path: runc refuses a rootfs that is a symlink.
  python3 - "$1" "$2" "$3" "$4" "${5:-}" <<'PY'
import json, sys
d, args, cg, rootfs, masked = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
masked = open(masked).read().split() if masked else []
json.dump({
  "ociVersion": "1.0.2",
  "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": args,
              "env": ["PATH=/bin:/sbin:/usr/bin"], "cwd": "/"},
  "root": {"path": rootfs, "readonly": True},
  "hostname": "bench",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}],
  "linux": {"namespaces": [{"type": t} for t in ["pid", "network", "ipc", "uts", "mount"]],
            "maskedPaths": masked,
            # As `runc spec`: deny every device but the defaults (the rules the floor writes).
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "cgroupsPath": cg + "/" + d.rstrip("/").split("/")[-1]}
}, open(d + "/config.json", "w"))
PY
}
