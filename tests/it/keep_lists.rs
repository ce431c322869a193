//! `keep:` of the shipped ssh-hardening playbook judges an sshd algorithm
//! list by the list the daemon uses: a hand-written edit of the release's
//! default (`Ciphers -3des-cbc,…`) that already leaves no CBC cipher stays
//! as written, one that adds a CBC cipher is rewritten. Judged by the
//! host's own `sshd -T` and the files on the endpoint.

use std::path::Path;

use crate::fleet::report::{host, json};
use crate::fleet::{apply_json, sh, stat, Fleet, HostSpec};

const DROP_IN: &str = "/etc/ssh/sshd_config.d/50-ciphers.conf";

/// A host whose drop-in (sshd reads it first, through the `Include` at the
/// top of sshd_config, as Debian and Ubuntu ship it) sets `ciphers`; the
/// drop-in's mtime is set in the past so that a rewrite shows.
fn spec(name: &str, ciphers: &str) -> HostSpec {
    HostSpec::new(name)
        .sshd("Include /etc/ssh/sshd_config.d/*.conf")
        .setup(&format!(
            "mkdir -p /etc/ssh/sshd_config.d && printf '# local policy\\nCiphers {ciphers}\\n' > {DROP_IN} && touch -d '2020-01-02 03:04:05' {DROP_IN}"
        ))
}

/// `sshd -T`'s ciphers on that host.
fn ciphers(fleet: &Fleet, name: &str) -> String {
    let out = sh(fleet, name, "/usr/sbin/sshd -T -f /etc/ssh/sshd_config");
    out.lines()
        .find_map(|l| l.strip_prefix("ciphers "))
        .unwrap_or_else(|| panic!("sshd -T has no ciphers: {out}"))
        .to_string()
}

#[test]
fn a_compliant_list_edit_stays_and_a_loosening_one_is_rewritten() {
    let fleet = Fleet::start(vec![
        spec("removes", "-3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc"),
        spec("adds", "+3des-cbc"),
    ]);
    // The host's own word before: the removal leaves no CBC cipher, the
    // addition brings 3des-cbc in.
    assert!(
        !ciphers(&fleet, "removes").contains("cbc"),
        "{}",
        ciphers(&fleet, "removes")
    );
    assert!(
        ciphers(&fleet, "adds").contains("3des-cbc"),
        "{}",
        ciphers(&fleet, "adds")
    );
    let removes_text = fleet.read_file("removes", DROP_IN);
    let removes_stat = stat(&fleet, "removes", DROP_IN);

    let inv = fleet.write_inventory();
    let playbook = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/ssh-hardening.yaml");
    let out = apply_json(&inv, &playbook, &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    for name in ["removes", "adds"] {
        assert_eq!(host(&report, name)["status"], "changed", "{report}");
    }

    // The compliant edit: not a byte, not its mtime.
    assert_eq!(
        String::from_utf8_lossy(&fleet.read_file("removes", DROP_IN)),
        String::from_utf8_lossy(&removes_text)
    );
    assert_eq!(stat(&fleet, "removes", DROP_IN), removes_stat);
    assert!(
        !ciphers(&fleet, "removes").contains("cbc"),
        "{}",
        ciphers(&fleet, "removes")
    );

    // The loosening edit: its line rewritten where it is, and the daemon
    // uses no CBC cipher.
    let adds = String::from_utf8(fleet.read_file("adds", DROP_IN)).unwrap();
    assert_eq!(adds, "# local policy\nCiphers -*-cbc*,arcfour*\n");
    assert!(!ciphers(&fleet, "adds").contains("cbc"), "{}", ciphers(&fleet, "adds"));
}
