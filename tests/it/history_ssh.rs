//! Fleet history: several audits with drift introduced, fixed and
//! reintroduced; `stats` names the recurring rule and host with the right
//! counts, `changes` shows the diffs in order, `show` reproduces an old run
//! byte for byte.

use crate::fleet::report::json;
use crate::fleet::{audit_json_with, run_rectify, write, Fleet, HostSpec};

#[test]
fn stats_changes_and_show_tell_the_story_of_a_recurring_drift() {
    let conf = "# demo\nColor blue\n";
    let fleet = Fleet::start(vec![
        HostSpec::new("web01").file("demo.conf", conf, 0o644),
        HostSpec::new("web02").file("demo.conf", conf, 0o644),
    ]);
    let dir = fleet.dir();
    let inv = fleet.write_inventory();
    let b = write(
        dir,
        "b.yaml",
        "name: demo\nrules:\n  - id: DEMO-COLOR\n    severity: high\n    file: /etc/demo.conf\n    setting: Color\n    expect: blue\n  - id: DEMO-EXISTS\n    file: /etc/demo.conf\n    exists: true\n",
    );
    let state = tempfile::tempdir().unwrap();
    let env = [("RECTIFY_STATE_DIR", state.path().to_str().unwrap())];

    let mut runs = Vec::new();
    let mut outputs = Vec::new();
    for colour in ["blue", "red", "blue", "green"] {
        fleet.exec(
            "web01",
            &format!("printf '# demo\\nColor {colour}\\n' > /etc/demo.conf"),
        );
        let out = audit_json_with(&inv, &b, &[], &env);
        let report = json(&out);
        runs.push(report["run_id"].as_str().unwrap().to_string());
        outputs.push(out.stdout);
    }

    let out = run_rectify(&["stats", "--since", "1d", "--format", "json"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stats = json(&out);
    assert_eq!(stats["runs"], 4);
    let rule = &stats["rules"][0];
    assert_eq!(rule["rule"], "DEMO-COLOR", "recurring drift is listed first: {stats}");
    assert_eq!(rule["failing_now"], serde_json::json!(["web01"]));
    assert_eq!(rule["failures"], 2);
    let recurring = rule["recurring"].as_array().unwrap();
    assert_eq!(recurring.len(), 2, "{rule}");
    assert!(recurring.iter().all(|r| r["host"] == "web01"));
    assert_eq!(
        (recurring[0]["passed_run"].as_str(), recurring[0]["failed_run"].as_str()),
        (Some(runs[0].as_str()), Some(runs[1].as_str()))
    );
    assert_eq!(
        (recurring[1]["passed_run"].as_str(), recurring[1]["failed_run"].as_str()),
        (Some(runs[2].as_str()), Some(runs[3].as_str()))
    );
    let other = stats["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "DEMO-EXISTS")
        .unwrap();
    assert_eq!(other["failures"], 0);
    let web01 = stats["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == "web01")
        .unwrap();
    assert_eq!(
        (web01["runs"].as_u64(), web01["compliant_runs"].as_u64()),
        (Some(4), Some(2))
    );
    let human = run_rectify(&["stats", "--since", "1d"], &env);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("DEMO-COLOR") && text.contains("web01: passed"), "{text}");

    let out = run_rectify(&["changes", "web01", "--since", "1d", "--format", "json"], &env);
    let changes = json(&out);
    let diffs: Vec<&str> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["diff"].as_str().unwrap())
        .collect();
    assert_eq!(diffs.len(), 3, "{changes}");
    assert!(diffs[0].contains("-Color blue\n+Color red"), "{}", diffs[0]);
    assert!(diffs[1].contains("-Color red\n+Color blue"), "{}", diffs[1]);
    assert!(diffs[2].contains("-Color blue\n+Color green"), "{}", diffs[2]);
    let out = run_rectify(&["changes", "web02", "--since", "1d"], &env);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no changes"));

    // An old run, exactly as it was printed.
    let out = run_rectify(&["show", &runs[1], "--format", "json"], &env);
    assert_eq!(out.stdout, outputs[1]);
}
