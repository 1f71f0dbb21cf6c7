//! Transport keys per (resolver key, client key): the Diffie-Hellman runs once per client,
//! not per request. Several resolver keys may be live at once (rotation): a request names the
//! one it sealed to, and the reply uses the same one.

use std::fmt;
use std::sync::Arc;

use hush_core::{Error, ErrorKind};
use hush_crypto::{ChangeEventKey, ResolverKeyPair, TransportKey};

pub(crate) struct TransportKeys {
    /// The live keys with their ids; the first is the primary.
    keys: Vec<([u8; 8], ResolverKeyPair)>,
    /// At most [`MAX_DERIVED`] keys; the least used go first. A key is never stale: it is what
    /// the same X25519 exchange would derive again.
    derived: quick_cache::sync::Cache<([u8; 8], [u8; 32]), Arc<TransportKey>>,
}

/// How many derived transport keys are kept: one per (resolver key, client key) in use.
const MAX_DERIVED: usize = 100_000;

impl TransportKeys {
    /// # Panics
    ///
    /// When `keys` is empty: a resolver needs a key.
    pub(crate) fn new(keys: Vec<ResolverKeyPair>) -> Self {
        assert!(!keys.is_empty(), "a resolver needs at least one key");
        let keys = keys.into_iter().map(|key| (key.key_id(), key)).collect();
        Self { keys, derived: quick_cache::sync::Cache::new(MAX_DERIVED) }
    }

    /// The id of the primary key (the one error replies to undecodable requests name).
    pub(crate) fn primary_key_id(&self) -> [u8; 8] {
        self.keys[0].0
    }

    /// The change-event key of every live key.
    pub(crate) fn change_event_keys(&self) -> Vec<ChangeEventKey> {
        self.keys.iter().map(|(_, key)| key.change_event_key()).collect()
    }

    /// The key shared with `client_key`, when the client sealed to one of the live keys.
    pub(crate) fn key_for(&self, resolver_key_id: &[u8; 8], client_key: &[u8; 32]) -> Result<Arc<TransportKey>, Error> {
        if let Some(key) = self.derived.get(&(*resolver_key_id, *client_key)) {
            return Ok(key);
        }
        let Some((_, pair)) = self.keys.iter().find(|(id, _)| id == resolver_key_id) else {
            return Err(Error::new(
                ErrorKind::Unauthorized,
                "the client pinned a resolver public key this resolver does not hold",
            ));
        };
        let key = pair
            .transport_key(client_key)
            .map(Arc::new)
            .map_err(|_| Error::new(ErrorKind::Unauthorized, "the client key is not a usable X25519 public key"))?;
        self.derived.insert((*resolver_key_id, *client_key), key.clone());
        Ok(key)
    }
}

impl fmt::Debug for TransportKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&ResolverKeyPair> = self.keys.iter().map(|(_, key)| key).collect();
        f.debug_struct("TransportKeys").field("keys", &keys).field("derived", &self.derived.len()).finish()
    }
}
