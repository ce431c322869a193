//! The accounts rules added for the content issue (pwquality classes and
//! root, password history, nullok, root's PATH, shell TMOUT and umask,
//! /etc/shells, gid 0, system accounts, `+` entries, home directories) and
//! the RHEL-family legacy-services baseline, on real hosts. The truth is
//! the host's: a login shell of a real user (`su -l`), `id`, `stat`, the
//! files themselves. A drifted host fails every rule; `fix` makes the
//! automatic ones pass and names the manual ones, running nothing for
//! them; a compliant host, stricter in places, is left untouched (mtimes
//! too). No test output carries a password field.

use crate::fleet::report::{host, json, rule};
use crate::fleet::{run_rectify, sh, stat, Fleet, HostSpec};

/// Also left out of `content`'s verdict loops, which cannot drift them.
pub(crate) const RULES: &[&str] = &[
    "PAM-PWQUALITY-MINCLASS",
    "PAM-PWQUALITY-ENFORCE-ROOT",
    "PAM-PWHISTORY-REMEMBER",
    "PAM-NO-NULLOK",
    "ACCT-ROOT-PATH",
    "ACCT-SHELL-TMOUT",
    "ACCT-SHELL-UMASK",
    "ACCT-SHELLS-NO-NOLOGIN",
    "ACCT-ROOT-GID",
    "ACCT-GID0-ONLY-ROOT",
    "ACCT-SYSTEM-NOLOGIN",
    "ACCT-NO-LEGACY-PLUS",
    "ACCT-HOME-DIRS",
    "PAM-PWQUALITY-DIFOK",
    "PAM-PWQUALITY-MAXSEQUENCE",
    "PAM-PWQUALITY-DICTCHECK",
    "PAM-PWQUALITY-ENFORCING",
    "PAM-PWHISTORY-ENFORCE-ROOT",
    "PAM-PWHISTORY-USE-AUTHTOK",
    "PAM-UNIX-NO-REMEMBER",
    "PAM-UNIX-USE-AUTHTOK",
    "ACCT-ROOT-ACCESS",
    "ACCT-PASS-CHANGE-PAST",
    "ACCT-ROOT-UMASK",
    "ACCT-INVALID-SHELL-LOCKED",
    "ACCT-DOTFILES",
    "ACCT-SU-GROUP-EMPTY",
];

/// The ones with a playbook step; the others are manual.
const AUTOMATIC: &[&str] = &[
    "PAM-PWQUALITY-MINCLASS",
    "PAM-PWQUALITY-ENFORCE-ROOT",
    "ACCT-SHELL-TMOUT",
    "ACCT-SHELL-UMASK",
    "ACCT-SHELLS-NO-NOLOGIN",
    "PAM-PWQUALITY-DIFOK",
    "PAM-PWQUALITY-MAXSEQUENCE",
    "PAM-PWQUALITY-DICTCHECK",
    "PAM-PWQUALITY-ENFORCING",
    "ACCT-ROOT-UMASK",
];

/// Accounts of this machine's own /etc/passwd (seen through the overlay)
/// that would make the compliant host fail: given nologin there.
const QUIET_LOCAL_ACCOUNTS: &str =
    "awk -F: '$1 !~ /^(root|sync|shutdown|halt)$/ && $7 !~ /(nologin|false)$/ {print $1}' /etc/passwd \
                                    | xargs -r -n 1 usermod -s /usr/sbin/nologin";

/// This machine's accounts without a shell, locked (some may have a
/// password field of their own).
const LOCK_NOLOGIN: &str = "awk -F: '$7 ~ /(nologin|false)$/ {print $1}' /etc/passwd | xargs -r -n 1 usermod -L";

fn drift() -> HostSpec {
    HostSpec::new("drift")
        .file(
            "security/pwquality.conf",
            "minlen = 14\nminclass = 1\n# enforce_for_root\ndifok = 1\nmaxsequence = 0\ndictcheck = 0\nenforcing = 0\n",
            0o644,
        )
        .file("pam.d/common-auth", "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\nauth required pam_permit.so\n", 0o644)
        .file(
            "pam.d/common-password",
            "password required pam_pwhistory.so remember=5\npassword [success=1 default=ignore] pam_unix.so obscure yescrypt remember=5\n",
            0o644,
        )
        .file("profile.d/00-site-path.sh", "PATH=\".:$PATH:/tmp\"\n", 0o644)
        .file("profile.d/50-site-tmout.sh", "TMOUT=3600\n", 0o644)
        .file("pam.d/su", "auth sufficient pam_rootok.so\nauth required pam_wheel.so use_uid group=sugroup\n", 0o644)
        .setup(
            "echo /usr/sbin/nologin >> /etc/shells && \
             sed -i 's/^root:x:0:0:/root:x:0:100:/' /etc/passwd && groupadd -o -g 0 toor && \
             useradd -r -s /bin/bash svc && useradd -m -d /run/home-dave -s /bin/bash dave && chmod 0755 /run/home-dave && \
             useradd -M -d /run/home-erin -s /bin/bash erin && \
             touch /run/home-dave/.netrc && chown dave /run/home-dave/.netrc && chmod 0666 /run/home-dave/.bashrc && \
             chage -d 2099-01-01 dave && groupadd sugroup && gpasswd -a dave sugroup >/dev/null && useradd -r -s /usr/sbin/nologin svc2 && passwd -d svc2 >/dev/null && passwd -d root >/dev/null && \
             echo '+::::::' >> /etc/passwd && echo '+:::' >> /etc/group",
        )
}

fn good() -> HostSpec {
    HostSpec::new("good")
        .file("security/pwquality.conf", "minlen = 14\nminclass = 4\nenforce_for_root\ndifok = 3\nmaxsequence = 2\n", 0o644)
        .file("pam.d/common-auth", "auth [success=1 default=ignore] pam_unix.so\nauth requisite pam_deny.so\nauth required pam_permit.so\n", 0o644)
        .file(
            "pam.d/common-password",
            "password required pam_pwhistory.so remember=30 enforce_for_root use_authtok\npassword [success=1 default=ignore] pam_unix.so obscure use_authtok yescrypt\n",
            0o644,
        )
        .file("profile.d/tmout.sh", "TMOUT=600\nreadonly TMOUT\nexport TMOUT\n", 0o644)
        .file("profile.d/umask.sh", "umask 077\n", 0o644)
        .file("pam.d/su", "auth sufficient pam_rootok.so\nauth required pam_wheel.so use_uid group=sugroup\n", 0o644)
        .setup(&format!(
            "{QUIET_LOCAL_ACCOUNTS} && {LOCK_NOLOGIN} && useradd -m -d /run/home-dave -s /bin/bash dave && chmod 0700 /run/home-dave && groupadd sugroup"
        ))
}

/// A RHEL-family host: its os-release, and a package database (dpkg's,
/// bind-mounted over /var/lib/dpkg inside the host only) in which
/// telnet-server and xinetd are installed.
fn rocky() -> HostSpec {
    let status: String = ["telnet-server", "xinetd"]
        .iter()
        .map(|p| {
            format!(
                "Package: {p}\nStatus: install ok installed\nPriority: optional\nSection: net\nInstalled-Size: 1\n\
                 Maintainer: Nobody <nobody@example.org>\nArchitecture: amd64\nVersion: 1.0-1\nDescription: test\n\n"
            )
        })
        .collect();
    HostSpec::new("rocky")
        .file(
            "os-release",
            "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n",
            0o644,
        )
        .file("rectify-dpkg/status", status, 0o644)
        .file("rectify-dpkg/available", "", 0o644)
        .setup(
            "mkdir -p /etc/rectify-dpkg/info /etc/rectify-dpkg/updates && mount --bind /etc/rectify-dpkg /var/lib/dpkg",
        )
}

fn run(cmd: &str, inv: &str, baseline: &str, limit: &str) -> serde_json::Value {
    let b = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("baselines/{baseline}.yaml"));
    let mut args = vec![
        cmd,
        "-i",
        inv,
        "-b",
        b.to_str().unwrap(),
        "--format",
        "json",
        "--limit",
        limit,
    ];
    if baseline == "accounts" {
        for id in RULES {
            args.extend(["--rule", id]);
        }
    }
    json(&run_rectify(&args, &[]))
}

/// What a real login shell of `dave` gets: its umask and TMOUT.
fn login_shell(fleet: &Fleet, name: &str) -> String {
    sh(
        fleet,
        name,
        "su -l dave -s /bin/bash -c 'umask; echo \"${TMOUT:-unset}\"' 2>/dev/null </dev/null",
    )
}

#[test]
fn accounts_drift_fails_fix_repairs_or_names_the_manual_ones_and_compliant_hosts_stay() {
    let fleet = Fleet::start(vec![drift(), good()]);
    let inv = fleet.write_inventory().display().to_string();

    // The hosts' own answers before.
    assert_eq!(login_shell(&fleet, "drift"), "0022\n3600\n");
    assert_eq!(login_shell(&fleet, "good"), "0077\n600\n");
    assert_eq!(sh(&fleet, "drift", "id -g root").trim(), "100");
    assert_eq!(
        sh(&fleet, "drift", "su - root -c 'echo $PATH' </dev/null")
            .split(':')
            .next(),
        Some(".")
    );

    let report = run("audit", &inv, "accounts", "drift,good");
    for id in RULES {
        let d = rule(host(&report, "drift"), id);
        assert_eq!(d["status"], "fail", "drift {id}: {d}");
        let g = rule(host(&report, "good"), id);
        assert_eq!(g["status"], "pass", "good {id}: {g}");
    }
    // Messages name what is wrong, never a password field.
    let d = host(&report, "drift");
    assert_eq!(rule(d, "ACCT-ROOT-PATH")["actual"], "relative:. writable:/tmp");
    assert_eq!(
        rule(d, "ACCT-SYSTEM-NOLOGIN")["actual"]
            .as_str()
            .map(|a| a.split(' ').any(|w| w == "svc")),
        Some(true)
    );
    assert_eq!(
        rule(d, "ACCT-HOME-DIRS")["actual"]
            .as_str()
            .map(|a| a.contains("dave:mode") && a.contains("erin:missing")),
        Some(true)
    );
    assert_eq!(rule(d, "ACCT-NO-LEGACY-PLUS")["actual"], "/etc/passwd:+ /etc/group:+");
    assert_eq!(rule(d, "ACCT-GID0-ONLY-ROOT")["actual"], "root toor");
    assert_eq!(rule(d, "PAM-NO-NULLOK")["actual"], "/etc/pam.d/common-auth");
    assert!(!report.to_string().contains("$y$"), "a password hash in the report");

    // fix.
    let watched = [
        "/etc/security/pwquality.conf",
        "/etc/shells",
        "/etc/profile.d",
        "/etc/passwd",
        "/etc/pam.d/common-auth",
    ];
    let good_before: Vec<String> = watched.iter().map(|p| stat(&fleet, "good", p)).collect();
    let fixed = run("fix", &inv, "accounts", "drift,good");
    let d = host(&fixed, "drift");
    assert_ne!(d["status"], "rolled_back", "{d}");
    for id in RULES {
        let r = rule(d, id);
        if AUTOMATIC.contains(id) {
            assert_eq!(r["status"], "pass", "{id} not fixed: {r}");
        } else {
            assert_eq!(r["status"], "fail", "{id}: a manual rule was fixed by someone: {r}");
            assert!(r["remediation"]["manual"].as_str().is_some_and(|t| t.len() > 20), "{r}");
            assert!(d["warnings"].to_string().contains(id), "{id} not named manual: {d}");
        }
    }
    // The host's answers after: a real login shell times out and masks.
    assert_eq!(login_shell(&fleet, "drift"), "0027\n900\n");
    assert_eq!(
        sh(
            &fleet,
            "drift",
            "su -l dave -s /bin/bash -c 'TMOUT=0' 2>&1 </dev/null; echo $?"
        )
        .lines()
        .last(),
        Some("1"),
        "TMOUT is read-only"
    );
    assert_eq!(sh(&fleet, "drift", "grep -c nologin /etc/shells").trim(), "0");
    assert_eq!(
        sh(&fleet, "drift", "grep -vE '^#' /etc/security/pwquality.conf"),
        "minlen = 14\nminclass = 3\nenforce_for_root\ndifok = 2\nmaxsequence = 3\ndictcheck = 1\nenforcing = 1\n"
    );
    // root's own login shell masks too.
    assert_eq!(sh(&fleet, "drift", "su - root -c umask </dev/null").trim(), "0027");
    // Manual ones: nothing was run for them.
    assert_eq!(sh(&fleet, "drift", "id -g root").trim(), "100");
    assert!(sh(&fleet, "drift", "cat /etc/pam.d/common-auth").contains("nullok"));
    assert_eq!(sh(&fleet, "drift", "grep -c '^+' /etc/passwd").trim(), "1");
    assert_eq!(sh(&fleet, "drift", "stat -c %a /run/home-dave").trim(), "755");
    assert_eq!(sh(&fleet, "drift", "passwd -S root | cut -d ' ' -f 2").trim(), "NP");
    assert!(sh(&fleet, "drift", "cat /etc/pam.d/common-password").contains("pam_unix.so obscure yescrypt remember=5"));

    // The compliant host: no change, stricter values kept.
    assert_eq!(host(&fixed, "good")["changes"], serde_json::json!([]), "{fixed}");
    let good_after: Vec<String> = watched.iter().map(|p| stat(&fleet, "good", p)).collect();
    assert_eq!(good_before, good_after);
    assert_eq!(login_shell(&fleet, "good"), "0077\n600\n");

    let again = run("fix", &inv, "accounts", "drift");
    assert_eq!(host(&again, "drift")["changes"], serde_json::json!([]), "{again}");
}

/// One profile on a mixed fleet: the RHEL-family package rules judge a
/// RHEL-like host and are skipped on Debian with the reason, and the
/// Debian package rules the other way round.
#[test]
fn rhel_family_package_rules_apply_by_os_release_and_skip_elsewhere() {
    let fleet = Fleet::start(vec![rocky(), HostSpec::new("deb")]);
    let inv = fleet.write_inventory().display().to_string();
    assert_eq!(
        sh(&fleet, "rocky", "dpkg-query -W -f='${db:Status-Abbrev}' telnet-server"),
        "ii "
    );
    let report = run("audit", &inv, "services-rhel", "rocky,deb");
    let r = host(&report, "rocky");
    for (id, status) in [
        ("SVC-RHEL-NO-TELNET-SERVER", "fail"),
        ("SVC-RHEL-NO-XINETD", "fail"),
        ("SVC-RHEL-NO-RSH-SERVER", "pass"),
        ("SVC-RHEL-NO-TFTP-SERVER", "pass"),
        ("SVC-RHEL-NO-YPSERV", "pass"),
        ("SVC-RHEL-NO-TALK-SERVER", "pass"),
    ] {
        assert_eq!(rule(r, id)["status"], status, "{id}: {}", rule(r, id));
        let d = rule(host(&report, "deb"), id);
        assert_eq!(d["status"], "skipped", "{d}");
        assert!(d["message"].as_str().unwrap().contains("not applicable"), "{d}");
    }
    // fix runs nothing for them (manual): the package stays.
    let fixed = run("fix", &inv, "services-rhel", "rocky");
    assert!(host(&fixed, "rocky")["warnings"]
        .to_string()
        .contains("SVC-RHEL-NO-TELNET-SERVER"));
    assert_eq!(
        sh(&fleet, "rocky", "dpkg-query -W -f='${db:Status-Abbrev}' telnet-server"),
        "ii "
    );
    let debian = run("audit", &inv, "services", "rocky");
    assert_eq!(rule(host(&debian, "rocky"), "SVC-NO-TELNETD")["status"], "skipped");
}
