//! Secrets stay out of everything rectify shows or keeps, in the forms a
//! user actually produces: a multi-line PEM key rendered into a template,
//! a password passed through filters (`upper`, `replace`), a token used by
//! a handler. Checked in `apply --diff` (terminal and JSON), `rectify show`,
//! `rollback --check --diff` and the raw bytes of the state database; the
//! rollback of a run whose handler used a secret refuses, naming it, since
//! the handler is recorded masked and would rerun with `********`.

use crate::fleet::report::{host, json};
use crate::fleet::{run_rectify, write, Fleet, HostSpec};

const PEM_LINES: [&str; 2] = ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "AAAAsecretlinetwoZZZZ"];

const PLAYBOOK: &str = r#"name: secrets
vars:
  tls_key: "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAAAAsecretlinetwoZZZZ\n-----END PRIVATE KEY-----\n"
  db_password: hunter2-Xyzzy
  api_token: tok-Qwerty-99
secrets: [tls_key]
steps:
  - name: tls key
    template: key.j2
    dest: /etc/app-key.pem
    mode: "0600"
  - name: db password
    setting: {file: /etc/app.conf, key: Password, value: "{{ db_password | upper }}"}
    notify: [push token]
  - name: password hint
    setting: {file: /etc/app.conf, key: Hint, value: "{{ db_password | replace('-', '+') }}"}
handlers:
  push token: printf '%s' {{ api_token }} > /run/token
"#;

/// Every form of the secrets a user could see: the values, each line of the
/// key, and what the filters made of the password.
fn forms() -> Vec<&'static str> {
    let mut f = vec!["hunter2-Xyzzy", "HUNTER2-XYZZY", "hunter2+Xyzzy", "tok-Qwerty-99"];
    f.extend(PEM_LINES);
    f
}

fn assert_clean(what: &str, bytes: &[u8]) {
    for s in forms() {
        assert!(
            !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
            "{what} contains {s:?}:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

fn both(out: &std::process::Output) -> Vec<u8> {
    [out.stdout.as_slice(), out.stderr.as_slice()].concat()
}

#[test]
fn secrets_filtered_multiline_or_in_handlers_never_show_and_rollback_refuses_masked_handlers() {
    let fleet = Fleet::start(vec![HostSpec::new("h").file(
        "app.conf",
        "# app\nPassword old\nHint none\n",
        0o600,
    )]);
    let inv = fleet.write_inventory().display().to_string();
    let pb = write(fleet.dir(), "playbook.yaml", PLAYBOOK).display().to_string();
    write(fleet.dir(), "key.j2", "{{ tls_key }}");
    let state = tempfile::tempdir().unwrap();
    let env = [("RECTIFY_STATE_DIR", state.path().to_str().unwrap())];

    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--check", "--diff"], &env);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_clean("apply --check --diff", &both(&out));

    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--diff", "--format", "json"], &env);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(host(&report, "h")["status"], "changed");
    assert_clean("apply --diff JSON report", &both(&out));
    let run_id = report["run_id"].as_str().unwrap().to_string();
    // The host got the real values; the handler ran with the real token.
    let key = fleet.read_file("h", "/etc/app-key.pem");
    assert!(String::from_utf8_lossy(&key).contains(PEM_LINES[1]));
    let conf = String::from_utf8_lossy(&fleet.read_file("h", "/etc/app.conf")).into_owned();
    assert!(
        conf.contains("Password HUNTER2-XYZZY") && conf.contains("Hint hunter2+Xyzzy"),
        "{conf}"
    );
    assert_eq!(fleet.read_file("h", "/run/token"), b"tok-Qwerty-99");

    for format in ["human", "json"] {
        let out = run_rectify(&["show", &run_id, "--format", format], &env);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        assert_clean("rectify show", &both(&out));
    }

    let out = run_rectify(&["rollback", &run_id, "-i", &inv, "--check", "--diff"], &env);
    assert_clean("rollback --check --diff", &both(&out));
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));

    // The handler was recorded masked: rerunning it would write ********.
    let out = run_rectify(&["rollback", &run_id, "-i", &inv, "--diff"], &env);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("handler 1") && stderr.contains("refuses"), "{stderr}");
    assert_clean("refused rollback", &both(&out));
    assert_eq!(
        fleet.read_file("h", "/run/token"),
        b"tok-Qwerty-99",
        "handler not rerun"
    );
    assert!(String::from_utf8_lossy(&fleet.read_file("h", "/etc/app.conf")).contains("HUNTER2-XYZZY"));

    for f in std::fs::read_dir(state.path()).unwrap() {
        let path = f.unwrap().path();
        assert_clean(&path.display().to_string(), &std::fs::read(&path).unwrap());
    }
}
