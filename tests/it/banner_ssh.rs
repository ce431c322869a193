//! An sshd whose pre-authentication `Banner` file is Latin-1, not UTF-8
//! (issue 13, item 10). OpenSSH's client logs in; rectify's SSH library
//! (russh 0.65.1, the newest release) ends the session on the banner
//! before any handler sees it, so rectify cannot reach such a host. What
//! it can do is say so: the host's error names the banner and the fix,
//! instead of "authentication failed"; once the file is UTF-8 (the fix the
//! message names) the audit passes, other hosts are unaffected throughout.

use std::process::Command;

use crate::fleet::report::{host, rule};
use crate::fleet::{audit_fleet, sh, Fleet, HostSpec};

#[test]
fn a_latin1_banner_is_named_as_the_cause_and_utf8_fixes_it() {
    let fleet = Fleet::start(vec![
        HostSpec::new("latin")
            .file("issue.net", b"Property of ACME \xa9 2026\n".to_vec(), 0o644)
            .sshd("Banner /etc/issue.net"),
        HostSpec::new("plain"),
    ]);
    // The host's own client gets in with the same key and known_hosts.
    let ssh = Command::new("ssh")
        .args(["-i"])
        .arg(fleet.client_key())
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", fleet.known_hosts().display()))
        .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
        .arg(format!("root@{}", fleet.address("latin")))
        .arg("true")
        .output()
        .expect("ssh");
    assert!(ssh.status.success(), "{}", String::from_utf8_lossy(&ssh.stderr));
    // (It shows the Latin-1 byte escaped, as `\251`.)
    let banner = String::from_utf8_lossy(&ssh.stderr);
    assert!(
        banner.contains("Property of ACME"),
        "OpenSSH shows the banner: {banner}"
    );

    let baseline = "name: b\nrules:\n  - {id: OS, sysctl: kernel.ostype, check: live, expect: Linux}\n";
    let (code, report) = audit_fleet(&fleet, baseline, &[]);
    assert_eq!(code, Some(3), "{report}");
    let latin = host(&report, "latin");
    let error = latin["error"].as_str().unwrap_or("");
    assert!(error.contains("not valid UTF-8"), "{error}");
    assert!(error.contains("Banner"), "{error}");
    assert!(!error.contains("authentication failed"), "{error}");
    assert_eq!(rule(host(&report, "plain"), "OS")["status"], "pass", "{report}");

    sh(
        &fleet,
        "latin",
        "iconv -f latin1 -t utf-8 /etc/issue.net > /etc/issue.utf8 && mv /etc/issue.utf8 /etc/issue.net",
    );
    let (code, report) = audit_fleet(&fleet, baseline, &[]);
    assert_eq!(code, Some(0), "{report}");
}
