//! `package` rules on a host whose dpkg database holds a package in every
//! dpkg state (a database of its own, bind-mounted over `/var/lib/dpkg`
//! inside the host's mount namespace only). Each verdict is derived from
//! the host's own `dpkg-query -W -f '${db:Status-Abbrev}'`, never from
//! rectify.

use crate::fleet::report::{host, json, rule};
use crate::fleet::{audit_json, sh, write, Fleet, HostSpec};

/// (package, dpkg `Status` field); the name says the state.
const STATES: &[(&str, &str)] = &[
    ("p-ii", "install ok installed"),
    ("p-hi", "hold ok installed"),
    ("p-it", "install ok triggers-pending"),
    ("p-iw", "install ok triggers-awaited"),
    ("p-iu", "install ok unpacked"),
    ("p-if", "install ok half-configured"),
    ("p-ih", "install reinstreq half-installed"),
    ("p-rc", "deinstall ok config-files"),
    ("p-un", "purge ok not-installed"),
];

fn status_file() -> String {
    STATES
        .iter()
        .map(|(name, status)| {
            let triggers = match *name {
                "p-it" => "Triggers-Pending: some-trigger\n",
                "p-iw" => "Triggers-Awaited: p-it\n",
                _ => "",
            };
            format!(
                "Package: {name}\nStatus: {status}\nPriority: optional\nSection: misc\nInstalled-Size: 1\n\
                 Maintainer: Nobody <nobody@example.org>\nArchitecture: amd64\nVersion: 1.2-3\n\
                 {triggers}Description: test\n\n"
            )
        })
        .collect()
}

#[test]
fn absent_and_installed_follow_dpkgs_own_state() {
    let fleet = Fleet::start(vec![HostSpec::new("h")
        .file("rectify-dpkg/status", status_file(), 0o644)
        .file("rectify-dpkg/available", "", 0o644)
        .setup(
            "mkdir -p /etc/rectify-dpkg/info /etc/rectify-dpkg/updates && \
             mount --bind /etc/rectify-dpkg /var/lib/dpkg",
        )]);
    let mut rules = String::new();
    let mut names: Vec<&str> = STATES.iter().map(|(n, _)| *n).collect();
    names.push("rectify-no-such-package");
    for name in &names {
        rules.push_str(&format!(
            "  - {{id: {name}-installed, package: {name}, state: installed}}\n  - {{id: {name}-absent, package: {name}, state: absent}}\n"
        ));
    }
    let baseline = write(fleet.dir(), "pkgs.yaml", &format!("name: pkgs\nrules:\n{rules}"));
    let out = audit_json(&fleet.write_inventory(), &baseline, &[]);
    let report = json(&out);
    let h = host(&report, "h");
    let mut letters = String::new();
    for name in &names {
        // The host's own answer: `ii`, `iU`, `rc`… (nothing for an
        // unknown name).
        let truth = sh(
            &fleet,
            "h",
            &format!("dpkg-query -W -f='${{db:Status-Abbrev}}\\t${{db:Status-Status}}' {name} 2>/dev/null"),
        );
        let (abbrev, state) = truth.split_once('\t').unwrap_or(("un", "not-installed"));
        let letter = abbrev.chars().nth(1).unwrap();
        letters.push(letter);
        let (installed, absent, actual) = match letter {
            'i' | 't' | 'W' => ("pass", "fail", "installed 1.2-3".to_string()),
            'n' => ("fail", "pass", "absent".to_string()),
            _ => ("fail", "fail", format!("{state} 1.2-3")),
        };
        let got_installed = rule(h, &format!("{name}-installed"));
        let got_absent = rule(h, &format!("{name}-absent"));
        assert_eq!(
            got_installed["status"], installed,
            "{name} ({truth:?}): {got_installed:#}"
        );
        assert_eq!(got_absent["status"], absent, "{name} ({truth:?}): {got_absent:#}");
        assert_eq!(got_absent["actual"], actual.as_str(), "{name} ({truth:?})");
    }
    // dpkg-query really showed every state.
    assert_eq!(letters, "iitWUFHcnn");
    assert_eq!(out.status.code(), Some(1), "drift: {report:#}");
}
