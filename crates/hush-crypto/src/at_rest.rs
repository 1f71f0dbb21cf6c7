//! The at-rest key ring: AES-256-GCM keys with ids, newest sealing, every one opening.
//!
//! File format (DESIGN.md 4b): repeated records of a key id (u32 little-endian) and its
//! 32-byte key, mode 0600. Sealing uses the newest (highest) id; a record names its key id,
//! so older records keep opening after [`KeyRing::rotate`] until `hush rekey` re-seals them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hush_core::{AtRestAad, AtRestCipher, Error, ErrorKind, SealedRecord, SecretValue};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::key_file::{read_private_capped, replace_private_file, write_new_file};
use crate::length_prefix;

/// Label that starts every at-rest AAD.
const AAD_LABEL: &[u8] = b"hush-at-rest-v1";
/// Bytes of one key record in the file: id (4) + key (32).
const RECORD_LEN: usize = 4 + 32;
/// Largest key ring file read (about 29,000 keys).
const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// AES-GCM nonce length.
const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
const TAG_LEN: usize = 16;

/// Highest key id a key ring accepts (2^31 - 1), so [`KeyRing::rotate`] can never run out
/// of ids. Id 0 is not used either: the first key is 1.
pub const MAX_KEY_ID: u32 = i32::MAX as u32;

/// One key: its bytes (for saving) and the ready cipher (for sealing), both wiped on drop.
#[derive(Clone)]
struct RingKey {
    bytes: Zeroizing<[u8; 32]>,
    cipher: Aes256Gcm,
}

impl RingKey {
    fn new(bytes: Zeroizing<[u8; 32]>) -> Self {
        let cipher = Aes256Gcm::new((&*bytes).into());
        Self { bytes, cipher }
    }

    fn random() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut *bytes);
        Self::new(bytes)
    }
}

/// AES-256 keys by id; the newest (highest id) seals, any of them opens.
///
/// `Debug` prints the key ids only.
#[derive(Clone)]
pub struct KeyRing {
    keys: BTreeMap<u32, RingKey>,
}

impl KeyRing {
    /// A ring with one fresh random key, id 1.
    pub fn generate() -> KeyRing {
        KeyRing { keys: BTreeMap::from([(1, RingKey::random())]) }
    }

    /// Reads a key ring file. Refuses an empty file, a length that is not a whole number of
    /// records, a duplicate key id, and ids outside `1..=MAX_KEY_ID`.
    pub fn load(path: &Path) -> Result<KeyRing, CryptoError> {
        let bad = |reason: String| CryptoError::KeyFile { path: path.to_owned(), reason };
        let bytes = read_private_capped(path, MAX_FILE_BYTES)?;
        if bytes.is_empty() {
            return Err(bad("empty key ring".into()));
        }
        if bytes.len() % RECORD_LEN != 0 {
            return Err(bad(format!("{} bytes is not a whole number of {RECORD_LEN}-byte key records", bytes.len())));
        }
        let mut keys = BTreeMap::new();
        for record in bytes.chunks_exact(RECORD_LEN) {
            let (id, key) = record.split_at(4);
            let id = u32::from_le_bytes([id[0], id[1], id[2], id[3]]);
            if id == 0 || id > MAX_KEY_ID {
                return Err(bad(format!("key id {id} is outside 1..={MAX_KEY_ID}")));
            }
            let mut bytes = Zeroizing::new([0u8; 32]);
            bytes.copy_from_slice(key);
            if keys.insert(id, RingKey::new(bytes)).is_some() {
                return Err(bad(format!("key id {id} appears twice")));
            }
        }
        Ok(KeyRing { keys })
    }

    /// The file content: each key as id (u32 LE) then its 32 bytes, in id order.
    fn to_file_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.keys.len() * RECORD_LEN));
        for (id, key) in &self.keys {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&*key.bytes);
        }
        out
    }

    /// Writes the ring to a new file, mode 0600; refuses to overwrite an existing file.
    pub fn save_new(&self, path: &Path) -> Result<(), CryptoError> {
        write_new_file(path, &self.to_file_bytes(), true)
    }

    /// Replaces the ring file atomically (temporary file, mode 0600, in the same directory,
    /// then rename), for `hush keys rotate-at-rest`.
    pub fn save_replace(&self, path: &Path) -> Result<(), CryptoError> {
        replace_private_file(path, &self.to_file_bytes())
    }

    /// Adds a fresh random key with id one above the highest and returns that id; it is the
    /// newest key from now on. Older keys stay, so records they sealed keep opening.
    pub fn rotate(&mut self) -> u32 {
        // Ids stay in 1..=MAX_KEY_ID (2^31 - 1) when loaded; reaching u32::MAX would take
        // two billion rotations in one process, so the increment cannot overflow.
        let id = self.newest_id().saturating_add(1);
        self.keys.insert(id, RingKey::random());
        id
    }

    /// The key ids, ascending.
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    fn newest_id(&self) -> u32 {
        self.keys.keys().next_back().copied().unwrap_or(0)
    }

    fn aad(aad: &AtRestAad<'_>) -> Vec<u8> {
        length_prefix::concat(&[
            AAD_LABEL,
            aad.tenant.as_bytes(),
            aad.namespace.as_bytes(),
            aad.name.as_bytes(),
            aad.version.as_bytes(),
        ])
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing").field("key_ids", &self.key_ids()).finish()
    }
}

impl AtRestCipher for KeyRing {
    fn seal(&self, aad: AtRestAad<'_>, value: &SecretValue) -> hush_core::Result<SealedRecord> {
        let (&key_id, key) =
            self.keys.last_key_value().ok_or_else(|| Error::new(ErrorKind::Internal, "key ring is empty"))?;
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        // Encrypt in a buffer sized for the tag, so no plaintext copy is left behind by a
        // reallocation.
        let mut ciphertext = Vec::with_capacity(value.len() + TAG_LEN);
        ciphertext.extend_from_slice(value.expose());
        let tag = key
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &Self::aad(&aad), &mut ciphertext)
            .map_err(|_| Error::from(CryptoError::Seal))?;
        ciphertext.extend_from_slice(&tag);
        Ok(SealedRecord { key_id, nonce: nonce.to_vec(), ciphertext })
    }

    fn open(&self, aad: AtRestAad<'_>, record: &SealedRecord) -> hush_core::Result<SecretValue> {
        let key = self.keys.get(&record.key_id).ok_or_else(|| Error::from(CryptoError::UnknownKeyId(record.key_id)))?;
        let failed = || Error::new(ErrorKind::Internal, CryptoError::Open.to_string()).set_temporary(false);
        if record.nonce.len() != NONCE_LEN || record.ciphertext.len() < TAG_LEN {
            return Err(failed());
        }
        let (body, tag) = record.ciphertext.split_at(record.ciphertext.len() - TAG_LEN);
        let mut plaintext = Zeroizing::new(body.to_vec());
        key.cipher
            .decrypt_in_place_detached(Nonce::from_slice(&record.nonce), &Self::aad(&aad), &mut plaintext, tag.into())
            .map_err(|_| failed())?;
        Ok(SecretValue::new(std::mem::take(&mut *plaintext)))
    }

    fn newest_key_id(&self) -> u32 {
        self.newest_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aad<'a>(namespace: &'a str, name: &'a str, version: &'a str) -> AtRestAad<'a> {
        AtRestAad { tenant: "acme", namespace, name, version }
    }

    #[test]
    fn round_trip() {
        let ring = KeyRing::generate();
        assert_eq!(ring.key_ids(), [1]);
        let value = SecretValue::from("hunter2");
        let record = ring.seal(aad("company.team", "DB_PASSWORD", "1"), &value).unwrap();
        assert_eq!(record.key_id, 1);
        assert_eq!(record.nonce.len(), 12);
        assert_eq!(record.ciphertext.len(), 7 + 16);
        assert!(!record.ciphertext.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(ring.open(aad("company.team", "DB_PASSWORD", "1"), &record).unwrap(), value);
        let empty = ring.seal(aad("a", "B", "1"), &SecretValue::new(Vec::new())).unwrap();
        assert!(ring.open(aad("a", "B", "1"), &empty).unwrap().is_empty());
    }

    #[test]
    fn nonces_are_fresh() {
        let ring = KeyRing::generate();
        let v = SecretValue::from("x");
        let a = ring.seal(aad("a", "B", "1"), &v).unwrap();
        let b = ring.seal(aad("a", "B", "1"), &v).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn aad_binds_tenant_namespace_name_and_version() {
        let ring = KeyRing::generate();
        let record = ring.seal(aad("company.team", "DB_PASSWORD", "1"), &SecretValue::from("v")).unwrap();
        let moved = [
            AtRestAad { tenant: "other", namespace: "company.team", name: "DB_PASSWORD", version: "1" },
            aad("company", "DB_PASSWORD", "1"),
            aad("company.team", "DB_PASSWORD2", "1"),
            aad("company.team", "DB_PASSWORD", "2"),
            // Field boundaries matter: the same bytes split differently must fail too.
            aad("company.teamDB_", "PASSWORD", "1"),
        ];
        for other in moved {
            let e = ring.open(other, &record).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Internal, "{other:?}");
            assert_eq!(e.message(), "sealed value failed to open");
        }
    }

    #[test]
    fn tampered_or_truncated_records_fail() {
        let ring = KeyRing::generate();
        let a = aad("a", "B", "1");
        let record = ring.seal(a, &SecretValue::from("value")).unwrap();
        let mut flipped = record.clone();
        flipped.ciphertext[0] ^= 1;
        assert!(ring.open(a, &flipped).is_err());
        let mut short = record.clone();
        short.ciphertext.truncate(15);
        assert!(ring.open(a, &short).is_err());
        let mut bad_nonce = record.clone();
        bad_nonce.nonce.pop();
        assert!(ring.open(a, &bad_nonce).is_err());
        let mut unknown = record;
        unknown.key_id = 9;
        assert_eq!(ring.open(a, &unknown).unwrap_err().kind(), ErrorKind::ConfigInvalid);
    }

    #[test]
    fn another_ring_cannot_open() {
        let record = KeyRing::generate().seal(aad("a", "B", "1"), &SecretValue::from("v")).unwrap();
        assert!(KeyRing::generate().open(aad("a", "B", "1"), &record).is_err());
    }

    #[test]
    fn rotation_keeps_old_records_open() {
        let mut ring = KeyRing::generate();
        let old = ring.seal(aad("a", "B", "1"), &SecretValue::from("old")).unwrap();
        assert_eq!(ring.rotate(), 2);
        assert_eq!(ring.newest_key_id(), 2);
        assert_eq!(ring.key_ids(), [1, 2]);
        let new = ring.seal(aad("a", "B", "2"), &SecretValue::from("new")).unwrap();
        assert_eq!(new.key_id, 2);
        assert_eq!(ring.open(aad("a", "B", "1"), &old).unwrap().expose(), b"old");
        assert_eq!(ring.open(aad("a", "B", "2"), &new).unwrap().expose(), b"new");
    }

    #[test]
    fn file_round_trip_mode_and_no_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("at-rest.keys");
        let mut ring = KeyRing::generate();
        ring.rotate();
        ring.save_new(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 72);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let loaded = KeyRing::load(&path).unwrap();
        assert_eq!(loaded.key_ids(), [1, 2]);
        let record = ring.seal(aad("a", "B", "1"), &SecretValue::from("v")).unwrap();
        assert_eq!(loaded.open(aad("a", "B", "1"), &record).unwrap().expose(), b"v");

        assert!(matches!(KeyRing::generate().save_new(&path), Err(CryptoError::Exists(_))));
        assert_eq!(KeyRing::load(&path).unwrap().key_ids(), [1, 2], "the refused save left the file alone");

        let mut rotated = loaded;
        rotated.rotate();
        rotated.save_replace(&path).unwrap();
        let reloaded = KeyRing::load(&path).unwrap();
        assert_eq!(reloaded.key_ids(), [1, 2, 3]);
        assert_eq!(reloaded.open(aad("a", "B", "1"), &record).unwrap().expose(), b"v");
    }

    #[test]
    fn load_refuses_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let record = |id: u32| {
            let mut r = id.to_le_bytes().to_vec();
            r.extend_from_slice(&[5u8; 32]);
            r
        };
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", vec![], "empty key ring"),
            ("partial", record(1)[..35].to_vec(), "35 bytes is not a whole number"),
            ("dup", [record(4), record(4)].concat(), "key id 4 appears twice"),
            ("zero", record(0), "key id 0 is outside"),
            ("huge", record(u32::MAX), "key id 4294967295 is outside"),
        ];
        for (name, bytes, want) in cases {
            let path = dir.path().join(name);
            crate::write_new_file(&path, &bytes, true).unwrap();
            match KeyRing::load(&path) {
                Err(CryptoError::KeyFile { reason, .. }) => assert!(reason.starts_with(want), "{name}: {reason}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn debug_shows_ids_only() {
        let ring = KeyRing::generate();
        let shown = format!("{ring:?}");
        assert_eq!(shown, "KeyRing { key_ids: [1] }");
    }
}
