//! `--log FILE --log-format text|json` and `--debug`: the error line containerd shows its user
//! is the last `{"level":"error","msg":…,"time":…}` line of the log file.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::state::time;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        super::args::one_of(
            "the log format",
            s,
            &[("text", LogFormat::Text), ("json", LogFormat::Json)],
        )
    }
}

struct Config {
    file: Option<PathBuf>,
    format: LogFormat,
    debug: bool,
}

static CONFIG: OnceLock<Config> = OnceLock::new();

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
    eprintln!("hull: warning: {msg}");
    write("warning", msg, false);
}

/// An error: always one line on stderr, and a line in the log file if any. On a terminal it
/// is `hull: msg`; for a program (stderr not a terminal) the bare message, as runc prints it:
/// podman shows `Error: hull: <stderr>` and would say "hull:" twice.
pub fn error(msg: &str) {
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!("hull: {msg}");
    } else {
        eprintln!("{msg}");
    }
    write("error", msg, false);
}

fn write(level: &str, msg: &str, stderr_fallback: bool) {
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
