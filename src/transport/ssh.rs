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

use super::jump::{hop_name, JumpPool};
use super::known_hosts::{host_key_error, revoked_line, HostKeyVerdict};
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
                let passphrase = passphrase_for(path).map_err(|e| fail(e.to_string()))?;
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
/// An encrypted key and no way to ask for its passphrase.
#[derive(Debug, thiserror::Error)]
#[error("key is encrypted, set RECTIFY_KEY_PASSPHRASE or run on a terminal ({0})")]
struct NoPassphrase(std::io::Error);

fn passphrase_for(path: &Path) -> Result<String, NoPassphrase> {
    let from_env = ENV_PASSPHRASE.get_or_init(|| std::env::var("RECTIFY_KEY_PASSPHRASE").ok());
    if let Some(p) = from_env {
        return Ok(p.clone());
    }
    rpassword::prompt_password(format!("Passphrase for {}: ", path.display())).map_err(NoPassphrase)
}

pub(super) struct KeyChecker {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    policy: HostKeyPolicy,
    verdict: Arc<Mutex<Option<HostKeyVerdict>>>,
    /// Why russh ended the session, when it ended it on an error: an
    /// authentication that fails because the session died says so.
    ended: Arc<Mutex<Option<String>>>,
    /// The identification string the server sent, recorded when the first
    /// key exchange is done (before `connect_stream` returns).
    server_id: Arc<Mutex<Option<Vec<u8>>>>,
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

    async fn kex_done(
        &mut self,
        _shared_secret: Option<&[u8]>,
        _names: &russh::Names,
        session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        let mut id = self.server_id.lock().expect("server id lock");
        if id.is_none() {
            *id = Some(session.remote_sshid().to_vec());
        }
        Ok(())
    }

    async fn disconnected(&mut self, reason: client::DisconnectReason<Self::Error>) -> Result<(), Self::Error> {
        match reason {
            client::DisconnectReason::ReceivedDisconnect(_) => Ok(()),
            client::DisconnectReason::Error(e) => {
                *self.ended.lock().expect("ended lock") = Some(e.to_string());
                Err(e)
            }
        }
    }
}

pub struct SshTransport {
    pub(super) handle: Handle<KeyChecker>,
    /// The server's identification string (`SSH-2.0-OpenSSH_9.2p1 …`).
    server_id: Option<String>,
    /// Kept alive for as long as this connection tunnels through it.
    _jump: Option<Arc<SshTransport>>,
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

    pub(super) async fn connect_unbounded(
        host: &Host,
        options: &ConnectOptions,
        keys: &KeyStore,
        jumps: &JumpPool,
    ) -> Result<SshTransport, TransportError> {
        let verdict = Arc::new(Mutex::new(None));
        let ended = Arc::new(Mutex::new(None));
        let server_id = Arc::new(Mutex::new(None));
        let checker = KeyChecker {
            host: host.address.clone(),
            port: host.port,
            known_hosts: host.known_hosts.clone(),
            policy: options.host_key_policy,
            verdict: verdict.clone(),
            ended: ended.clone(),
            server_id: server_id.clone(),
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
        if let Err(e) = authenticate(&mut handle, host, keys).await {
            // A session russh ended on an error is not a refused key. Its
            // task records why just after closing: give it a moment.
            if handle.is_closed() {
                for _ in 0..20 {
                    if ended.lock().expect("ended lock").is_some() {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                }
            }
            return Err(match ended.lock().expect("ended lock").take() {
                Some(reason) => TransportError::SessionEnded(session_ended(&reason)),
                None => e,
            });
        }
        // Untrusted text: RFC 4253 allows 255 bytes of printable ASCII;
        // whatever else came is kept out.
        let server_id = server_id.lock().expect("server id lock").take().map(|id| {
            String::from_utf8_lossy(&id)
                .chars()
                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                .take(255)
                .collect()
        });
        Ok(SshTransport {
            handle,
            server_id,
            _jump: jump,
        })
    }
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

/// Why a session ended during authentication, for the host's error. The
/// one case met in the wild gets its cause named: a pre-authentication
/// banner (sshd's `Banner` file) that is not UTF-8, as RFC 4252 requires;
/// russh ends the session on it before its handler could see the banner,
/// where OpenSSH's client shows it anyway.
fn session_ended(reason: &str) -> String {
    if reason.contains("character encoding invalid") {
        format!(
            "the server sent text that is not valid UTF-8 during authentication ({reason}), which ends \
             the session in rectify's SSH library: most likely sshd's `Banner` file is in another encoding \
             (Latin-1); convert it to UTF-8 (iconv -f latin1 -t utf-8) or set `Banner none` for this user"
        )
    } else {
        reason.to_string()
    }
}

/// The documented order (docs/inventory.md): the configured identity file; else the agent; else the
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

    fn server_id(&self) -> Option<&str> {
        self.server_id.as_deref()
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
