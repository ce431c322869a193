//! What the host says it is: `p_osrel` sends `/etc/os-release`, or
//! `/usr/lib/os-release` where that does not exist (os-release(5)'s own
//! order), and [`OsRelease::decode`] reads the `ID`, `ID_LIKE` and
//! `VERSION_ID` that `when:` conditions test.

use super::{Budget, FactKind};
use crate::collect::{ProbeOutput, ProbeStatus};
use crate::shell::{quote, QuoteError};

/// The host's os-release file, at most [`OS_RELEASE_MAX`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OsRelease;

/// A real os-release file is well under 1 KiB; this bounds a hostile one.
pub const OS_RELEASE_MAX: u64 = 64 * 1024;

impl FactKind for OsRelease {
    // `p_read` (file.rs) frames the content or says why not; `-e` follows
    // the usual symlink to /usr/lib/os-release, so a dangling one falls
    // back like os-release(5) says.
    const SHELL: &'static str = r#"p_osrel() {
  for f in /etc/os-release /usr/lib/os-release; do
    if [ -e "$f" ]; then p_read "$1" "$2" "$f"; return 0; fi
  done
  frame "$1" missing 0
}
"#;

    fn call(&self, index: usize) -> Result<String, QuoteError> {
        Ok(format!("p_osrel {index} {}", quote(&OS_RELEASE_MAX.to_string())?))
    }

    fn budget(&self) -> Budget {
        Budget {
            max_stdout: OS_RELEASE_MAX as usize + 128,
            ..Budget::SMALL
        }
    }
}

/// The fields of os-release that `when:` tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsFacts {
    /// `ID`, `linux` when unset or when the host has no os-release at all
    /// (the default os-release(5) gives).
    pub id: String,
    /// `ID_LIKE`, split at blanks.
    pub id_like: Vec<String>,
    /// `VERSION_ID`, `None` when unset (rolling releases leave it out).
    pub version_id: Option<String>,
}

impl OsRelease {
    /// Reads `p_osrel`'s answer.
    pub fn decode(output: &ProbeOutput) -> Result<OsFacts, ProbeStatus> {
        let text = match output {
            ProbeOutput::Ok(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            ProbeOutput::Missing => String::new(),
            ProbeOutput::Status(s) => return Err(s.clone()),
            ProbeOutput::Parts(_) => return Err(ProbeStatus::Malformed),
        };
        let mut facts = OsFacts {
            id: "linux".into(),
            id_like: Vec::new(),
            version_id: None,
        };
        for line in text.lines() {
            let Some((key, value)) = line.trim().split_once('=') else {
                continue;
            };
            let value = unquote(value.trim());
            match key.trim() {
                "ID" if !value.is_empty() => facts.id = value,
                "ID_LIKE" => facts.id_like = value.split_whitespace().map(String::from).collect(),
                "VERSION_ID" if !value.is_empty() => facts.version_id = Some(value),
                _ => {}
            }
        }
        Ok(facts)
    }
}

/// A shell-style value: `"a b"`, `'a b'` or `a`, with `\"`, `\\`, `\$`
/// and `` \` `` unescaped inside double quotes, as os-release(5) allows.
fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return inner.to_string();
    }
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(next @ ('"' | '\\' | '$' | '`'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::script::test_support::run_locally;
    use crate::collect::Probe;

    fn decode(text: &str) -> OsFacts {
        OsRelease::decode(&ProbeOutput::Ok(text.as_bytes().to_vec())).unwrap()
    }

    #[test]
    fn real_files_are_read() {
        // AlmaLinux 9.3's, quoted throughout.
        let alma = decode(
            "NAME=\"AlmaLinux\"\nVERSION=\"9.3 (Shamrock Pampas Cat)\"\nID=\"almalinux\"\n\
             ID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n",
        );
        assert_eq!(alma.id, "almalinux");
        assert_eq!(alma.id_like, ["rhel", "centos", "fedora"]);
        assert_eq!(alma.version_id.as_deref(), Some("9.3"));
        // Alpine's, unquoted; Arch's has no VERSION_ID.
        let alpine = decode("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n");
        assert_eq!(
            (alpine.id.as_str(), alpine.version_id.as_deref()),
            ("alpine", Some("3.19.1"))
        );
        let arch = decode("NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n");
        assert_eq!(arch.version_id, None);
        assert_eq!(decode("# nothing\n").id, "linux");
        assert_eq!(unquote(r#""a \"b\" \\ \$c""#), r#"a "b" \ $c"#);
        assert_eq!(unquote("'x y'"), "x y");
    }

    #[test]
    fn the_script_sends_this_machines_os_release() {
        // Whatever this machine has: /etc/os-release or the fallback;
        // run_locally executes the real prelude.
        let out = run_locally(&[Probe::from(OsRelease)]);
        let expected = ["/etc/os-release", "/usr/lib/os-release"]
            .iter()
            .find(|p| std::path::Path::new(p).exists())
            .map(|p| ProbeOutput::Ok(std::fs::read(p).unwrap()))
            .unwrap_or(ProbeOutput::Missing);
        assert_eq!(out[0], expected);
    }
}
