//! linux.intelRdt through the resctrl filesystem (config-linux.md, 1.3.0): the container's
//! group (its own, made and removed with it; or a `closID`'s, made when missing and schemata
//! are given, never removed), its `schemata` written when hull made the group and compared
//! when it was there, a MON group named after the container for `enableMonitoring`; the
//! parent moves init and every exec'd process in.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::unistd::Pid;

use crate::plan::{IntelRdtPlan, RdtGroup};
use crate::state::RdtRecord;

/// Where resctrl is mounted in hull's mount namespace, if it is.
pub fn mount_point() -> Option<PathBuf> {
    let text = crate::sys::read_kernel_file("/proc/self/mountinfo").ok()?;
    text.lines().find_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        let point = pre.split(' ').nth(4)?;
        (post.split(' ').next()? == "resctrl").then(|| PathBuf::from(point))
    })
}

/// Make (or check) the container's group and MON group; `note` records what will be made
/// before it is (so `delete --force` finds it after a crash).
pub fn set_up(
    plan: &IntelRdtPlan,
    id: &str,
    note: impl Fn(&RdtRecord) -> Result<()>,
) -> Result<RdtRecord> {
    let Some(root) = mount_point() else {
        bail!("linux.intelRdt: no resctrl filesystem is mounted (this host has no Intel RDT, or it is not mounted at /sys/fs/resctrl)");
    };
    set_up_in(&root, plan, id, note)
}

/// [`set_up`] under the resctrl root `root`.
pub fn set_up_in(
    root: &Path,
    plan: &IntelRdtPlan,
    id: &str,
    note: impl Fn(&RdtRecord) -> Result<()>,
) -> Result<RdtRecord> {
    let (group, field) = match &plan.group {
        RdtGroup::Default => (root.to_owned(), "linux.intelRdt.closID"),
        RdtGroup::Named(name) => (root.join(name), "linux.intelRdt.closID"),
        RdtGroup::Own(id) => (root.join(id), "linux.intelRdt"),
    };
    let exists = group.is_dir();
    let make = match (&plan.group, exists) {
        (RdtGroup::Own(_), true) => {
            bail!(
                "linux.intelRdt: the container's resctrl group {} exists already",
                group.display()
            )
        }
        (RdtGroup::Own(_), false) => true,
        (_, true) => {
            compare(&group, &plan.schemata)?;
            false
        }
        (_, false) if !plan.schemata.is_empty() => true,
        (_, false) => bail!(
            "{field}: {} does not exist (a closID without schemata names a group made beforehand)",
            group.display()
        ),
    };
    let mut record = RdtRecord {
        group: group.clone(),
        made: make,
        mon_group: plan.monitoring.then(|| group.join("mon_groups").join(id)),
    };
    note(&record)?;
    if make {
        std::fs::create_dir(&group)
            .with_context(|| format!("{field}: making {}", group.display()))?;
        if !plan.schemata.is_empty() {
            let path = group.join("schemata");
            let written = std::fs::write(&path, plan.schemata.join("\n") + "\n")
                .with_context(|| format!("linux.intelRdt: writing {}", path.display()));
            if let Err(e) = written {
                record.remove();
                return Err(e);
            }
        }
    }
    if let Some(mon) = &record.mon_group {
        if let Err(e) = std::fs::create_dir(mon) {
            let e = anyhow::Error::from(e).context(format!(
                "linux.intelRdt.enableMonitoring: making the MON group {}",
                mon.display()
            ));
            record.mon_group = None;
            record.remove();
            return Err(e);
        }
    }
    Ok(record)
}

/// A group that was there already must have the schemata the config asks for: each line's
/// values, domain by domain (the kernel pads and aligns what it prints).
fn compare(group: &Path, wanted: &[String]) -> Result<()> {
    if wanted.is_empty() {
        return Ok(());
    }
    let path = group.join("schemata");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("linux.intelRdt: reading {}", path.display()))?;
    for line in wanted {
        let (resource, domains) = parse_line(line);
        let have = text.lines().map(parse_line).find(|(r, _)| *r == resource);
        let matches = have.is_some_and(|(_, have)| {
            domains
                .iter()
                .all(|(d, v)| have.iter().any(|(hd, hv)| hd == d && hv == v))
        });
        if !matches {
            bail!(
                "linux.intelRdt: {} has schemata other than {line:?}: {}",
                group.display(),
                text.trim()
            );
        }
    }
    Ok(())
}

/// `RESOURCE:dom=value;...` as (resource, [(domain, value)]), values as numbers (hex for
/// cache bitmasks, decimal for memory bandwidth), where they parse.
fn parse_line(line: &str) -> (String, Vec<(String, String)>) {
    let (resource, rest) = line.trim().split_once(':').unwrap_or((line.trim(), ""));
    let resource = resource.trim().to_owned();
    let radix = if resource.starts_with("MB") || resource.starts_with("SMBA") {
        10
    } else {
        16
    };
    let domains = rest
        .split(';')
        .filter_map(|pair| {
            let (d, v) = pair.split_once('=')?;
            let v = v.trim();
            let v = u64::from_str_radix(v, radix).map_or(v.to_owned(), |n| n.to_string());
            Some((d.trim().to_owned(), v))
        })
        .collect();
    (resource, domains)
}

/// What resctrl says of a group (a process moves in by its pid).
pub trait Join {
    fn add(&self, pid: Pid) -> Result<()>;
    fn remove(&self);
}

impl Join for RdtRecord {
    /// Move `pid` in: into the MON group (which puts it in its group too), else the group.
    fn add(&self, pid: Pid) -> Result<()> {
        let dir = self.mon_group.as_ref().unwrap_or(&self.group);
        let tasks = dir.join("tasks");
        std::fs::write(&tasks, pid.to_string())
            .with_context(|| format!("linux.intelRdt: writing {pid} to {}", tasks.display()))
    }

    /// Remove what hull made: the MON group, and the group when it was made for this
    /// container (a closID's group is left, as config-linux.md says).
    fn remove(&self) {
        if let Some(mon) = &self.mon_group {
            let _ = std::fs::remove_dir(mon);
        }
        if self.made {
            let _ = std::fs::remove_dir(&self.group);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory standing in for resctrl's root (with the default group's
    /// schemata), removed at the end.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("hull-resctrl-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("mon_groups")).unwrap();
            std::fs::write(
                dir.join("schemata"),
                "    L3:0=7ff;1=7ff\n    MB:0=100;1=100\n",
            )
            .unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn plan(json: &str) -> IntelRdtPlan {
        IntelRdtPlan::from_spec(&serde_json::from_str(json).unwrap(), "c1").unwrap()
    }

    fn no_note(_: &RdtRecord) -> Result<()> {
        Ok(())
    }

    #[test]
    fn the_containers_own_group_is_made_written_and_removed() {
        let root = Scratch::new("own");
        // (No monitoring here: the kernel makes mon_groups in a new group, the scratch cannot.)
        let p = plan(r#"{"l3CacheSchema":"L3:0=f0;1=f","schemata":["MB:0=20;1=70"]}"#);
        let noted = std::cell::RefCell::new(None);
        let r = set_up_in(&root.0, &p, "c1", |r| {
            *noted.borrow_mut() = Some(r.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(
            noted.into_inner().as_ref(),
            Some(&r),
            "noted before it is made"
        );
        assert_eq!((r.group.clone(), r.made), (root.0.join("c1"), true));
        assert_eq!(
            std::fs::read_to_string(root.0.join("c1/schemata")).unwrap(),
            "L3:0=f0;1=f\nMB:0=20;1=70\n"
        );
        assert_eq!(r.mon_group, None);
        // resctrl's files are pseudo-files; the scratch's are real ones, in the way of rmdir.
        std::fs::remove_file(root.0.join("c1/schemata")).unwrap();
        r.remove();
        assert!(!root.0.join("c1").exists());
        // The container's own group never existing before it.
        std::fs::create_dir(root.0.join("c1")).unwrap();
        let err = set_up_in(&root.0, &plan("{}"), "c1", no_note).unwrap_err();
        assert!(format!("{err:#}").contains("exists already"), "{err:#}");
    }

    #[test]
    fn a_clos_ids_group_is_compared_joined_and_left() {
        let root = Scratch::new("named");
        std::fs::create_dir(root.0.join("gold")).unwrap();
        std::fs::write(
            root.0.join("gold/schemata"),
            "    L3:0=000f0;1=0000f\n    MB:0=  20;1=  70\n",
        )
        .unwrap();
        let same =
            plan(r#"{"closID":"gold","l3CacheSchema":"L3:0=f0;1=f","memBwSchema":"MB:0=20"}"#);
        let r = set_up_in(&root.0, &same, "c1", no_note).unwrap();
        assert_eq!((r.group.clone(), r.made), (root.0.join("gold"), false));
        r.add(Pid::from_raw(4242)).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.0.join("gold/tasks")).unwrap(),
            "4242"
        );
        r.remove();
        assert!(root.0.join("gold").exists(), "a closID's group stays");
        let other = plan(r#"{"closID":"gold","memBwSchema":"MB:0=50"}"#);
        let err = set_up_in(&root.0, &other, "c1", no_note).unwrap_err();
        assert!(
            format!("{err:#}").contains("has schemata other than"),
            "{err:#}"
        );
        // Missing: made when schemata are given, an error when not.
        let r = set_up_in(
            &root.0,
            &plan(r#"{"closID":"new","schemata":["MB:0=30"]}"#),
            "c1",
            no_note,
        )
        .unwrap();
        assert!(r.made && root.0.join("new/schemata").exists());
        let err = set_up_in(&root.0, &plan(r#"{"closID":"absent"}"#), "c1", no_note).unwrap_err();
        assert!(
            format!("{err:#}").starts_with("linux.intelRdt.closID: "),
            "{err:#}"
        );
        // "/": the default group, never made or removed.
        let r = set_up_in(
            &root.0,
            &plan(r#"{"closID":"/","enableMonitoring":true}"#),
            "c1",
            no_note,
        )
        .unwrap();
        assert_eq!((r.group.clone(), r.made), (root.0.clone(), false));
        r.add(Pid::from_raw(7)).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.0.join("mon_groups/c1/tasks")).unwrap(),
            "7"
        );
        // resctrl's tasks is a pseudo-file; the scratch's is a real one, in the way of rmdir.
        std::fs::remove_file(root.0.join("mon_groups/c1/tasks")).unwrap();
        r.remove();
        assert!(!root.0.join("mon_groups/c1").exists() && root.0.exists());
    }
}
