//! argv without a framework: runc's flag forms (`--name value`, `--name=value`, Go's `-name`,
//! `-x`, `-xVALUE`, `-dt`, repeated flags, `--` ending them) read against one static table
//! per command, which also prints `--help`. clap built its whole command tree on every call
//! (~250 kB of heap, ~0.5 ms) before hull did any work.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt::{Display, Write};
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{anyhow, bail, Result};

/// One flag of a command (or a global one).
#[derive(Debug)]
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    /// The value's placeholder in help; `None` for a switch.
    pub value: Option<&'static str>,
    pub help: &'static str,
}

/// A flag without a value (`--detach`; Go's `--detach=false` also reads).
pub const fn switch(long: &'static str, short: Option<char>, help: &'static str) -> Flag {
    Flag {
        long,
        short,
        value: None,
        help,
    }
}

/// A flag with a value (`--bundle DIR`, `--bundle=DIR`, `-b DIR`, `-bDIR`).
pub const fn valued(
    long: &'static str,
    short: Option<char>,
    value: &'static str,
    help: &'static str,
) -> Flag {
    Flag {
        long,
        short,
        value: Some(value),
        help,
    }
}

/// A command's shape, for parsing and for `--help`.
#[derive(Debug)]
pub struct Command {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub about: &'static str,
    /// Its flag tables (own, and shared ones such as create's for `run`).
    pub flags: &'static [&'static [Flag]],
    /// The positional arguments as usage shows them, e.g. `ID [SIGNAL]`.
    pub usage: &'static str,
    /// After this many positionals, the rest of argv is taken as it is (exec's command,
    /// ps's arguments for ps(1)): the first argument that is not one of our flags starts it.
    pub rest_after: Option<usize>,
}

impl Command {
    /// A command that takes a container's ID and nothing else.
    pub const fn on_id(name: &'static str, about: &'static str) -> Command {
        Command {
            name,
            alias: None,
            about,
            flags: &[],
            usage: "ID",
            rest_after: None,
        }
    }
}

/// The arguments of a command made with [`Command::on_id`].
pub struct IdArgs {
    pub id: String,
}

impl IdArgs {
    pub fn from(m: &mut Matches) -> anyhow::Result<Self> {
        Ok(IdArgs {
            id: m.positional("ID")?,
        })
    }
}

/// How parsing ended when there is nothing to run.
#[derive(Debug)]
pub enum Stop {
    /// `--help`: the text for stdout.
    Help(String),
    /// A usage error.
    Error(String),
}

/// What argv held: flags (global and the command's, in order), positionals and the rest.
#[derive(Debug)]
pub struct Matches {
    command: &'static str,
    values: Vec<(&'static str, Option<OsString>)>,
    positionals: VecDeque<OsString>,
    rest: Vec<OsString>,
}

/// Parse `argv` (without the program name): global flags, then the command and its flags
/// (global ones still allowed), positionals, and the rest.
pub fn parse(
    argv: impl IntoIterator<Item = OsString>,
    globals: &'static [Flag],
    about: &str,
    commands: &'static [&'static Command],
) -> Result<(Option<&'static Command>, Matches), Stop> {
    let mut command: Option<&'static Command> = None;
    let mut m = Matches {
        command: "",
        values: Vec::new(),
        positionals: VecDeque::new(),
        rest: Vec::new(),
    };
    let mut argv = argv.into_iter();
    while let Some(arg) = argv.next() {
        let rest_starts = command
            .and_then(|c| c.rest_after)
            .is_some_and(|n| m.positionals.len() >= n);
        let text = arg.to_str().unwrap_or("");
        if text == "--" {
            let tail = argv.by_ref();
            if command.is_some_and(|c| c.rest_after.is_some()) {
                m.rest.extend(tail);
            } else {
                m.positionals.extend(tail);
            }
            break;
        }
        if text.len() > 1 && text.starts_with('-') {
            if text == "-h" || text == "--help" {
                return Err(Stop::Help(match command {
                    Some(c) => command_help(c),
                    None => top_help(about, globals, commands),
                }));
            }
            let tables = tables(globals, command);
            match flag(text, &tables) {
                Ok(found) => {
                    for (flag, inline) in found {
                        let value = match (flag.value, inline) {
                            (Some(_), Some(v)) => Some(OsString::from(v)),
                            (Some(_), None) => match argv.next() {
                                Some(v) => Some(v),
                                None => {
                                    return Err(Stop::Error(format!(
                                        "flag --{} needs a value",
                                        flag.long
                                    )))
                                }
                            },
                            (None, None | Some("true")) => None,
                            (None, Some("false")) => continue,
                            (None, Some(v)) => {
                                return Err(Stop::Error(format!(
                                    "flag --{} takes no value (got {v:?})",
                                    flag.long
                                )))
                            }
                        };
                        m.values.push((flag.long, value));
                    }
                    continue;
                }
                Err(_) if rest_starts => {}
                Err(e) => return Err(Stop::Error(e)),
            }
        }
        if rest_starts {
            m.rest.push(arg);
            m.rest.extend(argv.by_ref());
            break;
        }
        if command.is_none() {
            let found = commands
                .iter()
                .find(|c| text == c.name || c.alias == Some(text));
            let Some(c) = found else {
                return Err(Stop::Error(format!(
                    "unknown command {:?} (see hull --help)",
                    arg
                )));
            };
            command = Some(c);
            m.command = c.name;
            continue;
        }
        m.positionals.push_back(arg);
    }
    Ok((command, m))
}

/// The flags known at this point: the command's first (`spec --rootless` is spec's switch,
/// not the global `--rootless VALUE`), then the global ones.
fn tables<'a>(globals: &'a [Flag], command: Option<&'a Command>) -> Vec<&'a [Flag]> {
    let mut tables: Vec<&[Flag]> = command.map(|c| c.flags.to_vec()).unwrap_or_default();
    tables.push(globals);
    tables
}

/// The flag(s) `text` names, each with its `=value` if it had one: `--long[=v]`, Go's
/// `-long[=v]`, `-x`, `-xVALUE`, or switches run together (`-dt`).
fn flag<'a, 't>(
    text: &'t str,
    tables: &[&'a [Flag]],
) -> Result<Vec<(&'a Flag, Option<&'t str>)>, String> {
    let all = || tables.iter().flat_map(|t| t.iter());
    let body = text.strip_prefix("--").unwrap_or(&text[1..]);
    let (name, inline) = match body.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (body, None),
    };
    if let Some(f) = all().find(|f| f.long == name) {
        return Ok(vec![(f, inline)]);
    }
    if !text.starts_with("--") {
        let short = |c: char| all().find(|f| f.short == Some(c));
        let mut chars = body.chars();
        if let Some(first) = chars.next().and_then(short) {
            let tail = &body[1..];
            if first.value.is_some() {
                let value = tail.strip_prefix('=').unwrap_or(tail);
                return Ok(vec![(first, (!value.is_empty()).then_some(value))]);
            }
            if tail.is_empty() {
                return Ok(vec![(first, None)]);
            }
            let rest: Option<Vec<_>> = tail
                .chars()
                .map(|c| short(c).filter(|f| f.value.is_none()))
                .collect();
            if let Some(rest) = rest {
                return Ok(std::iter::once(first)
                    .chain(rest)
                    .map(|f| (f, None))
                    .collect());
            }
        }
    }
    Err(format!("unknown flag {text} (see --help)"))
}

impl Matches {
    /// Whether a switch was given (a valued flag of the same name, e.g. the global
    /// `--rootless VALUE` beside `spec --rootless`, does not count).
    pub fn flag(&self, long: &str) -> bool {
        self.values.iter().any(|(n, v)| *n == long && v.is_none())
    }

    /// Every value given for a flag, in order.
    fn all<'a>(&'a self, long: &'a str) -> impl Iterator<Item = &'a OsString> + 'a {
        self.values
            .iter()
            .filter(move |(n, _)| *n == long)
            .filter_map(|(_, v)| v.as_ref())
    }

    pub fn path(&self, long: &str) -> Option<PathBuf> {
        self.all(long).last().map(PathBuf::from)
    }

    pub fn string(&self, long: &str) -> Result<Option<String>> {
        self.all(long).last().map(|v| utf8(long, v)).transpose()
    }

    pub fn strings(&self, long: &str) -> Result<Vec<String>> {
        self.all(long).map(|v| utf8(long, v)).collect()
    }

    /// The last value of a flag, parsed.
    pub fn parse<T: FromStr>(&self, long: &str) -> Result<Option<T>>
    where
        T::Err: Display,
    {
        self.string(long)?
            .map(|v| parse_value(long, &v))
            .transpose()
    }

    /// Every value of a repeatable flag, parsed.
    pub fn parse_all<T: FromStr>(&self, long: &str) -> Result<Vec<T>>
    where
        T::Err: Display,
    {
        self.strings(long)?
            .iter()
            .map(|v| parse_value(long, v))
            .collect()
    }

    /// The next positional argument, which must be there.
    pub fn positional(&mut self, name: &str) -> Result<String> {
        let Some(v) = self.positionals.pop_front() else {
            bail!(
                "hull {}: missing {name} (see hull {} --help)",
                self.command,
                self.command
            );
        };
        utf8(name, &v)
    }

    /// The next positional argument, if there is one.
    pub fn optional(&mut self, name: &str) -> Result<Option<String>> {
        self.positionals
            .pop_front()
            .map(|v| utf8(name, &v))
            .transpose()
    }

    /// The arguments after the positionals (exec's command, ps's arguments).
    pub fn rest(&mut self) -> Result<Vec<String>> {
        std::mem::take(&mut self.rest)
            .iter()
            .map(|v| utf8("argument", v))
            .collect()
    }

    /// Fails if a positional argument was left over.
    pub fn finish(&self) -> Result<()> {
        match self.positionals.front() {
            Some(extra) => bail!("hull {}: unexpected argument {extra:?}", self.command),
            None => Ok(()),
        }
    }
}

fn utf8(what: &str, v: &OsString) -> Result<String> {
    v.to_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("{what}: {v:?} is not valid UTF-8"))
}

fn parse_value<T: FromStr>(long: &str, v: &str) -> Result<T>
where
    T::Err: Display,
{
    v.parse()
        .map_err(|e| anyhow!("invalid value {v:?} for --{long}: {e}"))
}

/// A value out of a fixed set (`--format table|json`), by its lowercase name.
pub fn one_of<T: Copy>(what: &str, v: &str, choices: &[(&str, T)]) -> Result<T, String> {
    match choices.iter().find(|(name, _)| *name == v) {
        Some((_, t)) => Ok(*t),
        None => {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            Err(format!("{what} must be one of {}", names.join(", ")))
        }
    }
}

fn flag_lines(out: &mut String, flags: &[Flag]) {
    for f in flags {
        let short = f
            .short
            .map(|c| format!("-{c}, "))
            .unwrap_or_else(|| "    ".into());
        let value = f.value.map(|v| format!(" <{v}>")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<38} {}",
            format!("{short}--{}{value}", f.long),
            f.help
        );
    }
}

fn command_help(c: &Command) -> String {
    let mut out = format!(
        "{}\n\nUsage: hull {} [OPTIONS] {}\n\nOptions:\n",
        c.about, c.name, c.usage
    );
    for table in c.flags {
        flag_lines(&mut out, table);
    }
    out.push_str(
        "  -h, --help                             Print help\n\nGlobal options: see hull --help\n",
    );
    out
}

fn top_help(about: &str, globals: &[Flag], commands: &[&Command]) -> String {
    let mut out =
        format!("{about}\n\nUsage: hull [OPTIONS] COMMAND [COMMAND OPTIONS] [ARGS]\n\nCommands:\n");
    for c in commands {
        let _ = writeln!(out, "  {:<11} {}", c.name, c.about);
    }
    out.push_str("\nOptions:\n");
    flag_lines(&mut out, globals);
    out.push_str(
        "  -h, --help                             Print help (hull COMMAND --help: its options)\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLOBALS: &[Flag] = &[valued("root", None, "DIR", ""), switch("debug", None, "")];
    const OWN: &[Flag] = &[
        switch("detach", Some('d'), ""),
        switch("tty", Some('t'), ""),
        valued("env", Some('e'), "K=V", ""),
        valued("cpu-quota", None, "N", ""),
    ];
    const RUN: Command = Command {
        name: "run",
        alias: None,
        about: "",
        flags: &[OWN],
        usage: "ID",
        rest_after: None,
    };
    const EXEC: Command = Command {
        name: "exec",
        alias: Some("x"),
        about: "",
        flags: &[OWN],
        usage: "ID CMD",
        rest_after: Some(1),
    };
    const ALL: &[&Command] = &[&RUN, &EXEC];

    fn parse_ok(args: &[&str]) -> (&'static str, Matches) {
        let (c, m) = parse(args.iter().map(OsString::from), GLOBALS, "", ALL).unwrap();
        (c.unwrap().name, m)
    }

    #[test]
    fn runc_flag_forms() {
        let (name, mut m) = parse_ok(&[
            "--root=/r",
            "run",
            "-dt",
            "-eA=1",
            "--env",
            "B=2",
            "-env=C=3",
            "--cpu-quota",
            "-1",
            "--debug",
            "id",
        ]);
        assert_eq!(name, "run");
        assert_eq!(m.path("root"), Some(PathBuf::from("/r")));
        assert!(m.flag("detach") && m.flag("tty") && m.flag("debug"));
        assert_eq!(m.strings("env").unwrap(), ["A=1", "B=2", "C=3"]);
        assert_eq!(m.parse::<i64>("cpu-quota").unwrap(), Some(-1));
        assert_eq!(m.positional("ID").unwrap(), "id");
        m.finish().unwrap();
        let (_, m) = parse_ok(&["run", "--detach=false", "--tty=true", "id"]);
        assert!(!m.flag("detach") && m.flag("tty"));
    }

    #[test]
    fn a_commands_flag_wins_over_a_global_one_of_the_same_name() {
        const G: &[Flag] = &[valued("rootless", None, "V", "")];
        const SPEC: Command = Command {
            name: "spec",
            alias: None,
            about: "",
            flags: &[&[
                switch("rootless", None, ""),
                valued("bundle", Some('b'), "D", ""),
            ]],
            usage: "",
            rest_after: None,
        };
        let (_, m) = parse(
            ["--rootless", "auto", "spec", "--rootless", "-b", "d"].map(OsString::from),
            G,
            "",
            &[&SPEC],
        )
        .unwrap();
        assert_eq!(
            m.strings("rootless").unwrap(),
            ["auto"],
            "the global one, before the command"
        );
        assert!(
            m.values
                .iter()
                .any(|(n, v)| *n == "rootless" && v.is_none()),
            "spec's switch"
        );
        assert_eq!(m.path("bundle"), Some(PathBuf::from("d")));
    }

    #[test]
    fn the_rest_is_taken_as_it_is() {
        let (name, mut m) = parse_ok(&["x", "-t", "id", "-e", "X=1", "sh", "-c", "--tty", "--"]);
        assert_eq!(name, "exec");
        assert!(m.flag("tty"));
        assert_eq!(m.positional("ID").unwrap(), "id");
        assert_eq!(m.strings("env").unwrap(), ["X=1"]);
        assert_eq!(m.rest().unwrap(), ["sh", "-c", "--tty", "--"]);
        // An unknown flag after the ID starts the rest (as `ps ID -ax` does).
        let (_, mut m) = parse_ok(&["exec", "id", "-ax", "-d"]);
        assert_eq!(m.rest().unwrap(), ["-ax", "-d"]);
        assert!(!m.flag("detach"));
        let (_, mut m) = parse_ok(&["exec", "id", "--", "-t"]);
        assert_eq!(m.rest().unwrap(), ["-t"]);
        assert!(!m.flag("tty"));
    }

    #[test]
    fn usage_errors_name_the_flag() {
        let err = |args: &[&str]| match parse(args.iter().map(OsString::from), GLOBALS, "", ALL) {
            Err(Stop::Error(e)) => e,
            other => panic!("{other:?}"),
        };
        assert!(err(&["run", "--nope", "id"]).contains("--nope"));
        assert!(err(&["run", "id", "--env"]).contains("--env needs a value"));
        assert!(err(&["run", "--detach=maybe"]).contains("--detach takes no value"));
        assert!(err(&["frobnicate"]).contains("unknown command"));
        let (_, mut m) = parse_ok(&["run"]);
        assert!(m
            .positional("ID")
            .unwrap_err()
            .to_string()
            .contains("missing ID"));
        let (_, mut m) = parse_ok(&["run", "a", "b"]);
        m.positional("ID").unwrap();
        assert!(m.finish().unwrap_err().to_string().contains("\"b\""));
        let (_, m) = parse_ok(&["run", "--cpu-quota", "lots"]);
        assert!(m
            .parse::<i64>("cpu-quota")
            .unwrap_err()
            .to_string()
            .contains("--cpu-quota"));
    }

    #[test]
    fn help_lists_the_flags() {
        match parse(["run", "--help"].map(OsString::from), GLOBALS, "", ALL) {
            Err(Stop::Help(h)) => {
                assert!(h.contains("Usage: hull run") && h.contains("-d, --detach"))
            }
            other => panic!("{other:?}"),
        }
        match parse(["-h"].map(OsString::from), GLOBALS, "about", ALL) {
            Err(Stop::Help(h)) => {
                assert!(h.contains("about") && h.contains("exec") && h.contains("--root <DIR>"))
            }
            other => panic!("{other:?}"),
        }
    }
}
