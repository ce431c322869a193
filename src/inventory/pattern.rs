//! Host patterns, as used by `--limit` and a rule's `hosts:`: comma
//! separated names or globs, matched against a host's name and its groups.
//! A leading `!` excludes.

use globset::{Glob, GlobMatcher};

#[derive(Debug, Clone)]
pub struct HostPattern {
    include: Vec<GlobMatcher>,
    exclude: Vec<GlobMatcher>,
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
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (list, glob) = match part.strip_prefix('!') {
                Some(rest) => (&mut exclude, rest),
                None => (&mut include, part),
            };
            let matcher = Glob::new(glob)
                .map_err(|e| PatternError {
                    pattern: text.to_string(),
                    reason: e.kind().to_string(),
                })?
                .compile_matcher();
            list.push(matcher);
        }
        if include.is_empty() && exclude.is_empty() {
            return Err(PatternError {
                pattern: text.to_string(),
                reason: "empty pattern".into(),
            });
        }
        Ok(HostPattern {
            include,
            exclude,
            text: text.to_string(),
        })
    }

    /// True when the host (by name or any of its groups) is included and
    /// not excluded. A pattern of only exclusions includes everything else.
    pub fn matches(&self, host: &str, groups: &[String]) -> bool {
        let hit = |m: &GlobMatcher| m.is_match(host) || groups.iter().any(|g| m.is_match(g));
        let included = self.include.is_empty() || self.include.iter().any(hit);
        included && !self.exclude.iter().any(hit)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(g: &[&str]) -> Vec<String> {
        g.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_globs_groups_and_exclusions() {
        let p = HostPattern::parse("web*,db").unwrap();
        assert!(p.matches("web01", &[]));
        assert!(p.matches("db", &[]));
        assert!(!p.matches("db2", &[]));
        assert!(p.matches("x", &groups(&["db"])));
        let p = HostPattern::parse("all-but,!legacy-*").unwrap();
        assert!(!p.matches("legacy-1", &groups(&["all-but"])));
        let p = HostPattern::parse("!legacy-*").unwrap();
        assert!(p.matches("web01", &[]));
        assert!(!p.matches("legacy-2", &[]));
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(HostPattern::parse("web[").is_err());
        assert!(HostPattern::parse(" , ").is_err());
    }
}
