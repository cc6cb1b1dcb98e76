//! `ROOT/ID/`: created 0700, locked with flock against concurrent commands on the same ID.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::fcntl::{Flock, FlockArg};

use super::{id, Record};

const RECORD: &str = "state.json";
const FIFO: &str = "exec.fifo";
const CGROUP_NOTE: &str = "cgroup.json";
const RDT_NOTE: &str = "intel-rdt.json";
const CREATE_NOTE: &str = "create.json";

/// What `create` notes, beyond the cgroup, before it writes the record, for `delete --force`
/// to clean after a crash (or a record gone bad): only what the cgroup note does not cover.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CreateNote {
    /// Init's pid and start time (clock ticks since boot), when no cgroup holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<(i32, u64)>,
    /// The rootfs, when the container's mounts are made in hull's mount namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_mounts_under: Option<PathBuf>,
}

/// An open, locked container state directory. The lock lives as long as this value.
pub struct StateDir {
    path: PathBuf,
    id: String,
    lock: Flock<File>,
}

impl StateDir {
    /// Make `ROOT/ID` for a new container; fails if the ID is taken.
    pub fn create(root: &Path, id: &str) -> Result<Self> {
        id::validate(id)?;
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .with_context(|| format!("creating state root {}", root.display()))?;
        let path = root.join(id);
        match DirBuilder::new().mode(0o700).create(&path) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                bail!("container with id {id:?} already exists")
            }
            r => r.with_context(|| format!("creating state dir {}", path.display()))?,
        }
        Self::lock(path, id)
    }

    /// Open and lock the state dir of an existing container.
    pub fn open(root: &Path, id: &str) -> Result<Self> {
        id::validate(id)?;
        let path = root.join(id);
        let dir = Self::lock(path, id)?;
        // A concurrent `delete` may have removed it while we waited for the lock.
        if !dir.path.exists() {
            bail!("container {id:?} does not exist");
        }
        Ok(dir)
    }

    fn lock(path: PathBuf, id: &str) -> Result<Self> {
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&path)
        {
            Err(e) if e.kind() == ErrorKind::NotFound => bail!("container {id:?} does not exist"),
            r => r.with_context(|| format!("opening state dir {}", path.display()))?,
        };
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| e)
            .with_context(|| format!("locking state dir {}", path.display()))?;
        Ok(Self {
            path,
            id: id.to_owned(),
            lock,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The fd of the lock, which a forked init must close so it does not hold the lock.
    pub fn lock_fd(&self) -> i32 {
        self.lock.as_raw_fd()
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.path.join(FIFO)
    }

    /// The record, or `None` while `create` has not written it yet.
    pub fn load(&self) -> Result<Option<Record>> {
        load_record(&self.path)
    }

    /// Write the record atomically (temp file + rename), 0600.
    pub fn save(&self, record: &Record) -> Result<()> {
        let tmp = self.path.join(".state.json.tmp");
        let json = serde_json::to_vec(record)?;
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        // No fsync: the state lives on a tmpfs (/run) and dies with the machine anyway; the
        // rename alone keeps readers from ever seeing a half-written file.
        f.write_all(&json)
            .with_context(|| format!("writing {}", tmp.display()))?;
        fs::rename(&tmp, self.path.join(RECORD))
            .with_context(|| format!("renaming {} into place", tmp.display()))
    }

    /// Note the container's cgroup as soon as it exists, so `delete --force` can remove it
    /// even if `create` dies before writing the record.
    pub fn save_cgroup(&self, cgroup: &super::CgroupRecord) -> Result<()> {
        let path = self.path.join(CGROUP_NOTE);
        std::fs::write(&path, serde_json::to_vec(cgroup)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    pub fn save_note(&self, note: &CreateNote) -> Result<()> {
        let path = self.path.join(CREATE_NOTE);
        std::fs::write(&path, serde_json::to_vec(note)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    pub fn load_note(&self) -> CreateNote {
        std::fs::read(self.path.join(CREATE_NOTE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Note the container's resctrl group before it is made (as [`StateDir::save_cgroup`]).
    pub fn save_rdt(&self, rdt: &super::RdtRecord) -> Result<()> {
        let path = self.path.join(RDT_NOTE);
        std::fs::write(&path, serde_json::to_vec(rdt)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    pub fn load_rdt(&self) -> Option<super::RdtRecord> {
        serde_json::from_slice(&std::fs::read(self.path.join(RDT_NOTE)).ok()?).ok()
    }

    pub fn load_cgroup(&self) -> Option<super::CgroupRecord> {
        serde_json::from_slice(&std::fs::read(self.path.join(CGROUP_NOTE)).ok()?).ok()
    }

    /// Remove the whole state dir (the lock goes with it).
    pub fn remove(self) -> Result<()> {
        fs::remove_dir_all(&self.path)
            .with_context(|| format!("removing state dir {}", self.path.display()))
    }
}

/// Read `DIR/state.json` without taking the lock: writes are atomic renames, so readers
/// (`state`, `list`) see either the old or the new record.
pub fn load_record(dir: &Path) -> Result<Option<Record>> {
    let path = dir.join(RECORD);
    match fs::read(&path) {
        Ok(bytes) => {
            let record: Record = serde_json::from_slice(&bytes)
                .with_context(|| format!("parsing {}", path.display()))?;
            if record.state_version > super::record::STATE_VERSION {
                anyhow::bail!(
                    "{}: written by a newer hull (state version {}; this one reads up to {})",
                    path.display(),
                    record.state_version,
                    super::record::STATE_VERSION
                );
            }
            Ok(Some(record))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The IDs of all containers under `root`, sorted.
pub fn list_ids(root: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(root) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        r => r.with_context(|| format!("reading state root {}", root.display()))?,
    };
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|id| id::validate(id).is_ok())
        .collect();
    ids.sort();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record of a newer layout is refused by name; an old one (no version) still reads.
    #[test]
    fn records_of_a_newer_layout_are_refused() {
        let dir = std::env::temp_dir().join(format!("hull-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = r#""ociVersion":"1.2.1","id":"t","pid":1,"initStartTime":1,"bundle":"/b","rootfs":"/b/r","created":"","owner":"root""#;
        std::fs::write(dir.join(RECORD), format!("{{{base}}}")).unwrap();
        assert_eq!(load_record(&dir).unwrap().unwrap().state_version, 0);
        std::fs::write(dir.join(RECORD), format!(r#"{{"stateVersion":99,{base}}}"#)).unwrap();
        let err = format!("{:#}", load_record(&dir).unwrap_err());
        assert!(err.contains("newer hull") && err.contains("99"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
