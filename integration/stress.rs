//! Parallel load: many containers created, started, run and deleted by concurrent callers,
//! with `state`/`list`/`kill` racing them. Every command succeeds or fails with one clear
//! line; `state` output always parses; nothing is left behind. `hack/stress` runs it bigger.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::common::*;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn concurrent_callers_and_racing_observers() {
    let callers = env_usize("HULL_STRESS_CALLERS", 10);
    let per_caller = env_usize("HULL_STRESS_CONTAINERS", 10);
    let env = Arc::new(Env::new("stress"));
    let done = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..callers)
        .map(|c| {
            let (env, done) = (env.clone(), done.clone());
            std::thread::spawn(move || {
                for n in 0..per_caller {
                    let id = env.id(&format!("c{c}-{n}"));
                    // Its own bundle, hence its own cgroup (/hull-test/<id>).
                    let bundle = env.bundle(&id, &config(&["sh", "-c", "sleep 0.05"]));
                    let out = env.hull(&["run", "--bundle", bundle.to_str().unwrap(), &id]);
                    assert_eq!(out.status.code(), Some(0), "{id}: {}", stderr(&out));
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    // Observers: state/list/kill on IDs that are coming and going.
    let observers: Vec<_> = (0..3)
        .map(|o| {
            let env = env.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut rounds = 0;
                while done.load(Ordering::SeqCst) < callers * per_caller {
                    let id = env.id(&format!(
                        "c{}-{}",
                        rounds % callers,
                        (rounds / callers) % per_caller
                    ));
                    let out = match o {
                        0 => env.hull(&["state", &id]),
                        1 => env.hull(&["list", "--format", "json"]),
                        _ => env.hull(&["kill", &id, "SIGWINCH"]),
                    };
                    if out.status.success() {
                        let parsed: Result<serde_json::Value, _> =
                            serde_json::from_slice(&out.stdout);
                        assert!(o == 2 || parsed.is_ok(), "corrupt output: {}", stdout(&out));
                    } else {
                        let err = stderr(&out);
                        assert_eq!(out.status.code(), Some(1));
                        assert!(
                            !err.starts_with("hull: ") && err.lines().count() == 1,
                            "unclear error: {err:?}"
                        );
                    }
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    workers.into_iter().for_each(|w| w.join().unwrap());
    let rounds: usize = observers.into_iter().map(|o| o.join().unwrap()).sum();
    assert!(rounds > 0);
    assert_eq!(
        std::fs::read_dir(&env.root).map(|d| d.count()).unwrap_or(0),
        0,
        "state dirs left"
    );
    assert!(
        !std::fs::read_dir(format!("/sys/fs/cgroup/pids{CGROUP_BASE}"))
            .map(|d| d
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("stress")))
            .unwrap_or(false)
    );
}
