//! Transport keys per client key: the Diffie-Hellman runs once per client, not per request.

use std::time::Duration;

use hush_core::{Error, ErrorKind};
use hush_crypto::{ResolverKeyPair, TransportKey};

#[derive(Debug)]
pub(crate) struct TransportKeys {
    key: ResolverKeyPair,
    key_id: [u8; 8],
    derived: moka::sync::Cache<[u8; 32], TransportKey>,
}

impl TransportKeys {
    pub(crate) fn new(key: ResolverKeyPair) -> Self {
        let key_id = key.key_id();
        let derived =
            moka::sync::Cache::builder().max_capacity(100_000).time_to_idle(Duration::from_secs(3600)).build();
        Self { key, key_id, derived }
    }

    pub(crate) fn key_id(&self) -> [u8; 8] {
        self.key_id
    }

    /// The key shared with `client_key`, when the client sealed to this resolver's key.
    pub(crate) fn key_for(&self, resolver_key_id: &[u8; 8], client_key: &[u8; 32]) -> Result<TransportKey, Error> {
        if resolver_key_id != &self.key_id {
            return Err(Error::new(
                ErrorKind::Unauthorized,
                "the client pinned a different resolver public key than this resolver's",
            ));
        }
        if let Some(key) = self.derived.get(client_key) {
            return Ok(key);
        }
        let key = self
            .key
            .transport_key(client_key)
            .map_err(|_| Error::new(ErrorKind::Unauthorized, "the client key is not a usable X25519 public key"))?;
        self.derived.insert(*client_key, key.clone());
        Ok(key)
    }
}
