//! Controller CPU on the hot paths, per host: splitting the collected
//! output, evaluating rules, diffing a file. `cargo bench --bench hot_paths`.

use rectify::baseline::Baseline;
use rectify::collect::{parse_output, Probes};
use rectify::evaluate::{evaluate, probe_for, CollectLimits, SshdTrees};
use rectify::report::RuleStatus;
use rectify::template::{Renderer, Vars};
use rectify::yaml::SourceFile;

fn main() {
    divan::main();
}

/// A realistic sshd_config: 140 lines, mostly comments.
fn sshd_config() -> String {
    let mut text = String::new();
    for i in 0..100 {
        text.push_str(&format!("# comment line {i} explaining a default\n"));
    }
    for (k, v) in [
        ("Port", "22"),
        ("PermitRootLogin", "prohibit-password"),
        ("PasswordAuthentication", "no"),
        ("X11Forwarding", "no"),
        ("MaxAuthTries", "4"),
        ("ClientAliveInterval", "300"),
        ("LoginGraceTime", "60"),
        ("PermitEmptyPasswords", "no"),
        ("AllowTcpForwarding", "no"),
    ] {
        text.push_str(&format!("{k} {v}\n"));
    }
    text.push_str("Match User backup\n  PasswordAuthentication yes\n");
    text
}

/// The framed output of a collection script with `frames` facts of `size` bytes.
fn framed(frames: usize, size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..frames {
        out.extend_from_slice(format!("RECTIFY:n0nce:{i}:ok:{size}\n").as_bytes());
        out.extend(std::iter::repeat_n(b'x', size));
    }
    out.extend_from_slice(b"RECTIFY:n0nce:end\n");
    out
}

#[divan::bench(args = [16, 64, 256])]
fn parse_collected_output(bencher: divan::Bencher, frames: usize) {
    let output = framed(frames, 4096);
    bencher.bench(|| parse_output(divan::black_box(&output), "n0nce", frames).unwrap());
}

#[divan::bench]
fn evaluate_48_rules(bencher: divan::Bencher) {
    let mut text = String::from("name: b\nrules:\n");
    let keys = [
        "PermitRootLogin",
        "PasswordAuthentication",
        "X11Forwarding",
        "MaxAuthTries",
        "ClientAliveInterval",
        "LoginGraceTime",
        "PermitEmptyPasswords",
        "AllowTcpForwarding",
    ];
    for i in 0..48 {
        let k = keys[i % keys.len()];
        text.push_str(&format!(
            "  - id: R{i}\n    file: /etc/ssh/sshd_config\n    setting: {k}\n    expect: [\"no\", \"4\", \"300\", \"60\", prohibit-password]\n"
        ));
    }
    let baseline = Baseline::from_source(&SourceFile {
        path: "b.yaml".into(),
        text,
    })
    .unwrap();
    let limits = CollectLimits::default();
    let mut probes = Probes::default();
    for r in &baseline.rules {
        probes.add(probe_for(r, &limits));
    }
    // sshd_config setting rules read the file with its includes (none here).
    let part = |status: &str, body: Vec<u8>| rectify::collect::Part {
        status: status.into(),
        body,
    };
    let outputs = vec![rectify::collect::ProbeOutput::Parts(vec![
        part("path", b"/etc/ssh/sshd_config".to_vec()),
        part("ok", sshd_config().into_bytes()),
    ])];
    let renderer = Renderer::default();
    let vars = Vars::new();
    bencher.bench(|| {
        // Decoding the sshd configuration is once per host, so it is in.
        let sshd = SshdTrees::decode(&probes, &outputs);
        baseline
            .rules
            .iter()
            .filter(|r| evaluate(r, &probes, &outputs, &sshd, &limits, &vars, &renderer).status == RuleStatus::Pass)
            .count()
    });
}

#[divan::bench]
fn unified_diff_of_a_changed_config(bencher: divan::Bencher) {
    let old = sshd_config();
    let new = old
        .replace("X11Forwarding no", "X11Forwarding yes")
        .replace("Port 22", "Port 2222");
    bencher.bench(|| rectify::diff::unified("/etc/ssh/sshd_config", Some(old.as_bytes()), Some(new.as_bytes())));
}

#[divan::bench]
fn edit_a_setting_in_place(bencher: divan::Bencher) {
    let text = sshd_config();
    bencher.bench(|| {
        rectify::conftext::edit::set_setting(
            divan::black_box(&text),
            "MaxAuthTries",
            "3",
            rectify::conftext::setting::SettingDialect::Sshd,
        )
    });
}
