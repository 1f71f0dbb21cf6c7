//! The contract for sealing values at rest, implemented by `hush-crypto`.
//!
//! A backend that stores values itself (the SQL store) seals each value through an
//! [`AtRestCipher`] it is handed at construction. The backend never sees a key, and does not
//! depend on a crypto crate: it stores [`SealedRecord`]s and asks the cipher to open them.

use std::fmt::Debug;

use crate::error::Result;
use crate::value::SecretValue;

/// What a sealed value is bound to: a record moved to another tenant, namespace, name or
/// version fails to open.
#[derive(Debug, Clone, Copy)]
pub struct AtRestAad<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The namespace.
    pub namespace: &'a str,
    /// The name.
    pub name: &'a str,
    /// The version.
    pub version: &'a str,
}

/// A sealed value as stored: the id of the key that sealed it, the nonce and the
/// ciphertext with its tag.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedRecord {
    /// Which key of the key ring sealed it.
    pub key_id: u32,
    /// The AEAD nonce.
    pub nonce: Vec<u8>,
    /// Ciphertext followed by the authentication tag.
    pub ciphertext: Vec<u8>,
}

impl Debug for SealedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedRecord").field("key_id", &self.key_id).field("len", &self.ciphertext.len()).finish()
    }
}

/// Seals and opens values at rest with a key ring.
pub trait AtRestCipher: Send + Sync + Debug + 'static {
    /// Seals `value` under the newest key of the ring.
    fn seal(&self, aad: AtRestAad<'_>, value: &SecretValue) -> Result<SealedRecord>;
    /// Opens a record sealed by any key of the ring; fails when the AAD does not match.
    fn open(&self, aad: AtRestAad<'_>, record: &SealedRecord) -> Result<SecretValue>;
    /// The id of the newest key: records under another id are due for `hush rekey`.
    fn newest_key_id(&self) -> u32;
}
