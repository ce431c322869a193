//! What sshd uses for a keyword that no line of its configuration sets:
//! rectify's own table of compiled-in defaults, per OpenSSH release, for
//! the keywords that matter for hardening, written as `sshd -T` prints
//! them (lower-case keyword, its value words).
//!
//! The releases are those of the distributions people harden: RHEL 9
//! (8.7), Ubuntu 22.04 (8.9), Debian 12 (9.2) and Ubuntu 24.04 (9.6).
//! The values were read in OpenSSH's `servconf.c` (the defaults it fills
//! in) and `myproposal.h` (the algorithm lists) at each release, and the
//! 9.2 table was checked keyword by keyword against Debian 12's own
//! `sshd -T` with an empty configuration (`tests/it/sshd_defaults.rs`).
//! Where a distribution's package changes a compiled-in default, the table
//! follows the package: Debian 12's current 9.2 package lists
//! `sntrup761x25519-sha512` (without `@openssh.com`) first among the key
//! exchanges, and carries the GSSAPI key-exchange patch.
//!
//! A host whose sshd is another release (or that has none) gets the
//! newest table, and the verdict says so.

/// An OpenSSH release, `major.minor` (`OpenSSH_9.2p1` → 9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release {
    pub major: u16,
    pub minor: u16,
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Release {
    /// The release in a line of `sshd -V` or `ssh -V`
    /// (`OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.11 19 Sep 2023`).
    pub fn parse(line: &str) -> Option<Release> {
        let at = line.find("OpenSSH_")?;
        let rest = &line[at + "OpenSSH_".len()..];
        let (major, rest) = rest.split_once('.')?;
        let minor: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some(Release {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

/// The table rectify uses for a host, and whether it is that host's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    pub table: &'static Table,
    /// `None` when the table is the host's release; else why another one
    /// is used, for the verdict's message.
    pub assumed: Option<&'static str>,
}

/// One release's defaults.
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    pub release: Release,
    /// Keywords that differ from [`COMMON`] or exist only in some releases.
    own: &'static [(&'static str, &'static str)],
}

impl Table {
    /// The default of `keyword` (lower case, canonical), as `sshd -T`
    /// prints it; `None` when the table does not have it.
    pub fn get(&self, keyword: &str) -> Option<&'static str> {
        self.own
            .iter()
            .chain(COMMON)
            .find(|(k, _)| *k == keyword)
            .map(|(_, v)| *v)
    }

    /// Every keyword the table knows, for tests.
    pub fn keywords(&self) -> impl Iterator<Item = &'static str> + '_ {
        let own = self.own.iter().map(|(k, _)| *k);
        own.chain(
            COMMON
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| !self.own.iter().any(|(o, _)| o == k)),
        )
    }
}

/// Why the newest table is used for a host.
pub const UNKNOWN_RELEASE: &str = "its OpenSSH release has no table of its own";
pub const NO_VERSION: &str = "the host's sshd version could not be read";

/// The table for a host whose sshd says `release` (`None`: it did not).
pub fn for_release(release: Option<Release>) -> Defaults {
    let newest = TABLES.last().expect("tables");
    match release {
        Some(r) => match TABLES.iter().find(|t| t.release == r) {
            Some(table) => Defaults { table, assumed: None },
            None => Defaults {
                table: newest,
                assumed: Some(UNKNOWN_RELEASE),
            },
        },
        None => Defaults {
            table: newest,
            assumed: Some(NO_VERSION),
        },
    }
}

/// Defaults the same in all four releases (servconf.c's
/// `fill_default_server_options` did not change for these keywords
/// between 8.7 and 9.6).
const COMMON: &[(&str, &str)] = &[
    ("port", "22"),
    ("addressfamily", "any"),
    ("usepam", "no"),
    ("logingracetime", "120"),
    ("x11displayoffset", "10"),
    ("maxauthtries", "6"),
    ("maxsessions", "10"),
    ("clientaliveinterval", "0"),
    ("clientalivecountmax", "3"),
    ("streamlocalbindmask", "0177"),
    // sshd -T prints prohibit-password by its older name.
    ("permitrootlogin", "without-password"),
    ("ignorerhosts", "yes"),
    ("ignoreuserknownhosts", "no"),
    ("hostbasedauthentication", "no"),
    ("hostbasedusesnamefrompacketonly", "no"),
    ("pubkeyauthentication", "yes"),
    ("kerberosauthentication", "no"),
    ("kerberosorlocalpasswd", "yes"),
    ("kerberosticketcleanup", "yes"),
    ("gssapiauthentication", "no"),
    ("gssapicleanupcredentials", "yes"),
    ("gssapikeyexchange", "no"),
    ("gssapistrictacceptorcheck", "yes"),
    ("passwordauthentication", "yes"),
    ("kbdinteractiveauthentication", "yes"),
    ("printmotd", "yes"),
    ("printlastlog", "yes"),
    ("x11forwarding", "no"),
    ("x11uselocalhost", "yes"),
    ("permittty", "yes"),
    ("permituserrc", "yes"),
    ("strictmodes", "yes"),
    ("tcpkeepalive", "yes"),
    ("permitemptypasswords", "no"),
    ("compression", "yes"),
    ("gatewayports", "no"),
    ("usedns", "no"),
    ("allowtcpforwarding", "yes"),
    ("allowagentforwarding", "yes"),
    ("disableforwarding", "no"),
    ("allowstreamlocalforwarding", "yes"),
    ("streamlocalbindunlink", "no"),
    ("fingerprinthash", "SHA256"),
    ("exposeauthinfo", "no"),
    ("banner", "none"),
    ("forcecommand", "none"),
    ("chrootdirectory", "none"),
    ("trustedusercakeys", "none"),
    ("revokedkeys", "none"),
    ("authorizedprincipalsfile", "none"),
    ("versionaddendum", "none"),
    ("authorizedkeyscommand", "none"),
    ("loglevel", "INFO"),
    ("syslogfacility", "AUTH"),
    ("authorizedkeysfile", ".ssh/authorized_keys .ssh/authorized_keys2"),
    ("authenticationmethods", "any"),
    ("maxstartups", "10:30:100"),
    ("persourcemaxstartups", "none"),
    ("persourcenetblocksize", "32:128"),
    ("permittunnel", "no"),
    ("rekeylimit", "0 0"),
    ("permitopen", "any"),
    ("permitlisten", "any"),
    ("permituserenvironment", "no"),
    ("pubkeyauthoptions", "none"),
    ("ciphers", CIPHERS),
    ("macs", MACS),
    ("casignaturealgorithms", CA_SIGNATURES),
];

const CIPHERS: &str = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,\
aes128-gcm@openssh.com,aes256-gcm@openssh.com";

const MACS: &str = "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,\
hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,\
hmac-sha2-256,hmac-sha2-512,hmac-sha1";

const CA_SIGNATURES: &str = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,\
sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";

/// The key algorithms of 8.8 and later (host keys, accepted user and
/// host-based keys): 8.8 dropped `ssh-rsa` (RSA with SHA-1).
const KEYS: &str = "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,\
ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,\
sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,\
rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,\
ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,\
sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";

/// 8.7's key algorithms: [`KEYS`] with `ssh-rsa` and its certificate.
const KEYS_8_7: &str = "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,\
ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,\
sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,\
rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-rsa-cert-v01@openssh.com,\
ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,\
sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256,ssh-rsa";

/// The elliptic-curve key exchanges every release lists, in its order.
macro_rules! ecdh {
    () => {
        "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
    };
}
/// The finite-field ones, last in every release.
macro_rules! dh {
    () => {
        "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
    };
}

/// The releases, oldest first; the last is the newest.
static TABLES: [Table; 4] = [
    Table {
        release: Release { major: 8, minor: 7 },
        own: &[
            ("kexalgorithms", concat!(ecdh!(), dh!())),
            ("hostkeyalgorithms", KEYS_8_7),
            ("pubkeyacceptedalgorithms", KEYS_8_7),
            ("hostbasedacceptedalgorithms", KEYS_8_7),
        ],
    },
    Table {
        release: Release { major: 8, minor: 9 },
        own: &[
            ("kexalgorithms", concat!(ecdh!(), "sntrup761x25519-sha512@openssh.com,", dh!())),
            ("hostkeyalgorithms", KEYS),
            ("pubkeyacceptedalgorithms", KEYS),
            ("hostbasedacceptedalgorithms", KEYS),
        ],
    },
    Table {
        release: Release { major: 9, minor: 2 },
        own: &[
            ("kexalgorithms", concat!("sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,", ecdh!(), dh!())),
            ("hostkeyalgorithms", KEYS),
            ("pubkeyacceptedalgorithms", KEYS),
            ("hostbasedacceptedalgorithms", KEYS),
            ("gssapikexalgorithms", "gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-"),
            ("requiredrsasize", "1024"),
            ("unusedconnectiontimeout", "none"),
        ],
    },
    Table {
        release: Release { major: 9, minor: 6 },
        own: &[
            ("kexalgorithms", concat!("sntrup761x25519-sha512@openssh.com,", ecdh!(), dh!())),
            ("hostkeyalgorithms", KEYS),
            ("pubkeyacceptedalgorithms", KEYS),
            ("hostbasedacceptedalgorithms", KEYS),
            ("requiredrsasize", "1024"),
            ("unusedconnectiontimeout", "none"),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_from_version_lines() {
        let r = |major, minor| Some(Release { major, minor });
        assert_eq!(Release::parse("OpenSSH_9.2, OpenSSL 3.0.19 27 Jan 2026"), r(9, 2));
        assert_eq!(
            Release::parse("OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.11"),
            r(9, 2)
        );
        assert_eq!(Release::parse("OpenSSH_8.7p1, OpenSSL 3.0.7 1 Nov 2022"), r(8, 7));
        assert_eq!(Release::parse("OpenSSH_10.0p2 Ubuntu-5"), r(10, 0));
        assert_eq!(Release::parse("sshd: illegal option -- V"), None);
        assert_eq!(Release::parse("OpenSSH_x.1"), None);
    }

    #[test]
    fn tables_by_release() {
        let d = for_release(Release::parse("OpenSSH_8.7p1"));
        assert_eq!((d.table.release.to_string(), d.assumed), ("8.7".into(), None));
        assert!(d.table.get("hostkeyalgorithms").unwrap().ends_with(",ssh-rsa"));
        assert!(!for_release(Release::parse("OpenSSH_8.9p1"))
            .table
            .get("hostkeyalgorithms")
            .unwrap()
            .contains("ssh-rsa,"));
        let d = for_release(Release::parse("OpenSSH_9.3p1"));
        assert_eq!(
            (d.table.release.to_string(), d.assumed),
            ("9.6".into(), Some(UNKNOWN_RELEASE))
        );
        assert_eq!(for_release(None).assumed, Some(NO_VERSION));
        assert_eq!(d.table.get("maxauthtries"), Some("6"));
        assert_eq!(d.table.get("requiredrsasize"), Some("1024"));
        assert_eq!(
            for_release(Release::parse("OpenSSH_8.9")).table.get("requiredrsasize"),
            None
        );
        assert_eq!(d.table.get("include"), None);
        // Lists hold no blank and no empty entry.
        for t in &TABLES {
            for k in [
                "ciphers",
                "macs",
                "kexalgorithms",
                "hostkeyalgorithms",
                "casignaturealgorithms",
            ] {
                let v = t.get(k).unwrap();
                assert!(
                    !v.contains(' ') && !v.contains(",,") && !v.ends_with(','),
                    "{} {k}: {v}",
                    t.release
                );
            }
            let n = t.keywords().count();
            let mut all: Vec<_> = t.keywords().collect();
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), n, "{}: a keyword listed twice", t.release);
        }
    }
}
