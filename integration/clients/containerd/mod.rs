//! containerd with its runc shim (containerd-shim-runc-v2, the path CRI and so Kubernetes
//! take) calling hull as the runc binary (the shim's `BinaryName` option, which `ctr
//! --runc-binary` sets). A private daemon: root, state and sockets in the test's directory,
//! no CRI plugin (so no CNI), cgroups under the tests' base cgroup.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use super::{have, remove_cgroup_tree, run, run_tty, tty_command, unmount_under, IMAGE};
use crate::common::*;

mod cri;
mod ctr;

/// The CRI sandbox ("pause") image: the same busybox, sleeping.
const PAUSE: &str = "localhost/hull-pause:latest";

struct Containerd {
    env: Env,
    dir: PathBuf,
    daemon: Child,
    cgroup_base: String,
    /// containerd's namespace for ctr ("default") or CRI ("k8s.io").
    namespace: &'static str,
}

impl Containerd {
    fn new(name: &str) -> Option<Containerd> {
        Self::start(name, false)
    }

    /// With the CRI plugin (the path Kubernetes takes): a runtime handler "hull" of type
    /// io.containerd.runc.v2 whose BinaryName is hull, as README's recipe. Pods use the host
    /// network (no CNI). Root lacks CAP_SYS_RESOURCE here, so containerd is told not to ask
    /// for an oom_score_adj below its own (restrict_oom_score_adj; -998 for the sandbox
    /// would fail with EACCES, for runc too).
    fn with_cri(name: &str) -> Option<Containerd> {
        if !std::path::Path::new("/usr/bin/python3").exists()
            || !Command::new("/usr/bin/python3")
                .args(["-c", "import grpc, grpc_tools"])
                .status()
                .is_ok_and(|s| s.success())
        {
            eprintln!("SKIPPED: /usr/bin/python3 with grpcio and grpc_tools is missing (hack/test installs python3-grpcio python3-grpc-tools)");
            return None;
        }
        Self::start(name, true)
    }

    fn start(name: &str, cri: bool) -> Option<Containerd> {
        if !have("containerd") || !have("ctr") || !have("containerd-shim-runc-v2") {
            return None;
        }
        let env = Env::new(name);
        let dir = env.base.join("containerd");
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        let plugins = if cri {
            for sub in ["cni-bin", "cni-conf", "logs"] {
                std::fs::create_dir_all(dir.join(sub)).unwrap();
            }
            format!(
                "[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"localhost/hull-pause:latest\"\n  restrict_oom_score_adj = true\n\
                 [plugins.\"io.containerd.grpc.v1.cri\".cni]\n  bin_dir = \"{d}/cni-bin\"\n  conf_dir = \"{d}/cni-conf\"\n\
                 [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  default_runtime_name = \"hull\"\n\
                 [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.hull]\n  runtime_type = \"io.containerd.runc.v2\"\n\
                 [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.hull.options]\n  BinaryName = \"{HULL}\"\n  Root = \"{d}/hull-root\"\n  SystemdCgroup = false\n"
            )
        } else {
            "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n".to_owned()
        };
        std::fs::write(
            dir.join("config.toml"),
            format!(
                "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n[grpc]\n  address = \"{d}/c.sock\"\n[ttrpc]\n  address = \"{d}/c.sock.ttrpc\"\n{plugins}"
            ),
        )
        .unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdout(std::fs::File::create(dir.join("containerd.log")).unwrap())
            .stderr(std::fs::File::create(dir.join("containerd.err")).unwrap())
            .spawn()
            .unwrap();
        let namespace = if cri { "k8s.io" } else { "default" };
        let c = Containerd {
            env,
            dir,
            daemon,
            cgroup_base: format!("{CGROUP_BASE}/ctr-{}-{name}", std::process::id()),
            namespace,
        };
        poll_until(200, 50, || c.ctr(&["version"]).status.success());
        let images: &[(&str, &[&str])] = if cri {
            &[(IMAGE, &["sh"]), (PAUSE, &["sleep", "1000000"])]
        } else {
            &[(IMAGE, &["sh"])]
        };
        for (name, cmd) in images {
            let tar = docker_archive(&c.dir, name, cmd);
            let out = c.ctr(&["image", "import", tar.to_str().unwrap()]);
            assert!(out.status.success(), "ctr image import: {}", stderr(&out));
        }
        Some(c)
    }

    fn ctr(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("timeout");
        cmd.args(["-k", "5", "60", "ctr", "--address"])
            .arg(self.dir.join("c.sock"))
            .args(["--namespace", self.namespace])
            .args(args);
        run(&self.dir, &mut cmd)
    }

    /// `ctr run` through the shim with hull as its runc binary, in a cgroup of the test.
    fn run(&self, opts: &[&str], id: &str, cmd: &[&str]) -> Output {
        let cgroup = format!("{}/{id}", self.cgroup_base);
        let root = self.runc_root();
        let mut args = vec![
            "run",
            "--runc-binary",
            HULL,
            "--runc-root",
            &root,
            "--cgroup",
            &cgroup,
        ];
        args.extend_from_slice(opts);
        args.extend([IMAGE, id]);
        args.extend_from_slice(cmd);
        self.ctr(&args)
    }

    fn run_ok(&self, opts: &[&str], id: &str, cmd: &[&str]) -> String {
        let mut all = vec!["--rm"];
        all.extend_from_slice(opts);
        let out = self.run(&all, id, cmd);
        assert!(
            out.status.success(),
            "ctr run {opts:?} {cmd:?}: {}",
            stderr(&out)
        );
        stdout(&out)
    }

    /// The shim's `--root` for hull (private, instead of /run/containerd/runc).
    fn runc_root(&self) -> String {
        self.dir.join("hull-root").display().to_string()
    }

    fn status(&self, id: &str) -> String {
        let out = stdout(&self.ctr(&["task", "ls"]));
        out.lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or("")
            .to_owned()
    }

    /// Kill, wait for the shim to report the exit, delete task and container.
    fn remove(&self, id: &str) {
        let _ = self.ctr(&["task", "kill", "-s", "KILL", id]);
        poll_until(100, 20, || {
            !["RUNNING", "PAUSED"].contains(&self.status(id).as_str())
        });
        let _ = self.ctr(&["task", "rm", id]);
        let _ = self.ctr(&["container", "rm", id]);
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let ids = stdout(&self.ctr(&["container", "ls", "-q"]));
        for id in ids.lines() {
            self.remove(id);
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        unmount_under(&self.dir);
        remove_cgroup_tree(&self.cgroup_base);
        let _ = &self.env;
    }
}

/// A `docker save`-style archive of the test rootfs as image `name` with command `cmd`,
/// which `ctr image import` takes.
fn docker_archive(dir: &Path, name: &str, cmd: &[&str]) -> PathBuf {
    let img = dir.join(format!("image-{}", name.replace(['/', ':'], "_")));
    std::fs::create_dir_all(&img).unwrap();
    let layer = super::busybox_tar(&img);
    std::fs::rename(&layer, img.join("layer.tar")).unwrap();
    let digest = Command::new("sha256sum")
        .arg(img.join("layer.tar"))
        .output()
        .unwrap();
    let digest = String::from_utf8_lossy(&digest.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let config = serde_json::json!({"architecture": "amd64", "os": "linux",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin:/sbin:/usr/bin:/usr/sbin"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{digest}")]}});
    std::fs::write(img.join("config.json"), config.to_string()).unwrap();
    let manifest =
        serde_json::json!([{"Config": "config.json", "RepoTags": [name], "Layers": ["layer.tar"]}]);
    std::fs::write(img.join("manifest.json"), manifest.to_string()).unwrap();
    let tar = img.with_extension("tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&img)
        .arg("-cf")
        .arg(&tar)
        .args(["config.json", "manifest.json", "layer.tar"])
        .status()
        .unwrap();
    assert!(st.success());
    tar
}
