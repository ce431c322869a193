//! Defaults for every option from the environment and config files, with
//! the command line winning over `RECTIFY_*` variables, and those over
//! the config file (docs/configuration.md).
//!
//! Nothing here names an option: the options come from walking the built
//! `clap::Command`, so an option added to any command gets its variable
//! and its config key with no more code. `--forks` of `audit` is read from
//! `RECTIFY_AUDIT_FORKS`, else `RECTIFY_FORKS`, else `[audit] forks`, else
//! the top-level `forks`; what is found becomes the option's default
//! before the real parse, so clap still validates, and `--help` shows it.
//!
//! A default is never applied to an option the command line conflicts
//! with (`--local` given, `RECTIFY_INVENTORY` set): the command line wins.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, Command, CommandFactory, FromArgMatches};

use super::config_file::{self, Settings};
use super::Cli;

/// Parses the process's arguments with defaults from its environment and
/// config files. Every failure, a bad config file too, is a clap error
/// (exit 2).
pub fn parse_args() -> Result<Cli, clap::Error> {
    parse_from(std::env::args_os().collect(), &|k| std::env::var(k).ok())
}

/// [`parse_args`] with the arguments and environment given.
pub fn parse_from(args: Vec<OsString>, env: &dyn Fn(&str) -> Option<String>) -> Result<Cli, clap::Error> {
    let cmd = with_defaults(Cli::command(), &args, env)?;
    let matches = cmd.try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut Cli::command()))
}

/// Where a default came from, for messages.
struct Found {
    values: Vec<String>,
    origin: String,
}

/// `cmd` with the defaults the environment and config files give the
/// options of the command `args` select.
fn with_defaults(
    cmd: Command,
    args: &[OsString],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Command, clap::Error> {
    // A first, lenient parse tells which command runs and which options
    // the command line gives; if even that fails, the real parse says why.
    let Ok(probe) = lenient(cmd.clone()).try_get_matches_from(args) else {
        return Ok(cmd);
    };
    let mut path = Vec::new();
    let mut leaf_matches = &probe;
    while let Some((name, sub)) = leaf_matches.subcommand() {
        path.push(name.to_string());
        leaf_matches = sub;
    }
    let Some(leaf) = find(&cmd, &path) else {
        return Ok(cmd);
    };
    let explicit_config = [leaf_matches, &probe]
        .iter()
        .find_map(|m| m.try_get_one::<PathBuf>("config").ok().flatten().cloned())
        .or_else(|| env("RECTIFY_CONFIG").filter(|c| !c.is_empty()).map(PathBuf::from));
    let mut settings = Settings::default();
    for file in config_file::files(explicit_config, env) {
        settings.read(&file, &cmd).map_err(|errors| {
            let text: Vec<String> = errors.0.iter().map(|e| e.to_string()).collect();
            clap::Error::raw(ErrorKind::ValueValidation, format!("{}\n", text.join("\n")))
        })?;
    }

    let given: Vec<&Arg> = leaf
        .get_arguments()
        .filter(|a| leaf_matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine))
        .collect();
    let mut defaults = Vec::new();
    for arg in config_file::settable(leaf) {
        if given.iter().any(|g| g.get_id() == arg.get_id()) || conflicts(leaf, arg, &given) {
            continue;
        }
        let long = arg.get_long().expect("settable options have a long name");
        let Some(found) = lookup(&path, long, env, &settings) else {
            continue;
        };
        defaults.push((arg.get_id().clone(), checked(arg, &found)?));
    }
    let mut leaf = leaf.clone();
    for (id, values) in defaults {
        // A default satisfies every "required" form, as a value given on
        // the command line would (e.g. `-b` is required unless `--profile`).
        leaf = leaf.mut_arg(id, |a| {
            a.default_values(values)
                .required(false)
                .required_unless_present(clap::builder::Resettable::<clap::Id>::Reset)
        });
    }
    Ok(replace(cmd, &path, leaf))
}

/// `cmd` and its commands, not failing on missing or bad options, and
/// without `--help`/`--version` (which would end the parse early), so that
/// `rectify audit --help` shows the defaults in force.
fn lenient(cmd: Command) -> Command {
    cmd.ignore_errors(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .mut_subcommands(lenient)
}

fn find<'c>(cmd: &'c Command, path: &[String]) -> Option<&'c Command> {
    match path.split_first() {
        None => Some(cmd),
        Some((first, rest)) => find(cmd.find_subcommand(first)?, rest),
    }
}

fn replace(cmd: Command, path: &[String], leaf: Command) -> Command {
    match path.split_first() {
        None => leaf,
        Some((first, rest)) => cmd.mut_subcommand(first, |sub| replace(sub, rest, leaf)),
    }
}

/// Whether `arg` conflicts either way with an option the command line gives.
fn conflicts(cmd: &Command, arg: &Arg, given: &[&Arg]) -> bool {
    let theirs = cmd.get_arg_conflicts_with(arg);
    given.iter().any(|g| {
        theirs.iter().any(|t| t.get_id() == g.get_id())
            || cmd.get_arg_conflicts_with(g).iter().any(|t| t.get_id() == arg.get_id())
    })
}

/// The variable names for option `long` of the command at `path`, most
/// specific first: `RECTIFY_AUDIT_FORKS`, `RECTIFY_FORKS`.
pub fn env_names(path: &[String], long: &str) -> Vec<String> {
    (0..=path.len())
        .rev()
        .map(|n| {
            let mut parts: Vec<&str> = path[..n].iter().map(String::as_str).collect();
            parts.push(long);
            format!("RECTIFY_{}", parts.join("_").replace('-', "_").to_uppercase())
        })
        .collect()
}

/// The environment's value for the option, else the config files'.
fn lookup(path: &[String], long: &str, env: &dyn Fn(&str) -> Option<String>, settings: &Settings) -> Option<Found> {
    for name in env_names(path, long) {
        if let Some(value) = env(&name) {
            // A list in one variable is comma-separated, as clap's own
            // delimiter would take it.
            let values = value.split(',').map(str::to_string).collect();
            return Some(Found { values, origin: name });
        }
    }
    settings.get(path, long).map(|s| Found {
        values: s.values.clone(),
        origin: s.origin.clone(),
    })
}

/// `found`'s values as clap takes them, checked with the option's own
/// parser; an error names where the value came from.
fn checked(arg: &Arg, found: &Found) -> Result<Vec<String>, clap::Error> {
    let long = arg.get_long().expect("settable options have a long name");
    let bad = |message: String| clap::Error::raw(ErrorKind::ValueValidation, format!("{}: {message}\n", found.origin));
    let many = matches!(arg.get_action(), ArgAction::Append) || arg.get_num_args().is_some_and(|n| n.max_values() > 1);
    if found.values.len() != 1 && !many {
        return Err(bad(format!("--{long} takes one value, not {}", found.values.len())));
    }
    match arg.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse => {
            let value = &found.values[0];
            return match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(vec!["true".into()]),
                "0" | "false" | "no" | "off" | "" => Ok(vec!["false".into()]),
                _ => Err(bad(format!(
                    "--{long} is a switch: expected true or false, found {value:?}"
                ))),
            };
        }
        ArgAction::Count => {
            let value = &found.values[0];
            return match value.trim().parse::<u8>() {
                Ok(n) => Ok(vec![n.to_string()]),
                Err(_) => Err(bad(format!("--{long} is a count: expected a number, found {value:?}"))),
            };
        }
        _ => {}
    }
    // The option's own parser, in a command of its own.
    let value_name = arg
        .get_value_names()
        .and_then(|n| n.first())
        .map_or_else(|| long.to_uppercase(), |n| n.to_string());
    let probe = Command::new("rectify").no_binary_name(true).arg(
        Arg::new("value")
            .long(long.to_string())
            .value_name(value_name)
            .action(ArgAction::Append)
            .allow_hyphen_values(true)
            .value_parser(arg.get_value_parser().clone()),
    );
    let argv = found.values.iter().map(|v| format!("--{long}={v}"));
    match probe.try_get_matches_from(argv) {
        Ok(_) => Ok(found.values.clone()),
        Err(e) => {
            let text = e.to_string();
            let text: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with("For more information"))
                .collect();
            let text = text.join("\n");
            Err(bad(text.strip_prefix("error: ").unwrap_or(&text).to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::cli::Command as Sub;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Cli, clap::Error> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let args = std::iter::once("rectify")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        parse_from(args, &|k| env.get(k).cloned())
    }

    fn audit(cli: Cli) -> crate::cli::audit::AuditArgs {
        match cli.command {
            Sub::Audit(a) => a,
            other => panic!("{other:?}"),
        }
    }

    fn config(text: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path.display().to_string())
    }

    #[test]
    fn command_line_over_environment_over_config_file() {
        let (_dir, file) = config("forks = 7\ncommand-timeout = 11\nconnect-timeout = 12\n[audit]\nforks = 8\n");
        let conn = |args: &[&str], env: &[(&str, &str)]| {
            let a = audit(parse(&[&["audit", "-b", "b.yaml"], args].concat(), env).unwrap());
            (
                a.connection.forks,
                a.connection.command_timeout,
                a.connection.connect_timeout,
            )
        };
        let cfg = ("RECTIFY_CONFIG", file.as_str());
        // The file: its [audit] table over its top level.
        assert_eq!(conn(&[], &[cfg]), (8, 11, 12));
        // The environment over the file; the command's own variable first.
        assert_eq!(
            conn(&[], &[cfg, ("RECTIFY_FORKS", "5"), ("RECTIFY_COMMAND_TIMEOUT", "13")]),
            (5, 13, 12)
        );
        assert_eq!(
            conn(&[], &[cfg, ("RECTIFY_FORKS", "5"), ("RECTIFY_AUDIT_FORKS", "4")]),
            (4, 11, 12)
        );
        // The command line over both.
        assert_eq!(conn(&["--forks", "3"], &[cfg, ("RECTIFY_FORKS", "5")]), (3, 11, 12));
        // --config FILE works like RECTIFY_CONFIG.
        let a = audit(parse(&["--config", &file, "audit", "-b", "b.yaml"], &[]).unwrap());
        assert_eq!(a.connection.forks, 8);
    }

    #[test]
    fn switches_lists_and_required_options_come_from_the_environment() {
        let a = audit(
            parse(
                &["audit"],
                &[("RECTIFY_BASELINE", "a.yaml,b.yaml"), ("RECTIFY_NO_PROGRESS", "yes")],
            )
            .unwrap(),
        );
        assert_eq!(a.baselines, [PathBuf::from("a.yaml"), PathBuf::from("b.yaml")]);
        assert!(a.connection.no_progress);
        let a = audit(parse(&["audit", "-b", "c.yaml"], &[("RECTIFY_NO_PROGRESS", "0")]).unwrap());
        assert_eq!(a.baselines, [PathBuf::from("c.yaml")]);
        assert!(!a.connection.no_progress);
    }

    #[test]
    fn an_option_the_command_line_conflicts_with_is_not_defaulted() {
        let a = audit(
            parse(
                &["audit", "-b", "b.yaml", "--local"],
                &[("RECTIFY_INVENTORY", "inv.yaml")],
            )
            .unwrap(),
        );
        assert!(a.targets.local);
        assert_eq!(a.targets.inventory, None);
        let a = audit(parse(&["audit", "-b", "b.yaml"], &[("RECTIFY_INVENTORY", "inv.yaml")]).unwrap());
        assert_eq!(a.targets.inventory, Some(PathBuf::from("inv.yaml")));
    }

    #[test]
    fn bad_values_and_files_name_their_origin() {
        let e = parse(&["runs"], &[("RECTIFY_COUNT", "many")]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string()
                .contains("RECTIFY_COUNT: invalid value 'many' for '--count <N>'"),
            "{e}"
        );
        let (_dir, file) = config("# defaults\n\n[audit]\n  forks = \"lots\"\n");
        let e = parse(&["audit", "-b", "b.yaml"], &[("RECTIFY_CONFIG", &file)]).unwrap_err();
        assert!(
            e.to_string().contains(&format!("{file}:4:11: invalid value 'lots'")),
            "{e}"
        );
        let (_dir, file) = config("forks = 1\nfrosk = 2\n[audti]\nx = 1\n[audit]\ncount = 3\n");
        let e = parse(&["audit", "-b", "b.yaml"], &[("RECTIFY_CONFIG", &file)]).unwrap_err();
        let text = e.to_string();
        assert!(text.contains(&format!("{file}:2:1: unknown key `frosk`")), "{text}");
        assert!(text.contains(&format!("{file}:3:2: unknown key `audti`")), "{text}");
        assert!(
            text.contains(&format!(
                "{file}:6:1: unknown key `count`: `rectify audit` has no option --count"
            )),
            "{text}"
        );
        let (_dir, file) = config("forks = [1, 2\n");
        let e = parse(&["audit", "-b", "b.yaml"], &[("RECTIFY_CONFIG", &file)]).unwrap_err();
        assert!(e.to_string().contains(&format!("{file}:1:")), "{e}");
        let e = parse(
            &["audit", "-b", "b.yaml"],
            &[("RECTIFY_CONFIG", "/nonexistent/rectify.toml")],
        )
        .unwrap_err();
        assert!(e.to_string().contains("cannot read config file"), "{e}");
    }

    #[test]
    fn the_users_file_wins_over_the_system_file() {
        let cmd = Cli::command();
        let (_a, system) = config("forks = 7\nconnect-timeout = 9\n");
        let (_b, user) = config("forks = 3\n");
        let mut settings = Settings::default();
        settings.read(std::path::Path::new(&system), &cmd).unwrap();
        settings.read(std::path::Path::new(&user), &cmd).unwrap();
        let path = ["audit".to_string()];
        assert_eq!(settings.get(&path, "forks").unwrap().values, ["3"]);
        assert_eq!(settings.get(&path, "connect-timeout").unwrap().values, ["9"]);
        // Without RECTIFY_CONFIG: the system file, then the user's.
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".config/rectify")).unwrap();
        std::fs::write(home.path().join(".config/rectify/config.toml"), "").unwrap();
        let env = |k: &str| (k == "HOME").then(|| home.path().display().to_string());
        let files = config_file::files(None, &env);
        assert_eq!(files.last().unwrap(), &home.path().join(".config/rectify/config.toml"));
    }

    #[test]
    fn help_shows_the_defaults_in_force() {
        let e = parse(&["audit", "-h"], &[("RECTIFY_FORKS", "7")]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DisplayHelp);
        assert!(
            e.to_string().contains("Hosts worked on in parallel [default: 7]"),
            "{e}"
        );
    }

    #[test]
    fn variable_names_follow_the_command_path() {
        assert_eq!(
            env_names(&["audit".into()], "host-key-policy"),
            ["RECTIFY_AUDIT_HOST_KEY_POLICY", "RECTIFY_HOST_KEY_POLICY"]
        );
    }
}
