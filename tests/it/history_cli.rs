//! The run history as an operator uses it after a change: `runs -n`, short
//! run ids and `last`, `--check` runs recorded as checks, `rollback` of a
//! run reaching its hosts as the run did (no inventory), a second rollback
//! that has nothing left to do, and `fix` naming the run id that undoes its
//! changes. Verdicts are the endpoint's own files.

use crate::fleet::report::{host, json};
use crate::fleet::{run_rectify, write, Fleet, HostSpec};

const DEMO: &str = "# demo\nColor blue\n";

const PLAYBOOK: &str = "name: colour\nvars: {colour: red}\nsteps:\n  - name: colour\n    setting: {file: /etc/demo.conf, key: Color, value: \"{{ colour }}\"}\n";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn rollback_reaches_the_runs_hosts_and_short_ids_name_runs() {
    // web01 listens on port 2222 only: a rollback that did not use the
    // run's recorded port (or address: the names resolve nowhere) fails.
    let fleet = Fleet::start(vec![
        HostSpec::new("web01").file("demo.conf", DEMO, 0o644).sshd("Port 2222"),
        HostSpec::new("web02").file("demo.conf", DEMO, 0o644),
    ]);
    let web01 = fleet.address("web01");
    let mut known = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    known.push_str(&format!("[{web01}]:2222 {}\n", fleet.host_key_line("web01")));
    std::fs::write(fleet.known_hosts(), known).unwrap();
    let inv = write(
        fleet.dir(),
        "inv.yaml",
        &fleet.inventory_yaml().replace(
            &format!("web01: {{address: {web01}}}"),
            &format!("web01: {{address: {web01}, port: 2222}}"),
        ),
    );
    let inv = inv.to_str().unwrap();
    let pb = write(fleet.dir(), "colour.yaml", PLAYBOOK);
    let pb = pb.to_str().unwrap();
    let state = tempfile::tempdir().unwrap();
    let env = [("RECTIFY_STATE_DIR", state.path().to_str().unwrap())];
    let colour = |h: &str| text(&fleet.read_file(h, "/etc/demo.conf"));

    // A --check run changes nothing, is recorded as a check, and cannot be
    // rolled back.
    let out = run_rectify(&["apply", "-i", inv, "-p", pb, "--check", "--format", "json"], &env);
    let check = json(&out);
    assert_eq!(out.status.code(), Some(1), "{check}");
    assert_eq!(check["check"], true, "{check}");
    let check_id = check["run_id"].as_str().unwrap().to_string();
    assert_eq!(colour("web01"), DEMO);
    let out = run_rectify(&["runs"], &env);
    let listing = text(&out.stdout);
    let line = listing
        .lines()
        .find(|l| l.starts_with(&check_id))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(line.contains("apply (check)"), "{listing}");
    let out = run_rectify(&["rollback", &check_id], &env);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("was a --check run"), "{}", text(&out.stderr));

    // The real apply.
    let out = run_rectify(&["apply", "-i", inv, "-p", pb, "--format", "json"], &env);
    let applied = json(&out);
    assert_eq!(out.status.code(), Some(0), "{applied}");
    let run_id = applied["run_id"].as_str().unwrap().to_string();
    assert_eq!(colour("web01"), "# demo\nColor red\n");
    assert_eq!(colour("web02"), "# demo\nColor red\n");

    // runs -n N counts runs; the old --limit still works, with a warning.
    let out = run_rectify(&["runs", "-n", "1"], &env);
    let listing = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(listing.lines().count(), 2, "header and one run: {listing}");
    assert!(
        listing.lines().nth(1).unwrap().starts_with(&format!("{run_id} ")),
        "{listing}"
    );
    let out = run_rectify(&["runs", "--limit", "1"], &env);
    assert_eq!(text(&out.stdout), listing);
    assert!(text(&out.stderr).contains("use `-n N`"), "{}", text(&out.stderr));

    // Short ids: the random part, `last`, a prefix of the whole id; an
    // ambiguous prefix is refused with the candidates.
    let random = run_id.split_once('-').unwrap().1;
    for name in [&random[..4], "last", "last-apply", &run_id[..run_id.len() - 2]] {
        let out = run_rectify(&["show", name, "--format", "json"], &env);
        assert_eq!(out.status.code(), Some(0), "show {name}: {}", text(&out.stderr));
        assert_eq!(json(&out)["run_id"], run_id.as_str(), "show {name}");
    }
    let common: String = run_id
        .chars()
        .zip(check_id.chars())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a)
        .collect();
    let out = run_rectify(&["show", &common], &env);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("ambiguous") && err.contains(&run_id) && err.contains(&check_id),
        "{err}"
    );

    // Rollback by short id with no inventory: both hosts restored, web01
    // through its recorded port.
    let out = run_rectify(&["rollback", &random[..6], "--format", "json"], &env);
    let rolled = json(&out);
    assert_eq!(out.status.code(), Some(0), "{rolled}\n{}", text(&out.stderr));
    assert_eq!(host(&rolled, "web01")["status"], "changed", "{rolled}");
    assert_eq!(host(&rolled, "web02")["status"], "changed", "{rolled}");
    assert_eq!(colour("web01"), DEMO);
    assert_eq!(colour("web02"), DEMO);

    // A second rollback has nothing left to do: it says so and exits 0,
    // and the hosts are untouched.
    let out = run_rectify(&["rollback", &run_id], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("already rolled back"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(colour("web01"), DEMO);

    // TARGETS narrow: web02 first, then the rest without naming hosts.
    let out = run_rectify(&["apply", "-i", inv, "-p", pb, "--format", "json"], &env);
    let second = json(&out)["run_id"].as_str().unwrap().to_string();
    let out = run_rectify(
        &["rollback", &second, "-i", inv, "--limit", "web02", "--format", "json"],
        &env,
    );
    let rolled = json(&out);
    assert_eq!(out.status.code(), Some(0), "{rolled}");
    assert_eq!(rolled["hosts"].as_array().unwrap().len(), 1, "{rolled}");
    assert_eq!(
        (colour("web01").as_str(), colour("web02").as_str()),
        ("# demo\nColor red\n", DEMO)
    );
    let out = run_rectify(&["rollback", &second, "--format", "json"], &env);
    let rolled = json(&out);
    assert_eq!(out.status.code(), Some(0), "{rolled}");
    assert_eq!(rolled["hosts"].as_array().unwrap().len(), 1, "{rolled}");
    assert_eq!(host(&rolled, "web01")["status"], "changed");
    assert!(text(&out.stderr).contains("web02: run"), "{}", text(&out.stderr));
    assert_eq!(colour("web01"), DEMO);
}

#[test]
fn fix_names_the_run_that_undoes_it_and_the_rules_it_cannot_fix() {
    let fleet = Fleet::start(vec![HostSpec::new("web01").file(
        "demo.conf",
        "# demo\nColor red\n",
        0o644,
    )]);
    let inv = fleet.write_inventory();
    write(
        fleet.dir(),
        "blue.yaml",
        "name: blue\nsteps:\n  - name: colour\n    setting: {file: /etc/demo.conf, key: Color, value: blue}\n",
    );
    let b = write(
        fleet.dir(),
        "b.yaml",
        "name: demo\nrules:\n  - id: DEMO-COLOR\n    file: /etc/demo.conf\n    setting: Color\n    expect: blue\n    remediation: blue.yaml\n  - id: DEMO-SIZE\n    title: Size is set\n    file: /etc/demo.conf\n    setting: Size\n    expect: large\n",
    );
    let state = tempfile::tempdir().unwrap();
    let env = [("RECTIFY_STATE_DIR", state.path().to_str().unwrap())];

    let out = run_rectify(
        &[
            "fix",
            "-i",
            inv.to_str().unwrap(),
            "-b",
            b.to_str().unwrap(),
            "--format",
            "json",
        ],
        &env,
    );
    let report = json(&out);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "DEMO-SIZE still fails: {report}\n{err}");
    assert_eq!(
        text(&fleet.read_file("web01", "/etc/demo.conf")),
        "# demo\nColor blue\n"
    );
    let fix_id = report["run_id"].as_str().unwrap();
    let apply_id = format!("{fix_id}.1");
    assert!(
        err.contains(&format!("undo with `rectify rollback {apply_id}`")),
        "{err}"
    );
    // The rule without a remediation is named, in the report and on the terminal.
    let results = host(&report, "web01")["results"].as_array().unwrap().clone();
    let size = results.iter().find(|r| r["id"] == "DEMO-SIZE").unwrap();
    assert_eq!(
        (size["status"].as_str(), size["no_remediation"].as_bool()),
        (Some("fail"), Some(true))
    );
    let colour = results.iter().find(|r| r["id"] == "DEMO-COLOR").unwrap();
    assert!(colour.get("no_remediation").is_none(), "{colour}");
    assert!(err.contains("DEMO-SIZE") && err.contains("no remediation"), "{err}");

    // The id fix printed undoes it, without naming the hosts again.
    let out = run_rectify(&["rollback", &apply_id], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&fleet.read_file("web01", "/etc/demo.conf")), "# demo\nColor red\n");
}
