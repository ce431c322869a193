//! The inventory: which hosts exist, how to reach them, and their vars.
//!
//! Precedence, lowest first: `defaults`, then each group the host belongs
//! to in file order, then the host itself, then `-e` on the command line.

pub mod ansible;
mod host;
pub mod pattern;
mod recorded;
pub mod ssh_config;
pub mod target;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::config_error::{find_key_value, ConfigError};
use crate::template::Vars;
use crate::yaml::SourceFile;
use host::{current_user, split_hops};
pub use host::{expand_home, Become, Host, HostSettings};
pub use pattern::HostPattern;
pub use recorded::HostConnection;
pub use ssh_config::SshConfig;
use target::TargetError;
pub use target::TargetSpec;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupDef {
    #[serde(default)]
    hosts: Vec<String>,
    /// Groups whose hosts belong to this group as well.
    #[serde(default)]
    children: Vec<String>,
    #[serde(flatten)]
    settings: HostSettings,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostDef {
    address: Option<String>,
    #[serde(flatten)]
    settings: HostSettings,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct InventoryFile {
    #[serde(default)]
    defaults: HostSettings,
    #[serde(default)]
    groups: IndexMap<String, Option<GroupDef>>,
    #[serde(default)]
    hosts: IndexMap<String, Option<HostDef>>,
}

#[derive(Debug, Clone)]
pub struct Inventory {
    pub hosts: Vec<Host>,
    pub source: SourceFile,
}

impl Inventory {
    pub fn load(path: &Path, ssh: &SshConfig) -> Result<Inventory, ConfigError> {
        let source = SourceFile::read(path)?;
        Self::from_source(source, ssh)
    }

    pub fn from_source(source: SourceFile, ssh: &SshConfig) -> Result<Inventory, ConfigError> {
        let file: InventoryFile = if ansible::is_ansible(&source) {
            ansible::parse(&source)?
        } else {
            source.parse()?
        };
        let groups_of = group_membership(&file, &source)?;

        let mut names: Vec<String> = file.hosts.keys().cloned().collect();
        for group in file.groups.values().flatten() {
            for h in &group.hosts {
                if !names.contains(h) {
                    names.push(h.clone());
                }
            }
        }
        if names.is_empty() {
            return Err(ConfigError::whole_file(&source.path, "the inventory lists no hosts"));
        }

        let settings_of = |name: &str| -> Resolution {
            let groups = groups_of.get(name).cloned().unwrap_or_default();
            let mut merged = file.defaults.clone();
            for (gname, g) in &file.groups {
                if let Some(g) = g {
                    if groups.contains(gname) {
                        merged = merge(merged, &g.settings);
                    }
                }
            }
            let def = file.hosts.get(name).cloned().flatten().unwrap_or_default();
            merged = merge(merged, &def.settings);
            let host_name = ssh.fill(name, &mut merged);
            let address = def.address.or(host_name).unwrap_or_else(|| name.to_string());
            (merged, address, groups)
        };

        let mut hosts = Vec::new();
        for name in &names {
            check_host_name(name, &source)?;
            let (settings, address, groups) = settings_of(name);
            let mut host = resolved(name.clone(), address, &settings, groups);
            let ctx = JumpContext {
                names: &names,
                ssh,
                settings_of: &settings_of,
                source: &source,
            };
            host.jump = resolve_jump(name, &settings, &ctx, &mut BTreeSet::new())?;
            host.set_identity_vars();
            hosts.push(host);
        }
        Ok(Inventory { hosts, source })
    }

    /// The hosts selected by `--limit` (all when `None`).
    pub fn select(&self, limit: Option<&HostPattern>) -> Vec<Host> {
        self.hosts
            .iter()
            .filter(|h| limit.is_none_or(|p| p.matches(&h.name, &h.groups)))
            .cloned()
            .collect()
    }
}

fn check_host_name(name: &str, source: &SourceFile) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && !name.starts_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c));
    if ok {
        Ok(())
    } else {
        let pos = find_key_value(source.text.as_str(), name, "", 0);
        Err(source.error_at(
            pos,
            format!("invalid host name {name:?}: use letters, digits, '.', '_', '-'"),
        ))
    }
}

fn merge(mut base: HostSettings, over: &HostSettings) -> HostSettings {
    macro_rules! take {
        ($($f:ident),*) => { $( if over.$f.is_some() { base.$f = over.$f.clone(); } )* };
    }
    take!(user, port, identity_file, known_hosts, become_, jump);
    for (k, v) in &over.vars {
        base.vars.insert(k.clone(), v.clone());
    }
    base
}

pub(super) fn resolved(name: String, address: String, s: &HostSettings, groups: Vec<String>) -> Host {
    Host {
        name,
        address,
        port: s.port.unwrap_or(22),
        user: s.user.clone().unwrap_or_else(current_user),
        identity_file: s.identity_file.as_deref().map(expand_home),
        known_hosts: expand_home(s.known_hosts.as_deref().unwrap_or("~/.ssh/known_hosts")),
        become_: s.become_.unwrap_or_default(),
        jump: None,
        groups,
        vars: s.vars.clone(),
        local: false,
    }
}

/// A host's merged settings, its address and its groups.
type Resolution = (HostSettings, String, Vec<String>);

struct JumpContext<'a> {
    names: &'a [String],
    ssh: &'a SshConfig,
    settings_of: &'a dyn Fn(&str) -> Resolution,
    source: &'a SourceFile,
}

/// `jump:` is a list `a,b,…` of hops, each a host of this inventory or
/// `[user@]host[:port]`; the host is reached through the last hop, each hop
/// through the one before it. Only the first hop's own `jump:` is followed
/// (as `ssh -J a,b` does); a cycle there is an input error.
fn resolve_jump(
    name: &str,
    settings: &HostSettings,
    ctx: &JumpContext<'_>,
    visiting: &mut BTreeSet<String>,
) -> Result<Option<Box<Host>>, ConfigError> {
    let source = ctx.source;
    let Some(jump) = settings.jump.as_deref() else {
        return Ok(None);
    };
    if !visiting.insert(name.to_string()) {
        let pos = find_key_value(&source.text, "jump", jump, 0);
        return Err(source.error_at(pos, format!("jump hosts form a cycle through {name:?}")));
    }
    let mut via: Option<Box<Host>> = None;
    for (i, hop) in split_hops(jump).into_iter().enumerate() {
        let mut host = if ctx.names.iter().any(|n| n == hop) {
            let (js, address, groups) = (ctx.settings_of)(hop);
            let mut h = resolved(hop.to_string(), address, &js, groups);
            if i == 0 {
                h.jump = resolve_jump(hop, &js, ctx, visiting)?;
            }
            h
        } else {
            let at = || find_key_value(&source.text, "jump", jump, 0);
            let spec: TargetSpec = hop
                .parse()
                .map_err(|e: TargetError| source.error_at(at(), e.to_string()))?;
            // An ad-hoc jump host inherits how we authenticate, not its vars.
            let inherit = HostSettings {
                jump: None,
                vars: Vars::new(),
                port: None,
                user: None,
                ..settings.clone()
            };
            if i == 0 {
                Host::from_target(&spec, &inherit, ctx.ssh).map_err(|e| source.error_at(at(), e.to_string()))?
            } else {
                Host::target_alone(&spec, &inherit, ctx.ssh).0
            }
        };
        if i > 0 {
            host.jump = via;
        }
        host.set_identity_vars();
        via = Some(Box::new(host));
    }
    Ok(via)
}

/// Every host's groups, including groups that contain its group as a child.
fn group_membership(file: &InventoryFile, source: &SourceFile) -> Result<BTreeMap<String, Vec<String>>, ConfigError> {
    fn members(
        group: &str,
        file: &InventoryFile,
        source: &SourceFile,
        path: &mut Vec<String>,
    ) -> Result<Vec<String>, ConfigError> {
        if path.iter().any(|g| g == group) {
            let pos = find_key_value(&source.text, group, "", 0);
            return Err(source.error_at(pos, format!("groups form a cycle: {} -> {group}", path.join(" -> "))));
        }
        let Some(def) = file.groups.get(group) else {
            let pos = find_key_value(&source.text, "children", "", 0);
            return Err(source.error_at(pos, format!("unknown group {group:?} in children")));
        };
        let mut out = Vec::new();
        if let Some(def) = def {
            out.extend(def.hosts.iter().cloned());
            path.push(group.to_string());
            for child in &def.children {
                out.extend(members(child, file, source, path)?);
            }
            path.pop();
        }
        Ok(out)
    }

    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for group in file.groups.keys() {
        for host in members(group, file, source, &mut Vec::new())? {
            let groups = map.entry(host).or_default();
            if !groups.contains(group) {
                groups.push(group.clone());
            }
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(text: &str) -> Result<Inventory, ConfigError> {
        Inventory::from_source(
            SourceFile {
                path: "inv.yaml".into(),
                text: text.into(),
            },
            &SshConfig::none(),
        )
    }

    const README_EXAMPLE: &str = r#"
defaults:
  user: root
  port: 22
  identity_file: /keys/id
  known_hosts: /keys/known
  vars: {site: fra1, role: default}
groups:
  web:
    hosts: [web01, web02]
    vars: {ntp_server: 192.0.2.1, role: web}
hosts:
  web01: {address: 192.0.2.10}
  web02: {address: 192.0.2.11, port: 2222, vars: {role: canary}}
  bastion: {address: 198.51.100.5}
  inner: {address: 10.0.0.9, jump: bastion}
"#;

    fn var(h: &Host, k: &str) -> String {
        match &h.vars[k] {
            serde_yaml::Value::String(s) => s.clone(),
            v => format!("{v:?}"),
        }
    }

    #[test]
    fn precedence_defaults_group_host() {
        let inv = inv(README_EXAMPLE).unwrap();
        let web01 = inv.hosts.iter().find(|h| h.name == "web01").unwrap();
        let web02 = inv.hosts.iter().find(|h| h.name == "web02").unwrap();
        assert_eq!(var(web01, "role"), "web");
        assert_eq!(var(web02, "role"), "canary");
        assert_eq!(var(web01, "site"), "fra1");
        assert_eq!(var(web01, "host"), "web01");
        assert_eq!(var(web01, "address"), "192.0.2.10");
        assert_eq!(web02.port, 2222);
        assert_eq!(web01.groups, vec!["web"]);
        assert_eq!(web01.identity_file.as_deref(), Some(Path::new("/keys/id")));
    }

    #[test]
    fn jump_names_an_inventory_host_or_a_target() {
        let inv = inv(README_EXAMPLE).unwrap();
        let inner = inv.hosts.iter().find(|h| h.name == "inner").unwrap();
        let jump = inner.jump.as_ref().unwrap();
        assert_eq!(jump.address, "198.51.100.5");
        let inv2 = self::inv("hosts:\n  a: {jump: 'ops@gw.example:2200'}\n").unwrap();
        let j = inv2.hosts[0].jump.as_ref().unwrap();
        assert_eq!(
            (j.user.as_str(), j.address.as_str(), j.port),
            ("ops", "gw.example", 2200)
        );
    }

    #[test]
    fn limit_selects_by_name_and_group() {
        let inv = inv(README_EXAMPLE).unwrap();
        let names = |p: &str| -> Vec<String> {
            inv.select(Some(&HostPattern::parse(p).unwrap()))
                .into_iter()
                .map(|h| h.name)
                .collect()
        };
        assert_eq!(names("web"), vec!["web01", "web02"]);
        assert_eq!(names("bas*,inner"), vec!["bastion", "inner"]);
    }

    #[test]
    fn unknown_field_has_position() {
        let e = inv("hosts:\n  a: {adress: x}\n").unwrap_err();
        assert!(e.to_string().starts_with("inv.yaml:2:"), "{e}");
        assert!(e.to_string().contains("adress"), "{e}");
    }

    #[test]
    fn group_cycles_are_rejected() {
        let e = inv("groups:\n  a: {children: [b]}\n  b: {children: [a], hosts: [h]}\n").unwrap_err();
        assert!(e.to_string().contains("cycle"), "{e}");
    }

    #[test]
    fn jump_cycles_are_rejected() {
        let e = inv("hosts:\n  a: {jump: b}\n  b: {jump: a}\n").unwrap_err();
        assert!(e.to_string().contains("cycle"), "{e}");
    }

    #[test]
    fn children_inherit_group_membership() {
        let inv = inv("groups:\n  prod: {children: [web], vars: {env: prod}}\n  web: {hosts: [w1]}\n").unwrap();
        assert_eq!(inv.hosts[0].groups, vec!["prod", "web"]);
        assert_eq!(var(&inv.hosts[0], "env"), "prod");
    }

    /// The hops from the host outwards: `[last hop, …, first hop]`.
    fn chain(h: &Host) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = h.jump.as_deref();
        while let Some(j) = at {
            out.push(format!("{}@{}:{}", j.user, j.address, j.port));
            at = j.jump.as_deref();
        }
        out
    }

    #[test]
    fn jump_lists_are_chains_through_every_hop() {
        let text = "defaults: {user: root}\nhosts:\n  b1: {address: 10.0.0.1, jump: elsewhere}\n  \
                    b2: {address: 10.0.0.2, jump: nowhere}\n  t: {address: 10.0.0.3, jump: 'b1,b2'}\n  \
                    u: {jump: 'b1, ops@gw:2200'}\n";
        let inv = inv(text).unwrap();
        let by = |n: &str| inv.hosts.iter().find(|h| h.name == n).unwrap().clone();
        // The first hop keeps its own jump; the second hop's is overridden.
        assert_eq!(
            chain(&by("t")),
            ["root@10.0.0.2:22", "root@10.0.0.1:22", "root@elsewhere:22"]
        );
        assert_eq!(
            chain(&by("u")),
            ["ops@gw:2200", "root@10.0.0.1:22", "root@elsewhere:22"]
        );
        let e = self::inv("hosts:\n  t: {jump: 'b1,,b2'}\n").unwrap_err();
        assert!(e.to_string().contains("invalid target"), "{e}");
        let e = self::inv("hosts:\n  a: {jump: 'b,x'}\n  b: {jump: 'a,y'}\n").unwrap_err();
        assert!(e.to_string().contains("cycle"), "{e}");
    }

    #[test]
    fn proxyjump_chains_from_the_ssh_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "Host t\n  HostName 10.0.0.3\n  ProxyJump b1,ops@b2:2200\nHost b1\n  HostName 10.0.0.1\n  \
             ProxyJump b0\nHost b2\n  ProxyJump never\nHost loop\n  ProxyJump loop\nHost long\n  \
             ProxyJump a,b,c,d,e,f,g,h,i\n",
        )
        .unwrap();
        let ssh = SshConfig::load(&path).unwrap();
        let target = |t: &str| Host::from_target(&t.parse().unwrap(), &HostSettings::default(), &ssh);
        let t = target("root@t").unwrap();
        let me = current_user();
        assert_eq!(
            chain(&t),
            [
                "ops@b2:2200".to_string(),
                format!("{me}@10.0.0.1:22"),
                format!("{me}@b0:22")
            ]
        );
        for looping in ["loop", "long"] {
            let e = target(looping).unwrap_err();
            assert!(e.to_string().contains("more than 8 jump hosts"), "{e}");
        }
        assert_eq!(chain(&target("a").unwrap()), Vec::<String>::new());
    }
}
