//! Reading rectify's JSON report in the tests: the report of a run, one
//! host of it, one rule of a host.

use std::process::Output;

use serde_json::Value;

/// The JSON report on rectify's stdout; when it is not JSON, the panic
/// shows stdout and stderr both (usually the reason rectify gave).
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): stdout={} stderr={}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The host called `name` in a report.
pub fn host<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["hosts"]
        .as_array()
        .unwrap_or_else(|| panic!("no hosts in {report}"))
        .iter()
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("no host {name} in {report}"))
}

/// The ids of the rules that failed on one host of a report, in order.
pub fn failing_rules(host: &Value) -> Vec<&str> {
    host["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {host}"))
        .iter()
        .filter(|r| r["status"] == "fail")
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

/// The result of rule `id` on one host of a report.
pub fn rule<'a>(host: &'a Value, id: &str) -> &'a Value {
    host["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {host}"))
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no rule {id} in {host}"))
}
