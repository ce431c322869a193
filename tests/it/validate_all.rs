//! `rectify validate` reports every error of a file (each at its line and
//! column, with the index the file gives it), and warns, exiting 0, of
//! what loads but is surely wrong: an expired waiver, a group member
//! defined nowhere.

use crate::fleet::{run_rectify, write};

/// `rectify validate dir/name` of `text`: exit code, stdout and stderr,
/// with `dir/` taken out of file names.
fn validate(dir: &std::path::Path, name: &str, text: &str) -> (Option<i32>, String, String) {
    let path = write(dir, name, text);
    let out = run_rectify(&["validate", path.to_str().unwrap()], &[]);
    let local = |b: &[u8]| String::from_utf8_lossy(b).replace(&format!("{}/", dir.display()), "");
    (out.status.code(), local(&out.stdout), local(&out.stderr))
}

/// The `file:line:col: message` headlines of the diagnostics on stderr.
fn headlines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("error:"))
        .map(|l| l.trim_start_matches([' ', '×']).to_string())
        .collect()
}

#[test]
fn every_error_of_each_kind_of_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = validate(
        dir.path(),
        "b.yaml",
        "name: b\nrules:\n  - id: A\n    sysctl: k\n    bogus: 1\n  - id: B\n    sysctl: k\n  - id: C\n    sysctl: k\n    severity: huge\n",
    );
    assert_eq!(code, Some(2));
    let h = headlines(&err);
    assert_eq!(h.len(), 2, "{err}");
    assert!(h[0].starts_with("b.yaml:5:5: rules[0]: unknown field `bogus`"), "{h:?}");
    assert!(
        h[1].starts_with("b.yaml:10:15: rules[2].severity: unknown variant `huge`"),
        "{h:?}"
    );

    let (code, _, err) = validate(
        dir.path(),
        "inv.yaml",
        "hosts:\n  web01: {address: 192.0.2.1, port: 99999}\n  web02: {adress: 192.0.2.2}\ngroups:\n  web:\n    hosts: [web01, web02]\n    bad: 1\n",
    );
    assert_eq!(code, Some(2));
    let h = headlines(&err);
    assert_eq!(h.len(), 3, "{err}");
    assert!(h[0].starts_with("inv.yaml:2:10: hosts.web01: invalid value"), "{h:?}");
    assert!(
        h[1].starts_with("inv.yaml:3:10: hosts.web02: unknown field `adress`"),
        "{h:?}"
    );
    // serde places an unknown field of a group at the group's first key
    // (line 6), as for a first error; the line is the group's.
    assert!(
        h[2].starts_with("inv.yaml:6:5: groups.web: unknown field `bad`"),
        "{h:?}"
    );

    let (code, _, err) = validate(
        dir.path(),
        "p.yaml",
        "name: p\nsteps:\n  - copy: {src: x}\n  - bogus: 1\n  - setting: {file: /x, key: k}\n",
    );
    assert_eq!(code, Some(2));
    let h = headlines(&err);
    assert_eq!(h.len(), 3, "and not `no steps`: {err}");
    assert!(
        h[0].starts_with("p.yaml:3:11: steps[0].copy: missing field `dest`"),
        "{h:?}"
    );
    assert!(h[1].starts_with("p.yaml:4:5: steps[1]: unknown field `bogus`"), "{h:?}");
    assert!(
        h[2].starts_with("p.yaml:5:14: steps[2].setting: missing field `value`"),
        "{h:?}"
    );

    let (code, _, err) = validate(
        dir.path(),
        "w.yaml",
        "waivers:\n  - rule: X\n  - rule: Y\n    reason: r\n  - {rule: Z, reason: r, until: 2027-01-01}\n",
    );
    assert_eq!(code, Some(2));
    let h = headlines(&err);
    assert_eq!(h.len(), 2, "{err}");
    assert!(
        h[0].starts_with("w.yaml:2:5: waivers[0]: missing field `reason`"),
        "{h:?}"
    );
    assert!(
        h[1].starts_with("w.yaml:5:26: waivers[2]: unknown field `until`"),
        "{h:?}"
    );
}

#[test]
fn expired_waivers_and_members_defined_nowhere_are_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = validate(
        dir.path(),
        "w.yaml",
        "waivers:\n  - rule: OLD\n    reason: vendor box\n    expires: 2020-01-31\n  - {rule: NEW, reason: r, expires: 2999-01-01}\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "ok    w.yaml (waivers)\n");
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        ["warning: w.yaml:4:5: waiver for OLD expired on 2020-01-31: it no longer applies, the rule counts again"]
    );

    let (code, _, err) = validate(
        dir.path(),
        "inv.yaml",
        "hosts:\n  host01: {address: 192.0.2.1}\n  host02: {address: 192.0.2.2}\ngroups:\n  web:\n    hosts: [host01, hots02]\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("inv.yaml:6:21: group web: member hots02 is not defined under hosts:")
            && err.contains("did you mean host02?"),
        "{err}"
    );
}

/// Every shipped baseline, playbook and profile validates: no error and
/// no warning, each named `ok`.
#[test]
fn every_shipped_baseline_playbook_and_profile_validates() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["baselines", "playbooks", "profiles"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path.display().to_string());
            }
        }
    }
    assert!(files.len() >= 20, "{files:?}");
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let out = run_rectify(&args, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(stderr, "");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        files.len(),
        "{stdout}"
    );
}
