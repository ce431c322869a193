//! Existing Ansible inventories, INI or YAML, read into rectify's own
//! inventory model, so `-i hosts.ini` works unchanged.
//!
//! Connection variables become settings: `ansible_host` (address),
//! `ansible_port`, `ansible_user`/`ansible_ssh_user`,
//! `ansible_ssh_private_key_file`, `ansible_become` (with the sudo method),
//! and from `ansible_ssh_common_args` the options `-J HOST`,
//! `-o ProxyJump=HOST` and `-o UserKnownHostsFile=PATH`. Other `ansible_*`
//! variables are Ansible's own and are ignored; every other variable is a
//! var for templates. Group variables apply from the outermost group
//! (`all`) inwards, host variables last, as in Ansible. Host ranges
//! (`web[01:03]`, `db-[a:c]`) are expanded.

use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

use super::{Become, GroupDef, HostDef, HostSettings, InventoryFile};
use crate::config_error::{find_key_value, ConfigError, Position};
use crate::yaml::SourceFile;

/// Whether `source` looks like an Ansible inventory rather than rectify's.
pub fn is_ansible(source: &SourceFile) -> bool {
    match serde_yaml::from_str::<Value>(&source.text) {
        Ok(Value::Mapping(m)) => {
            let ours = ["defaults", "groups", "hosts"];
            !m.keys().any(|k| k.as_str().is_some_and(|k| ours.contains(&k)))
                && m.values()
                    .all(|v| v.is_null() || v.as_mapping().is_some_and(is_group_mapping))
        }
        // A YAML scalar: an INI file of bare host names.
        Ok(_) => true,
        // Not YAML: INI if it has section headers or no `key: value` at
        // all; otherwise a broken YAML file, whose YAML error is the useful one.
        Err(_) => {
            let lines = || source.text.lines().map(str::trim);
            lines().any(|l| l.starts_with('[') && l.ends_with(']'))
                || !lines().any(|l| l.contains(": ") || l.ends_with(':'))
        }
    }
}

fn is_group_mapping(m: &Mapping) -> bool {
    m.keys()
        .all(|k| matches!(k.as_str(), Some("hosts" | "vars" | "children")))
}

/// One group as read: hosts with their own vars, vars, children.
#[derive(Default)]
struct Group {
    hosts: Vec<String>,
    vars: Vec<(String, Value)>,
    children: Vec<String>,
}

struct Collected {
    groups: IndexMap<String, Group>,
    hosts: IndexMap<String, Vec<(String, Value)>>,
}

pub(super) fn parse(source: &SourceFile) -> Result<InventoryFile, ConfigError> {
    let collected = match serde_yaml::from_str::<Value>(&source.text) {
        Ok(Value::Mapping(m)) => from_yaml(&m, source)?,
        _ => from_ini(source)?,
    };
    convert(collected, source)
}

fn from_yaml(top: &Mapping, source: &SourceFile) -> Result<Collected, ConfigError> {
    let mut c = Collected {
        groups: IndexMap::new(),
        hosts: IndexMap::new(),
    };
    for (name, body) in top {
        let name = name.as_str().unwrap_or_default().to_string();
        yaml_group(&name, body, source, &mut c)?;
    }
    Ok(c)
}

fn yaml_group(name: &str, body: &Value, source: &SourceFile, c: &mut Collected) -> Result<(), ConfigError> {
    let entry_exists = c.groups.contains_key(name);
    if !entry_exists {
        c.groups.insert(name.to_string(), Group::default());
    }
    let Some(body) = body.as_mapping() else {
        return Ok(());
    };
    let at = |key: &str| {
        source.error_at(
            find_key_value(&source.text, key, "", 0),
            format!("group {name}: `{key}` must be a mapping"),
        )
    };
    if let Some(hosts) = body.get("hosts") {
        let hosts = hosts.as_mapping().ok_or_else(|| at("hosts"))?;
        for (host, vars) in hosts {
            let pattern = host.as_str().unwrap_or_default();
            for host in expand(pattern)
                .map_err(|e| source.error_at(find_key_value(&source.text, pattern, "", 0), e.to_string()))?
            {
                let vars = vars_of(vars);
                c.hosts.entry(host.clone()).or_default().extend(vars);
                let g = c.groups.get_mut(name).expect("inserted above");
                if !g.hosts.contains(&host) {
                    g.hosts.push(host);
                }
            }
        }
    }
    if let Some(vars) = body.get("vars") {
        if !vars.is_null() && vars.as_mapping().is_none() {
            return Err(at("vars"));
        }
        let vars = vars_of(vars);
        c.groups.get_mut(name).expect("inserted above").vars.extend(vars);
    }
    if let Some(children) = body.get("children") {
        let children = children.as_mapping().ok_or_else(|| at("children"))?;
        for (child, child_body) in children {
            let child = child.as_str().unwrap_or_default().to_string();
            let g = c.groups.get_mut(name).expect("inserted above");
            if !g.children.contains(&child) {
                g.children.push(child.clone());
            }
            yaml_group(&child, child_body, source, c)?;
        }
    }
    Ok(())
}

fn vars_of(v: &Value) -> Vec<(String, Value)> {
    v.as_mapping()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), v.clone())))
                .collect()
        })
        .unwrap_or_default()
}

fn from_ini(source: &SourceFile) -> Result<Collected, ConfigError> {
    let mut c = Collected {
        groups: IndexMap::new(),
        hosts: IndexMap::new(),
    };
    c.groups.insert("ungrouped".into(), Group::default());
    enum Section {
        Hosts(String),
        Vars(String),
        Children(String),
    }
    let mut section = Section::Hosts("ungrouped".into());
    for (i, raw) in source.text.lines().enumerate() {
        let line = raw.trim();
        let err = |column: usize, msg: String| source.error_at(Position { line: i + 1, column }, msg);
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header
                .strip_suffix(']')
                .ok_or_else(|| err(1, format!("unterminated section header {line:?}")))?;
            let (name, kind) = header.split_once(':').unwrap_or((header, ""));
            if name.is_empty() {
                return Err(err(2, "empty group name".into()));
            }
            c.groups.entry(name.to_string()).or_default();
            section = match kind {
                "" => Section::Hosts(name.into()),
                "vars" => Section::Vars(name.into()),
                "children" => Section::Children(name.into()),
                other => return Err(err(name.len() + 3, format!("unknown section kind :{other}"))),
            };
            continue;
        }
        match &section {
            Section::Hosts(group) => {
                let words = shlex::split(line).ok_or_else(|| err(1, "unbalanced quotes".into()))?;
                let (pattern, rest) = words.split_first().expect("non-empty line");
                let mut vars = Vec::new();
                for w in rest {
                    let (k, v) = w
                        .split_once('=')
                        .ok_or_else(|| err(1, format!("expected key=value after the host name, got {w:?}")))?;
                    vars.push((k.to_string(), ini_value(v)));
                }
                for host in expand(pattern).map_err(|e| err(1, e.to_string()))? {
                    c.hosts.entry(host.clone()).or_default().extend(vars.clone());
                    let g = c.groups.get_mut(group).expect("section group exists");
                    if !g.hosts.contains(&host) {
                        g.hosts.push(host);
                    }
                }
            }
            Section::Vars(group) => {
                let (k, v) = line
                    .split_once('=')
                    .ok_or_else(|| err(1, format!("expected key=value, got {line:?}")))?;
                let v = v.trim();
                let v = shlex::split(v)
                    .filter(|w| w.len() == 1)
                    .map(|mut w| w.remove(0))
                    .unwrap_or_else(|| v.to_string());
                c.groups
                    .get_mut(group)
                    .expect("section group exists")
                    .vars
                    .push((k.trim().to_string(), ini_value(&v)));
            }
            Section::Children(group) => {
                c.groups.entry(line.to_string()).or_default();
                let g = c.groups.get_mut(group).expect("section group exists");
                if !g.children.contains(&line.to_string()) {
                    g.children.push(line.to_string());
                }
            }
        }
    }
    Ok(c)
}

/// INI values are strings; numbers and booleans as Ansible reads them.
fn ini_value(v: &str) -> Value {
    if let Ok(n) = v.parse::<i64>() {
        return Value::Number(n.into());
    }
    match v {
        "true" | "True" | "yes" => Value::Bool(true),
        "false" | "False" | "no" => Value::Bool(false),
        _ => Value::String(v.to_string()),
    }
}

/// A host range that does not expand.
#[derive(Debug, thiserror::Error)]
enum RangeError {
    #[error("invalid host range {0:?}")]
    Invalid(String),
    #[error("invalid host range {0:?}: expected [start:end]")]
    NoColon(String),
}

/// `web[01:03]` → web01, web02, web03; `db-[a:c]` → db-a, db-b, db-c; an
/// optional stride, as Ansible's `web[01:09:3]` → web01, web04, web07.
fn expand(pattern: &str) -> Result<Vec<String>, RangeError> {
    let (Some(open), Some(close)) = (pattern.find('['), pattern.find(']')) else {
        return Ok(vec![pattern.to_string()]);
    };
    if close < open {
        return Err(RangeError::Invalid(pattern.to_string()));
    }
    let (prefix, range, suffix) = (&pattern[..open], &pattern[open + 1..close], &pattern[close + 1..]);
    let (a, rest) = range
        .split_once(':')
        .ok_or_else(|| RangeError::NoColon(pattern.to_string()))?;
    let (b, stride) = match rest.split_once(':') {
        Some((b, stride)) => (b, stride.parse::<usize>().ok().filter(|s| *s > 0)),
        None => (rest, Some(1)),
    };
    let stride = stride.ok_or_else(|| RangeError::Invalid(pattern.to_string()))?;
    let items: Vec<String> = if let (Ok(x), Ok(y)) = (a.parse::<u32>(), b.parse::<u32>()) {
        if y < x || y - x > 10_000 {
            return Err(RangeError::Invalid(pattern.to_string()));
        }
        let width = if a.starts_with('0') { a.len() } else { 0 };
        (x..=y).step_by(stride).map(|n| format!("{n:0width$}")).collect()
    } else if let (Some(x), Some(y), 1, 1) = (a.chars().next(), b.chars().next(), a.len(), b.len()) {
        if y < x {
            return Err(RangeError::Invalid(pattern.to_string()));
        }
        (x..=y).step_by(stride).map(String::from).collect()
    } else {
        return Err(RangeError::Invalid(pattern.to_string()));
    };
    let rests = expand(suffix)?;
    Ok(items
        .iter()
        .flat_map(|item| rests.iter().map(move |rest| format!("{prefix}{item}{rest}")))
        .collect())
}

/// Splits Ansible variables into rectify settings and template vars.
fn settings(vars: &[(String, Value)], source: &SourceFile) -> Result<(HostSettings, Option<String>), ConfigError> {
    let mut s = HostSettings::default();
    let mut address = None;
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    };
    for (k, v) in vars {
        let bad = |what: &str| source.error_at(find_key_value(&source.text, k, "", 0), format!("{k}: {what}"));
        match k.as_str() {
            "ansible_host" | "ansible_ssh_host" => address = Some(text(v)),
            "ansible_port" | "ansible_ssh_port" => {
                s.port = Some(text(v).parse().map_err(|_| bad("expected a port number"))?);
            }
            "ansible_user" | "ansible_ssh_user" => s.user = Some(text(v)),
            "ansible_ssh_private_key_file" | "ansible_private_key_file" => s.identity_file = Some(text(v)),
            "ansible_become" => {
                let on = matches!(v, Value::Bool(true)) || matches!(text(v).as_str(), "true" | "True" | "yes" | "1");
                s.become_ = Some(if on { Become::Sudo } else { Become::None });
            }
            "ansible_become_method" if text(v) != "sudo" => {
                return Err(bad("rectify becomes root with sudo only"));
            }
            "ansible_ssh_common_args" | "ansible_ssh_extra_args" => {
                let words = shlex::split(&text(v)).ok_or_else(|| bad("unbalanced quotes"))?;
                let mut it = words.iter();
                while let Some(w) = it.next() {
                    let option = if w == "-o" {
                        it.next().cloned()
                    } else {
                        w.strip_prefix("-o").map(String::from)
                    };
                    if w == "-J" {
                        s.jump = it.next().cloned();
                    } else if let Some(opt) = option {
                        let (name, value) = opt.split_once('=').unwrap_or((&opt, ""));
                        match name.to_ascii_lowercase().as_str() {
                            "proxyjump" => s.jump = Some(value.to_string()),
                            "userknownhostsfile" => s.known_hosts = Some(value.to_string()),
                            _ => {}
                        }
                    }
                }
            }
            other if other.starts_with("ansible_") => {}
            _ => {
                s.vars.insert(k.clone(), v.clone());
            }
        }
    }
    Ok((s, address))
}

fn convert(c: Collected, source: &SourceFile) -> Result<InventoryFile, ConfigError> {
    // Parents before children, so inner groups' vars win, as in Ansible.
    let mut depth: IndexMap<String, usize> = c.groups.keys().map(|g| (g.clone(), 0)).collect();
    for _ in 0..c.groups.len() {
        let mut changed = false;
        for (name, g) in &c.groups {
            let d = depth[name];
            for child in &g.children {
                if depth.get(child).is_some_and(|cd| *cd <= d) {
                    depth.insert(child.clone(), d + 1);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let mut order: Vec<&String> = c.groups.keys().collect();
    order.sort_by_key(|g| depth[*g]);

    let mut file = InventoryFile::default();
    for name in order {
        let g = &c.groups[name];
        let (settings, _) = settings(&g.vars, source)?;
        if name == "all" {
            file.defaults = settings;
            continue;
        }
        if g.hosts.is_empty() && g.children.is_empty() && g.vars.is_empty() {
            continue;
        }
        file.groups.insert(
            name.clone(),
            Some(GroupDef {
                hosts: g.hosts.clone(),
                children: g.children.iter().filter(|c| *c != "all").cloned().collect(),
                settings,
            }),
        );
    }
    // Children that were declared but are empty still need to exist.
    let declared: Vec<String> = file
        .groups
        .values()
        .flatten()
        .flat_map(|g| g.children.clone())
        .collect();
    for child in declared {
        file.groups.entry(child).or_insert(None);
    }
    for (name, vars) in c.hosts {
        let (settings, address) = settings(&vars, source)?;
        file.hosts.insert(name, Some(HostDef { address, settings }));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> SourceFile {
        SourceFile {
            path: "hosts".into(),
            text: text.into(),
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(expand("web[01:03].x").unwrap(), ["web01.x", "web02.x", "web03.x"]);
        assert_eq!(expand("db-[a:c]").unwrap(), ["db-a", "db-b", "db-c"]);
        assert_eq!(expand("plain").unwrap(), ["plain"]);
        assert!(expand("bad[3:1]").is_err());
        // Ansible's stride: every third from 01 to 09, padding kept.
        assert_eq!(expand("web[01:09:3]").unwrap(), ["web01", "web04", "web07"]);
        assert_eq!(expand("web[1:10:5]-[a:e:2]").unwrap().len(), 6);
        assert_eq!(expand("db-[a:e:2]").unwrap(), ["db-a", "db-c", "db-e"]);
        assert!(expand("bad[1:9:0]").is_err());
        assert!(expand("bad[1:9:x]").is_err());
    }

    #[test]
    fn detection() {
        assert!(is_ansible(&src("[web]\nweb01 ansible_host=10.0.0.1\n")));
        assert!(is_ansible(&src("all:\n  hosts:\n    web01:\n")));
        assert!(!is_ansible(&src("hosts:\n  web01: {address: 10.0.0.1}\n")));
        assert!(!is_ansible(&src("defaults: {user: root}\nhosts: {a: {}}\n")));
    }

    #[test]
    fn ini_groups_vars_and_connection_settings() {
        let f = parse(&src(
            "# fleet\nbastion ansible_host=192.0.2.9\n[web]\nweb[1:2] ansible_user=deploy role=\"front end\"\n[web:vars]\nntp=10.0.0.1\nansible_become=true\n[prod:children]\nweb\n[all:vars]\nansible_port=2222\nansible_ssh_common_args='-o ProxyJump=bastion -o UserKnownHostsFile=/tmp/kh'\n",
        ))
        .unwrap();
        assert_eq!(f.defaults.port, Some(2222));
        assert_eq!(f.defaults.jump.as_deref(), Some("bastion"));
        assert_eq!(f.defaults.known_hosts.as_deref(), Some("/tmp/kh"));
        let web = f.groups["web"].as_ref().unwrap();
        assert_eq!(web.hosts, ["web1", "web2"]);
        assert_eq!(web.settings.become_, Some(Become::Sudo));
        assert_eq!(web.settings.vars["ntp"], Value::String("10.0.0.1".into()));
        assert_eq!(f.groups["prod"].as_ref().unwrap().children, ["web"]);
        let w1 = f.hosts["web1"].as_ref().unwrap();
        assert_eq!(w1.settings.user.as_deref(), Some("deploy"));
        assert_eq!(w1.settings.vars["role"], Value::String("front end".into()));
        assert_eq!(
            f.hosts["bastion"].as_ref().unwrap().address.as_deref(),
            Some("192.0.2.9")
        );
    }

    #[test]
    fn ini_errors_have_positions() {
        let e = parse(&src("[web]\nweb01 novalue\n")).unwrap_err();
        assert!(e.to_string().starts_with("hosts:2:1:"), "{e}");
        let e = parse(&src("[web:bogus]\n")).unwrap_err();
        assert!(e.to_string().contains("unknown section kind"), "{e}");
    }
}
