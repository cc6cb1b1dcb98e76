//! For the v1 and v2 driver tests: a scratch directory standing in for the cgroup
//! hierarchies (so the tests need no root and never reach /sys/fs/cgroup), and plans built
//! from config JSON the way `create` builds them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::plan::ResourcesPlan;

/// A fresh directory under the temp dir, removed when the test ends (passing or not).
pub struct Scratch {
    pub root: PathBuf,
}

impl Scratch {
    /// `test` goes into the name, with the pid and a counter: tests run side by side.
    pub fn new(test: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let root =
            std::env::temp_dir().join(format!("hull-cgtest-{}-{test}-{n}", std::process::id()));
        assert!(
            !root.starts_with("/sys"),
            "{} would be the host's cgroups",
            root.display()
        );
        std::fs::create_dir_all(&root).unwrap();
        // Whatever an earlier test on this thread wrote is not this one's.
        super::fs::take_written();
        Self { root }
    }

    /// The directory `name` below the root, made.
    pub fn dir(&self, name: &str) -> PathBuf {
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Empty `files` in `dir`: what the kernel shows in a cgroup before anything is written.
    pub fn touch(dir: &Path, files: &[&str]) {
        for f in files {
            std::fs::write(dir.join(f), "").unwrap();
        }
    }

    /// The writes this test's thread made so far, oldest first, as (path below the root,
    /// value); each one must be inside the scratch directory.
    pub fn written(&self) -> Vec<(String, String)> {
        super::fs::take_written()
            .into_iter()
            .map(|(path, value)| {
                let rel = path.strip_prefix(&self.root).unwrap_or_else(|_| {
                    panic!("{} is outside {}", path.display(), self.root.display())
                });
                (rel.to_string_lossy().into_owned(), value)
            })
            .collect()
    }

    /// The files anywhere below the root, relative to it, sorted.
    pub fn files(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    out.push(path.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out);
        out.sort();
        out
    }

    /// The content of `path` below the root.
    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root.join(path)).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The plan of a config whose `linux.resources` is `resources` (JSON).
pub fn plan(resources: &str) -> ResourcesPlan {
    let linux = serde_json::from_str(&format!(r#"{{"resources":{resources}}}"#))
        .unwrap_or_else(|e| panic!("{resources}: {e}"));
    ResourcesPlan::from_spec(&linux, "c1", false).unwrap()
}

/// `(path, value)` pairs as [`Scratch::written`] returns them, from string literals.
pub fn writes(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(p, v)| ((*p).to_owned(), (*v).to_owned()))
        .collect()
}
