//! SSH transport on russh: host keys checked against known_hosts, keys from
//! files or ssh-agent, jump hosts through direct-tcpip channels, and every
//! step bounded in time.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use russh::client::{self, Handle};
use russh::keys::known_hosts::{known_host_keys_path, learn_known_hosts_path};
use russh::keys::{self, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect};
use tokio::net::TcpStream;

use super::{ConnectOptions, ExecLimits, ExecOutput, HostKeyPolicy, Transport, TransportError};
use crate::inventory::{expand_home, Host};
use crate::shell;

/// Private keys loaded once per run and shared by every connection, so a
/// passphrase is asked for once, not once per host.
#[derive(Default)]
pub struct KeyStore {
    keys: Mutex<HashMap<PathBuf, Arc<PrivateKey>>>,
    /// Serialises terminal prompts between concurrent connections.
    prompt: tokio::sync::Mutex<()>,
}

impl KeyStore {
    async fn load(&self, path: &Path) -> Result<Arc<PrivateKey>, TransportError> {
        if let Some(key) = self.keys.lock().expect("key cache lock").get(path) {
            return Ok(key.clone());
        }
        let _prompting = self.prompt.lock().await;
        if let Some(key) = self.keys.lock().expect("key cache lock").get(path) {
            return Ok(key.clone());
        }
        let fail = |reason: String| TransportError::Key {
            path: path.display().to_string(),
            reason,
        };
        let key = match keys::load_secret_key(path, None) {
            Ok(key) => key,
            Err(keys::Error::KeyIsEncrypted) => {
                let passphrase = passphrase_for(path).map_err(fail)?;
                keys::load_secret_key(path, Some(&passphrase)).map_err(|e| fail(e.to_string()))?
            }
            Err(e) => return Err(fail(e.to_string())),
        };
        let key = Arc::new(key);
        self.keys
            .lock()
            .expect("key cache lock")
            .insert(path.to_path_buf(), key.clone());
        Ok(key)
    }
}

/// The passphrase from `RECTIFY_KEY_PASSPHRASE`, taken out of the
/// environment when the program starts ([`take_passphrase_from_env`]) so
/// that no command rectify runs (`--local`, `validate` commands) inherits it.
static ENV_PASSPHRASE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Moves `RECTIFY_KEY_PASSPHRASE` out of the process environment. Call it
/// first thing in `main`, before any thread exists.
pub fn take_passphrase_from_env() {
    let value = std::env::var("RECTIFY_KEY_PASSPHRASE").ok();
    std::env::remove_var("RECTIFY_KEY_PASSPHRASE");
    let _ = ENV_PASSPHRASE.set(value);
}

/// `RECTIFY_KEY_PASSPHRASE`, else a prompt on the controlling terminal.
/// Never a command-line argument: those show in `ps`.
fn passphrase_for(path: &Path) -> Result<String, String> {
    let from_env = ENV_PASSPHRASE.get_or_init(|| std::env::var("RECTIFY_KEY_PASSPHRASE").ok());
    if let Some(p) = from_env {
        return Ok(p.clone());
    }
    rpassword::prompt_password(format!("Passphrase for {}: ", path.display()))
        .map_err(|e| format!("key is encrypted, set RECTIFY_KEY_PASSPHRASE or run on a terminal ({e})"))
}

/// What the handler learned about the server key, reported after connect
/// fails, since russh only sees `false`.
#[derive(Debug)]
enum HostKeyVerdict {
    Unknown { fingerprint: String },
    Changed { line: usize, fingerprint: String },
    Revoked { line: usize, fingerprint: String },
    LearnFailed(String),
    Unreadable(String),
}

struct KeyChecker {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    policy: HostKeyPolicy,
    verdict: Arc<Mutex<Option<HostKeyVerdict>>>,
}

impl client::Handler for KeyChecker {
    type Error = russh::Error;

    async fn check_server_key(&mut self, server_key: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let key = server_key.public_key();
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        // A revoked key is refused first, whatever else the file says of it.
        match revoked_line(&self.host, self.port, &key, &self.known_hosts) {
            Ok(None) => {}
            Ok(Some(line)) => {
                *self.verdict.lock().expect("verdict lock") = Some(HostKeyVerdict::Revoked { line, fingerprint });
                return Ok(false);
            }
            // A file that cannot be read cannot be checked for revocations.
            Err(e) => {
                *self.verdict.lock().expect("verdict lock") = Some(HostKeyVerdict::Unreadable(e.to_string()));
                return Ok(false);
            }
        }
        let verdict = match keys::check_known_hosts_path(&self.host, self.port, &key, &self.known_hosts) {
            Ok(true) => return Ok(true),
            Ok(false) if self.policy == HostKeyPolicy::AcceptNew => {
                // Hosts connect concurrently; appending to one known_hosts
                // file from many tasks at once could interleave lines.
                static LEARNING: Mutex<()> = Mutex::new(());
                let _one_at_a_time = LEARNING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                // Learn only hosts with no recorded key at all: a host known
                // under another key type offering a new type is treated as a
                // changed key (a MITM picks the type it offers).
                match known_host_keys_path(&self.host, self.port, &self.known_hosts) {
                    Ok(known) if !known.is_empty() => HostKeyVerdict::Changed {
                        line: known[0].0,
                        fingerprint,
                    },
                    _ => match learn_known_hosts_path(&self.host, self.port, &key, &self.known_hosts) {
                        Ok(()) => return Ok(true),
                        Err(e) => HostKeyVerdict::LearnFailed(e.to_string()),
                    },
                }
            }
            Ok(false) => HostKeyVerdict::Unknown { fingerprint },
            Err(keys::Error::KeyChanged { line }) => HostKeyVerdict::Changed { line, fingerprint },
            Err(e) => HostKeyVerdict::LearnFailed(e.to_string()),
        };
        *self.verdict.lock().expect("verdict lock") = Some(verdict);
        Ok(false)
    }
}

pub struct SshTransport {
    handle: Handle<KeyChecker>,
    /// Kept alive for as long as this connection tunnels through it.
    _jump: Option<Arc<SshTransport>>,
}

/// Connections to jump hosts, shared by every target of a run that goes
/// through the same one: a bastion sees one connection per run, however
/// many targets sit behind it. Lives for the run, like the [`KeyStore`];
/// dropping it (and the targets' connections) closes them.
#[derive(Default)]
pub struct JumpPool {
    slots: Mutex<HashMap<JumpKey, Arc<JumpSlot>>>,
}

/// One jump host's connection: opened by the first target that needs it,
/// awaited by the others meanwhile.
type JumpSlot = tokio::sync::OnceCell<Result<Arc<SshTransport>, Arc<TransportError>>>;

/// What makes two jump hosts one connection: where, as whom, with which
/// key and known_hosts, and through which hops.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct JumpKey {
    address: String,
    port: u16,
    user: String,
    identity_file: Option<PathBuf>,
    known_hosts: PathBuf,
    via: Option<Box<JumpKey>>,
}

impl JumpKey {
    fn of(host: &Host) -> JumpKey {
        JumpKey {
            address: host.address.clone(),
            port: host.port,
            user: host.user.clone(),
            identity_file: host.identity_file.clone(),
            known_hosts: host.known_hosts.clone(),
            via: host.jump.as_deref().map(|j| Box::new(JumpKey::of(j))),
        }
    }
}

impl JumpPool {
    /// The run's connection to `jump`, opened now if no target opened it yet.
    /// A failure is reported to every target waiting for this attempt; a
    /// target that comes later tries again, as does one that finds the
    /// connection lost.
    async fn connect(
        &self,
        jump: &Host,
        options: &ConnectOptions,
        keys: &KeyStore,
    ) -> Result<Arc<SshTransport>, TransportError> {
        let key = JumpKey::of(jump);
        for _ in 0..2 {
            let slot = self
                .slots
                .lock()
                .expect("jump pool lock")
                .entry(key.clone())
                .or_default()
                .clone();
            let opened = slot
                .get_or_init(|| async {
                    Box::pin(SshTransport::connect_unbounded(jump, options, keys, self))
                        .await
                        .map(Arc::new)
                        .map_err(|e| Arc::new(through(jump, e)))
                })
                .await;
            match opened {
                Ok(conn) if !conn.handle.is_closed() => return Ok(conn.clone()),
                Ok(_) => self.forget(&key, &slot),
                Err(e) => {
                    self.forget(&key, &slot);
                    return Err(TransportError::Shared(e.clone()));
                }
            }
        }
        Err(through(
            jump,
            TransportError::Disconnected("lost as soon as opened".into()),
        ))
    }

    /// Drops the run's connection to `jump` if it is `conn`: a target
    /// failed on it in a way that says the connection itself is broken
    /// (rather than the bastion refusing that one tunnel). The next target
    /// opens a new one instead of waiting on a dead link.
    fn discard(&self, jump: &Host, conn: &Arc<SshTransport>) {
        let key = JumpKey::of(jump);
        let mut slots = self.slots.lock().expect("jump pool lock");
        let holds_it = slots
            .get(&key)
            .and_then(|slot| slot.get())
            .is_some_and(|opened| matches!(opened, Ok(c) if Arc::ptr_eq(c, conn)));
        if holds_it {
            slots.remove(&key);
        }
    }

    fn forget(&self, key: &JumpKey, slot: &Arc<JumpSlot>) {
        let mut slots = self.slots.lock().expect("jump pool lock");
        if slots.get(key).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            slots.remove(key);
        }
    }
}

/// `jump`'s name and endpoint, for messages.
fn hop_name(jump: &Host) -> String {
    if jump.name == jump.address {
        jump.endpoint()
    } else {
        format!("{} ({})", jump.name, jump.endpoint())
    }
}

/// An error reaching `jump`, naming it; an error of a hop before it
/// already names that hop and stays as it is.
fn through(jump: &Host, error: TransportError) -> TransportError {
    match error {
        e @ (TransportError::Jump { .. } | TransportError::Shared(_)) => e,
        e => TransportError::Jump {
            jump: hop_name(jump),
            source: Box::new(e),
        },
    }
}

impl SshTransport {
    /// Connects to `host`, through its jump hosts' shared connections in
    /// `jumps`; the whole path (TCP, handshakes, authentication) is bounded
    /// by the connect timeout.
    pub async fn connect(
        host: &Host,
        options: &ConnectOptions,
        keys: &KeyStore,
        jumps: &JumpPool,
    ) -> Result<SshTransport, TransportError> {
        let deadline = options.connect_timeout;
        tokio::time::timeout(deadline, Self::connect_unbounded(host, options, keys, jumps))
            .await
            .map_err(|_| TransportError::ConnectTimeout(deadline))?
    }

    async fn connect_unbounded(
        host: &Host,
        options: &ConnectOptions,
        keys: &KeyStore,
        jumps: &JumpPool,
    ) -> Result<SshTransport, TransportError> {
        let verdict = Arc::new(Mutex::new(None));
        let checker = KeyChecker {
            host: host.address.clone(),
            port: host.port,
            known_hosts: host.known_hosts.clone(),
            policy: options.host_key_policy,
            verdict: verdict.clone(),
        };
        let config = Arc::new(client_config(host, options));
        let endpoint = host.endpoint();

        let (handle, jump) = match &host.jump {
            None => {
                let tcp = TcpStream::connect((host.address.as_str(), host.port))
                    .await
                    .map_err(|source| TransportError::Connect {
                        endpoint: endpoint.clone(),
                        source,
                    })?;
                tcp.set_nodelay(true).ok();
                (client::connect_stream(config, tcp, checker).await, None)
            }
            Some(jump_host) => {
                let jump = jumps.connect(jump_host, options, keys).await?;
                // A tunnel that does not open within half the connect
                // timeout (the whole path has the other half) suggests a
                // dead link (half-open TCP): stop handing that connection
                // to new targets. At worst a slow target costs one extra
                // bastion handshake for the next.
                let patience = options.connect_timeout / 2;
                let tunnel =
                    jump.handle
                        .channel_open_direct_tcpip(host.address.clone(), u32::from(host.port), "127.0.0.1", 0);
                let opened = match tokio::time::timeout(patience, tunnel).await {
                    Ok(Ok(channel)) => Ok(channel),
                    Ok(Err(e @ russh::Error::ChannelOpenFailure(_))) => Err(e.to_string()),
                    Ok(Err(e)) => {
                        jumps.discard(jump_host, &jump);
                        Err(e.to_string())
                    }
                    Err(_) => {
                        jumps.discard(jump_host, &jump);
                        Err(format!("no answer in {patience:?}"))
                    }
                };
                let channel = opened.map_err(|e| TransportError::Jump {
                    jump: hop_name(jump_host),
                    source: Box::new(TransportError::Ssh(format!("cannot open tunnel to {endpoint}: {e}"))),
                })?;
                (
                    client::connect_stream(config, channel.into_stream(), checker).await,
                    Some(jump),
                )
            }
        };
        let mut handle = match handle {
            Ok(h) => h,
            Err(e) => {
                return Err(host_key_error(host, verdict.lock().expect("verdict lock").take())
                    .unwrap_or_else(|| TransportError::Ssh(e.to_string())))
            }
        };
        authenticate(&mut handle, host, keys).await?;
        Ok(SshTransport { handle, _jump: jump })
    }
}

fn host_key_error(host: &Host, verdict: Option<HostKeyVerdict>) -> Option<TransportError> {
    let known_hosts = host.known_hosts.display().to_string();
    let name = if host.port == 22 {
        host.address.clone()
    } else {
        format!("[{}]:{}", host.address, host.port)
    };
    Some(match verdict? {
        HostKeyVerdict::Unknown { fingerprint } => TransportError::HostKeyUnknown {
            host: name,
            known_hosts,
            fingerprint,
        },
        HostKeyVerdict::Changed { line, fingerprint } => TransportError::HostKeyChanged {
            host: name,
            known_hosts,
            line,
            fingerprint,
        },
        HostKeyVerdict::Revoked { line, fingerprint } => TransportError::HostKeyRevoked {
            host: name,
            known_hosts,
            line,
            fingerprint,
        },
        HostKeyVerdict::LearnFailed(reason) => TransportError::HostKeyLearn { known_hosts, reason },
        HostKeyVerdict::Unreadable(reason) => TransportError::KnownHostsUnreadable { known_hosts, reason },
    })
}

/// The line of `known_hosts` that marks `key` `@revoked` for this host, if
/// any. russh's reader skips marker lines (`@revoked`, `@cert-authority`)
/// entirely, so they are read here; `@cert-authority` stays unsupported.
/// A missing file revokes nothing; one that cannot be read is an error, not
/// "nothing revoked". Bytes that are not UTF-8 do not hide the lines around
/// them.
fn revoked_line(host: &str, port: u16, key: &PublicKey, known_hosts: &Path) -> std::io::Result<Option<usize>> {
    let bytes = match std::fs::read(known_hosts) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let text = String::from_utf8_lossy(&bytes);
    let name = if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    };
    Ok(text.lines().enumerate().find_map(|(i, line)| {
        let mut fields = line.split_whitespace();
        if fields.next() != Some("@revoked") {
            return None;
        }
        let (patterns, _type, blob) = (fields.next()?, fields.next()?, fields.next()?);
        let revoked = keys::parse_public_key_base64(blob).ok()?;
        (revoked.key_data() == key.key_data() && hosts_match(patterns, &name)).then_some(i + 1)
    }))
}

/// OpenSSH host-pattern lists: `*` and `?` wildcards, `!` negates. A
/// hashed name (`|1|…`) is taken as a match: for a revoked key, refusing
/// too much beats accepting it.
fn hosts_match(patterns: &str, name: &str) -> bool {
    fn glob(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, _) => s.is_empty(),
            (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
            (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b) && glob(&p[1..], &s[1..]),
            (Some(_), None) => false,
        }
    }
    let mut matched = false;
    for pattern in patterns.split(',') {
        match pattern.strip_prefix('!') {
            Some(negated) if glob(negated.as_bytes(), name.as_bytes()) => return false,
            Some(_) => {}
            None => matched |= pattern.starts_with("|1|") || glob(pattern.as_bytes(), name.as_bytes()),
        }
    }
    matched
}

fn client_config(host: &Host, options: &ConnectOptions) -> client::Config {
    let mut preferred = russh::Preferred::DEFAULT.clone();
    // curve25519 first: the post-quantum hybrids cost the client noticeably
    // more CPU per handshake, which adds up across a fleet. The hybrids stay
    // in the list for servers that insist on them.
    preferred.kex = Cow::Owned(
        [
            russh::kex::CURVE25519,
            russh::kex::CURVE25519_PRE_RFC_8731,
            russh::kex::MLKEM768X25519_SHA256,
            russh::kex::DH_GEX_SHA256,
            russh::kex::DH_G16_SHA512,
            russh::kex::DH_G14_SHA256,
            russh::kex::EXTENSION_SUPPORT_AS_CLIENT,
            russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
        ]
        .to_vec(),
    );
    // Ask first for the host key types known_hosts already holds, as OpenSSH
    // does; otherwise a host recorded only with its RSA key would look unknown.
    if let Ok(known) = known_host_keys_path(&host.address, host.port, &host.known_hosts) {
        let mut order: Vec<keys::Algorithm> = Vec::new();
        for (_, key) in &known {
            for alg in algorithms_for(key) {
                if !order.contains(&alg) {
                    order.push(alg);
                }
            }
        }
        for alg in preferred.key.iter() {
            if !order.contains(alg) {
                order.push(alg.clone());
            }
        }
        preferred.key = Cow::Owned(order);
    }
    client::Config {
        preferred,
        inactivity_timeout: None,
        keepalive_interval: Some(options.keepalive),
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    }
}

fn algorithms_for(key: &PublicKey) -> Vec<keys::Algorithm> {
    match key.algorithm() {
        keys::Algorithm::Rsa { .. } => vec![
            keys::Algorithm::Rsa {
                hash: Some(HashAlg::Sha512),
            },
            keys::Algorithm::Rsa {
                hash: Some(HashAlg::Sha256),
            },
        ],
        other => vec![other],
    }
}

/// SPEC order: the configured identity file; else the agent; else the
/// default key files.
async fn authenticate(handle: &mut Handle<KeyChecker>, host: &Host, store: &KeyStore) -> Result<(), TransportError> {
    let mut tried = Vec::new();

    if let Some(path) = &host.identity_file {
        let key = store.load(path).await?;
        tried.push(format!("key {}", path.display()));
        if try_key(handle, host, key).await? {
            return Ok(());
        }
        return Err(TransportError::Auth {
            user: host.user.clone(),
            tried: tried.join(", "),
        });
    }

    if std::env::var_os("SSH_AUTH_SOCK").is_some() {
        if let Ok(mut agent) = keys::agent::client::AgentClient::connect_env().await {
            let identities = agent.request_identities().await.unwrap_or_default();
            for identity in identities {
                let key = identity.public_key().into_owned();
                tried.push(format!("agent key {}", key.fingerprint(HashAlg::Sha256)));
                let hash = rsa_hash_for(handle, &key).await;
                match handle
                    .authenticate_publickey_with(host.user.clone(), key, hash, &mut agent)
                    .await
                {
                    Ok(r) if r.success() => return Ok(()),
                    Ok(_) => {}
                    Err(e) => tried.push(format!("(agent error: {e})")),
                }
            }
        }
    }

    for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
        let path = expand_home(&format!("~/.ssh/{name}"));
        if !path.exists() {
            continue;
        }
        let key = match store.load(&path).await {
            Ok(k) => k,
            Err(e) => {
                tried.push(format!("{} ({e})", path.display()));
                continue;
            }
        };
        tried.push(format!("key {}", path.display()));
        if try_key(handle, host, key).await? {
            return Ok(());
        }
    }
    if tried.is_empty() {
        tried.push("nothing: no identity_file, no ssh-agent, no ~/.ssh/id_* key".into());
    }
    Err(TransportError::Auth {
        user: host.user.clone(),
        tried: tried.join(", "),
    })
}

/// Only RSA keys need the server's signature-algorithm list, and asking for
/// it can wait up to a second for the server's ext-info: skip it otherwise.
async fn rsa_hash_for(handle: &Handle<KeyChecker>, key: &PublicKey) -> Option<HashAlg> {
    if !matches!(key.algorithm(), keys::Algorithm::Rsa { .. }) {
        return None;
    }
    handle.best_supported_rsa_hash().await.ok().flatten().flatten()
}

async fn try_key(handle: &mut Handle<KeyChecker>, host: &Host, key: Arc<PrivateKey>) -> Result<bool, TransportError> {
    let hash = rsa_hash_for(handle, key.public_key()).await;
    let result = handle
        .authenticate_publickey(host.user.clone(), PrivateKeyWithHashAlg::new(key, hash))
        .await
        .map_err(|e| TransportError::Ssh(e.to_string()))?;
    Ok(result.success())
}

#[async_trait]
impl Transport for SshTransport {
    async fn exec(&self, argv: &[String], stdin: &[u8], limits: ExecLimits) -> Result<ExecOutput, TransportError> {
        let command = shell::join(argv)?;
        tokio::time::timeout(limits.timeout, self.exec_unbounded(&command, stdin, limits))
            .await
            .map_err(|_| TransportError::CommandTimeout(limits.timeout))?
    }

    async fn close(&self) {
        // A polite goodbye only; a host that does not take it is dropped anyway.
        let goodbye = self.handle.disconnect(Disconnect::ByApplication, "", "en");
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), goodbye).await;
    }
}

impl SshTransport {
    async fn exec_unbounded(
        &self,
        command: &str,
        stdin: &[u8],
        limits: ExecLimits,
    ) -> Result<ExecOutput, TransportError> {
        let lost = |e: russh::Error| TransportError::Disconnected(e.to_string());
        let mut channel = self.handle.channel_open_session().await.map_err(lost)?;
        channel.exec(true, command).await.map_err(lost)?;
        if !stdin.is_empty() {
            channel.data(stdin).await.map_err(lost)?;
        }
        channel.eof().await.map_err(lost)?;

        let mut out = ExecOutput::default();
        let mut closed_cleanly = false;
        while let Some(msg) = channel.wait().await {
            match msg {
                ChannelMsg::Data { data } => {
                    if out.stdout.len() + data.len() > limits.max_stdout {
                        let _ = channel.close().await;
                        return Err(TransportError::OutputTooLarge {
                            limit: limits.max_stdout,
                        });
                    }
                    out.stdout.extend_from_slice(&data);
                }
                ChannelMsg::ExtendedData { data, .. } => {
                    // stderr only feeds error messages: keep the start, drop the rest.
                    let room = limits.max_stderr.saturating_sub(out.stderr.len());
                    out.stderr.extend_from_slice(&data[..data.len().min(room)]);
                }
                ChannelMsg::ExitStatus { exit_status } => out.exit_status = Some(exit_status),
                ChannelMsg::Close => {
                    closed_cleanly = true;
                    break;
                }
                _ => {}
            }
        }
        if !closed_cleanly && out.exit_status.is_none() {
            return Err(TransportError::Disconnected(
                "channel ended without an exit status".into(),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const OTHER: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G2sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";

    fn known(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn revoked_lines_are_found_by_key_and_host_pattern() {
        let key = keys::parse_public_key_base64(KEY).unwrap();
        let text = format!(
            "# comment\n\n10.0.0.1 ssh-ed25519 {KEY}\n@revoked 10.0.0.9 ssh-ed25519 {KEY}\n\
             @revoked * ssh-ed25519 {OTHER}\n@revoked\t*.example,!db.example  ssh-ed25519 {KEY} old\n\
             @revoked [10.0.0.?]:2222 ssh-ed25519 {KEY}\n"
        );
        let (_dir, path) = known(&text);
        assert_eq!(revoked_line("10.0.0.1", 22, &key, &path).unwrap(), None);
        assert_eq!(revoked_line("10.0.0.9", 22, &key, &path).unwrap(), Some(4));
        assert_eq!(revoked_line("web.EXAMPLE", 22, &key, &path).unwrap(), Some(6));
        assert_eq!(revoked_line("db.example", 22, &key, &path).unwrap(), None);
        assert_eq!(revoked_line("10.0.0.1", 2222, &key, &path).unwrap(), Some(7));
        let (_dir, path) = known(&format!("@revoked * ssh-ed25519 {KEY}\n"));
        assert_eq!(revoked_line("anything", 22, &key, &path).unwrap(), Some(1));
    }

    #[test]
    fn revocations_are_read_past_bad_bytes_and_an_unreadable_file_is_an_error() {
        let key = keys::parse_public_key_base64(KEY).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let mut text = b"# caf\xe9\n".to_vec();
        text.extend_from_slice(format!("@revoked * ssh-ed25519 {KEY}\n").as_bytes());
        std::fs::write(&path, text).unwrap();
        assert_eq!(revoked_line("h", 22, &key, &path).unwrap(), Some(2));
        assert_eq!(revoked_line("h", 22, &key, &dir.path().join("none")).unwrap(), None);
        // A directory where the file should be: reading fails.
        assert!(revoked_line("h", 22, &key, dir.path()).is_err());
    }

    #[test]
    fn cert_authority_lines_are_not_plain_entries() {
        let key = keys::parse_public_key_base64(KEY).unwrap();
        let (_dir, path) = known(&format!("@cert-authority 10.0.0.1 ssh-ed25519 {KEY}\n"));
        assert!(!keys::check_known_hosts_path("10.0.0.1", 22, &key, &path).unwrap());
        assert!(known_host_keys_path("10.0.0.1", 22, &path).unwrap().is_empty());
        assert_eq!(revoked_line("10.0.0.1", 22, &key, &path).unwrap(), None);
    }
}
