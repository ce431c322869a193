//! Existing Ansible inventories, INI and YAML, audit the same hosts as the
//! native inventory.

use crate::fleet::report::json;
use crate::fleet::{audit_json, run_rectify, write, Fleet, HostSpec};

fn summary(out: &std::process::Output) -> Vec<(String, String, String, String)> {
    let report = json(out);
    let mut hosts: Vec<_> = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap().to_string(),
                h["address"].as_str().unwrap().to_string(),
                h["status"].as_str().unwrap().to_string(),
                h["results"][0]["actual"].to_string(),
            )
        })
        .collect();
    hosts.sort();
    hosts
}

#[test]
fn ansible_ini_and_yaml_inventories_audit_the_same_hosts_as_the_native_one() {
    let fleet = Fleet::start(vec![
        HostSpec::new("web1").file("demo.conf", "Color blue\n", 0o644),
        HostSpec::new("web2").file("demo.conf", "Color red\n", 0o644),
        HostSpec::new("db1").file("demo.conf", "Color blue\n", 0o644),
    ]);
    let dir = fleet.dir();
    let key = fleet.client_key().display().to_string();
    let kh = fleet.known_hosts().display().to_string();
    let (w1, w2, d1) = (fleet.address("web1"), fleet.address("web2"), fleet.address("db1"));
    std::fs::write(
        dir.join("native.yaml"),
        format!(
            "defaults: {{user: root, identity_file: {key}, known_hosts: {kh}, vars: {{colour: blue}}}}\ngroups:\n  web: {{hosts: [web1, web2]}}\n  db: {{hosts: [db1], vars: {{colour: blue}}}}\nhosts:\n  web1: {{address: {w1}}}\n  web2: {{address: {w2}}}\n  db1: {{address: {d1}}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("hosts.ini"),
        format!(
            "# an Ansible inventory\n[web]\nweb[1:2]\n\n[db]\ndb1 ansible_host={d1}\n\n[db:vars]\ncolour=blue\n\n[prod:children]\nweb\ndb\n\n[web:vars]\n\n[all:vars]\nansible_user=root\nansible_ssh_private_key_file={key}\nansible_ssh_common_args='-o UserKnownHostsFile={kh}'\ncolour=blue\n\n[web]\nweb1 ansible_host={w1}\nweb2 ansible_host={w2}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("hosts.yml"),
        format!(
            "all:\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: {key}\n    ansible_ssh_common_args: -o UserKnownHostsFile={kh}\n    colour: blue\n  children:\n    prod:\n      children:\n        web:\n          hosts:\n            web1: {{ansible_host: {w1}}}\n            web2: {{ansible_host: {w2}}}\n        db:\n          hosts:\n            db1: {{ansible_host: {d1}}}\n"
        ),
    )
    .unwrap();
    let b = write(
        dir,
        "b.yaml",
        "name: demo\nrules:\n  - id: COLOUR\n    file: /etc/demo.conf\n    setting: Color\n    expect: \"{{ colour }}\"\n",
    );
    let run = |inv: &str, extra: &[&str]| audit_json(&dir.join(inv), &b, extra);
    let native = run("native.yaml", &[]);
    assert_eq!(native.status.code(), Some(1));
    let expected = summary(&native);
    assert_eq!(expected.len(), 3);
    assert_eq!(expected.iter().filter(|h| h.2 == "drift").count(), 1, "{expected:?}");
    for inv in ["hosts.ini", "hosts.yml"] {
        let out = run(inv, &[]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{inv}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(summary(&out), expected, "{inv}");
        // Ansible's groups work with --limit, children included.
        let out = run(inv, &["--limit", "web"]);
        let names: Vec<String> = summary(&out).into_iter().map(|h| h.0).collect();
        assert_eq!(names, ["web1", "web2"], "{inv}");
        let out = run(inv, &["--limit", "prod,!web"]);
        let names: Vec<String> = summary(&out).into_iter().map(|h| h.0).collect();
        assert_eq!(names, ["db1"], "{inv}");
        let out = run_rectify(&["validate", dir.join(inv).to_str().unwrap()], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
}
