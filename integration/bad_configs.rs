//! The corpus in `testdata/bad-configs/`: each config is wrong in one way; `create` must exit
//! 1 within a second with a message naming the field, and leave nothing behind.

use std::time::{Duration, Instant};

use crate::common::*;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/integration/testdata/bad-configs"
);

#[test]
fn every_bad_config_is_refused_by_name_and_leaves_nothing() {
    let env = Env::new("badcfg");
    let expect = std::fs::read_to_string(format!("{CORPUS}/EXPECT")).unwrap();
    let mut checked = 0;
    for line in expect
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (file, needle) = line.split_once('\t').unwrap();
        let name = file.trim_end_matches(".json");
        let id = env.id(name);
        let bundle = env.base.join(&id);
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::copy(format!("{CORPUS}/{file}"), bundle.join("config.json")).unwrap();
        std::os::unix::fs::symlink(rootfs(), bundle.join("rootfs")).unwrap();
        let started = Instant::now();
        let out = env.hull(&["create", "--bundle", bundle.to_str().unwrap(), &id]);
        let took = started.elapsed();
        assert_eq!(out.status.code(), Some(1), "{file}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            !err.starts_with("hull: ") && err.lines().count() == 1,
            "{file}: one bare line: {err}"
        );
        assert!(
            err.contains(needle),
            "{file}: expected {needle:?} in: {err}"
        );
        assert!(took < Duration::from_secs(1), "{file}: took {took:?}");
        assert!(!env.state_dir(&id).exists(), "{file}: state dir left");
        assert!(
            !std::path::Path::new("/sys/fs/cgroup/memory/hull")
                .join(&id)
                .exists(),
            "{file}: cgroup left"
        );
        checked += 1;
    }
    assert!(checked >= 40, "the corpus has {checked} cases");
    assert!(!mount_with(&env.base.display().to_string()));
}
