//! sshd settings as the daemon has them, beyond the text of the files:
//! the value of a key set nowhere (the compiled-in default of the host's
//! OpenSSH release, `conftext::sshd_defaults`), algorithm lists edited
//! with `+`/`-`/`^` (`conftext::sshd_values`), `MaxStartups` as a triple,
//! and `source: daemon`, which asks the host's own `sshd -T [-C …]`.

use super::expect::{compare, ValueSemantics};
use super::{expect_or_exists, EvalError, Verdict};
use crate::baseline::{DefaultPolicy, Expect};
use crate::collect::facts::sshd_config::ConfigFiles;
use crate::collect::facts::sshd_daemon::{self, decode_dump, dump_value, Dump, DumpAnswer, Version};
use crate::collect::{Probe, ProbeOutput, Probes};
use crate::conftext::include::{self, BlockValue, Located};
use crate::conftext::sshd_defaults::{self, Defaults, Release};
use crate::conftext::sshd_keywords::canonical;
use crate::conftext::sshd_match::Connection;
use crate::conftext::sshd_values::{is_algorithm_list, max_startups, resolve_list};
use crate::report::RuleStatus;
use crate::template::{Renderer, Vars};

/// What a rule on an sshd configuration needs besides the files: the
/// host's sshd version (for its defaults), and with `source: daemon` its
/// `sshd -T` for the rule's connection.
pub(super) fn extra_probes(file: &str, connection: Option<&Connection>, daemon: bool) -> Vec<Probe> {
    let mut probes = vec![Probe::from(Version)];
    if daemon {
        probes.push(dump_probe(file, connection));
    }
    probes
}

fn dump_probe(file: &str, connection: Option<&Connection>) -> Probe {
    Dump {
        path: file.to_string(),
        spec: connection.map(spec),
    }
    .into()
}

/// `-C`'s argument for a connection: `user=…,host=…,addr=…` and the
/// optional fields that are set.
pub(super) fn spec(conn: &Connection) -> String {
    let mut fields = Vec::new();
    let mut put = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            fields.push(format!("{name}={v}"));
        }
    };
    put("user", conn.user.clone());
    put("host", conn.host.clone());
    put("addr", conn.addr.map(|a| a.to_string()));
    put("laddr", conn.laddr.map(|a| a.to_string()));
    put("lport", conn.lport.map(|p| p.to_string()));
    put("rdomain", conn.rdomain.clone());
    fields.join(",")
}

/// The table of defaults for the host, from its `sshd -V` answer.
pub(super) fn defaults(probes: &Probes, outputs: &[ProbeOutput]) -> Defaults {
    let line = probes
        .get(&Probe::from(Version))
        .and_then(|i| outputs.get(i))
        .and_then(|o| sshd_daemon::decode_version(o).ok().flatten());
    sshd_defaults::for_release(line.as_deref().and_then(Release::parse))
}

/// The keyword as `sshd -T` prints it.
fn keyword(key: &str) -> String {
    canonical(key.trim()).to_ascii_lowercase()
}

/// How a key's values compare.
pub(super) fn semantics(key: &str) -> ValueSemantics {
    if keyword(key) == "maxstartups" {
        ValueSemantics::MaxStartups
    } else {
        ValueSemantics::Sshd
    }
}

/// A value as sshd uses it.
#[derive(Debug, Clone)]
pub(super) struct Value {
    pub text: String,
    /// The compiled-in default: no line sets the key.
    pub default: bool,
    /// How it was computed, when that is not the text of a line.
    pub note: Option<String>,
}

fn release_note(defaults: &Defaults) -> String {
    match defaults.assumed {
        None => format!("OpenSSH {}", defaults.table.release),
        Some(why) => format!("OpenSSH {} (assumed: {why})", defaults.table.release),
    }
}

/// The value sshd uses for `key` given the occurrence the files give
/// (`None`: set nowhere, so the release's default where the table has it).
pub(super) fn value(key: &str, found: Option<&Located>, defaults: &Defaults) -> Result<Option<Value>, EvalError> {
    let kw = keyword(key);
    let Some(at) = found else {
        return Ok(defaults.table.get(&kw).map(|d| Value {
            text: d.to_string(),
            default: true,
            note: Some(format!("set nowhere: the default of {}", release_note(defaults))),
        }));
    };
    if kw == "maxstartups" {
        // As sshd -T prints it: `10` is `10:30:10`.
        let text = max_startups(&at.value).map_or_else(|| at.value.clone(), |t| format!("{}:{}:{}", t[0], t[1], t[2]));
        return Ok(Some(Value {
            text,
            default: false,
            note: None,
        }));
    }
    if !is_algorithm_list(&kw) {
        return Ok(Some(Value {
            text: at.value.clone(),
            default: false,
            note: None,
        }));
    }
    let text = resolve_list(&at.value, defaults.table.get(&kw)).map_err(|error| EvalError::SshdList {
        key: key.to_string(),
        at: format!("{}:{}", at.file, at.line + 1),
        error,
    })?;
    let edited = at.value.trim_start().starts_with(['+', '-', '^']);
    Ok(Some(Value {
        text,
        default: false,
        note: edited.then(|| {
            format!(
                "{key} {} at {}:{} edits the default list of {}",
                at.value,
                at.file,
                at.line + 1,
                release_note(defaults)
            )
        }),
    }))
}

fn add_message(v: &mut Verdict, text: String) {
    v.message = Some(match v.message.take() {
        Some(m) => format!("{m}; {text}"),
        None => text,
    });
}

/// Sets what the verdict shows for the value, and applies `default:`.
pub(super) fn show(v: &mut Verdict, main: &str, found: Option<&Located>, value: Option<&Value>, policy: DefaultPolicy) {
    let Some(value) = value else { return };
    if value.default {
        v.actual = Some(format!("{} (default)", value.text));
        v.actual_default = true;
        if policy == DefaultPolicy::Fails {
            v.status = RuleStatus::Fail;
            add_message(
                v,
                "no line sets it, and `default: fails` does not count sshd's default".into(),
            );
        }
    } else if let Some(at) = found {
        let shown = Located {
            value: value.text.clone(),
            ..at.clone()
        };
        v.actual = Some(shown.describe(main));
    }
    if let Some(note) = &value.note {
        add_message(v, note.clone());
    }
}

/// Judges each conditional `Match` block that sets the key: any with a
/// wrong value fails the rule, named with its file, line and criteria.
pub(super) fn judge_blocks(
    v: &mut Verdict,
    key: &str,
    expect: &Expect,
    blocks: &[BlockValue],
    defaults: &Defaults,
    vars: &Vars,
    renderer: &Renderer,
) -> Result<(), EvalError> {
    let mut wrong = Vec::new();
    for block in blocks {
        let value = value(key, Some(&block.value), defaults)?.map(|v| v.text);
        let c = compare(expect, value.as_deref(), renderer, vars, semantics(key))?;
        if !c.pass {
            let mut shown = block.clone();
            if let Some(text) = value {
                shown.value.value = text;
            }
            wrong.push(shown.describe());
        }
    }
    if !wrong.is_empty() {
        v.status = RuleStatus::Fail;
        let global = v.actual.take().unwrap_or_else(|| "(not set)".to_string());
        v.actual = Some(format!("{global}; {}", wrong.join("; ")));
        add_message(
            v,
            format!(
                "{} Match block(s) give connections another value: {}",
                wrong.len(),
                wrong.join("; ")
            ),
        );
    }
    Ok(())
}

/// The parts of a `setting` rule with `source: daemon`.
pub(super) struct DaemonRule<'a> {
    pub file: &'a str,
    pub key: &'a str,
    pub expect: &'a Expect,
    pub connection: Option<&'a Connection>,
    pub policy: DefaultPolicy,
}

/// `source: daemon`: the value the host's own `sshd -T` (with `-C` for the
/// rule's `match:`) prints; without `match:`, also each conditional
/// `Match` block that sets the key, as the files give it (`sshd -T` alone
/// shows only what a connection matching no conditional block gets). A
/// missing sshd or a refusing one is an error with sshd's own words,
/// never a fallback to the files.
pub(super) fn daemon(
    rule: &DaemonRule<'_>,
    probes: &Probes,
    outputs: &[ProbeOutput],
    files: &ConfigFiles,
    vars: &Vars,
    renderer: &Renderer,
) -> Result<Verdict, EvalError> {
    let output = probes
        .get(&dump_probe(rule.file, rule.connection))
        .and_then(|i| outputs.get(i))
        .ok_or(EvalError::NoFact)?;
    let dump = match decode_dump(output)? {
        DumpAnswer::NoSshd => return Err(EvalError::NoSshd),
        DumpAnswer::Failed { status, stderr } => return Err(EvalError::SshdRefused { status, stderr }),
        DumpAnswer::Config(dump) => dump,
    };
    let kw = keyword(rule.key);
    let printed = dump_value(&dump, &kw);
    let (set, blocks) = match rule.connection {
        // Only whether a line sets the key, to mark a default: a criterion
        // the file reader cannot judge (`Match Group`) does not stop sshd,
        // so it does not stop the verdict either (then not marked).
        Some(conn) => (
            include::resolve_for(files, rule.file, rule.key, conn).map_or(true, |f| f.is_some()),
            Vec::new(),
        ),
        None => {
            let e = include::resolve(files, rule.file, rule.key)?;
            (e.global.is_some(), e.blocks)
        }
    };
    let mut v = expect_or_exists(Some(rule.expect), printed.clone(), renderer, vars, semantics(rule.key))?;
    match &printed {
        None => add_message(&mut v, format!("sshd -T prints no {kw}")),
        Some(text) => {
            let value = Value {
                text: text.clone(),
                default: !set,
                note: None,
            };
            v.actual = Some(text.clone());
            show(&mut v, rule.file, None, Some(&value), rule.policy);
        }
    }
    let defaults = defaults(probes, outputs);
    judge_blocks(&mut v, rule.key, rule.expect, &blocks, &defaults, vars, renderer)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_as_minus_c_takes_them() {
        let conn = Connection {
            user: Some("root".into()),
            host: Some("h.example".into()),
            addr: Some("10.0.0.1".parse().unwrap()),
            lport: Some(22),
            ..Connection::default()
        };
        assert_eq!(spec(&conn), "user=root,host=h.example,addr=10.0.0.1,lport=22");
    }

    #[test]
    fn defaults_and_edited_lists() {
        let d = sshd_defaults::for_release(Release::parse("OpenSSH_9.2p1"));
        let v = value("PasswordAuthentication", None, &d).unwrap().unwrap();
        assert!(v.default && v.text == "yes" && v.note.unwrap().contains("OpenSSH 9.2"));
        assert!(value("NoSuchKeyword", None, &d).unwrap().is_none());
        let at = Located {
            file: "/etc/ssh/sshd_config.d/10-crypto.conf".into(),
            line: 0,
            value: "-*-ctr,chacha20*".into(),
        };
        let v = value("ciphers", Some(&at), &d).unwrap().unwrap();
        assert_eq!(v.text, "aes128-gcm@openssh.com,aes256-gcm@openssh.com");
        assert!(v.note.unwrap().contains("10-crypto.conf:1"));
        let newest = sshd_defaults::for_release(None);
        let v = value("MaxAuthTries", None, &newest).unwrap().unwrap();
        assert!(v.note.unwrap().contains("assumed"));
        assert_eq!(semantics("maxStartups"), ValueSemantics::MaxStartups);
    }
}
