//! Persisted sysctl values: what rectify says the next boot loads, against
//! what procps `sysctl --system` itself loads on the same host. procps runs
//! in a sandbox inside the fleet host: a private mount namespace with a
//! tmpfs over /proc/sys holding one plain file per key, so its writes land
//! there and never in the kernel (live values are shared by every host and
//! this machine). The `sysctl` step's `persist:` is checked the same way.

use crate::fleet::report::{host, rule};
use crate::fleet::{apply_fleet, audit_fleet, sh, Fleet, HostSpec};

/// Keys the sandbox offers procps, as (rule key, path below /proc/sys).
const KEYS: &[(&str, &str)] = &[
    ("net.ipv4.ip_forward", "net/ipv4/ip_forward"),
    ("net.ipv4.tcp_rmem", "net/ipv4/tcp_rmem"),
    ("net.ipv4.conf.all.send_redirects", "net/ipv4/conf/all/send_redirects"),
    (
        "net.ipv4.conf.default.send_redirects",
        "net/ipv4/conf/default/send_redirects",
    ),
    (
        "net.ipv4.conf.default.accept_redirects",
        "net/ipv4/conf/default/accept_redirects",
    ),
    ("net.ipv4.conf.all.rp_filter", "net/ipv4/conf/all/rp_filter"),
    ("net.ipv4.conf.default.rp_filter", "net/ipv4/conf/default/rp_filter"),
    ("net.ipv4.conf.lo.rp_filter", "net/ipv4/conf/lo/rp_filter"),
    ("net.ipv4.conf.eth0/1.forwarding", "net/ipv4/conf/eth0.1/forwarding"),
    ("kernel.kptr_restrict", "kernel/kptr_restrict"),
    ("kernel.randomize_va_space", "kernel/randomize_va_space"),
    ("kernel.hostname", "kernel/hostname"),
    ("fs.protected_regular", "fs/protected_regular"),
    ("kernel.pid_max", "kernel/pid_max"),
];

/// What procps `sysctl --system` loads on host `name` for each of `keys`,
/// blanks collapsed; `None` when nothing sets it.
pub(crate) fn procps_loads(fleet: &Fleet, name: &str, keys: &[(&str, &str)]) -> Vec<Option<String>> {
    let files: Vec<String> = keys.iter().map(|(_, p)| format!("/proc/sys/{p}")).collect();
    let dirs: Vec<String> = files
        .iter()
        .map(|f| f.rsplit_once('/').unwrap().0.to_string())
        .collect();
    let script = format!(
        "mount -t tmpfs tmpfs /proc/sys && mkdir -p {dirs} && for f in {files}; do : > \"$f\"; done && \
         sysctl --system >/dev/null 2>&1; for f in {files}; do printf '%s\\n--\\n' \"$(cat \"$f\")\"; done",
        dirs = dirs.join(" "),
        files = files.join(" ")
    );
    let out = sh(
        fleet,
        name,
        &format!("unshare --mount sh -c '{}'", script.replace('\'', "'\\''")),
    );
    let values: Vec<Option<String>> = out
        .split("\n--\n")
        .take(keys.len())
        .map(|v| {
            let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
            (!v.is_empty()).then_some(v)
        })
        .collect();
    assert_eq!(values.len(), keys.len(), "sandbox output: {out:?}");
    values
}

/// A host whose files hold what real machines have: one key set four ways
/// in one file, a drop-in overridden by /etc/sysctl.conf (read twice, also
/// through Debian's 99-sysctl.conf symlink), a /run drop-in hidden by a
/// same-named one in /etc, globs with an exclusion, CRLF, a VLAN key, a
/// dangling symlink, and the distribution's own /usr/lib/sysctl.d.
fn messy_host(name: &str) -> HostSpec {
    HostSpec::new(name)
        .file(
            "sysctl.d/10-mixed.conf",
            "# the same key four ways\nnet.ipv4.ip_forward = 1\nnet.ipv4.ip_forward=0\n  net/ipv4/ip_forward = 1  \n\
             -net.ipv4.ip_forward=0\n; net.ipv4.ip_forward = 9\n#net.ipv4.ip_forward = 8\n\
             net.ipv4.tcp_rmem = 4096\t87380   6291456\nnet.ipv4.conf.all.send_redirects = 1\n\
             kernel.kptr_restrict = 2\r\nnet.ipv4.conf.eth0/1.forwarding = 1\n",
            0o644,
        )
        .file(
            "sysctl.d/20-cloud.conf",
            "net.ipv4.conf.all.send_redirects = 0\nkernel.kptr_restrict=1 # not a comment\n",
            0o644,
        )
        .file("sysctl.d/30-shadow.conf", "net.ipv4.conf.default.send_redirects = 0\n", 0o644)
        .file(
            "sysctl.d/50-glob.conf",
            "net.ipv4.conf.*.rp_filter = 2\nnet.ipv4.conf.lo.rp_filter = 0\n-net.ipv4.conf.default.rp_filter\n",
            0o644,
        )
        .file(
            "sysctl.conf",
            "# /etc/sysctl.conf\nnet.ipv4.conf.all.send_redirects=1\n",
            0o644,
        )
        .setup(
            "mkdir -p /run/sysctl.d && printf 'net.ipv4.conf.default.send_redirects = 1\\n' > /run/sysctl.d/30-shadow.conf && \
             printf 'net.ipv4.conf.default.accept_redirects = 0\\n' > /run/sysctl.d/40-run.conf && \
             ln -s /nonexistent /etc/sysctl.d/60-dangling.conf",
        )
}

#[test]
fn the_persisted_value_is_what_procps_loads_at_boot() {
    let fleet = Fleet::start(vec![messy_host("messy"), HostSpec::new("plain")]);
    let mut baseline = String::from("name: persisted\nrules:\n");
    for (i, (key, _)) in KEYS.iter().enumerate() {
        baseline.push_str(&format!("  - {{id: P{i}, sysctl: '{key}', check: persisted}}\n"));
    }
    let (_, report) = audit_fleet(&fleet, &baseline, &[]);
    for name in ["messy", "plain"] {
        let loaded = procps_loads(&fleet, name, KEYS);
        let h = host(&report, name);
        for (i, ((key, _), procps)) in KEYS.iter().zip(&loaded).enumerate() {
            let r = rule(h, &format!("P{i}"));
            let actual = r["actual"].as_str().map(str::to_string);
            assert_eq!(&actual, procps, "{name} {key}: {r}");
            match procps {
                Some(_) => assert_eq!(r["status"], "pass", "{name} {key}: {r}"),
                None => {
                    assert_eq!(r["status"], "fail", "{name} {key}: {r}");
                    assert!(r["message"].as_str().unwrap().contains("not persisted"), "{r}");
                }
            }
        }
        // The sandbox did load values: the comparison is not vacuous.
        assert!(loaded.iter().filter(|v| v.is_some()).count() >= 2, "{name}: {loaded:?}");
    }
    // The messy cases resolved as procps resolves them, and the verdict
    // names where the winning line is.
    let messy = procps_loads(&fleet, "messy", KEYS);
    assert_eq!(messy[0].as_deref(), Some("0"));
    assert_eq!(messy[2].as_deref(), Some("1"));
    assert_eq!(messy[3].as_deref(), Some("0"));
    assert_eq!(messy[6], None);
    let h = host(&report, "messy");
    let message = rule(h, "P2")["message"].as_str().unwrap().to_string();
    assert!(message.contains("/etc/sysctl.conf:2"), "{message}");
}

#[test]
fn both_fails_naming_the_side_that_differs() {
    let fleet = Fleet::start(vec![messy_host("messy")]);
    let live = |key: &str| {
        sh(&fleet, "messy", &format!("cat /proc/sys/{key}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let aslr = live("kernel/randomize_va_space");
    let forward = live("net/ipv4/ip_forward");
    let kptr = live("kernel/kptr_restrict");
    let baseline = format!(
        "name: both\nrules:\n\
         - {{id: ASLR-LIVE, sysctl: kernel.randomize_va_space, check: live, expect: '{aslr}'}}\n\
         - {{id: ASLR-BOTH, sysctl: kernel.randomize_va_space, expect: '{aslr}'}}\n\
         - {{id: FWD-BOTH, sysctl: net.ipv4.ip_forward, check: both, expect: '{forward}'}}\n\
         - {{id: KPTR-BOTH, sysctl: kernel.kptr_restrict, expect: '{kptr}'}}\n"
    );
    let (code, report) = audit_fleet(&fleet, &baseline, &[]);
    assert_eq!(code, Some(1), "{report}");
    let h = host(&report, "messy");
    let loaded = procps_loads(
        &fleet,
        "messy",
        &[
            ("net.ipv4.ip_forward", "net/ipv4/ip_forward"),
            ("kernel.kptr_restrict", "kernel/kptr_restrict"),
        ],
    );
    assert_eq!(rule(h, "ASLR-LIVE")["status"], "pass");
    let r = rule(h, "ASLR-BOTH");
    assert_eq!(r["status"], "fail", "{r}");
    assert!(
        r["message"].as_str().unwrap().contains("persisted: not persisted"),
        "{r}"
    );
    for (id, persisted) in [("FWD-BOTH", &loaded[0]), ("KPTR-BOTH", &loaded[1])] {
        let r = rule(h, id);
        let live = r["expected"].as_str().unwrap();
        if persisted.as_deref() == Some(live) {
            assert_eq!(r["status"], "pass", "{r}");
        } else {
            assert_eq!(r["status"], "fail", "{r}");
            assert_eq!(r["actual"].as_str(), persisted.as_deref(), "{r}");
            assert!(r["message"].as_str().unwrap().starts_with("persisted: "), "{r}");
        }
    }
}

/// `persist:` writes only where the value wins at boot: refused, naming
/// the overriding file:line, when a later file sets the key; applied and
/// then unchanged when it wins; and no longer unchanged once a file read
/// later overrides it. Truth: procps loading the host's files.
#[test]
fn persist_refuses_a_file_that_would_be_overridden() {
    let spec =
        |name: &str| HostSpec::new(name).file("sysctl.conf", format!("# local\nkernel.hostname = {name}-old\n"), 0o644);
    let fleet = Fleet::start(vec![spec("h1")]);
    let hostname = [("kernel.hostname", "kernel/hostname")];

    // /etc/sysctl.conf is read last: a drop-in cannot win.
    let dropin =
        "name: p\nsteps:\n  - sysctl: {key: kernel.hostname, value: h1, persist: /etc/sysctl.d/90-rectify.conf}\n";
    let (code, report) = apply_fleet(&fleet, dropin, &[]);
    assert_ne!(code, Some(0), "{report}");
    let h = host(&report, "h1");
    let text = h.to_string();
    assert!(text.contains("/etc/sysctl.conf:2 sets h1-old"), "{text}");
    assert_eq!(
        sh(&fleet, "h1", "test -e /etc/sysctl.d/90-rectify.conf || echo absent"),
        "absent\n"
    );
    assert_eq!(procps_loads(&fleet, "h1", &hostname)[0].as_deref(), Some("h1-old"));

    // Written where it wins: applied, what procps loads, then unchanged.
    let main = "name: p\nsteps:\n  - sysctl: {key: kernel.hostname, value: h1, persist: /etc/sysctl.conf}\n";
    let (code, report) = apply_fleet(&fleet, main, &[]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(host(&report, "h1")["status"], "changed", "{report}");
    assert_eq!(procps_loads(&fleet, "h1", &hostname)[0].as_deref(), Some("h1"));
    let (code, report) = apply_fleet(&fleet, main, &[]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(host(&report, "h1")["status"], "unchanged", "{report}");

    // A drop-in that wins, then a local file sorting later overrides it:
    // the second run is not `unchanged`.
    sh(&fleet, "h1", "sed -i '/kernel.hostname/d' /etc/sysctl.conf");
    let early =
        "name: p\nsteps:\n  - sysctl: {key: kernel.hostname, value: h1, persist: /etc/sysctl.d/50-rectify.conf}\n";
    let (code, report) = apply_fleet(&fleet, early, &[]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(procps_loads(&fleet, "h1", &hostname)[0].as_deref(), Some("h1"));
    sh(
        &fleet,
        "h1",
        "mkdir -p /run/sysctl.d && printf 'kernel/hostname=h1-late\\n' > /run/sysctl.d/60-late.conf",
    );
    let (code, report) = apply_fleet(&fleet, early, &[]);
    assert_ne!(code, Some(0), "{report}");
    let text = host(&report, "h1").to_string();
    assert!(text.contains("/run/sysctl.d/60-late.conf:1 sets h1-late"), "{text}");
    assert_eq!(procps_loads(&fleet, "h1", &hostname)[0].as_deref(), Some("h1-late"));
}
