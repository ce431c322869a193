//! `[USER@]HOST[:PORT]` as given to `-t` or to an inventory's `jump:`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid target {0:?}: expected [USER@]HOST[:PORT] (IPv6 as [ADDR]:PORT)")]
pub struct TargetError(pub String);

impl std::str::FromStr for TargetSpec {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || TargetError(text.to_string());
        let (user, rest) = match text.rsplit_once('@') {
            Some((u, r)) if !u.is_empty() => (Some(u.to_string()), r),
            Some(_) => return Err(bad()),
            None => (None, text),
        };
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (addr, after) = inner.split_once(']').ok_or_else(bad)?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(bad)?.parse().map_err(|_| bad())?),
            };
            (addr.to_string(), port)
        } else if rest.matches(':').count() > 1 {
            // A bare IPv6 address: no port possible without brackets.
            (rest.to_string(), None)
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h.to_string(), Some(p.parse().map_err(|_| bad())?)),
                None => (rest.to_string(), None),
            }
        };
        let valid_host = !host.is_empty()
            && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-_:%".contains(c))
            && !host.starts_with('-');
        if !valid_host || port == Some(0) {
            return Err(bad());
        }
        Ok(TargetSpec { user, host, port })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TargetSpec {
        s.parse().unwrap()
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(
            t("web01"),
            TargetSpec {
                user: None,
                host: "web01".into(),
                port: None
            }
        );
        assert_eq!(
            t("root@10.0.0.1:2222"),
            TargetSpec {
                user: Some("root".into()),
                host: "10.0.0.1".into(),
                port: Some(2222)
            }
        );
        assert_eq!(
            t("[::1]:22"),
            TargetSpec {
                user: None,
                host: "::1".into(),
                port: Some(22)
            }
        );
        assert_eq!(
            t("admin@[fe80::1]"),
            TargetSpec {
                user: Some("admin".into()),
                host: "fe80::1".into(),
                port: None
            }
        );
        assert_eq!(t("::1").host, "::1");
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "@host",
            "host:",
            "host:abc",
            "host:0",
            "-oProxyCommand=x",
            "a b",
            "[::1",
            "host:70000",
        ] {
            assert!(bad.parse::<TargetSpec>().is_err(), "{bad:?} should be rejected");
        }
    }
}
