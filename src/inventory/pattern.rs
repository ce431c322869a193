//! Host patterns, as used by `--limit` and a rule's `hosts:`, with
//! Ansible's semantics: terms separated by `,` or `:` are a union, a term
//! starting with `&` intersects, one starting with `!` excludes. `all` and
//! `*` are every host, `~REGEX` a regular expression (matched from the
//! start of the name, as Ansible does), anything else a name or glob. A
//! term matches a host by its name or by any group it is in.
//!
//! As Ansible documents it, the order of the terms does not matter: the
//! unions are taken first, then the intersections, then the exclusions, so
//! `a:b:&c:!d` is `&c:a:!d:b`. A pattern without a union term starts from
//! every host (`!legacy` is every host but the legacy ones).

use globset::{Glob, GlobMatcher};
use regex::Regex;

#[derive(Debug, Clone)]
enum Term {
    All,
    Glob(GlobMatcher),
    Regex(Regex),
}

impl Term {
    fn hit(&self, host: &str, groups: &[String]) -> bool {
        let one = |name: &str| match self {
            Term::All => true,
            Term::Glob(m) => m.is_match(name),
            Term::Regex(re) => re.is_match(name),
        };
        one(host) || groups.iter().any(|g| one(g))
    }
}

#[derive(Debug, Clone)]
pub struct HostPattern {
    union: Vec<Term>,
    intersect: Vec<Term>,
    exclude: Vec<Term>,
    text: String,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid host pattern {pattern:?}: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

impl HostPattern {
    pub fn parse(text: &str) -> Result<HostPattern, PatternError> {
        let error = |reason: String| PatternError {
            pattern: text.to_string(),
            reason,
        };
        let mut pattern = HostPattern {
            union: Vec::new(),
            intersect: Vec::new(),
            exclude: Vec::new(),
            text: text.to_string(),
        };
        for part in split(text) {
            let (list, rest) = if let Some(rest) = part.strip_prefix('!') {
                (&mut pattern.exclude, rest)
            } else if let Some(rest) = part.strip_prefix('&') {
                (&mut pattern.intersect, rest)
            } else {
                (&mut pattern.union, part)
            };
            let term = if rest == "all" || rest == "*" {
                Term::All
            } else if let Some(re) = rest.strip_prefix('~') {
                Term::Regex(Regex::new(&format!("^(?:{re})")).map_err(|e| error(format!("invalid regex: {e}")))?)
            } else if rest.is_empty() {
                return Err(error(format!("{part:?} names nothing")));
            } else {
                Term::Glob(
                    Glob::new(rest)
                        .map_err(|e| error(e.kind().to_string()))?
                        .compile_matcher(),
                )
            };
            list.push(term);
        }
        if pattern.union.is_empty() && pattern.intersect.is_empty() && pattern.exclude.is_empty() {
            return Err(error("empty pattern".into()));
        }
        Ok(pattern)
    }

    /// True when the host (by name or any of its groups) is in the union
    /// (every host when there is no union term), in every intersection,
    /// and in no exclusion.
    pub fn matches(&self, host: &str, groups: &[String]) -> bool {
        let included = self.union.is_empty() || self.union.iter().any(|t| t.hit(host, groups));
        included
            && self.intersect.iter().all(|t| t.hit(host, groups))
            && !self.exclude.iter().any(|t| t.hit(host, groups))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The terms of a pattern: split on `,`, and each part on `:`, except a
/// `:` inside `[...]` (a glob class) or in a part that is an IPv6 address
/// (hosts may be named by one). A regex term (`~…`) is split on `,` only,
/// as its `:` may be its own (`(?:…)`).
fn split(text: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bare = part.trim_start_matches(['!', '&']);
        if bare.starts_with('~') || bare.parse::<std::net::Ipv6Addr>().is_ok() {
            terms.push(part);
            continue;
        }
        let (mut depth, mut start) = (0usize, 0usize);
        for (i, c) in part.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                ':' if depth == 0 => {
                    terms.push(&part[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        terms.push(&part[start..]);
    }
    terms.into_iter().map(str::trim).filter(|t| !t.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small inventory: host → groups.
    const HOSTS: &[(&str, &[&str])] = &[
        ("web01", &["web", "prod"]),
        ("web02", &["web", "staging"]),
        ("db01", &["db", "prod"]),
        ("db02", &["db", "staging", "kube-node"]),
        ("kube1", &["kube-node", "prod"]),
        ("lb", &[]),
    ];

    /// The hosts a pattern selects, in inventory order.
    fn select(pattern: &str) -> Vec<&'static str> {
        let p = HostPattern::parse(pattern).unwrap_or_else(|e| panic!("{e}"));
        HOSTS
            .iter()
            .filter(|(h, g)| p.matches(h, &g.iter().map(|s| s.to_string()).collect::<Vec<_>>()))
            .map(|(h, _)| *h)
            .collect()
    }

    #[test]
    fn all_and_star_are_every_host() {
        let every: Vec<&str> = HOSTS.iter().map(|(h, _)| *h).collect();
        assert_eq!(select("all"), every);
        assert_eq!(select("*"), every);
        assert_eq!(select("all,!kube-node"), ["web01", "web02", "db01", "lb"]);
        assert_eq!(select("all:!kube-node"), ["web01", "web02", "db01", "lb"]);
    }

    #[test]
    fn union_intersection_exclusion() {
        assert_eq!(select("web:db"), ["web01", "web02", "db01", "db02"]);
        assert_eq!(select("web,db"), ["web01", "web02", "db01", "db02"]);
        assert_eq!(select("web:&prod"), ["web01"]);
        assert_eq!(select("web:!staging"), ["web01"]);
        assert_eq!(select("prod:&db"), ["db01"]);
        // Intersection and exclusion alone start from every host.
        assert_eq!(select("&staging"), ["web02", "db02"]);
        assert_eq!(select("!prod"), ["web02", "db02", "lb"]);
    }

    /// Ansible's documented example: `a:b:&c:!d:!e == &c:a:!d:b:!e ==
    /// !d:a:!e:&c:b`, all (a or b) and c and not d and not e.
    #[test]
    fn order_of_terms_does_not_matter() {
        let expected = ["db01"];
        for p in [
            "web:db:&prod:!kube-node:!web01",
            "&prod:web:!kube-node:db:!web01",
            "!kube-node:web:!web01:&prod:db",
        ] {
            assert_eq!(select(p), expected, "{p}");
        }
        // An exclusion written first still applies after the unions.
        assert_eq!(select("!web01,web"), ["web02"]);
    }

    #[test]
    fn regex_globs_and_names() {
        assert_eq!(select("~(web|db)0[12]"), ["web01", "web02", "db01", "db02"]);
        assert_eq!(select("~db"), ["db01", "db02"], "a group name matches too");
        // Matched from the start, as Ansible's re.match.
        assert_eq!(select("~eb0"), Vec::<&str>::new());
        assert_eq!(select("web*:&~.*1$"), ["web01"]);
        assert_eq!(select("!~kube"), ["web01", "web02", "db01", "lb"]);
        assert_eq!(select("db0[2-3]"), ["db02"], "a glob class keeps its brackets");
        assert_eq!(select("lb"), ["lb"]);
        assert_eq!(select("l"), Vec::<&str>::new(), "names are whole");
    }

    #[test]
    fn ipv6_names_are_one_term() {
        let p = HostPattern::parse("2001:db8::1").unwrap();
        assert!(p.matches("2001:db8::1", &[]));
        assert!(!p.matches("2001", &[]));
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(HostPattern::parse("web[").is_err());
        assert!(HostPattern::parse(" , ").is_err());
        assert!(HostPattern::parse("~(web").is_err());
        assert!(HostPattern::parse("web:!").is_err());
    }
}
