//! The web view's survey and knowledge pages: a real survey of a small
//! fleet, recorded by `rectify survey`, then read back through `rectify
//! serve` — the list, the survey's groups (outlier first, its diff from
//! the majority), a survey's run id leading to its page — and the
//! knowledge pages of the baseline given to serve (what it protects, how
//! to check by hand, how it is fixed, a link to where it recurred).

use crate::fleet::report::json;
use crate::fleet::{run_rectify, write, Fleet, HostSpec};
use crate::serve::Server;

const BASELINE: &str = r#"name: demo
rules:
  - id: DEMO-COLOR
    title: Colour is blue
    severity: high
    rationale: Other colours confuse the operators.
    manual_check: grep Color /etc/demo.conf
    references: {nist: [CM-6]}
    remediation: {manual: "Set Color blue in /etc/demo.conf"}
    file: /etc/demo.conf
    setting: Color
    expect: blue
"#;

#[test]
fn surveys_and_knowledge_pages_are_in_the_web_view() {
    let fleet = Fleet::start(vec![
        HostSpec::new("web01").file("demo.conf", "Color blue\n", 0o644),
        HostSpec::new("web02").file("demo.conf", "Color blue\n", 0o644),
        HostSpec::new("web03").file("demo.conf", "Color red\n", 0o644),
    ]);
    let inv = fleet.write_inventory();
    let b = write(fleet.dir(), "b.yaml", BASELINE);
    let state = tempfile::tempdir().unwrap();
    let env = [("RECTIFY_STATE_DIR", state.path().to_str().unwrap())];
    let out = run_rectify(
        &[
            "survey",
            "-i",
            inv.to_str().unwrap(),
            "--file",
            "/etc/demo.conf",
            "--format",
            "json",
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(1), "answers differ: {out:?}");
    let id = json(&out)["run_id"].as_str().unwrap().to_string();

    let server = Server::start(
        state.path(),
        &format!("{}:0", fleet.spare_address(9)),
        &["-b", b.to_str().unwrap()],
    );
    let list = server.page("/surveys");
    assert!(
        list.contains(&format!(r#"<tr data-run="{id}">"#)) && list.contains(&format!(r#"href="/surveys/{id}""#)),
        "{list}"
    );
    let page = server.page(&format!("/surveys/{id}"));
    let outlier = page
        .find(r#"data-majority="false" data-count="1""#)
        .expect("outlier row");
    let majority = page
        .find(r#"data-majority="true" data-count="2""#)
        .expect("majority row");
    assert!(outlier < majority, "outliers first: {page}");
    assert!(page.contains(r#"<a href="/hosts/web03">web03</a>"#), "{page}");
    assert!(
        page.contains(r#"<span class="del">-Color blue</span>"#)
            && page.contains(r#"<span class="add">+Color red</span>"#),
        "the outlier's diff from the majority: {page}"
    );
    // The survey's run id (or a prefix of it) leads to its page.
    let r = server.get(&format!("/runs/{}", &id[..id.len() - 2]), &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some(format!("/surveys/{id}").as_str()));

    // minijinja escapes `/` in attributes as `&#x2f;`, as a browser reads it.
    let index = server.page("/knowledge").replace("&#x2f;", "/");
    assert!(index.contains("href=\"/knowledge/DEMO-COLOR\""), "{index}");
    let rule = server.page("/knowledge/DEMO-COLOR").replace("&#x2f;", "/");
    for text in [
        "Other colours confuse the operators.",
        "grep Color /etc/demo.conf",
        "Set Color blue in /etc/demo.conf",
        "href=\"/rules/DEMO-COLOR\"",
    ] {
        assert!(rule.contains(text), "{text} in {rule}");
    }
    // And the rule's history page leads to it.
    let history = server.page("/rules/DEMO-COLOR").replace("&#x2f;", "/");
    assert!(history.contains(r#"<a href="/knowledge/DEMO-COLOR">"#), "{history}");
    assert_eq!(server.get("/knowledge/NOPE", &[]).status, 404);
    assert_eq!(server.get("/surveys/NOPE", &[]).status, 404);
}
