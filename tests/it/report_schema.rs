//! docs/report.schema.json describes the JSON report as rectify writes it:
//! real `--local` runs (an audit with every rule status, `show` of it, an
//! `apply --check` and a `fix --check`) validate against it, and reports
//! that break it do not.

use std::path::Path;

use serde_json::{json, Value};

use crate::fleet::rectify_in;
use crate::fleet::report::json;

/// A way to spoil a valid report.
type Breakage = fn(&mut Value);

struct Schema {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Schema {
    fn load() -> Schema {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.enable_format_assertions();
        let index = compiler
            .compile(path.to_str().unwrap(), &mut schemas)
            .unwrap_or_else(|e| panic!("{e:#}"));
        Schema { schemas, index }
    }

    fn check(&self, report: &Value) -> Result<(), String> {
        self.schemas.validate(report, self.index).map_err(|e| format!("{e:#}"))
    }
}

#[test]
fn real_reports_match_the_schema_and_broken_ones_do_not() {
    let schema = Schema::load();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let state_dir = d.join("state");
    let state = [("RECTIFY_STATE_DIR", state_dir.to_str().unwrap())];
    let conf = d.join("app.conf");
    std::fs::write(&conf, "mode = fast\nport = 5432\n").unwrap();
    let f = conf.display();
    // An sshd configuration that sets nothing: its rule shows the default.
    let sshd_config = d.join("sshd_config");
    std::fs::write(&sshd_config, "# nothing set\n").unwrap();
    let s = sshd_config.display();
    std::fs::write(
        d.join("b.yaml"),
        format!(
            "name: local\nrules:\n\
             - {{id: PASS, title: mode, severity: high, file: {f}, setting: mode, expect: fast}}\n\
             - {{id: FAIL, file: {f}, content: \"mode = slow\\n\", references: {{cis: ['debian12:1.2.3'], nist: [CM-6]}}, manual_check: look at it, remediation: {{manual: edit it by hand}}}}\n\
             - {{id: ERROR, file: {f}, setting: mode, expect: '{{{{ nope }}}}'}}\n\
             - {{id: SKIPPED, hosts: 'web*', sysctl: kernel.ostype, check: live, expect: Linux}}\n\
             - {{id: WAIVED, severity: low, file: {f}, setting: port, expect: '22'}}\n\
             - {{id: EXPIRED, file: {f}, setting: port, expect: '23'}}\n\
             - {{id: DEFAULTED, file: {s}, setting: MaxAuthTries, expect: '6'}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("w.yaml"),
        "waivers:\n  - {rule: WAIVED, reason: legacy port}\n  - {rule: EXPIRED, reason: old, expires: 2000-01-01}\n",
    )
    .unwrap();

    let audit = json(&rectify_in(
        &[
            "audit",
            "--local",
            "-b",
            "b.yaml",
            "--waivers",
            "w.yaml",
            "--format",
            "json",
        ],
        d,
        &state,
    ));
    schema.check(&audit).unwrap();
    let statuses: Vec<&str> = audit["hosts"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    for status in ["pass", "fail", "error", "skipped", "waived"] {
        assert!(statuses.contains(&status), "no {status} result: {statuses:?}");
    }
    assert!(!audit["hosts"][0]["warnings"].as_array().unwrap().is_empty());
    let defaulted = audit["hosts"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "DEFAULTED")
        .unwrap();
    assert_eq!(defaulted["actual_default"], true, "{defaulted:#}");
    // A failing rule carries its references, manual check and manual fix.
    let fail = &audit["hosts"][0]["results"][1];
    assert_eq!(
        fail["references"],
        json!({"cis": ["debian12:1.2.3"], "nist": ["CM-6"]}),
        "{fail}"
    );
    assert_eq!(
        (fail["manual_check"].as_str(), fail["remediation"]["manual"].as_str()),
        (Some("look at it"), Some("edit it by hand"))
    );

    // The stored run, shown again, is the same report.
    let run_id = audit["run_id"].as_str().unwrap();
    let shown = json(&rectify_in(&["show", run_id, "--format", "json"], d, &state));
    schema.check(&shown).unwrap();
    assert_eq!(shown, audit);

    // An apply report, with changes.
    std::fs::write(
        d.join("p.yaml"),
        format!("name: p\nsteps:\n  - name: slow mode\n    setting: {{file: {f}, key: mode, value: slow}}\n"),
    )
    .unwrap();
    let apply = json(&rectify_in(
        &["apply", "--local", "-p", "p.yaml", "--check", "--format", "json"],
        d,
        &state,
    ));
    schema.check(&apply).unwrap();
    assert_eq!(apply["hosts"][0]["status"], "would_change", "{apply}");
    assert!(!apply["hosts"][0]["changes"].as_array().unwrap().is_empty());
    assert_eq!(apply["check"], true, "{apply}");

    // A fix --check report: its failing rules have no remediation.
    let fix = json(&rectify_in(
        &["fix", "--local", "-b", "b.yaml", "--check", "--format", "json"],
        d,
        &state,
    ));
    schema.check(&fix).unwrap();
    let unremediated: Vec<&str> = fix["hosts"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["no_remediation"] == true)
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    // FAIL's fix is manual: reported with its instructions, not as
    // having no remediation.
    assert_eq!(
        unremediated,
        ["ERROR", "WAIVED", "EXPIRED"],
        "fix takes no waivers: {fix}"
    );

    // The schema is strict enough to catch what would break a consumer.
    let broken: [(&str, Breakage); 8] = [
        ("a wrong rule status", |r| {
            r["hosts"][0]["results"][0]["status"] = json!("passed")
        }),
        ("a wrong host status", |r| r["hosts"][0]["status"] = json!("ok")),
        ("no format_version", |r| {
            r.as_object_mut().unwrap().remove("format_version");
        }),
        ("another format_version", |r| r["format_version"] = json!(2)),
        ("a count as text", |r| r["summary"]["drift"] = json!("1")),
        ("a bad timestamp", |r| r["started"] = json!("yesterday")),
        ("an undocumented field", |r| r["hosts"][0]["extra"] = json!(true)),
        ("actual_default written false", |r| {
            r["hosts"][0]["results"][0]["actual_default"] = json!(false)
        }),
    ];
    for (what, breaks) in broken {
        let mut report = audit.clone();
        breaks(&mut report);
        assert!(schema.check(&report).is_err(), "the schema accepts {what}");
    }
}
