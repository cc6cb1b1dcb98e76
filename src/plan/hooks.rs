//! `hooks`: the six kinds, each a list of programs to run at its point of the lifecycle.

use std::ffi::CString;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{Hook, Hooks};

#[derive(Debug, Clone, PartialEq)]
pub struct HookPlan {
    pub path: PathBuf,
    /// argv, including argv[0] (the spec's `args`; the path when `args` is empty).
    pub args: Vec<CString>,
    /// `None` without `env` in the config: the hook then gets hull's own environment, as
    /// runc's hooks get runc's.
    pub env: Option<Vec<CString>>,
    pub timeout_secs: Option<u32>,
}

/// Hooks by kind, in the order runtime.md runs them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HooksPlan {
    pub prestart: Vec<HookPlan>,
    pub create_runtime: Vec<HookPlan>,
    pub create_container: Vec<HookPlan>,
    pub start_container: Vec<HookPlan>,
    pub poststart: Vec<HookPlan>,
    pub poststop: Vec<HookPlan>,
    /// The spec object, kept in the state for `start` (poststart) and `delete` (poststop).
    pub source: Option<Hooks>,
}

impl HooksPlan {
    pub fn from_spec(hooks: &Hooks) -> Result<Self> {
        Ok(Self {
            prestart: list(hooks.prestart(), "prestart")?,
            create_runtime: list(hooks.create_runtime(), "createRuntime")?,
            create_container: list(hooks.create_container(), "createContainer")?,
            start_container: list(hooks.start_container(), "startContainer")?,
            poststart: list(hooks.poststart(), "poststart")?,
            poststop: list(hooks.poststop(), "poststop")?,
            source: Some(hooks.clone()),
        })
    }

    /// Whether init must stop before pivot_root for hooks: the parent's (prestart,
    /// createRuntime) and init's own need the state the parent sends then.
    pub fn init_needs_state(&self) -> bool {
        !(self.prestart.is_empty()
            && self.create_runtime.is_empty()
            && self.create_container.is_empty()
            && self.start_container.is_empty())
    }
}

fn list(hooks: &Option<Vec<Hook>>, kind: &str) -> Result<Vec<HookPlan>> {
    hooks
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, h)| hook(h).with_context(|| format!("hooks.{kind}[{i}]")))
        .collect()
}

fn hook(h: &Hook) -> Result<HookPlan> {
    if !h.path().is_absolute() {
        bail!("path: {} must be absolute", h.path().display());
    }
    let args = match h.args().as_deref() {
        Some(a) if !a.is_empty() => a.to_vec(),
        _ => vec![h.path().display().to_string()],
    };
    let timeout_secs = match h.timeout() {
        None => None,
        Some(t) if t > 0 => Some(u32::try_from(t).unwrap_or(u32::MAX)),
        Some(t) => bail!("timeout: {t} must be greater than zero"),
    };
    let cstr = |s: &String| CString::new(s.as_str()).context("contains a NUL byte");
    Ok(HookPlan {
        path: h.path().clone(),
        args: args.iter().map(cstr).collect::<Result<_>>()?,
        env: h
            .env()
            .as_ref()
            .map(|env| env.iter().map(cstr).collect::<Result<_>>())
            .transpose()?,
        timeout_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hooks(json: &str) -> Result<HooksPlan> {
        HooksPlan::from_spec(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn kinds_args_and_timeouts() {
        let h = hooks(
            r#"{"prestart":[{"path":"/bin/a"}],"poststop":[{"path":"/bin/b","args":["b","-x"],"env":["K=V"],"timeout":3}]}"#,
        )
        .unwrap();
        assert_eq!(h.prestart[0].args, vec![CString::new("/bin/a").unwrap()]);
        assert_eq!(h.poststop[0].args.len(), 2);
        assert_eq!(h.poststop[0].timeout_secs, Some(3));
        // Without `env`, hull's own (decided when the hook runs); with it, exactly that.
        assert_eq!(h.prestart[0].env, None);
        assert_eq!(h.poststop[0].env, Some(vec![CString::new("K=V").unwrap()]));
        assert!(h.init_needs_state());
    }

    #[test]
    fn bad_hooks_name_the_entry() {
        let err = hooks(r#"{"poststart":[{"path":"/x"},{"path":"rel"}]}"#).unwrap_err();
        assert!(format!("{err:#}").contains("hooks.poststart[1]"));
        let err = hooks(r#"{"createRuntime":[{"path":"/x","timeout":0}]}"#).unwrap_err();
        assert!(format!("{err:#}").contains("timeout"));
    }
}
