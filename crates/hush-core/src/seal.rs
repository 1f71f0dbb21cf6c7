//! The contract for sealing values at rest, implemented by `hush-crypto`.
//!
//! A backend that stores values itself (the SQL store) seals each value through an
//! [`AtRestCipher`] it is handed at construction. The backend never sees a key, and does not
//! depend on a crypto crate: it stores [`SealedRecord`]s and asks the cipher to open them.

use std::fmt::Debug;

use crate::error::Result;
use crate::value::{SecretValue, Tags};

/// What a sealed value is bound to: a record moved to another tenant, namespace, name or
/// version, or (format [`AtRestFormat::V2`]) given other tags, fails to open.
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
    /// The tags stored with the value: bound by [`AtRestFormat::V2`], ignored by
    /// [`AtRestFormat::V1`].
    pub tags: &'a Tags,
}

/// Which AAD a record was sealed with, stored beside it (the SQL store's `aad_format`).
///
/// Every seal writes [`AtRestFormat::CURRENT`]; [`AtRestFormat::V1`] is what rows stored
/// before tags were bound carry until `hush rekey` migrates them. The marker selects the AAD
/// an opener computes, and the two AADs differ (each starts with its own label), so changing a
/// record's marker makes it fail to open rather than skip the tag check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtRestFormat {
    /// `"hush-at-rest-v1"`, tenant, namespace, name, version: tags are not bound.
    V1,
    /// `"hush-at-rest-v2"`, tenant, namespace, name, version, then the tags in key order.
    V2,
}

impl AtRestFormat {
    /// The format every seal writes.
    pub const CURRENT: AtRestFormat = AtRestFormat::V2;

    /// The number stored for this format: 1 or 2.
    pub fn number(self) -> i64 {
        match self {
            AtRestFormat::V1 => 1,
            AtRestFormat::V2 => 2,
        }
    }

    /// The format stored as `number`, if there is one.
    pub fn from_number(number: i64) -> Option<AtRestFormat> {
        match number {
            1 => Some(AtRestFormat::V1),
            2 => Some(AtRestFormat::V2),
            _ => None,
        }
    }
}

/// A sealed value as stored: the id of the key that sealed it, the AAD format, the nonce and
/// the ciphertext with its tag.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedRecord {
    /// Which key of the key ring sealed it.
    pub key_id: u32,
    /// Which AAD it was sealed with.
    pub format: AtRestFormat,
    /// The AEAD nonce.
    pub nonce: Vec<u8>,
    /// Ciphertext followed by the authentication tag.
    pub ciphertext: Vec<u8>,
}

impl Debug for SealedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedRecord")
            .field("key_id", &self.key_id)
            .field("format", &self.format)
            .field("len", &self.ciphertext.len())
            .finish()
    }
}

/// Seals and opens values at rest with a key ring.
pub trait AtRestCipher: Send + Sync + Debug + 'static {
    /// Seals `value` under the newest key of the ring, with the AAD of
    /// [`AtRestFormat::CURRENT`].
    fn seal(&self, aad: AtRestAad<'_>, value: &SecretValue) -> Result<SealedRecord>;
    /// Opens a record sealed by any key of the ring, computing the AAD of `record.format`;
    /// fails when the AAD does not match.
    fn open(&self, aad: AtRestAad<'_>, record: &SealedRecord) -> Result<SecretValue>;
    /// The id of the newest key: records under another id are due for `hush rekey`.
    fn newest_key_id(&self) -> u32;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_numbers_round_trip_and_unknown_ones_are_refused() {
        for format in [AtRestFormat::V1, AtRestFormat::V2] {
            assert_eq!(AtRestFormat::from_number(format.number()), Some(format));
        }
        assert_eq!(AtRestFormat::CURRENT.number(), 2);
        for unknown in [0, 3, -1, i64::MAX] {
            assert_eq!(AtRestFormat::from_number(unknown), None);
        }
    }

    #[test]
    fn debug_of_a_record_shows_no_bytes() {
        let record = SealedRecord { key_id: 3, format: AtRestFormat::V2, nonce: vec![7; 12], ciphertext: vec![9; 20] };
        assert_eq!(format!("{record:?}"), "SealedRecord { key_id: 3, format: V2, len: 20 }");
    }
}
