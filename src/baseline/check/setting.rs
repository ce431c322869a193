//! Reading a `setting` rule: a key without blanks or `=`, an
//! expectation or `absent: true`, and for an sshd configuration an optional
//! `match:` connection.

use super::super::{Check, DefaultPolicy, RawConnection, RuleBuilder, SshdSource};
use crate::config_error::ConfigError;
use crate::conftext::include::follows_includes;
use crate::conftext::sshd_match::Connection;

impl RuleBuilder<'_> {
    pub(super) fn setting_check(&self, file: String, key: &str, errors: &mut Vec<ConfigError>) -> Option<Check> {
        let r = self.raw;
        if key.trim().is_empty() || key.contains(char::is_whitespace) || key.contains('=') {
            errors.push(self.error("setting", key, format!("invalid setting key {key:?}")));
        }
        let absent = r.absent.unwrap_or(false);
        if absent && r.expect.is_some() {
            errors.push(self.error("absent", "", "`absent: true` and `expect` contradict each other".into()));
        }
        let connection = r.connection.as_ref().map(|raw| {
            if !follows_includes(&file) {
                errors.push(self.error(
                    "match",
                    "",
                    format!("`match` applies to sshd configurations (a file named *sshd_config), not {file}"),
                ));
            }
            if absent {
                errors.push(self.error("match", "", "`match` does not combine with `absent: true`".into()));
            }
            self.connection(raw, errors)
        });
        let sshd = follows_includes(&file);
        let source = match r.source.as_deref() {
            None | Some("files") => SshdSource::Files,
            Some("daemon") => SshdSource::Daemon,
            Some(other) => {
                errors.push(self.error("source", other, format!("invalid source {other:?}: files or daemon")));
                SshdSource::Files
            }
        };
        let default = match r.default.as_deref() {
            None | Some("counts") => DefaultPolicy::Counts,
            Some("fails") => DefaultPolicy::Fails,
            Some(other) => {
                errors.push(self.error("default", other, format!("invalid default {other:?}: counts or fails")));
                DefaultPolicy::Counts
            }
        };
        for (field, set) in [("source", r.source.is_some()), ("default", r.default.is_some())] {
            if set && !sshd {
                errors.push(self.error(
                    field,
                    "",
                    format!("`{field}` applies to sshd configurations (a file named *sshd_config), not {file}"),
                ));
            }
            if set && absent {
                errors.push(self.error(field, "", format!("`{field}` does not combine with `absent: true`")));
            }
        }
        if source == SshdSource::Daemon {
            if r.expect.is_none() && !absent {
                errors.push(self.error(
                    "source",
                    "daemon",
                    "`source: daemon` needs `expect` (sshd -T prints every keyword it knows)".into(),
                ));
            }
            if let Some(conn) = &connection {
                // `-C` splits its argument at commas: a value holding one
                // would name another field.
                let texts = [&conn.user, &conn.host, &conn.rdomain];
                if texts
                    .iter()
                    .any(|t| t.as_deref().is_some_and(|t| t.contains([',', '='])))
                {
                    errors.push(self.error(
                        "match",
                        "",
                        "with `source: daemon`, `match` values cannot hold `,` or `=` (sshd -C splits at them)".into(),
                    ));
                }
            }
        }
        Some(Check::Setting {
            file,
            key: key.to_string(),
            expect: r.expect.clone(),
            absent,
            connection,
            source,
            default,
        })
    }

    /// `match:` as sshd's `-C` reads it: `user`, `host` and `addr` are
    /// required, addresses are IP addresses.
    fn connection(&self, raw: &RawConnection, errors: &mut Vec<ConfigError>) -> Connection {
        for (field, value) in [("user", &raw.user), ("host", &raw.host), ("addr", &raw.addr)] {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                errors.push(self.error(
                    "match",
                    "",
                    format!("`match` needs `{field}` (as sshd -T -C does: user, host and addr)"),
                ));
            }
        }
        let mut ip = |field: &str, value: &Option<String>| {
            let text = value.as_deref()?;
            match text.trim().parse() {
                Ok(a) => Some(a),
                Err(_) => {
                    errors.push(self.error(
                        field,
                        text,
                        format!("invalid `match` {field} {text:?}: an IPv4 or IPv6 address"),
                    ));
                    None
                }
            }
        };
        let addr = ip("addr", &raw.addr);
        let laddr = ip("laddr", &raw.laddr);
        if raw.lport == Some(0) {
            errors.push(self.error("lport", "0", "invalid `match` lport 0".into()));
        }
        Connection {
            user: raw.user.clone(),
            host: raw.host.clone(),
            addr,
            laddr,
            lport: raw.lport,
            rdomain: raw.rdomain.clone(),
        }
    }
}
