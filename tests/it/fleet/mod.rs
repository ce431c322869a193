//! A fleet of real OpenSSH servers on this machine, for integration tests.
//!
//! Each host is an `sshd` in its own mount+UTS namespace with an overlayfs
//! over `/etc` (its own sshd_config, host keys and files), a tmpfs `/run`
//! and `/var/backups` (where an apply keeps its backups),
//! its own hostname, and its own loopback address `127.0.<subnet>.<n>:22`.
//! Every test uses its own subnet so tests can run in parallel. Everything
//! a fleet starts is killed when it is dropped, also on panic.
//!
//! This needs root and `/usr/sbin/sshd`. Without them the tests fail with a
//! clear message: a machine that cannot run them must fail CI, not pass it.
//!
//! `report` and the helpers next to `run_rectify` (`write`, `audit_json`)
//! are the small pieces the test files share instead of each keeping a copy.

// Every test binary (and `benches/fleet.rs`) compiles this module but uses
// only some of it: what one binary leaves unused is not dead code.
#![allow(dead_code)]

pub mod report;

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// One host to start, built up with the methods below.
#[derive(Debug, Clone, Default)]
pub struct HostSpec {
    pub name: String,
    /// Files written into the host's /etc: (path relative to /etc, content, mode).
    pub etc_files: Vec<(String, Vec<u8>, u32)>,
    /// sshd_config lines placed *before* the harness defaults, so they win
    /// (sshd takes the first occurrence of a keyword).
    pub sshd_extra: String,
    /// Shell commands run as root inside the host before sshd starts.
    pub setup: Option<String>,
    /// Non-root users that accept the fleet's client key (root always does).
    pub users: Vec<String>,
}

impl HostSpec {
    pub fn new(name: &str) -> Self {
        HostSpec {
            name: name.to_string(),
            ..Default::default()
        }
    }

    pub fn file(mut self, rel: &str, content: impl Into<Vec<u8>>, mode: u32) -> Self {
        self.etc_files.push((rel.to_string(), content.into(), mode));
        self
    }

    pub fn sshd(mut self, extra: &str) -> Self {
        self.sshd_extra.push_str(extra);
        self.sshd_extra.push('\n');
        self
    }

    pub fn setup(mut self, sh: &str) -> Self {
        self.setup = Some(sh.to_string());
        self
    }

    pub fn user(mut self, user: &str) -> Self {
        self.users.push(user.to_string());
        self
    }
}

struct RunningHost {
    name: String,
    address: String,
    upper: PathBuf,
    pid_file: PathBuf,
    log: PathBuf,
    child: Child,
}

impl RunningHost {
    /// The sshd's pid: the shell wrote `$$` and then exec'd sshd, which
    /// keeps that pid across its SIGHUP re-exec too.
    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(&self.pid_file).ok()?.trim().parse().ok()
    }
}

pub struct Fleet {
    dir: tempfile::TempDir,
    hosts: Vec<RunningHost>,
    client_key: PathBuf,
    known_hosts: PathBuf,
}

impl Fleet {
    /// Starts `hosts` on 127.0.<subnet>.1, .2, … and waits until each one
    /// answers with an SSH banner.
    pub fn start(subnet: u8, specs: Vec<HostSpec>) -> Fleet {
        preflight();
        let dir = tempfile::Builder::new()
            .prefix("rectify-fleet-")
            .tempdir()
            .expect("tempdir");
        let client_key = dir.path().join("client_key");
        run_ok(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "rectify-test", "-f"])
                .arg(&client_key),
        );
        let public_key = std::fs::read_to_string(client_key.with_extension("pub")).expect("client public key");

        let mut fleet = Fleet {
            client_key,
            known_hosts: dir.path().join("known_hosts"),
            hosts: Vec::new(),
            dir,
        };
        for (i, spec) in specs.into_iter().enumerate() {
            let address = format!("127.0.{subnet}.{}", i + 1);
            kill_listeners(&address);
            let host = fleet.spawn(&spec, &address, &public_key);
            fleet.hosts.push(host);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for host in &mut fleet.hosts {
            wait_for_banner(host, deadline);
        }
        fleet.write_known_hosts();
        fleet
    }

    fn spawn(&self, spec: &HostSpec, address: &str, public_key: &str) -> RunningHost {
        let root = self.dir.path().join(&spec.name);
        let (upper, work) = (root.join("upper"), root.join("work"));
        for d in [&upper, &work, &upper.join("ssh/keys")] {
            std::fs::create_dir_all(d).unwrap();
        }
        let sshd_config = format!(
            "{extra}ListenAddress {address}\nPort 22\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nAuthorizedKeysFile /etc/ssh/keys/%u\nUsePAM no\nPidFile /run/sshd.pid\n\
             MaxStartups 400:30:800\nMaxSessions 50\nSubsystem sftp internal-sftp\nAllowTcpForwarding yes\nStrictModes no\n",
            extra = spec.sshd_extra
        );
        write_file(&upper.join("ssh/sshd_config"), sshd_config.as_bytes(), 0o644);
        for user in std::iter::once("root").chain(spec.users.iter().map(String::as_str)) {
            write_file(&upper.join("ssh/keys").join(user), public_key.as_bytes(), 0o644);
        }
        for (rel, content, mode) in &spec.etc_files {
            write_file(&upper.join(rel), content, *mode);
        }
        let pid_file = root.join("sshd.pid");
        let log = root.join("sshd.log");
        // The machine's own host keys are visible through the overlay's lower
        // layer: remove them so each host generates keys of its own.
        // root gets a home of its own with Debian's stock dotfiles, as on a
        // server: Debian's bash reads ~/.bashrc even for `ssh host cmd`, and
        // this machine's runs `pyenv init` (tens of processes per session).
        let script = format!(
            "set -e\n\
             mount -t overlay overlay -o lowerdir=/etc,upperdir={upper},workdir={work} /etc\n\
             mount -t tmpfs tmpfs /run\nmkdir -p /run/sshd\nhostname {name}\n\
             mkdir -p /var/backups\nmount -t tmpfs tmpfs /var/backups\n\
             mount -t tmpfs -o mode=0700 tmpfs /root\n\
             cp /usr/share/base-files/dot.bashrc /root/.bashrc\ncp /usr/share/base-files/dot.profile /root/.profile\n\
             rm -f /etc/ssh/ssh_host_*\nssh-keygen -q -A\n{setup}\n\
             echo $$ > {pid_file}\nexec {SSHD} -D -e -f /etc/ssh/sshd_config\n",
            upper = sq(&upper),
            work = sq(&work),
            name = spec.name,
            setup = spec.setup.as_deref().unwrap_or(":"),
            pid_file = sq(&pid_file),
        );
        let child = Command::new("unshare")
            .args([
                "--mount",
                "--uts",
                "--propagation",
                "private",
                "--fork",
                "--kill-child",
                "sh",
                "-c",
                &script,
            ])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(root.join("sshd.err")).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run unshare for {}: {e}", spec.name));
        RunningHost {
            name: spec.name.clone(),
            address: address.to_string(),
            upper,
            pid_file,
            log,
            child,
        }
    }

    fn write_known_hosts(&self) {
        let mut text = String::new();
        for host in &self.hosts {
            for kind in ["ed25519", "ecdsa", "rsa"] {
                let path = host.upper.join(format!("ssh/ssh_host_{kind}_key.pub"));
                if let Ok(line) = std::fs::read_to_string(&path) {
                    let key: Vec<&str> = line.split_whitespace().take(2).collect();
                    text.push_str(&format!("{} {}\n", host.address, key.join(" ")));
                }
            }
        }
        std::fs::write(&self.known_hosts, text).unwrap();
    }

    fn host(&self, name: &str) -> &RunningHost {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no host {name} in this fleet"))
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn address(&self, name: &str) -> String {
        self.host(name).address.clone()
    }

    pub fn client_key(&self) -> PathBuf {
        self.client_key.clone()
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.known_hosts.clone()
    }

    /// `ssh-ed25519 AAAA…` of that host, as known_hosts holds it.
    pub fn host_key_line(&self, name: &str) -> String {
        let line = std::fs::read_to_string(self.host(name).upper.join("ssh/ssh_host_ed25519_key.pub")).unwrap();
        line.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
    }

    /// Runs `sh -c` as root inside that host's namespaces.
    pub fn exec(&self, name: &str, sh: &str) -> Output {
        let pid = self.host(name).pid().expect("host is running").to_string();
        Command::new("nsenter")
            .args(["-t", &pid, "-m", "-u", "sh", "-c", sh])
            .output()
            .expect("nsenter")
    }

    pub fn read_file(&self, name: &str, path: &str) -> Vec<u8> {
        let out = self.exec(name, &format!("cat {}", sq(Path::new(path))));
        assert!(out.status.success(), "cannot read {path} on {name}");
        out.stdout
    }

    /// A file of the host's `/etc` as its overlay's upper layer holds it
    /// (the files the host changed), readable even when the host's sshd
    /// is gone; `rel` is relative to `/etc`.
    pub fn etc_upper(&self, name: &str, rel: &str) -> Vec<u8> {
        std::fs::read(self.host(name).upper.join(rel)).unwrap_or_else(|e| panic!("{name}: /etc/{rel}: {e}"))
    }

    /// An inventory for every host of the fleet; `hosts:` comes last so a
    /// test can append hosts of its own.
    pub fn inventory_yaml(&self) -> String {
        let mut text = format!(
            "defaults:\n  user: root\n  identity_file: {}\n  known_hosts: {}\nhosts:\n",
            self.client_key.display(),
            self.known_hosts.display()
        );
        for h in &self.hosts {
            text.push_str(&format!("  {}: {{address: {}}}\n", h.name, h.address));
        }
        text
    }

    /// Kills that host's sshd so its address refuses connections.
    pub fn stop_host(&self, name: &str) {
        let host = self.host(name);
        if let Some(pid) = host.pid() {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
        kill_listeners(&host.address);
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for host in &mut self.hosts {
            if let Some(pid) = host.pid() {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
            let _ = host.child.kill();
            let _ = host.child.wait();
            kill_listeners(&host.address);
        }
    }
}

fn preflight() {
    assert!(
        Path::new(SSHD).exists(),
        "{SSHD} is missing: install openssh-server (the tests need real sshd servers)"
    );
    let uid = Command::new("id").arg("-u").output().expect("id -u");
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "the SSH integration tests must run as root (namespaces, sshd)"
    );
    let probe = Command::new("unshare")
        .args(["--mount", "--uts", "--fork", "true"])
        .status();
    assert!(
        probe.is_ok_and(|s| s.success()),
        "unshare --mount --uts failed: no namespace support here"
    );
}

/// Waits until the host's sshd sends its banner, or panics with its log.
fn wait_for_banner(host: &mut RunningHost, deadline: Instant) {
    let addr: SocketAddr = format!("{}:22", host.address).parse().unwrap();
    loop {
        if let Ok(Some(status)) = host.child.try_wait() {
            panic!(
                "host {} exited ({status}) before sshd came up:\n{}",
                host.name,
                logs(host)
            );
        }
        if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
            let mut banner = [0u8; 7];
            if stream.read_exact(&mut banner).is_ok() && &banner == b"SSH-2.0" {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "host {} did not come up on {addr}:\n{}",
            host.name,
            logs(host)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn logs(host: &RunningHost) -> String {
    let err = std::fs::read_to_string(host.log.with_file_name("sshd.err")).unwrap_or_default();
    let out = std::fs::read_to_string(&host.log).unwrap_or_default();
    format!("{out}{err}")
}

/// Kills whatever listens on `address:22`: a leaked sshd from a crashed
/// run, or a re-exec'd one that outlived its namespace's parent.
fn kill_listeners(address: &str) {
    let Ok(out) = Command::new("ss").args(["-Hltnp"]).output() else {
        return;
    };
    let needle = format!("{address}:22 ");
    for line in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&needle))
    {
        for part in line.split("pid=").skip(1) {
            let pid: String = part.chars().take_while(char::is_ascii_digit).collect();
            if !pid.is_empty() {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        }
    }
}

fn write_file(path: &Path, content: &[u8], mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Single-quotes a path for the host set-up script (test code only; the
/// product quotes through `rectify::shell::quote`).
fn sq(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

/// Writes `text` to `dir/name` and returns that path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `rectify audit -i INVENTORY -b BASELINE --format json EXTRA...`
pub fn audit_json(inventory: &Path, baseline: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "audit",
        "-i",
        inventory.to_str().unwrap(),
        "-b",
        baseline.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    run_rectify(&args, &[])
}

/// `rectify apply -i INVENTORY -p PLAYBOOK --format json EXTRA...`
pub fn apply_json(inventory: &Path, playbook: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "apply",
        "-i",
        inventory.to_str().unwrap(),
        "-p",
        playbook.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    run_rectify(&args, &[])
}

/// The rectify binary under test.
pub fn rectify_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rectify"))
}

/// Runs rectify with its own state directory and no colour, killing it
/// if it runs for more than two minutes.
pub fn run_rectify(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let state = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(rectify_bin());
    cmd.args(args)
        .env("RECTIFY_STATE_DIR", state.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("spawn rectify");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(out) => out.expect("rectify output"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("rectify {args:?} ran for more than 120 s");
        }
    }
}
