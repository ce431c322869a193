//! The fleet benchmark (issue: performance): rectify against Ansible,
//! pyinfra and plain parallel OpenSSH on the same fleet of real sshd hosts,
//! the same checks, several interleaved rounds; then rectify alone on a
//! larger fleet, and an apply (template + validate + handler + verify)
//! against Ansible's template + handler.
//!
//!     cargo bench --bench fleet                     # N = 20, 5 rounds, N = 200 for growth
//!     RECTIFY_BENCH_HOSTS=50 RECTIFY_BENCH_ROUNDS=3 RECTIFY_BENCH_BIG=0 cargo bench --bench fleet
//!     RECTIFY_BENCH_TOOLS=rectify,ssh cargo bench --bench fleet   # without the Python tools
//!
//! pyinfra runs without `--dry` (which in pyinfra 3 skips change
//! detection) and with stdin at EOF, so it detects changes and stops at its
//! confirmation prompt: the same work as a check with diffs.
//!
//! Needs root, sshd, python3 with venv (Ansible and pyinfra are installed
//! from PyPI into target/bench-venv on first use) and /usr/bin/time.
//! Nothing here asserts a time: it prints medians and ratios.

#[path = "../tests/it/fleet/mod.rs"]
mod fleet;

use std::path::{Path, PathBuf};
use std::process::Command;

use fleet::{Fleet, HostSpec};

const SETTINGS: [(&str, &str); 8] = [
    ("PermitRootLogin", "prohibit-password"),
    ("PasswordAuthentication", "no"),
    ("X11Forwarding", "no"),
    ("MaxAuthTries", "4"),
    ("ClientAliveInterval", "300"),
    ("LoginGraceTime", "60"),
    ("PermitEmptyPasswords", "no"),
    ("AllowTcpForwarding", "no"),
];
const FILES: [(&str, &str); 3] = [
    ("/etc/shadow", "0640"),
    ("/etc/passwd", "0644"),
    ("/etc/ssh/sshd_config", "0600"),
];
const SYSCTLS: [(&str, &str); 5] = [
    ("net.ipv4.ip_forward", "0"),
    ("net.ipv4.conf.all.accept_redirects", "0"),
    ("net.ipv4.conf.all.send_redirects", "0"),
    ("net.ipv4.tcp_syncookies", "1"),
    ("kernel.randomize_va_space", "2"),
];

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Wall seconds, CPU seconds (user + system, the tool and everything it
/// waited for) and peak RSS in MiB of the largest process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall: f64,
    cpu: f64,
    rss_mib: f64,
}

fn measure(dir: &Path, label: &str, shell: &str) -> Sample {
    let stats = dir.join(format!("{label}.time"));
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(&stats)
        .args(["sh", "-c", shell])
        .current_dir(dir)
        .output()
        .expect("/usr/bin/time");
    let text = std::fs::read_to_string(&stats).unwrap_or_default();
    let nums: Vec<f64> = text
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    if nums.len() != 4 {
        panic!(
            "{label} did not run: {text}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout)
                .chars()
                .take(2000)
                .collect::<String>(),
            String::from_utf8_lossy(&out.stderr)
                .chars()
                .take(2000)
                .collect::<String>()
        );
    }
    // A tool that fails outright would make a meaningless number.
    let code = out.status.code().unwrap_or(-1);
    // rectify exits 1 on drift; the others exit 0 unless something broke.
    let acceptable = code == 0 || (label.starts_with("rectify") && code == 1);
    if !acceptable {
        panic!(
            "{label} exited {code}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout)
                .chars()
                .take(3000)
                .collect::<String>(),
            String::from_utf8_lossy(&out.stderr)
                .chars()
                .take(3000)
                .collect::<String>()
        );
    }
    Sample {
        wall: nums[0],
        cpu: nums[1] + nums[2],
        rss_mib: nums[3] / 1024.0,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn venv(root: &Path) -> PathBuf {
    let venv = root.join("target/bench-venv");
    if !venv.join("bin/ansible-playbook").exists() || !venv.join("bin/pyinfra").exists() {
        eprintln!("installing ansible-core and pyinfra into {}", venv.display());
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(venv.join("bin/pip"))
                .args(["install", "-q", "ansible-core", "pyinfra"])
                .status()
                .is_ok_and(|s| s.success());
        assert!(ok, "cannot install ansible-core and pyinfra from PyPI");
    }
    venv
}

fn q(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

/// Writes every tool's inputs for `fleet` into `dir`.
fn write_inputs(fleet: &Fleet, names: &[String], dir: &Path) {
    let key = fleet.client_key();
    let kh = fleet.known_hosts();
    std::fs::write(dir.join("inventory.yaml"), fleet.inventory_yaml()).unwrap();

    let mut baseline = String::from("name: bench\nrules:\n");
    for (k, v) in SETTINGS {
        baseline.push_str(&format!(
            "  - id: SSH-{k}\n    file: /etc/ssh/sshd_config\n    setting: {k}\n    expect: \"{v}\"\n"
        ));
    }
    for (p, m) in FILES {
        baseline.push_str(&format!(
            "  - id: PERM-{}\n    file: {p}\n    owner: root\n    max_mode: \"{m}\"\n",
            p.replace('/', "-")
        ));
    }
    // Live values only, as the other tools read them (`sysctl -n`).
    for (k, v) in SYSCTLS {
        baseline.push_str(&format!(
            "  - id: SYSCTL-{k}\n    sysctl: {k}\n    check: live\n    expect: \"{v}\"\n"
        ));
    }
    std::fs::write(dir.join("baseline.yaml"), baseline).unwrap();

    // Plain OpenSSH: one command per host, all started at once.
    let mut remote = String::from("cat /etc/ssh/sshd_config; stat -c '%a %U %G %n'");
    for (p, _) in FILES {
        remote.push_str(&format!(" {p}"));
    }
    remote.push_str("; sysctl");
    for (k, _) in SYSCTLS {
        remote.push_str(&format!(" {k}"));
    }
    let mut floor = String::new();
    for n in names {
        floor.push_str(&format!(
            "ssh -q -i {} -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o BatchMode=yes root@{} \"{remote}\" >/dev/null &\n",
            q(&key),
            q(&kh),
            fleet.address(n)
        ));
    }
    floor.push_str("wait\n");
    std::fs::write(dir.join("floor.sh"), floor).unwrap();

    // Ansible: check mode, facts off, pipelining and ControlPersist on.
    let mut ini = String::from("[fleet]\n");
    for n in names {
        ini.push_str(&format!("{n} ansible_host={}\n", fleet.address(n)));
    }
    ini.push_str(&format!(
        "[fleet:vars]\nansible_user=root\nansible_ssh_private_key_file={}\nansible_python_interpreter=/usr/bin/python3\n",
        key.display()
    ));
    std::fs::write(dir.join("hosts.ini"), ini).unwrap();
    std::fs::write(
        dir.join("ansible.cfg"),
        format!(
            "[defaults]\nforks = {}\ngathering = explicit\nhost_key_checking = True\nstdout_callback = default\nretry_files_enabled = False\ninterpreter_python = /usr/bin/python3\nlocal_tmp = {}\n[ssh_connection]\npipelining = True\nssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile={}\ncontrol_path_dir = {}\n",
            names.len(),
            dir.join("ansible-tmp").display(),
            kh.display(),
            dir.join("cp").display()
        ),
    )
    .unwrap();
    let mut pb = String::from("- hosts: fleet\n  gather_facts: false\n  tasks:\n    - name: sshd settings\n      lineinfile:\n        path: /etc/ssh/sshd_config\n        regexp: '^{{ item.0 }}\\s'\n        line: '{{ item.0 }} {{ item.1 }}'\n      loop:\n");
    for (k, v) in SETTINGS {
        pb.push_str(&format!("        - [{k}, \"{v}\"]\n"));
    }
    pb.push_str("    - name: account files\n      file:\n        path: '{{ item.0 }}'\n        owner: root\n        mode: '{{ item.1 }}'\n      loop:\n");
    for (p, m) in FILES {
        pb.push_str(&format!("        - [{p}, \"{m}\"]\n"));
    }
    pb.push_str("    - name: kernel parameters\n      command: sysctl -n");
    for (k, _) in SYSCTLS {
        pb.push_str(&format!(" {k}"));
    }
    pb.push_str("\n      changed_when: false\n");
    std::fs::write(dir.join("audit.yml"), pb).unwrap();

    // pyinfra: dry run with diffs.
    let mut inv = String::from("fleet = [\n");
    for n in names {
        inv.push_str(&format!(
            "    (\"{}\", {{\"ssh_user\": \"root\", \"ssh_key\": \"{}\", \"ssh_known_hosts_file\": \"{}\", \"ssh_strict_host_key_checking\": \"yes\"}}),\n",
            fleet.address(n),
            key.display(),
            kh.display()
        ));
    }
    inv.push_str("]\n");
    std::fs::write(dir.join("inventory.py"), inv).unwrap();
    let mut deploy = String::from("from pyinfra.operations import files, server\n\n");
    for (k, v) in SETTINGS {
        deploy.push_str(&format!(
            "files.line(name=\"{k}\", path=\"/etc/ssh/sshd_config\", line=r\"^{k}\\s\", replace=\"{k} {v}\")\n"
        ));
    }
    for (p, m) in FILES {
        deploy.push_str(&format!(
            "files.file(name=\"{p}\", path=\"{p}\", user=\"root\", mode=\"{m}\")\n"
        ));
    }
    for (k, v) in SYSCTLS {
        deploy.push_str(&format!("server.sysctl(name=\"{k}\", key=\"{k}\", value={v})\n"));
    }
    std::fs::write(dir.join("deploy.py"), deploy).unwrap();

    // Apply: one templated file with validate, handler and verify.
    std::fs::write(
        dir.join("motd.j2"),
        "Managed by the benchmark, round {{ stamp }}\nhost {{ inventory_hostname | default(host) }}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("apply.yaml"),
        "name: bench-apply\nvars: {stamp: 0}\nsteps:\n  - template: motd.j2\n    dest: /etc/motd.bench\n    mode: \"0644\"\n    validate: grep -q Managed {path}\n    notify: [reload]\nhandlers:\n  reload: echo reloaded >> /run/bench-handler.log\nverify:\n  - command: grep -q Managed /etc/motd.bench\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("apply.yml"),
        "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - name: motd\n      template:\n        src: motd.j2\n        dest: /etc/motd.bench\n        mode: '0644'\n        validate: grep -q Managed %s\n      notify: reload\n    - meta: flush_handlers\n    - name: verify\n      command: grep -q Managed /etc/motd.bench\n      changed_when: false\n  handlers:\n    - name: reload\n      shell: echo reloaded >> /run/bench-handler.log\n",
    )
    .unwrap();
}

fn rectify_cmd(args: &str) -> String {
    format!(
        "RECTIFY_STATE_DIR=state {} {args} --no-progress -q >/dev/null",
        q(&fleet::rectify_bin())
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        // `cargo bench -- --list` and `cargo test --benches` probing.
        return;
    }
    let n = env_or("RECTIFY_BENCH_HOSTS", 20);
    let rounds = env_or("RECTIFY_BENCH_ROUNDS", 5);
    let big = env_or("RECTIFY_BENCH_BIG", 200);
    let tools_env = std::env::var("RECTIFY_BENCH_TOOLS").unwrap_or_else(|_| "rectify,ssh,ansible,pyinfra".into());
    let tools: Vec<&str> = tools_env.split(',').collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = tools.iter().any(|t| *t == "ansible" || *t == "pyinfra");
    let venv = if python { Some(venv(&root)) } else { None };
    let bin = |name: &str| q(&venv.as_ref().expect("venv").join("bin").join(name));

    let names: Vec<String> = (1..=n).map(|i| format!("h{i:03}")).collect();
    eprintln!("starting {n} sshd hosts");
    let fleet = Fleet::start(names.iter().map(|n| HostSpec::new(n)).collect());
    let dir = fleet.dir().to_path_buf();
    write_inputs(&fleet, &names, &dir);

    let command = |tool: &str| -> String {
        match tool {
            "rectify" => rectify_cmd("audit -i inventory.yaml -b baseline.yaml"),
            "ssh" => "sh floor.sh".into(),
            "ansible" => format!(
                "ANSIBLE_CONFIG=ansible.cfg {} -i hosts.ini audit.yml --check --diff >/dev/null",
                bin("ansible-playbook")
            ),
            // pyinfra 3's --dry skips change detection altogether; without
            // it pyinfra detects changes (facts, diffs), then asks before
            // executing: stdin at EOF makes it stop there. The grep makes
            // the run count only if the detection really happened.
            "pyinfra" => format!(
                "{} inventory.py deploy.py --diff --parallel {n} </dev/null >pyinfra.out 2>&1; grep -q 'Detected changes' pyinfra.out",
                bin("pyinfra")
            ),
            other => panic!("unknown tool {other}"),
        }
    };
    // One warm-up each (page cache, Python bytecode, ControlPersist sockets
    // are per run anyway), then interleaved rounds.
    for t in &tools {
        measure(&dir, t, &command(t));
    }
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); tools.len()];
    for round in 0..rounds {
        for k in 0..tools.len() {
            let i = (k + round) % tools.len();
            samples[i].push(measure(&dir, tools[i], &command(tools[i])));
        }
    }
    let med = |i: usize, f: fn(&Sample) -> f64| median(samples[i].iter().map(f).collect());
    println!("\naudit, {n} hosts, {rounds} rounds (median; CPU = user+sys of the tool and its children; RSS = largest process)");
    println!("  {:<9} {:>9} {:>9} {:>10}", "tool", "wall s", "CPU s", "peak MiB");
    for (i, t) in tools.iter().enumerate() {
        println!(
            "  {:<9} {:>9.2} {:>9.2} {:>10.1}",
            t,
            med(i, |s| s.wall),
            med(i, |s| s.cpu),
            samples[i].iter().map(|s| s.rss_mib).fold(0.0, f64::max)
        );
    }
    let wall = |t: &str| tools.iter().position(|x| *x == t).map(|i| med(i, |s| s.wall));
    if let (Some(r), Some(f)) = (wall("rectify"), wall("ssh")) {
        println!("  rectify / plain ssh   = {:.2}", r / f);
    }
    if let (Some(r), Some(a)) = (wall("rectify"), wall("ansible")) {
        println!("  ansible / rectify     = {:.1}", a / r);
    }
    if let (Some(r), Some(p)) = (wall("rectify"), wall("pyinfra")) {
        println!("  pyinfra / rectify     = {:.1}", p / r);
    }

    // Apply: every round changes the file (a new stamp), so each run does
    // the whole transaction.
    let mut apply_tools = vec!["rectify-apply"];
    if tools.contains(&"ansible") {
        apply_tools.push("ansible-apply");
    }
    let mut apply: Vec<Vec<Sample>> = vec![Vec::new(); apply_tools.len()];
    for round in 0..rounds.max(1) {
        for (i, t) in apply_tools.iter().enumerate() {
            let stamp = format!("{round}{i}");
            let cmd = match *t {
                "rectify-apply" => rectify_cmd(&format!("apply -i inventory.yaml -p apply.yaml -e stamp={stamp}")),
                _ => format!(
                    "ANSIBLE_CONFIG=ansible.cfg {} -i hosts.ini apply.yml -e stamp={stamp} >/dev/null",
                    bin("ansible-playbook")
                ),
            };
            apply[i].push(measure(&dir, t, &cmd));
        }
    }
    println!(
        "\napply (template + validate + handler + verify), {n} hosts, {} rounds (median)",
        rounds.max(1)
    );
    for (i, t) in apply_tools.iter().enumerate() {
        println!(
            "  {:<14} {:>7.2} s wall {:>7.2} s CPU",
            t,
            median(apply[i].iter().map(|s| s.wall).collect()),
            median(apply[i].iter().map(|s| s.cpu).collect())
        );
    }
    if apply_tools.len() == 2 {
        println!(
            "  ansible / rectify     = {:.1}",
            median(apply[1].iter().map(|s| s.wall).collect()) / median(apply[0].iter().map(|s| s.wall).collect())
        );
    }
    let small = wall("rectify");
    drop(fleet);

    if big > 0 {
        eprintln!("starting {big} sshd hosts");
        let names: Vec<String> = (1..=big).map(|i| format!("b{i:03}")).collect();
        let fleet = Fleet::start(names.iter().map(|n| HostSpec::new(n)).collect());
        let dir = fleet.dir().to_path_buf();
        write_inputs(&fleet, &names, &dir);
        let cmd = rectify_cmd("audit -i inventory.yaml -b baseline.yaml");
        measure(&dir, "rectify", &cmd);
        let s: Vec<Sample> = (0..3).map(|_| measure(&dir, "rectify", &cmd)).collect();
        let w = median(s.iter().map(|x| x.wall).collect());
        println!("\nrectify audit, {big} hosts, 3 rounds (median)");
        println!(
            "  wall {w:.2} s, CPU {:.2} s, peak {:.1} MiB",
            median(s.iter().map(|x| x.cpu).collect()),
            s.iter().map(|x| x.rss_mib).fold(0.0, f64::max)
        );
        if let Some(small) = small {
            println!(
                "  per host: {:.1} ms at {n} hosts, {:.1} ms at {big} (linear growth keeps this flat or lower)",
                small * 1000.0 / n as f64,
                w * 1000.0 / big as f64
            );
        }
    }
}
