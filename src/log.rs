//! hull's log: `--log FILE --log-format text|json` and `--debug` (the error line containerd
//! shows its user is the last `{"level":"error","msg":…,"time":…}` line of the log file).
//! Knows nothing of the command line. A forked child (init, an exec'd process) does not
//! write the file itself (after pivot_root its path is gone): it forwards each line to the
//! parent, which writes it (see [`forward_with`]).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use crate::state::time;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("{s:?} is not a log format (text or json)")),
        }
    }
}

struct Config {
    file: Option<PathBuf>,
    format: LogFormat,
    debug: bool,
}

static CONFIG: OnceLock<Config> = OnceLock::new();

/// Where a forked child's lines go instead of the file or stderr: (level, message).
type Forward = fn(level: &str, msg: &str);

/// In a forked child: its [`Forward`].
static FORWARD: Mutex<Option<Forward>> = Mutex::new(None);

/// In a forked child: hand every line to `forward` (which sends it to the parent). hull is
/// single-threaded at the fork, so the lock is free in the child.
pub fn forward_with(forward: Forward) {
    if let Ok(mut f) = FORWARD.lock() {
        *f = Some(forward);
    }
}

fn forwarder() -> Option<fn(&str, &str)> {
    FORWARD.lock().ok().and_then(|f| *f)
}

/// In the parent: a line a child forwarded, written as if logged here.
pub fn from_child(level: &str, msg: &str) {
    match level {
        "error" => error(msg),
        "warning" => warn(msg),
        _ => {
            if debug_enabled() {
                write(level, msg, true)
            }
        }
    }
}

pub fn init(file: Option<PathBuf>, format: LogFormat, debug: bool) {
    let _ = CONFIG.set(Config {
        file,
        format,
        debug,
    });
}

pub fn debug_enabled() -> bool {
    CONFIG.get().is_some_and(|c| c.debug)
}

/// A debug line: to the log file, or stderr without one; only with `--debug`.
pub fn debug(msg: &str) {
    if debug_enabled() {
        write("debug", msg, true);
    }
}

/// A warning (e.g. a failed poststart hook): stderr and the log file, the command goes on.
pub fn warn(msg: &str) {
    if let Some(forward) = forwarder() {
        return forward("warning", msg);
    }
    eprintln!("hull: warning: {msg}");
    write("warning", msg, false);
}

/// An error: always one line on stderr, and a line in the log file if any. On a terminal it
/// is `hull: msg`; for a program (stderr not a terminal) the bare message, as runc prints it:
/// podman shows `Error: hull: <stderr>` and would say "hull:" twice.
pub fn error(msg: &str) {
    if let Some(forward) = forwarder() {
        return forward("error", msg);
    }
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!("hull: {msg}");
    } else {
        eprintln!("{msg}");
    }
    write("error", msg, false);
}

fn write(level: &str, msg: &str, stderr_fallback: bool) {
    if let Some(forward) = forwarder() {
        return forward(level, msg);
    }
    let Some(cfg) = CONFIG.get() else { return };
    let line = format_line(cfg.format, level, msg, &time::now_rfc3339());
    match &cfg.file {
        Some(path) => {
            if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
                let _ = f.write_all(line.as_bytes());
            }
        }
        None if stderr_fallback => eprint!("{line}"),
        None => {}
    }
}

fn format_line(format: LogFormat, level: &str, msg: &str, time: &str) -> String {
    match format {
        LogFormat::Json => {
            let obj = serde_json::json!({ "level": level, "msg": msg, "time": time });
            format!("{obj}\n")
        }
        LogFormat::Text => format!("time={time:?} level={level} msg={msg:?}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_one_object_each() {
        let l = format_line(LogFormat::Json, "error", "bad \"x\"\nnext", "T");
        assert_eq!(l.matches('\n').count(), 1);
        let v: serde_json::Value = serde_json::from_str(l.trim_end()).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "bad \"x\"\nnext");
        assert_eq!(v["time"], "T");
    }

    #[test]
    fn text_lines_quote_the_message() {
        assert_eq!(
            format_line(LogFormat::Text, "debug", "a b", "T"),
            "time=\"T\" level=debug msg=\"a b\"\n"
        );
    }
}
