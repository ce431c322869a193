//! The verdict corpus: 23 messy hosts on one fleet (stock Debian 12, Ubuntu
//! cloud images, RHEL 9 with its crypto-policy include, Alpine, `Match`
//! blocks of every kind, deprecated keyword spellings, every assignment
//! syntax, time units, repeated keywords, CRLF, an unread drop-in, nested
//! includes, loose file modes, sysctl files in every sysctl.d(5) syntax
//! with shadowed same-named files in /etc, /run and /usr/lib). The shipped
//! `ssh-hardening` and `kernel-network` baselines plus the corpus's own
//! rules run against every host, and every verdict is compared with the
//! host's own answer:
//!
//! - sshd settings: `sshd -T` and `sshd -T -C user=…,host=…,addr=…,laddr=…,
//!   lport=…` for connections that reach every `Match` block; a rule
//!   without `match:` must hold for all of them, a rule with `match:` for
//!   its connection;
//! - sysctl: the live value in `/proc/sys` (read only) and what procps
//!   `sysctl --system` loads in a sandbox over /proc/sys
//!   (`sysctl_persisted::procps_loads`);
//! - file metadata: `stat -L`.
//!
//! The expectations are judged here, on the daemon's values, by the
//! test's own small reading of `expect:` ([`holds`]). Agreement must be
//! 100 % with no false pass; the counts are printed for the README. The
//! deliberate differences ([`Excluded`]) are counted apart, each with its
//! reason. Then `rectify fix` and `rectify apply` of the shipped
//! ssh-hardening playbook run on the same hosts, and the daemon must show
//! the intended value for every connection, with no stricter value
//! loosened, or the step must have refused naming the block.

mod hosts;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::fleet::report::{host, json};
use crate::fleet::{audit_json, run_rectify, sh, write, Fleet};
use crate::sysctl_persisted::procps_loads;

/// Connections `sshd -T -C` is asked about, chosen so that each `Match`
/// block of [`hosts`] matches at least one (User root/alice/carol/deploy,
/// Group admins/sftponly, Address 10/8 inside and outside 10.9/16 and
/// 10.20/16, 192.168/16, Host *.example.org, LocalPort 2222).
const CONNECTIONS: &[&str] = &[
    "user=root,host=admin.example.org,addr=127.0.0.1,laddr=127.0.0.1,lport=22",
    "user=alice,host=ws.example.org,addr=10.1.2.3,laddr=127.0.0.1,lport=22",
    "user=bob,host=laptop.corp.test,addr=192.168.1.50,laddr=127.0.0.1,lport=2222",
    "user=carol,host=other.net,addr=203.0.113.9,laddr=127.0.0.1,lport=22",
    "user=deploy,host=ci.example.org,addr=10.9.8.7,laddr=127.0.0.1,lport=22",
    "user=root,host=vpn.test,addr=10.20.30.40,laddr=127.0.0.1,lport=2222",
    // No conditional block but `Match User *,!root` matches this one.
    "user=nobody,host=nowhere.invalid,addr=198.51.100.1,laddr=127.0.0.1,lport=22",
];

/// Keys the `match:` rules judge per connection, with their expectation.
const PER_CONNECTION: &[(&str, &str)] = &[
    ("PasswordAuthentication", "\"no\""),
    ("PermitRootLogin", "[\"no\", prohibit-password]"),
    ("MaxAuthTries", "{max: 4}"),
    ("X11Forwarding", "\"no\""),
    ("Banner", "{regex: \"^/\"}"),
    ("AllowTcpForwarding", "\"no\""),
];

/// The corpus's own rules beyond the shipped baselines: aliases, lists,
/// algorithm lists, file metadata through a symlink and of every file a
/// pattern matches.
const CORPUS_RULES: &str = r#"
  - {id: C-KBD, file: /etc/ssh/sshd_config, setting: KbdInteractiveAuthentication, expect: "no"}
  - {id: C-CHALLENGE, file: /etc/ssh/sshd_config, setting: ChallengeResponseAuthentication, expect: "no"}
  - {id: C-TCPKEEPALIVE, file: /etc/ssh/sshd_config, setting: TCPKeepAlive, expect: "yes"}
  - {id: C-KEEPALIVE, file: /etc/ssh/sshd_config, setting: KeepAlive, expect: "yes"}
  - {id: C-PORT, file: /etc/ssh/sshd_config, setting: Port, expect: "22"}
  - {id: C-ALLOWUSERS, file: /etc/ssh/sshd_config, setting: AllowUsers, expect: {contains: [root]}}
  - {id: C-ACCEPTENV, file: /etc/ssh/sshd_config, setting: AcceptEnv, expect: {subset_of: [LANG, "LC_*"]}}
  - {id: C-CIPHERS, file: /etc/ssh/sshd_config, setting: Ciphers, expect: {none_of: [aes128-cbc, aes256-cbc, 3des-cbc]}}
  - {id: C-MACS, file: /etc/ssh/sshd_config, setting: MACs, expect: {none_of: [hmac-sha1, hmac-md5, hmac-sha1-96]}}
  - {id: C-PUBKEY-ALGS, file: /etc/ssh/sshd_config, setting: PubkeyAcceptedKeyTypes, expect: {none_of: [ssh-rsa, ssh-dss]}}
  - {id: C-GSSAPI, file: /etc/ssh/sshd_config, setting: GSSAPIAuthentication, expect: "no"}
  - {id: C-AGENT, file: /etc/ssh/sshd_config, setting: AllowAgentForwarding, expect: "no"}
  - {id: C-TUNNEL, file: /etc/ssh/sshd_config, setting: PermitTunnel, expect: "no"}
  - {id: C-HOSTKEY-ED25519, file: /etc/ssh/ssh_host_ed25519_key, owner: root, group: root, max_mode: "0600"}
  - {id: C-HOSTKEY-ECDSA, file: /etc/ssh/ssh_host_ecdsa_key, owner: root, max_mode: "0600"}
  - {id: C-BANNER-LINK, file: /etc/ssh/banner, owner: root, max_mode: "0644"}
  - {id: C-HOSTKEYS, file: /etc/ssh/ssh_host_*_key, owner: root, max_mode: "0600"}
  - {id: C-HOSTPUBKEYS, file: /etc/ssh/ssh_host_*_key.pub, owner: root, max_mode: "0644"}
"#;

/// What a rule looks at.
#[derive(Debug, Clone)]
enum Subject {
    /// An sshd keyword (as the rule spells it); `conn`: the index into
    /// [`CONNECTIONS`] of its `match:`.
    Sshd {
        keyword: String,
        conn: Option<usize>,
    },
    Sysctl {
        key: String,
        check: String,
    },
    File {
        path: String,
        owner: Option<String>,
        group: Option<String>,
        max_mode: u32,
    },
}

#[derive(Debug, Clone)]
struct Rule {
    id: String,
    subject: Subject,
    expect: Option<Value>,
}

/// A deliberate difference: such verdicts are counted apart, not compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Excluded {
    /// A key set nowhere fails (the baselines' policy: every setting
    /// explicit, CIS-style) where sshd's built-in default would pass.
    ExplicitDefault,
    /// A `match:` rule on a key a `Match Group` block sets is an error:
    /// group membership is the host's, which the file reader does not
    /// resolve (never a pass).
    MatchGroup,
}

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// `{{ name }}` replaced by the baseline's var.
fn render(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{ {k} }}}}"), v);
    }
    out
}

fn render_value(v: &Value, vars: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(render(s, vars)),
        Value::Sequence(items) => Value::Sequence(items.iter().map(|i| render_value(i, vars)).collect()),
        Value::Mapping(m) => Value::Mapping(m.iter().map(|(k, v)| (k.clone(), render_value(v, vars))).collect()),
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    }
}

/// The rules of a baseline file, vars rendered.
fn rules_of(text: &str) -> Vec<Rule> {
    let doc: Value = serde_yaml::from_str(text).unwrap();
    let vars: BTreeMap<String, String> = doc["vars"]
        .as_mapping()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => serde_yaml::to_string(other).unwrap().trim().to_string(),
                    };
                    (k.as_str().unwrap().to_string(), v)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut rules = Vec::new();
    for r in doc["rules"].as_sequence().unwrap() {
        let id = r["id"].as_str().unwrap().to_string();
        let expect = r.get("expect").map(|e| render_value(e, &vars));
        let subject = if let Some(key) = r["setting"].as_str() {
            let conn = r.get("match").map(|m| {
                let spec = connection_spec(m);
                CONNECTIONS.iter().position(|c| *c == spec).unwrap()
            });
            Subject::Sshd {
                keyword: key.to_string(),
                conn,
            }
        } else if let Some(key) = r["sysctl"].as_str() {
            Subject::Sysctl {
                key: key.to_string(),
                check: r["check"].as_str().unwrap_or("both").to_string(),
            }
        } else if let Some(path) = r["file"].as_str() {
            Subject::File {
                path: path.to_string(),
                owner: r["owner"].as_str().map(str::to_string),
                group: r["group"].as_str().map(str::to_string),
                max_mode: u32::from_str_radix(r["max_mode"].as_str().unwrap(), 8).unwrap(),
            }
        } else {
            panic!("the corpus does not judge rule {id}: {r:?}")
        };
        rules.push(Rule { id, subject, expect });
    }
    rules
}

/// `match: {user: …}` as `sshd -C` spells it.
fn connection_spec(m: &Value) -> String {
    ["user", "host", "addr", "laddr", "lport"]
        .iter()
        .filter_map(|k| {
            m.get(*k).map(|v| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other).unwrap().trim().to_string(),
                };
                format!("{k}={v}")
            })
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The corpus baseline: [`CORPUS_RULES`], a `match:` rule per key of
/// [`PER_CONNECTION`] and connection, and a persisted-only twin of every
/// kernel-network rule (so the value the next boot loads is judged on its
/// own, whatever the live value).
fn corpus_baseline(kernel: &[Rule]) -> String {
    let mut text = format!("name: corpus\nrules:{CORPUS_RULES}");
    for (c, spec) in CONNECTIONS.iter().enumerate() {
        let fields: Vec<String> = spec
            .split(',')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                if k == "lport" {
                    format!("{k}: {v}")
                } else {
                    format!("{k}: \"{v}\"")
                }
            })
            .collect();
        for (k, (key, expect)) in PER_CONNECTION.iter().enumerate() {
            text.push_str(&format!(
                "  - {{id: C-CONN{c}-{k}, file: /etc/ssh/sshd_config, setting: {key}, expect: {expect}, match: {{{}}}}}\n",
                fields.join(", ")
            ));
        }
    }
    for r in kernel {
        if let Subject::Sysctl { key, .. } = &r.subject {
            let expect = serde_json::to_string(&serde_json::to_value(r.expect.as_ref().unwrap()).unwrap()).unwrap();
            text.push_str(&format!(
                "  - {{id: C-P-{}, sysctl: {key}, check: persisted, expect: {expect}}}\n",
                r.id
            ));
        }
    }
    text
}

/// `sshd -T` output as keyword → value, repeated keywords' lines joined
/// by one space (`port 22` + `port 2222` → `22 2222`).
fn parse_dump(dump: &str) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for line in dump.lines() {
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        map.entry(k.to_string())
            .and_modify(|old| {
                old.push(' ');
                old.push_str(v);
            })
            .or_insert_with(|| v.to_string());
    }
    map
}

/// What one host's daemon says: globally, and per connection.
struct Daemon {
    /// `None` where sshd refuses `-T` without a connection (a `Match
    /// LocalPort` block needs `lport`): the connections then say it all.
    global: Option<BTreeMap<String, String>>,
    conns: Vec<BTreeMap<String, String>>,
}

fn daemon(fleet: &Fleet, name: &str) -> Daemon {
    let dump = |flag: String| {
        let out = fleet.exec(name, &format!("sshd -T -f /etc/ssh/sshd_config {flag}"));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        if flag.is_empty() && err.contains("not in connection test specification") {
            return None;
        }
        assert!(out.status.success(), "{name}: sshd -T {flag}: {err}");
        Some(parse_dump(&String::from_utf8_lossy(&out.stdout)))
    };
    Daemon {
        global: dump(String::new()),
        conns: CONNECTIONS.iter().map(|c| dump(format!("-C {c}")).unwrap()).collect(),
    }
}

/// The `sshd -T` keyword of a keyword as a rule may spell it.
fn sshd_t_keyword(keyword: &str) -> String {
    match keyword.to_ascii_lowercase().as_str() {
        "challengeresponseauthentication" => "kbdinteractiveauthentication".into(),
        "keepalive" => "tcpkeepalive".into(),
        "pubkeyacceptedkeytypes" => "pubkeyacceptedalgorithms".into(),
        other => other.to_string(),
    }
}

/// The words of a list value (`a,b c`).
fn words(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_ascii_lowercase())
        .collect()
}

/// Whether `value` (the daemon's, `None`: it has none) satisfies an
/// `expect:` as docs/baseline.md defines it. `sshd`: values compare
/// case-insensitively and `without-password` is `prohibit-password`
/// (sshd_config(5): the deprecated alias of the same setting).
fn holds(expect: &Value, value: Option<&str>, sshd: bool) -> bool {
    let Some(value) = value else { return false };
    let norm = |s: &str| {
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if !sshd {
            return s;
        }
        let s = s.to_ascii_lowercase();
        if s == "without-password" {
            "prohibit-password".to_string()
        } else {
            s
        }
    };
    let number = |s: &str| s.trim().parse::<i64>().ok();
    match expect {
        Value::String(want) => norm(want) == norm(value),
        Value::Sequence(items) => items.iter().any(|i| holds(i, Some(value), sshd)),
        Value::Mapping(m) => m.iter().all(|(k, want)| match k.as_str().unwrap() {
            "min" => number(value).is_some_and(|v| v >= number(want.as_str().unwrap()).unwrap()),
            "max" => number(value).is_some_and(|v| v <= number(want.as_str().unwrap()).unwrap()),
            "regex" => regex::Regex::new(want.as_str().unwrap()).unwrap().is_match(value),
            "not" => norm(want.as_str().unwrap()) != norm(value),
            "contains" => strings(want).iter().all(|w| words(value).contains(w)),
            "subset_of" => words(value).iter().all(|w| strings(want).contains(w)),
            "none_of" => !words(value).iter().any(|w| strings(want).contains(w)),
            other => panic!("the corpus does not judge expect {other}"),
        }),
        other => panic!("the corpus does not judge expect {other:?}"),
    }
}

/// A sysctl key's live value and the one the next boot loads.
type LiveAndPersisted = (Option<String>, Option<String>);

/// Everything the hosts answered, for every host.
struct Truth {
    sshd: BTreeMap<String, Daemon>,
    /// sshd's built-in defaults (`sshd -T -f /dev/null`).
    defaults: BTreeMap<String, String>,
    /// host → sysctl key → (live, persisted).
    sysctl: BTreeMap<String, BTreeMap<String, LiveAndPersisted>>,
    /// host → path → `stat -L -c '%a %U %G'` (a line per file a pattern
    /// expands to in the host's shell), `None` when missing.
    stat: BTreeMap<String, BTreeMap<String, Option<String>>>,
}

fn gather(fleet: &Fleet, names: &[String], rules: &[Rule]) -> Truth {
    let sysctl_keys: Vec<(String, String)> = rules
        .iter()
        .filter_map(|r| match &r.subject {
            Subject::Sysctl { key, .. } => Some((key.clone(), key.replace('.', "/"))),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let key_refs: Vec<(&str, &str)> = sysctl_keys.iter().map(|(k, p)| (k.as_str(), p.as_str())).collect();
    let paths: Vec<String> = rules
        .iter()
        .filter_map(|r| match &r.subject {
            Subject::File { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect();
    let mut truth = Truth {
        sshd: BTreeMap::new(),
        defaults: parse_dump(&sh(fleet, &names[0], "sshd -T -f /dev/null")),
        sysctl: BTreeMap::new(),
        stat: BTreeMap::new(),
    };
    for name in names {
        truth.sshd.insert(name.clone(), daemon(fleet, name));
        let persisted = procps_loads(fleet, name, &key_refs);
        let mut values = BTreeMap::new();
        for ((key, path), persisted) in sysctl_keys.iter().zip(persisted) {
            let live = sh(fleet, name, &format!("cat /proc/sys/{path} 2>/dev/null"));
            let live = live.split_whitespace().collect::<Vec<_>>().join(" ");
            values.insert(key.clone(), ((!live.is_empty()).then_some(live), persisted));
        }
        truth.sysctl.insert(name.clone(), values);
        let mut stats = BTreeMap::new();
        for path in &paths {
            let s = sh(fleet, name, &format!("stat -L -c '%a %U %G' {path} 2>/dev/null"))
                .trim()
                .to_string();
            stats.insert(path.clone(), (!s.is_empty()).then_some(s));
        }
        truth.stat.insert(name.clone(), stats);
    }
    truth
}

/// The host's answer for one rule: pass or not, and the values that
/// decided it (for the failure message).
fn judge(truth: &Truth, name: &str, rule: &Rule) -> (bool, String) {
    match &rule.subject {
        Subject::Sshd { keyword, conn } => {
            let kw = sshd_t_keyword(keyword);
            let d = &truth.sshd[name];
            let expect = rule.expect.as_ref().unwrap();
            let mut seen = Vec::new();
            let mut pass = true;
            let maps: Vec<(String, &BTreeMap<String, String>)> = match conn {
                Some(c) => vec![(CONNECTIONS[*c].to_string(), &d.conns[*c])],
                None => d
                    .global
                    .iter()
                    .map(|g| ("global".to_string(), g))
                    .chain(CONNECTIONS.iter().map(|c| c.to_string()).zip(d.conns.iter()))
                    .collect(),
            };
            for (label, map) in maps {
                let v = map.get(&kw).map(String::as_str);
                pass &= holds(expect, v, true);
                let mut v = format!("{v:?}");
                v.truncate(120);
                seen.push(format!("{label}: {v}"));
            }
            (pass, seen.join("; "))
        }
        Subject::Sysctl { key, check } => {
            let (live, persisted) = &truth.sysctl[name][key];
            let expect = rule.expect.as_ref().unwrap();
            let live_ok = holds(expect, live.as_deref(), false);
            let persisted_ok = holds(expect, persisted.as_deref(), false);
            let pass = match check.as_str() {
                "live" => live_ok,
                "persisted" => persisted_ok,
                _ => live_ok && persisted_ok,
            };
            (pass, format!("live {live:?}, persisted {persisted:?}"))
        }
        Subject::File {
            path,
            owner,
            group,
            max_mode,
        } => {
            let stat = &truth.stat[name][path];
            // Every file the path (or pattern) names must pass.
            let pass = stat.as_deref().is_some_and(|s| {
                s.lines().all(|line| {
                    let f: Vec<&str> = line.split(' ').collect();
                    let mode = u32::from_str_radix(f[0], 8).unwrap();
                    mode & !max_mode == 0
                        && owner.as_deref().is_none_or(|o| o == f[1])
                        && group.as_deref().is_none_or(|g| g == f[2])
                })
            });
            (pass, format!("stat -L: {stat:?}"))
        }
    }
}

/// Why a disagreeing verdict is a deliberate difference, if it is one.
fn excluded(
    truth: &Truth,
    name: &str,
    rule: &Rule,
    verdict: &serde_json::Value,
    daemon_pass: bool,
) -> Option<Excluded> {
    let Subject::Sshd { keyword, conn } = &rule.subject else {
        return None;
    };
    let status = verdict["status"].as_str().unwrap_or_default();
    let message = verdict["message"].as_str().unwrap_or_default();
    if status == "error" && conn.is_some() && message.contains("Match Group") {
        return Some(Excluded::MatchGroup);
    }
    let not_set = verdict["actual"].is_null() || verdict["actual"].as_str().is_some_and(|a| a.starts_with("(not set)"));
    let kw = sshd_t_keyword(keyword);
    let d = &truth.sshd[name];
    let value = match conn {
        Some(c) => d.conns[*c].get(&kw),
        None => d.global.as_ref().unwrap_or(&d.conns[CONNECTIONS.len() - 1]).get(&kw),
    };
    // Only where the daemon's value is its built-in default: a value
    // that differs from it was set somewhere, and "not set" would be wrong.
    (status == "fail" && daemon_pass && not_set && value == truth.defaults.get(&kw))
        .then_some(Excluded::ExplicitDefault)
}

/// Counts of one comparison.
#[derive(Debug, Default)]
struct Tally {
    compared: usize,
    agree: usize,
    false_pass: Vec<String>,
    false_fail: Vec<String>,
    /// `error` or `skipped` where the host had an answer.
    errors: Vec<String>,
    excluded: BTreeMap<Excluded, usize>,
}

fn compare(truth: &Truth, names: &[String], rules: &[Rule], report: &serde_json::Value) -> Tally {
    let mut tally = Tally::default();
    for name in names {
        let h = host(report, name);
        for rule in rules {
            let verdict = h["results"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == rule.id.as_str())
                .unwrap_or_else(|| panic!("{name}: no verdict for {}: {h}", rule.id));
            let (daemon_pass, seen) = judge(truth, name, rule);
            let status = verdict["status"].as_str().unwrap_or_default();
            let rectify_pass = status == "pass";
            // An `error` (or anything but pass/fail) agrees with nothing.
            let agree = match status {
                "pass" => daemon_pass,
                "fail" => !daemon_pass,
                _ => false,
            };
            if agree {
                tally.compared += 1;
                tally.agree += 1;
                continue;
            }
            if let Some(why) = excluded(truth, name, rule, verdict, daemon_pass) {
                *tally.excluded.entry(why).or_default() += 1;
                continue;
            }
            tally.compared += 1;
            let line = format!("{name} {}: host says {seen}; rectify says {verdict}", rule.id);
            if rectify_pass {
                tally.false_pass.push(line);
            } else if status == "fail" {
                tally.false_fail.push(line);
            } else {
                tally.errors.push(line);
            }
        }
    }
    tally
}

fn audit(fleet: &Fleet, baselines: &[PathBuf]) -> serde_json::Value {
    let mut extra: Vec<&str> = Vec::new();
    for b in &baselines[1..] {
        extra.push("-b");
        extra.push(b.to_str().unwrap());
    }
    json(&audit_json(&fleet.write_inventory(), &baselines[0], &extra))
}

fn assert_agreement(what: &str, tally: &Tally, hosts: usize) {
    println!(
        "corpus {what}: {hosts} hosts, {} verdicts compared, {} agree, {} false passes, {} false fails, \
         {} errors; excluded as deliberate differences: {:?}",
        tally.compared,
        tally.agree,
        tally.false_pass.len(),
        tally.false_fail.len(),
        tally.errors.len(),
        tally.excluded
    );
    assert!(
        tally.false_pass.is_empty() && tally.false_fail.is_empty() && tally.errors.is_empty(),
        "{what}: false passes:\n{}\nfalse fails:\n{}\nerrors:\n{}",
        tally.false_pass.join("\n"),
        tally.false_fail.join("\n"),
        tally.errors.join("\n")
    );
}

#[test]
fn every_verdict_agrees_with_the_hosts_own_answer() {
    let specs = hosts::all();
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    assert!(names.len() >= 20);
    let fleet = Fleet::start(specs);
    let dir = fleet.dir().to_path_buf();
    let ssh = manifest("baselines/ssh-hardening.yaml");
    let kernel = manifest("baselines/kernel-network.yaml");
    let ssh_rules = rules_of(&std::fs::read_to_string(&ssh).unwrap());
    let kernel_rules = rules_of(&std::fs::read_to_string(&kernel).unwrap());
    let corpus_text = corpus_baseline(&kernel_rules);
    let corpus = write(&dir, "corpus.yaml", &corpus_text);
    let rules: Vec<Rule> = ssh_rules
        .iter()
        .chain(&kernel_rules)
        .chain(&rules_of(&corpus_text))
        .cloned()
        .collect();
    let baselines = [ssh.clone(), kernel.clone(), corpus.clone()];

    let report = audit(&fleet, &baselines);
    let before = gather(&fleet, &names, &rules);
    let tally = compare(&before, &names, &rules, &report);
    assert_agreement("audit", &tally, names.len());
    // Both outcomes occur often: the comparison is not vacuous.
    let statuses: Vec<&str> = names
        .iter()
        .flat_map(|n| host(&report, n)["results"].as_array().unwrap().iter())
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    let passes = statuses.iter().filter(|s| **s == "pass").count();
    let fails = statuses.iter().filter(|s| **s == "fail").count();
    assert!(passes > 300 && fails > 300, "{passes} pass, {fails} fail");

    // The shipped content traps, as a user reads them.
    let verdict = |name: &str, id: &str| crate::fleet::report::rule(host(&report, name), id).clone();
    for (name, id, file) in [
        ("ubuntu-edited", "SSH-PASSWORD-AUTH", "corpus-50-cloud-init.conf:1"),
        ("ubuntu-edited", "SSH-ROOT-LOGIN", "corpus-51-root.conf:1"),
        ("ubuntu-cloud", "SSH-PASSWORD-AUTH", "corpus-50-cloud-init.conf:1"),
    ] {
        let v = verdict(name, id);
        assert_eq!(v["status"], "fail", "{name} {id}: {v}");
        assert!(v["actual"].as_str().unwrap().contains(file), "{name} {id}: {v}");
    }
    for id in ["SSH-PASSWORD-AUTH", "SSH-ROOT-LOGIN", "SSH-X11-FORWARDING"] {
        assert_eq!(
            verdict("unread-dropin", id)["status"],
            "pass",
            "a drop-in nothing includes"
        );
    }
    for id in ["SSH-LOGIN-GRACE-TIME", "SSH-CLIENT-ALIVE-COUNT"] {
        let v = verdict("time-units", id);
        assert_eq!(
            (v["status"].as_str(), v["actual"].as_str()),
            (Some("fail"), Some("0")),
            "{v}"
        );
    }
    let v = verdict("match-all", "SSH-PASSWORD-AUTH");
    assert_eq!(v["status"], "fail", "{v}");

    // `fix` with the shipped baseline (never kernel-network: that would
    // write live kernel values, shared by every host and this machine).
    let inv = fleet.write_inventory();
    let out = run_rectify(
        &[
            "fix",
            "-b",
            ssh.to_str().unwrap(),
            "-i",
            inv.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    let fixed = json(&out);
    assert_eq!(out.status.code(), Some(0), "{fixed}");
    let (after, after_report) = settled(&fleet, &names, &rules, &baselines, "fix");
    let remediated: Vec<&Rule> = ssh_rules
        .iter()
        .filter(|r| matches!(r.subject, Subject::Sshd { .. }))
        .collect();
    intended(&after, &names, &remediated, &fixed);
    not_loosened(&before, &after, &names, &remediated, &report);
    let changed = names
        .iter()
        .filter(|n| host(&fixed, n)["changes"].as_array().is_some_and(|c| !c.is_empty()))
        .count();
    assert!(changed >= 15, "fix changed only {changed} hosts: {fixed}");
    for name in &names {
        assert_eq!(host(&fixed, name)["status"], "compliant", "{name}: {fixed}");
    }

    // The whole shipped playbook on the fixed hosts: every value already
    // passes (or is stricter, `keep:`, or is sshd's default for a key no
    // line sets), so nothing changes at all: not a byte, not an mtime,
    // not a line of `sshd -T`.
    let snapshot = |name: &str| {
        sh(
            &fleet,
            name,
            "find /etc/ssh -type f ! -name 'ssh_host_*' -exec stat -c '%n %a %Y %s' {} + | sort; \
             find /etc/ssh -type f ! -name 'ssh_host_*' -exec md5sum {} + | sort; sshd -T -f /etc/ssh/sshd_config",
        )
    };
    let untouched: Vec<String> = names.iter().map(|n| snapshot(n)).collect();
    let playbook = manifest("playbooks/ssh-hardening.yaml");
    let out = run_rectify(
        &[
            "apply",
            "-p",
            playbook.to_str().unwrap(),
            "-i",
            inv.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    let applied = json(&out);
    let (again, again_report) = settled(&fleet, &names, &rules, &baselines, "apply");
    intended(&again, &names, &remediated, &applied);
    not_loosened(&after, &again, &names, &remediated, &after_report);
    assert_eq!(out.status.code(), Some(0), "{applied}");
    for (name, before) in names.iter().zip(&untouched) {
        let h = host(&applied, name);
        assert_eq!(
            h["status"], "unchanged",
            "{name}: apply after fix changed something: {h:#}"
        );
        assert_eq!(h["changes"].as_array().map_or(0, Vec::len), 0, "{name}: {h:#}");
        assert_eq!(
            &snapshot(name),
            before,
            "{name}: files or sshd -T differ after the apply"
        );
    }
    let _ = again_report;
}

/// After a change: `sshd -t` accepts every host's configuration, and a
/// fresh audit agrees with the daemon on every verdict. The new answers.
fn settled(
    fleet: &Fleet,
    names: &[String],
    rules: &[Rule],
    baselines: &[PathBuf],
    what: &str,
) -> (Truth, serde_json::Value) {
    for name in names {
        let out = fleet.exec(name, "sshd -t -f /etc/ssh/sshd_config");
        assert!(
            out.status.success(),
            "{name} after {what}: sshd -t: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report = audit(fleet, baselines);
    let truth = gather(fleet, names, rules);
    assert_agreement(
        &format!("after {what}"),
        &compare(&truth, names, rules, &report),
        names.len(),
    );
    (truth, report)
}

/// Every remediated rule holds for every connection, by the daemon; or
/// the host's run failed naming the Match block it could not fix.
fn intended(truth: &Truth, names: &[String], rules: &[&Rule], report: &serde_json::Value) {
    for name in names {
        let h = host(report, name);
        for rule in rules {
            let (pass, seen) = judge(truth, name, rule);
            if !pass {
                let text = h.to_string();
                assert!(
                    h["status"] == "error" && text.contains("(Match "),
                    "{name} {}: the daemon says {seen}, and the run named no block: {h:#}",
                    rule.id
                );
            }
        }
    }
}

/// A value that passed every rule on its keyword before is the same value
/// after, globally and for each connection (a value only one of two rules
/// accepts, `ClientAliveInterval 0` under `max: 300` and `min: 1`, may
/// change). A key set nowhere, at sshd's default, gets an explicit line
/// (the baselines' explicit-setting policy): `report`, the audit before,
/// says which keys were unset.
fn not_loosened(before: &Truth, after: &Truth, names: &[String], rules: &[&Rule], report: &serde_json::Value) {
    let mut by_keyword: BTreeMap<String, Vec<&Rule>> = BTreeMap::new();
    for rule in rules {
        if let Subject::Sshd { keyword, conn: None } = &rule.subject {
            by_keyword.entry(sshd_t_keyword(keyword)).or_default().push(rule);
        }
    }
    for name in names {
        let (b, a) = (&before.sshd[name], &after.sshd[name]);
        for (kw, kw_rules) in &by_keyword {
            let expects: Vec<&Value> = kw_rules.iter().map(|r| r.expect.as_ref().unwrap()).collect();
            let unset = kw_rules.iter().any(|r| {
                let actual = &crate::fleet::report::rule(host(report, name), &r.id)["actual"];
                // Set nowhere: null, or sshd's default shown as `actual`.
                actual.is_null()
                    || actual
                        .as_str()
                        .is_some_and(|a| a.starts_with("(not set)") || a.ends_with(" (default)"))
            });
            let views = b
                .global
                .iter()
                .zip(a.global.iter())
                .chain(b.conns.iter().zip(a.conns.iter()));
            for (i, (was, now)) in views.enumerate() {
                let was = was.get(kw);
                if unset && was == before.defaults.get(kw) {
                    continue;
                }
                if expects.iter().all(|e| holds(e, was.map(String::as_str), true)) {
                    assert_eq!(was, now.get(kw), "{name} {kw} (view {i}): a passing value changed");
                }
            }
        }
    }
}
