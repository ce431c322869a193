//! Connections to jump hosts, shared per run: one per bastion however many
//! targets sit behind it, opened by the first target that needs it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::ssh::{KeyStore, SshTransport};
use super::{ConnectOptions, TransportError};
use crate::inventory::Host;

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
    pub(super) async fn connect(
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
    pub(super) fn discard(&self, jump: &Host, conn: &Arc<SshTransport>) {
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
pub(super) fn hop_name(jump: &Host) -> String {
    if jump.name == jump.address {
        jump.endpoint()
    } else {
        format!("{} ({})", jump.name, jump.endpoint())
    }
}

/// An error reaching `jump`, naming it; an error of a hop before it
/// already names that hop and stays as it is.
pub(super) fn through(jump: &Host, error: TransportError) -> TransportError {
    match error {
        e @ (TransportError::Jump { .. } | TransportError::Shared(_)) => e,
        e => TransportError::Jump {
            jump: hop_name(jump),
            source: Box::new(e),
        },
    }
}
