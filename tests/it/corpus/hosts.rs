//! The corpus's hosts: sshd configurations as distributions ship them and
//! as years of hand edits leave them, and sysctl files in every syntax
//! sysctl.d(5) allows. Each host's lines come before the fleet harness's
//! own defaults in `/etc/ssh/sshd_config` (sshd takes the first
//! occurrence), so they are what sshd reads; a trailing `Match` section is
//! appended after the defaults by the host's setup, as RHEL and hand edits
//! put it at the end of the file.
//!
//! Root must keep logging in with the fleet's key from 127.0.0.0/8: no
//! block here denies root or public keys from there.

use crate::fleet::HostSpec;

const D: &str = "ssh/sshd_config.d";

/// Users and groups the `Match User`/`Match Group` blocks and the
/// connections of `super::CONNECTIONS` name; drop-ins this machine's own
/// /etc may hold are removed from every host's view first (the host's
/// own files are written afterwards by `extra`).
const USERS: &str = "for f in /etc/ssh/sshd_config.d/*; do case $f in */corpus-*) ;; *) rm -f \"$f\" ;; esac; done; \
     groupadd -f sftponly && groupadd -f admins && \
     useradd -M -s /bin/sh -G admins alice && useradd -M -s /bin/sh bob && \
     useradd -M -s /bin/sh -G sftponly carol && useradd -M -s /bin/sh -G admins deploy";

/// A host: its main-file lines, drop-ins (named below sshd_config.d as
/// `corpus-NAME` so the setup keeps them), and shell run after the users
/// exist (appending a trailing Match section, sysctl files outside /etc).
#[derive(Default)]
struct H {
    spec: HostSpec,
    extra: Vec<String>,
}

impl H {
    fn new(name: &str, main: &str) -> H {
        H {
            spec: HostSpec::new(name).sshd(main),
            extra: Vec::new(),
        }
    }
    fn dropin(mut self, name: &str, text: &str) -> H {
        self.spec = self.spec.file(&format!("{D}/corpus-{name}"), text, 0o644);
        self
    }
    fn etc(mut self, rel: &str, text: &str, mode: u32) -> H {
        self.spec = self.spec.file(rel, text, mode);
        self
    }
    /// Lines appended at the very end of sshd_config: a trailing Match
    /// section.
    fn tail(mut self, text: &str) -> H {
        self.extra.push(format!(
            "printf '%s' '{}' >> /etc/ssh/sshd_config",
            text.replace('\'', "'\\''")
        ));
        self
    }
    fn run(mut self, sh: &str) -> H {
        self.extra.push(sh.to_string());
        self
    }
    fn done(self) -> HostSpec {
        let mut setup = USERS.to_string();
        for s in &self.extra {
            setup.push_str(" && ");
            setup.push_str(s);
        }
        self.spec.setup(&setup)
    }
}

/// Debian 12's stock sshd_config (openssh-server 1:9.2p1), with the lines
/// this harness cannot take (UsePAM yes, its own Subsystem) left out.
const DEBIAN12: &str = "\
# This is the sshd server system-wide configuration file.  See
# sshd_config(5) for more information.

Include /etc/ssh/sshd_config.d/*.conf

#Port 22
#AddressFamily any
#ListenAddress 0.0.0.0

#LoginGraceTime 2m
#PermitRootLogin prohibit-password
#StrictModes yes
#MaxAuthTries 6
#MaxSessions 10

#PubkeyAuthentication yes

# To disable tunneled clear text passwords, change to no here!
#PasswordAuthentication yes
#PermitEmptyPasswords no

# Change to yes to enable challenge-response passwords (beware issues with
# some PAM modules and threads)
KbdInteractiveAuthentication no

X11Forwarding yes
PrintMotd no

# Allow client to pass locale environment variables
AcceptEnv LANG LC_*
";

/// Every corpus host.
pub fn all() -> Vec<HostSpec> {
    let mut hosts = vec![
        // 1. Debian 12 as installed: no drop-in.
        H::new("deb12", DEBIAN12),
        // 2. Ubuntu cloud image: cloud-init's drop-in turns passwords on,
        // the image's own later one cannot turn them off (first wins).
        H::new("ubuntu-cloud", DEBIAN12)
            .dropin("50-cloud-init.conf", "PasswordAuthentication yes\n")
            .dropin("60-cloudimg-settings.conf", "PasswordAuthentication no\n"),
        // 3. `Key=value` and `Key = value` in drop-ins, against the main
        // file's hardened lines.
        H::new(
            "ubuntu-edited",
            &format!("{DEBIAN12}PasswordAuthentication no\nPermitRootLogin no\nMaxAuthTries 3\n"),
        )
        .dropin("50-cloud-init.conf", "PasswordAuthentication=yes\n")
        .dropin("51-root.conf", "PermitRootLogin = yes\nMaxAuthTries=8\n"),
        // 4. RHEL 9: the drop-in that includes the crypto policy, and the
        // installer's "allow root SSH login" drop-in.
        H::new(
            "rhel9",
            "# RHEL 9\nInclude /etc/ssh/sshd_config.d/*.conf\nAuthorizedKeysCommandUser nobody\n",
        )
        .dropin("01-permitrootlogin.conf", "# added by the installer\nPermitRootLogin yes\n")
        .dropin(
            "50-redhat.conf",
            "Include /etc/crypto-policies/back-ends/opensshserver.config\nSyslogFacility AUTHPRIV\n\
             ChallengeResponseAuthentication no\nGSSAPIAuthentication yes\nGSSAPICleanupCredentials no\n\
             X11Forwarding yes\nPrintMotd no\n",
        )
        .etc(
            "crypto-policies/back-ends/opensshserver.config",
            "Ciphers aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-ctr,aes128-gcm@openssh.com,aes128-ctr\n\
             MACs hmac-sha2-256-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-512-etm@openssh.com\n\
             KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group-exchange-sha256\n\
             PubkeyAcceptedAlgorithms ecdsa-sha2-nistp256,ssh-ed25519,rsa-sha2-256,rsa-sha2-512\n",
            0o644,
        ),
        // 5. RHEL 9 on the LEGACY policy: CBC ciphers and SHA-1 MACs.
        H::new("rhel9-legacy", "Include /etc/ssh/sshd_config.d/*.conf\n")
            .dropin(
                "50-redhat.conf",
                "Include /etc/crypto-policies/back-ends/opensshserver.config\nGSSAPIAuthentication yes\n",
            )
            .etc(
                "crypto-policies/back-ends/opensshserver.config",
                "Ciphers aes256-gcm@openssh.com,aes256-ctr,aes128-ctr,aes256-cbc,aes128-cbc\n\
                 MACs hmac-sha2-256,hmac-sha1,umac-128@openssh.com\n\
                 PubkeyAcceptedAlgorithms ssh-ed25519,rsa-sha2-256,ssh-rsa\n",
                0o644,
            ),
        // 6. Alpine: no Include, tabs, the stock hardening lines.
        H::new(
            "alpine",
            "#\t$OpenBSD: sshd_config,v 1.104 2021/07/02 05:11:21 dtucker Exp $\n\n#Port 22\n#PermitRootLogin prohibit-password\n\
             AllowTcpForwarding no\nGatewayPorts no\nX11Forwarding no\n\tMaxAuthTries\t3\n#Banner none\n",
        ),
        // 7. The example: `Match all` overriding the global lines.
        H::new("match-all", "PasswordAuthentication no\nMaxAuthTries 3\nInclude /etc/ssh/sshd_config.d/*.conf\n")
            .dropin("90-all.conf", "Match all\n    PasswordAuthentication yes\n    MaxAuthTries 10\n"),
        // 8. Root may use a password, but only through a Match block.
        H::new("match-root", "PermitRootLogin prohibit-password\nPasswordAuthentication no\n")
            .tail("Match User root\n\tPermitRootLogin yes\n\tPasswordAuthentication yes\n"),
        // 9. Passwords and X11 for an address range, with an exception.
        H::new(
            "match-address",
            "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\nX11Forwarding no\n",
        )
        .dropin(
            "80-lan.conf",
            "Match Address 10.0.0.0/8,!10.9.0.0/16\n  PasswordAuthentication yes\n  X11Forwarding yes\n\
             Match Address 192.168.0.0/16\n  X11Forwarding no\n  MaxAuthTries 2\n",
        ),
        // 10. An sftp-only group: stricter forwarding, passwords allowed.
        H::new("match-group", "PasswordAuthentication no\nAllowTcpForwarding no\nX11Forwarding no\n").tail(
            "Match Group sftponly\n    ForceCommand internal-sftp\n    ChrootDirectory none\n    \
             PasswordAuthentication yes\n    AllowTcpForwarding no\n    X11Forwarding no\n",
        ),
        // 11. Negated user lists and a Host pattern.
        H::new("match-negation", "MaxAuthTries 3\nBanner /etc/issue.net\nInclude /etc/ssh/sshd_config.d/*.conf\n")
            .dropin(
                "70-users.conf",
                "Match User *,!root\n    MaxAuthTries 10\nMatch Host *.example.org\n    Banner none\n    MaxAuthTries 4\n",
            ),
        // 12. Deprecated spellings, in a drop-in and in the main file.
        H::new(
            "aliases",
            "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nTCPKeepAlive yes\n",
        )
        .dropin(
            "10-legacy.conf",
            "ChallengeResponseAuthentication yes\nKeepAlive no\nPubkeyAcceptedKeyTypes ssh-ed25519,ssh-rsa\n",
        ),
        // 13. Every assignment syntax, quotes and case.
        H::new(
            "syntax",
            "passwordauthentication=NO\nPERMITROOTLOGIN = \"without-password\"\nMaxAuthTries= 4\nX11FORWARDING   =no\n\
             Banner \"/etc/issue.net\"\nLogLevel verbose\nPermitEmptyPasswords \"no\"\nIgnoreRhosts=yes\n",
        ),
        // 14. Time units, and the two values that switch a limit off.
        H::new(
            "time-units",
            "LoginGraceTime 0\nClientAliveInterval 1h\nClientAliveCountMax 0\nMaxSessions 4\n",
        ),
        // 15. Time units that pass.
        H::new(
            "time-ok",
            "LoginGraceTime 1m\nClientAliveInterval 4m30s\nClientAliveCountMax 2\n",
        ),
        // 16. Keywords that add up, repeated.
        H::new(
            "repeats",
            "Port 22\nPort 2222\nAllowUsers root alice\nAllowUsers bob@10.0.0.0/8 deploy\nAcceptEnv LANG\nAcceptEnv LC_* TZ\n",
        ),
        // 17. A drop-in with CRLF line ends (sshd strips the CR).
        H::new("crlf", "Include /etc/ssh/sshd_config.d/*.conf\n").dropin(
            "20-windows.conf",
            "# edited on Windows\r\nX11Forwarding no\r\nMaxAuthTries 3\r\nPermitEmptyPasswords no\r\nLoginGraceTime 30\r\n",
        ),
        // 18. The Include commented out: the drop-in is never read.
        H::new(
            "unread-dropin",
            "#Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\nPermitRootLogin prohibit-password\nX11Forwarding no\n",
        )
        .dropin("50-cloud-init.conf", "PasswordAuthentication yes\nPermitRootLogin = yes\nX11Forwarding yes\n"),
        // 19. Tabs, trailing comments, blank lines with blanks.
        H::new(
            "tabs-comments",
            "\t# indented comment\n\tX11Forwarding\tno\t# no GUIs here\n   \nMaxAuthTries 4 # CIS\n\
             \tClientAliveInterval\t300\n\tBanner /etc/issue.net # legal\n",
        ),
        // 20. Everything the shipped baseline asks, so each rule also passes
        // somewhere.
        H::new(
            "hardened",
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\nPermitEmptyPasswords no\nX11Forwarding no\n\
             MaxAuthTries 4\nClientAliveInterval 300\nClientAliveCountMax 3\nLoginGraceTime 60\nAllowTcpForwarding no\n\
             IgnoreRhosts yes\nHostbasedAuthentication no\nPermitUserEnvironment no\nLogLevel VERBOSE\nMaxSessions 10\n\
             Banner /etc/issue.net\nKbdInteractiveAuthentication no\nGSSAPIAuthentication no\nAllowAgentForwarding no\n\
             PermitTunnel no\n",
        )
        .run("chmod 0600 /etc/ssh/sshd_config"),
        // 21. A trailing Match section at the end of the main file, with
        // a LocalPort block, a root-from-a-range block and a `Match all`
        // block at the very end.
        H::new("rhel-tail", "Port 22\nPort 2222\nMaxAuthTries 4\nClientAliveInterval 300\n").tail(
            "Match LocalPort 2222\n  MaxAuthTries 2\n  PasswordAuthentication yes\n\
             Match Address 10.20.0.0/16 User root\n  PermitRootLogin no\n  ClientAliveInterval 600\n\
             Match all\nGSSAPIAuthentication no\n",
        ),
        // 22. Nested includes, a relative Include path, a glob that
        // matches nothing.
        H::new("nested", "Include sshd_config.d/corpus-top.conf /etc/ssh/nothing-here/*.conf\n")
            .dropin("top.conf", "Include /etc/ssh/sshd_config.d/corpus-sub/*.conf\nX11Forwarding no\n")
            .dropin("sub/10-a.conf", "PermitEmptyPasswords yes\nMaxAuthTries 5\n")
            .dropin("sub/20-b.conf", "PermitEmptyPasswords no\nX11Forwarding yes\nLogLevel QUIET\n"),
        // 23. Loose file modes: sshd_config world-readable and group-owned
        // by a user group, a host key readable by its group (sshd skips that key).
        H::new("loose-modes", "X11Forwarding no\n")
            .run("chmod 0644 /etc/ssh/sshd_config && chgrp admins /etc/ssh/sshd_config && chmod 0640 /etc/ssh/ssh_host_ecdsa_key")
            .etc("ssh/banner.real", "Authorised use only.\n", 0o644)
            .run("ln -s /etc/ssh/banner.real /etc/ssh/banner"),
    ];
    // Persisted sysctl values, in every syntax sysctl.d(5) has, spread
    // over hosts 1–6 and 20 (the others keep only this machine's files).
    edit(&mut hosts, 0, |h| {
        h.etc(
        "sysctl.d/60-hardening.conf",
        "# one key four ways: the last wins\nnet.ipv4.ip_forward = 1\nnet.ipv4.ip_forward=0\nnet/ipv4/ip_forward = 1\n\
         -net.ipv4.ip_forward = 0\nkernel.randomize_va_space=2\n; kernel.kptr_restrict = 0\nkernel.kptr_restrict = 2\n",
        0o644,
    )
    });
    edit(&mut hosts, 1, |h| {
        h.etc(
            "sysctl.d/60-rectify-hardening.conf",
            "fs.suid_dumpable = 0\nnet.ipv4.tcp_syncookies = 1\n",
            0o644,
        )
        .etc("sysctl.conf", "# local overrides\nfs.suid_dumpable=2\n", 0o644)
    });
    edit(&mut hosts, 2, |h| {
        h
        .etc("sysctl.d/30-net.conf", "net.ipv4.conf.all.send_redirects = 0\nnet.ipv4.conf.default.send_redirects = 0\n", 0o644)
        .run(
            "mkdir -p /run/sysctl.d && printf 'net.ipv4.conf.all.send_redirects = 1\\n' > /run/sysctl.d/30-net.conf && \
             printf 'net.ipv4.conf.all.accept_redirects = 0\\n' > /run/sysctl.d/40-run.conf",
        )
    });
    // /usr/lib/sysctl.d is this machine's: the host gets a copy of it on
    // its own tmpfs, bind-mounted in its mount namespace only.
    edit(&mut hosts, 3, |h| {
        h
        .run(
            "mkdir -p /run/usrlib && cp -a /usr/lib/sysctl.d/. /run/usrlib/ && mount --bind /run/usrlib /usr/lib/sysctl.d && \
             printf 'kernel.dmesg_restrict = 1\\nfs.protected_hardlinks = 0\\n' > /usr/lib/sysctl.d/50-vendor.conf && \
             printf 'kernel.dmesg_restrict = 0\\n' > /usr/lib/sysctl.d/55-shadowed.conf",
        )
        .etc("sysctl.d/55-shadowed.conf", "# masks the vendor file\nfs.protected_hardlinks = 1\n", 0o644)
    });
    edit(&mut hosts, 4, |h| {
        h.etc(
            "sysctl.d/70-globs.conf",
            "net.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.default.rp_filter\nnet.ipv4.conf.all.log_martians = 1\r\n\
         net.ipv4.icmp_echo_ignore_broadcasts\t=\t1\nkernel.kptr_restrict = 1\n",
            0o644,
        )
    });
    edit(&mut hosts, 5, |h| {
        h
        .etc("sysctl.d/10-first.conf", "net.ipv6.conf.all.accept_redirects = 0\nnet.ipv6.conf.default.accept_redirects = 0\n", 0o644)
        .etc("sysctl.d/90-late.conf", "net.ipv6.conf.default.accept_redirects=1\n", 0o644)
        .run("ln -s /etc/sysctl.d/10-first.conf /etc/sysctl.d/95-link.conf && ln -s /nonexistent /etc/sysctl.d/96-dangling.conf")
    });
    edit(&mut hosts, 19, |h| {
        h.etc(
        "sysctl.d/60-rectify-hardening.conf",
        "net.ipv4.ip_forward = 0\nnet.ipv4.conf.all.send_redirects = 0\nnet.ipv4.conf.default.send_redirects = 0\n\
         net.ipv4.conf.all.accept_redirects = 0\nnet.ipv4.conf.default.accept_redirects = 0\n\
         net.ipv4.conf.all.secure_redirects = 0\nnet.ipv4.conf.default.secure_redirects = 0\n\
         net.ipv6.conf.all.accept_redirects = 0\nnet.ipv6.conf.default.accept_redirects = 0\n\
         net.ipv4.conf.all.accept_source_route = 0\nnet.ipv6.conf.all.accept_source_route = 0\n\
         net.ipv4.conf.all.log_martians = 1\nnet.ipv4.icmp_echo_ignore_broadcasts = 1\n\
         net.ipv4.icmp_ignore_bogus_error_responses = 1\nnet.ipv4.conf.all.rp_filter = 1\nnet.ipv4.tcp_syncookies = 1\n\
         kernel.randomize_va_space = 2\nkernel.kptr_restrict = 1\nkernel.dmesg_restrict = 1\nfs.protected_hardlinks = 1\n\
         fs.protected_symlinks = 1\nfs.suid_dumpable = 0\n",
        0o644,
    )
    });
    hosts.into_iter().map(H::done).collect()
}

/// Replaces host `i` by `f` of it.
fn edit(hosts: &mut [H], i: usize, f: impl FnOnce(H) -> H) {
    let h = std::mem::take(&mut hosts[i]);
    hosts[i] = f(h);
}
