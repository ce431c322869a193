//! What OpenSSH's sshd (9.2, `servconf.c`'s `keywords[]` and its parser)
//! makes of a keyword, beyond its spelling: which names are aliases of one
//! keyword, which keywords add up across lines instead of the first line
//! winning, and which may appear inside a `Match` block.
//!
//! Each fact here was checked against `sshd -T` of OpenSSH 9.2 (the aliases
//! are also the names `strings /usr/sbin/sshd` shows next to the keyword);
//! docs/baseline.md lists them for users.

/// Deprecated or alternative names sshd reads as another keyword, lower
/// case: `(alias, keyword)`. `sshd -T` prints the keyword's name, and
/// whichever spelling comes first is the one that counts.
const ALIASES: &[(&str, &str)] = &[
    ("challengeresponseauthentication", "kbdinteractiveauthentication"),
    ("skeyauthentication", "kbdinteractiveauthentication"),
    ("keepalive", "tcpkeepalive"),
    ("dsaauthentication", "pubkeyauthentication"),
    ("pubkeyacceptedkeytypes", "pubkeyacceptedalgorithms"),
    ("hostbasedacceptedkeytypes", "hostbasedacceptedalgorithms"),
    ("hostdsakey", "hostkey"),
];

/// Keywords whose lines add up (`Port 22` and `Port 2222` listen on both),
/// in their canonical lower-case names. Every other keyword is first-wins,
/// even with several words on its line (`PermitOpen`, `SetEnv`,
/// `AuthorizedKeysFile`: the first line's words, later lines ignored).
const ACCUMULATING: &[&str] = &[
    "port",
    "listenaddress",
    "hostkey",
    "hostcertificate",
    "acceptenv",
    "allowusers",
    "denyusers",
    "allowgroups",
    "denygroups",
    "subsystem",
];

/// Keywords whose later lines override earlier ones, unlike every other
/// keyword: servconf.c (8.7 to 9.6) assigns them without checking whether
/// a value is already set. Checked with `sshd -T` of 9.2 (two lines, the
/// second printed).
const LAST_WINS: &[&str] = &[
    "maxstartups",
    "persourcemaxstartups",
    "persourcenetblocksize",
    "ipqos",
    "streamlocalbindmask",
    "fingerprinthash",
];

/// Keywords allowed inside a `Match` block (sshd_config(5), `Match`); any
/// other keyword there makes sshd refuse the configuration, and in a
/// `Match all` block it is read as a global line.
const IN_MATCH: &[&str] = &[
    "acceptenv",
    "allowagentforwarding",
    "allowgroups",
    "allowstreamlocalforwarding",
    "allowtcpforwarding",
    "allowusers",
    "authenticationmethods",
    "authorizedkeyscommand",
    "authorizedkeyscommanduser",
    "authorizedkeysfile",
    "authorizedprincipalscommand",
    "authorizedprincipalscommanduser",
    "authorizedprincipalsfile",
    "banner",
    "casignaturealgorithms",
    "channeltimeout",
    "chrootdirectory",
    "clientalivecountmax",
    "clientaliveinterval",
    "denygroups",
    "denyusers",
    "disableforwarding",
    "exposeauthinfo",
    "forcecommand",
    "gatewayports",
    "gssapiauthentication",
    "hostbasedacceptedalgorithms",
    "hostbasedauthentication",
    "hostbasedusesnamefrompacketonly",
    "ignorerhosts",
    "ipqos",
    "kbdinteractiveauthentication",
    "kerberosauthentication",
    "loglevel",
    "maxauthtries",
    "maxsessions",
    "passwordauthentication",
    "permitemptypasswords",
    "permitlisten",
    "permitopen",
    "permitrootlogin",
    "permittty",
    "permittunnel",
    "permituserrc",
    "pubkeyacceptedalgorithms",
    "pubkeyauthentication",
    "pubkeyauthoptions",
    "rdomain",
    "rekeylimit",
    "requiredrsasize",
    "revokedkeys",
    "setenv",
    "streamlocalbindmask",
    "streamlocalbindunlink",
    "trustedusercakeys",
    "unusedconnectiontimeout",
    "x11displayoffset",
    "x11forwarding",
    "x11uselocalhost",
];

/// Keywords sshd 9.2 refuses inside a conditional `Match` block ("not
/// allowed within a Match block"): those `sshd -T` prints that `sshd -t`
/// refuses there, checked one by one. Keywords neither here nor in
/// [`IN_MATCH`] (deprecated ones, unknown words) are not judged.
const GLOBAL_ONLY: &[&str] = &[
    "addressfamily",
    "ciphers",
    "compression",
    "fingerprinthash",
    "gssapicleanupcredentials",
    "gssapikexalgorithms",
    "gssapikeyexchange",
    "gssapistorecredentialsonrekey",
    "gssapistrictacceptorcheck",
    "hostcertificate",
    "hostkey",
    "hostkeyagent",
    "hostkeyalgorithms",
    "ignoreuserknownhosts",
    "kerberosorlocalpasswd",
    "kerberosticketcleanup",
    "kexalgorithms",
    "listenaddress",
    "logingracetime",
    "macs",
    "maxstartups",
    "modulifile",
    "permituserenvironment",
    "persourcemaxstartups",
    "persourcenetblocksize",
    "pidfile",
    "port",
    "printlastlog",
    "printmotd",
    "securitykeyprovider",
    "strictmodes",
    "subsystem",
    "syslogfacility",
    "tcpkeepalive",
    "usedns",
    "usepam",
    "versionaddendum",
    "xauthlocation",
];

/// Whether sshd refuses `key` (any spelling) inside a conditional `Match`
/// block; see [`GLOBAL_ONLY`].
pub fn global_only(key: &str) -> bool {
    let key = canonical(key);
    GLOBAL_ONLY.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// The keyword `word` names, lower case where it is an alias, else `word`
/// itself (compare the result ASCII case-insensitively).
pub fn canonical(word: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(word))
        .map_or(word, |(_, keyword)| keyword)
}

/// Whether sshd reads `a` and `b` as the same keyword: same name in any
/// ASCII case, or aliases of one keyword.
pub fn same_keyword(a: &str, b: &str) -> bool {
    canonical(a).eq_ignore_ascii_case(canonical(b))
}

/// Whether the lines of `key` (any spelling) add up; see [`ACCUMULATING`].
pub fn accumulates(key: &str) -> bool {
    let key = canonical(key);
    ACCUMULATING.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// Whether the last line of `key` (any spelling) is the one sshd uses;
/// see [`LAST_WINS`].
pub fn last_wins(key: &str) -> bool {
    let key = canonical(key);
    LAST_WINS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// Whether `key` (any spelling) may be set inside a `Match` block.
pub fn allowed_in_match(key: &str) -> bool {
    let key = canonical(key);
    IN_MATCH.iter().any(|k| k.eq_ignore_ascii_case(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_one_keyword_in_any_case() {
        assert!(same_keyword(
            "ChallengeResponseAuthentication",
            "KbdInteractiveAuthentication"
        ));
        assert!(same_keyword("kbdinteractiveauthentication", "SKEYAuthentication"));
        assert!(same_keyword("KeepAlive", "tcpkeepalive"));
        assert!(same_keyword("PubkeyAcceptedKeyTypes", "PubkeyAcceptedAlgorithms"));
        assert!(same_keyword("HostDSAKey", "HostKey"));
        assert!(same_keyword("Port", "PORT"));
        assert!(!same_keyword("KeepAlive", "ClientAliveInterval"));
        assert!(!same_keyword("Port", "Ports"));
        assert_eq!(canonical("Banner"), "Banner");
    }

    #[test]
    fn lists_and_match_keywords() {
        assert!(accumulates("Port") && accumulates("hostdsakey") && accumulates("AllowUsers"));
        assert!(!accumulates("PermitOpen") && !accumulates("SetEnv") && !accumulates("AuthorizedKeysFile"));
        assert!(allowed_in_match("ChallengeResponseAuthentication"));
        assert!(allowed_in_match("PasswordAuthentication"));
        assert!(!allowed_in_match("Port") && !allowed_in_match("KeepAlive"));
        assert!(last_wins("MaxStartups") && last_wins("ipqos") && !last_wins("LoginGraceTime"));
    }
}
