//! A fleet of real OpenSSH servers on this machine, for integration tests.
//!
//! Each host is an `sshd` in its own mount+UTS namespace with an overlayfs
//! over `/etc` (its own sshd_config, host keys and files), a tmpfs `/run`
//! and `/var/backups` (where an apply keeps its backups),
//! its own hostname, and its own loopback address `127.0.<subnet>.<n>:22`.
//! Every fleet takes the next free /24 of a process-wide counter
//! ([`Subnet::next`]), so tests can run in parallel (they are threads of one
//! process) and no test names a subnet. Everything a fleet starts is killed
//! when it is dropped, also on panic.
//!
//! This needs root and `/usr/sbin/sshd`. Without them the tests fail with a
//! clear message: a machine that cannot run them must fail CI, not pass it.
//!
//! `report` and the helpers after [`Fleet`] (`sh`, `stat`, `wait_until`,
//! `run_rectify`, `audit_json`, `audit_fleet`, …) are the small pieces the
//! test modules share instead of each keeping a copy.

// The test binary and `benches/fleet.rs` both compile this module, and the
// bench uses only some of it: what it leaves unused is not dead code.
#![allow(dead_code)]

pub mod report;

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
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

/// The first subnet a fleet gets: 127.0.0.x and 127.0.1.x are left to
/// whatever else this machine runs on loopback (tests bind 127.0.0.1).
const FIRST_SUBNET: u8 = 10;

/// The next subnet to hand out, for the whole process.
static NEXT_SUBNET: AtomicU8 = AtomicU8::new(FIRST_SUBNET);

/// A /24 of loopback addresses, `127.0.<n>.0/24`, owned by one fleet.
#[derive(Debug)]
pub struct Subnet(u8);

impl Subnet {
    /// The next /24 no other fleet of this process has had.
    pub fn next() -> Subnet {
        let n = NEXT_SUBNET
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_add(1))
            .expect("no loopback /24 left for another fleet");
        Subnet(n)
    }

    /// `127.0.<subnet>.<host>`: the address the `host`-th host of a fleet
    /// gets (counting from 1), or a spare one past the fleet's hosts.
    pub fn address(&self, host: u8) -> String {
        format!("127.0.{}.{host}", self.0)
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
    subnet: Subnet,
    dir: tempfile::TempDir,
    hosts: Vec<RunningHost>,
    client_key: PathBuf,
    known_hosts: PathBuf,
}

impl Fleet {
    /// Starts `specs` on the next free subnet: 127.0.<subnet>.1, .2, …, and
    /// waits until each one answers with an SSH banner.
    pub fn start(specs: Vec<HostSpec>) -> Fleet {
        Fleet::start_in(Subnet::next(), specs)
    }

    /// [`Fleet::start`] on a subnet taken beforehand with [`Subnet::next`],
    /// for hosts whose files must name the addresses of others.
    pub fn start_in(subnet: Subnet, specs: Vec<HostSpec>) -> Fleet {
        assert!(specs.len() < 255, "a fleet has at most 254 hosts");
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

        // Whatever a crashed run left on this subnet goes first.
        kill_subnet_listeners(&subnet);
        let mut fleet = Fleet {
            subnet,
            client_key,
            known_hosts: dir.path().join("known_hosts"),
            hosts: Vec::new(),
            dir,
        };
        for (i, spec) in (1..).zip(specs) {
            let address = fleet.subnet.address(i);
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

    /// An address of this fleet's subnet that none of its hosts has
    /// (`n` past the number of hosts): for a host that is not there, or a
    /// host's sshd moved there. Anything still listening on port 22 in the
    /// subnet is killed when the fleet is dropped.
    pub fn spare_address(&self, n: u8) -> String {
        assert!(
            usize::from(n) > self.hosts.len(),
            "127.0.x.{n} belongs to a host of this fleet"
        );
        self.subnet.address(n)
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

    /// Writes [`Fleet::inventory_yaml`] to `inv.yaml` in the fleet's
    /// directory and returns its path.
    pub fn write_inventory(&self) -> PathBuf {
        write(self.dir(), "inv.yaml", &self.inventory_yaml())
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
        }
        kill_subnet_listeners(&self.subnet);
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
    loop {
        if let Ok(Some(status)) = host.child.try_wait() {
            panic!(
                "host {} exited ({status}) before sshd came up:\n{}",
                host.name,
                logs(host)
            );
        }
        if answers_ssh(&host.address) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "host {} did not come up on {}:22:\n{}",
            host.name,
            host.address,
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
    kill_listeners_where(|local| local == format!("{address}:22"));
}

/// Kills whatever listens on port 22 anywhere in `subnet`: also an sshd a
/// test moved to a spare address of it.
fn kill_subnet_listeners(subnet: &Subnet) {
    let prefix = format!("127.0.{}.", subnet.0);
    kill_listeners_where(|local| local.starts_with(&prefix) && local.ends_with(":22"));
}

/// Kills the processes of the TCP listeners whose local address (as `ss`
/// prints it, `127.0.10.1:22`) satisfies `wanted`.
fn kill_listeners_where(wanted: impl Fn(&str) -> bool) {
    let Ok(out) = Command::new("ss").args(["-Hltnp"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split_whitespace().nth(3).is_some_and(&wanted))
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

/// Whether `address:22` answers with an SSH banner now (one attempt).
pub fn answers_ssh(address: &str) -> bool {
    let addr: SocketAddr = format!("{address}:22").parse().unwrap();
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
    let mut banner = [0u8; 7];
    stream.read_exact(&mut banner).is_ok() && &banner == b"SSH-2.0"
}

/// Polls `check` every 100 ms until it holds (true) or `limit` has passed
/// (false).
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Runs `sh -c cmd` as root inside host `name`; its stdout as text, as it
/// is (not trimmed).
pub fn sh(fleet: &Fleet, name: &str, cmd: &str) -> String {
    String::from_utf8_lossy(&fleet.exec(name, cmd).stdout).into_owned()
}

/// `stat` of a path on a host: "mode uid gid mtime", or "missing".
pub fn stat(fleet: &Fleet, name: &str, path: &str) -> String {
    sh(
        fleet,
        name,
        &format!("stat -c '%a %u %g %Y' -- '{path}' 2>/dev/null || echo missing"),
    )
    .trim()
    .to_string()
}

/// Writes `text` to `dir/name` and returns that path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `rectify audit -i INVENTORY -b BASELINE --format json EXTRA...`
pub fn audit_json(inventory: &Path, baseline: &Path, extra: &[&str]) -> Output {
    audit_json_with(inventory, baseline, extra, &[])
}

/// [`audit_json`] with environment variables for rectify.
pub fn audit_json_with(inventory: &Path, baseline: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Output {
    audit(inventory, baseline, &[&["--format", "json"], extra].concat(), envs)
}

/// `rectify audit -i INVENTORY -b BASELINE EXTRA...`: the terminal report.
pub fn audit_text(inventory: &Path, baseline: &Path, extra: &[&str]) -> Output {
    audit(inventory, baseline, extra, &[])
}

fn audit(inventory: &Path, baseline: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut args = vec![
        "audit",
        "-i",
        inventory.to_str().unwrap(),
        "-b",
        baseline.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_rectify(&args, envs)
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

/// `rectify audit` of the whole fleet ([`Fleet::write_inventory`]) against
/// `baseline` (its text, written to `baseline.yaml`), as [`audit_json`]:
/// the exit code and the JSON report.
pub fn audit_fleet(fleet: &Fleet, baseline: &str, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let baseline = write(fleet.dir(), "baseline.yaml", baseline);
    let out = audit_json(&fleet.write_inventory(), &baseline, extra);
    (out.status.code(), report::json(&out))
}

/// `rectify apply` of `playbook` (its text, written to `playbook.yaml`) to
/// the whole fleet, as [`apply_json`]: the exit code and the JSON report.
pub fn apply_fleet(fleet: &Fleet, playbook: &str, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let playbook = write(fleet.dir(), "playbook.yaml", playbook);
    let out = apply_json(&fleet.write_inventory(), &playbook, extra);
    (out.status.code(), report::json(&out))
}

/// `rectify capture --host HOST -i INVENTORY --from FROM -o OUT EXTRA...`
pub fn capture(inventory: &Path, host: &str, from: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "capture",
        "--host",
        host,
        "-i",
        inventory.to_str().unwrap(),
        "--from",
        from.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_rectify(&args, &[])
}

/// Runs rectify in `dir` (its working directory and `HOME`, so also its
/// state directory unless `envs` say otherwise), with no colour.
pub fn rectify_in(args: &[&str], dir: &Path, envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(rectify_bin());
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1").env("HOME", dir);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run rectify")
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
