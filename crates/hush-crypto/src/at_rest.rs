//! The at-rest key ring: AES-256-GCM keys with ids, newest sealing, every one opening.
//!
//! File format (DESIGN.md 4b): repeated records of a key id (u32 little-endian) and its
//! 32-byte key, mode 0600. Sealing uses the newest (highest) id; a record names its key id,
//! so older records keep opening after [`KeyRing::rotate`] until `hush rekey` re-seals them.
//!
//! AAD (ARCHITECTURE.md, "At rest"), every field length-prefixed: seals write format 2,
//! `"hush-at-rest-v2"` ‖ tenant ‖ namespace ‖ name ‖ version ‖ tag count (u32 LE) ‖ each tag's
//! key and value in key order; records of format 1 (stored before tags were bound) open with
//! `"hush-at-rest-v1"` ‖ tenant ‖ namespace ‖ name ‖ version.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hush_core::{AtRestAad, AtRestCipher, AtRestFormat, Error, ErrorKind, SealedRecord, SecretValue};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::key_file::{read_private_capped, replace_private_file, write_new_file};
use crate::length_prefix;

/// Label that starts the AAD of format 1 records (no tags).
const AAD_LABEL_V1: &[u8] = b"hush-at-rest-v1";
/// Label that starts the AAD of format 2 records (tags bound).
const AAD_LABEL_V2: &[u8] = b"hush-at-rest-v2";
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

/// Why [`KeyRing::retire`] refused to remove a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RetireError {
    /// No key of the ring has this id.
    #[error("key {0} is not in the key ring")]
    NotInRing(u32),
    /// The id is the newest key's, which seals every new value.
    #[error("key {0} is the newest key of the ring and seals new values: rotate first")]
    Newest(u32),
}

impl From<RetireError> for Error {
    fn from(e: RetireError) -> Self {
        let kind = match e {
            RetireError::NotInRing(_) => ErrorKind::NotFound,
            RetireError::Newest(_) => ErrorKind::InvalidInput,
        };
        Error::new(kind, e.to_string()).set_temporary(false)
    }
}

/// One key: its bytes (for saving, wiped on drop) and the ready cipher (for sealing; its AES
/// round keys are wiped on drop, polyval's copy of the GHASH key is not on x86_64: see
/// ARCHITECTURE.md, "At rest").
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

    /// Removes key `id`: what it sealed no longer opens with this ring. Refuses an id not in
    /// the ring and the newest key (it seals new values: [`rotate`](Self::rotate) first), so a
    /// ring never becomes empty. The caller checks that no stored record still uses the key
    /// (`hush keys retire-at-rest` counts them in every backend).
    pub fn retire(&mut self, id: u32) -> Result<(), RetireError> {
        if !self.keys.contains_key(&id) {
            return Err(RetireError::NotInRing(id));
        }
        if id == self.newest_id() {
            return Err(RetireError::Newest(id));
        }
        self.keys.remove(&id);
        Ok(())
    }

    /// The key ids, ascending.
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    fn newest_id(&self) -> u32 {
        self.keys.keys().next_back().copied().unwrap_or(0)
    }

    /// The AAD bytes of `aad` in `format`.
    fn aad(aad: &AtRestAad<'_>, format: AtRestFormat) -> Vec<u8> {
        let head = [aad.tenant.as_bytes(), aad.namespace.as_bytes(), aad.name.as_bytes(), aad.version.as_bytes()];
        match format {
            AtRestFormat::V1 => {
                let mut out = length_prefix::concat(&[AAD_LABEL_V1]);
                for field in head {
                    length_prefix::push(&mut out, field);
                }
                out
            }
            AtRestFormat::V2 => {
                let mut out = length_prefix::concat(&[AAD_LABEL_V2]);
                for field in head {
                    length_prefix::push(&mut out, field);
                }
                // Tags hold at most a few hundred pairs of bounded length: the count fits.
                let count = u32::try_from(aad.tags.len()).unwrap_or(u32::MAX);
                length_prefix::push(&mut out, &count.to_le_bytes());
                // `Tags` iterates in ascending key order, keys unique: one encoding per set.
                for (key, value) in aad.tags.iter() {
                    length_prefix::push(&mut out, key.as_bytes());
                    length_prefix::push(&mut out, value.as_bytes());
                }
                out
            }
        }
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
            .encrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                &Self::aad(&aad, AtRestFormat::CURRENT),
                &mut ciphertext,
            )
            .map_err(|_| Error::from(CryptoError::Seal))?;
        ciphertext.extend_from_slice(&tag);
        Ok(SealedRecord { key_id, format: AtRestFormat::CURRENT, nonce: nonce.to_vec(), ciphertext })
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
            .decrypt_in_place_detached(
                Nonce::from_slice(&record.nonce),
                &Self::aad(&aad, record.format),
                &mut plaintext,
                tag.into(),
            )
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

    use hush_core::Tags;

    static NO_TAGS: std::sync::LazyLock<Tags> = std::sync::LazyLock::new(Tags::new);

    fn aad<'a>(namespace: &'a str, name: &'a str, version: &'a str) -> AtRestAad<'a> {
        AtRestAad { tenant: "acme", namespace, name, version, tags: &NO_TAGS }
    }

    /// acme/a/B version 1 with `t`.
    fn with(t: &Tags) -> AtRestAad<'_> {
        AtRestAad { tenant: "acme", namespace: "a", name: "B", version: "1", tags: t }
    }

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        let mut tags = Tags::new();
        for (k, v) in pairs {
            tags.insert(*k, *v).unwrap();
        }
        tags
    }

    /// A record sealed the way rows were before tags were bound: format 1 AAD.
    fn seal_v1(ring: &KeyRing, aad: AtRestAad<'_>, value: &[u8]) -> SealedRecord {
        let (&key_id, key) = ring.keys.last_key_value().unwrap();
        let nonce = [3u8; NONCE_LEN];
        let mut ciphertext = value.to_vec();
        let tag = key
            .cipher
            .encrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                &KeyRing::aad(&aad, AtRestFormat::V1),
                &mut ciphertext,
            )
            .unwrap();
        ciphertext.extend_from_slice(&tag);
        SealedRecord { key_id, format: AtRestFormat::V1, nonce: nonce.to_vec(), ciphertext }
    }

    #[test]
    fn aad_bytes_are_the_documented_construction() {
        fn lp(out: &mut Vec<u8>, field: &[u8]) {
            out.extend_from_slice(&(field.len() as u32).to_le_bytes());
            out.extend_from_slice(field);
        }
        // Inserted out of order: the AAD takes them in key order.
        let t = tags(&[("team", "payments"), ("env", "prod")]);
        let a = AtRestAad { tenant: "acme", namespace: "company.team", name: "DB", version: "12", tags: &t };
        let mut v2 = Vec::new();
        for field in [&b"hush-at-rest-v2"[..], b"acme", b"company.team", b"DB", b"12", &2u32.to_le_bytes()] {
            lp(&mut v2, field);
        }
        for field in [&b"env"[..], b"prod", b"team", b"payments"] {
            lp(&mut v2, field);
        }
        assert_eq!(KeyRing::aad(&a, AtRestFormat::V2), v2);
        let mut v1 = Vec::new();
        for field in [&b"hush-at-rest-v1"[..], b"acme", b"company.team", b"DB", b"12"] {
            lp(&mut v1, field);
        }
        assert_eq!(KeyRing::aad(&a, AtRestFormat::V1), v1);
        // No tags is its own encoding (a zero count), never the format 1 bytes.
        let none = KeyRing::aad(&aad("company.team", "DB", "12"), AtRestFormat::V2);
        assert!(none.ends_with(&[4, 0, 0, 0, 0, 0, 0, 0]), "{none:?}");
    }

    #[test]
    fn aad_binds_the_tags() {
        let ring = KeyRing::generate();
        let stored = tags(&[("team", "payments"), ("env", "prod")]);
        let record = ring.seal(with(&stored), &SecretValue::from("v")).unwrap();
        assert_eq!(record.format, AtRestFormat::V2);
        assert_eq!(ring.open(with(&stored), &record).unwrap().expose(), b"v");
        let retagged = [
            Tags::new(),
            tags(&[("team", "payments")]),
            tags(&[("team", "payments"), ("env", "dev")]),
            tags(&[("team", "payments"), ("env", "prod"), ("extra", "x")]),
            tags(&[("team", "payments"), ("envx", "prod")]),
            // The same bytes split differently between key and value.
            tags(&[("team", "payments"), ("en", "vprod")]),
        ];
        for other in &retagged {
            let e = ring.open(with(other), &record).unwrap_err();
            assert_eq!(e.message(), "sealed value failed to open", "{other:?}");
        }
    }

    #[test]
    fn format_1_records_open_until_resealed_and_a_flipped_marker_never_opens() {
        let ring = KeyRing::generate();
        let stored = tags(&[("team", "payments")]);
        let forged = tags(&[("team", "attacker")]);
        // A legacy record opens; its tags were never bound, so other tags open it too.
        let legacy = seal_v1(&ring, with(&stored), b"old");
        assert_eq!(ring.open(with(&stored), &legacy).unwrap().expose(), b"old");
        assert_eq!(ring.open(with(&forged), &legacy).unwrap().expose(), b"old");
        // Re-sealing it (what `hush rekey` does) binds the tags.
        let value = ring.open(with(&stored), &legacy).unwrap();
        let migrated = ring.seal(with(&stored), &value).unwrap();
        assert_eq!(migrated.format, AtRestFormat::V2);
        assert!(ring.open(with(&forged), &migrated).is_err());
        // Downgrading a format 2 record's marker does not skip the tag check: it fails to
        // open under any tags, the stored ones included.
        let mut downgraded = migrated.clone();
        downgraded.format = AtRestFormat::V1;
        for t in [&stored, &forged, &NO_TAGS] {
            assert_eq!(ring.open(with(t), &downgraded).unwrap_err().message(), "sealed value failed to open");
        }
        // Upgrading a legacy marker fails the same way.
        let mut upgraded = legacy;
        upgraded.format = AtRestFormat::V2;
        for t in [&stored, &forged, &NO_TAGS] {
            assert_eq!(ring.open(with(t), &upgraded).unwrap_err().message(), "sealed value failed to open");
        }
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
            AtRestAad { tenant: "other", namespace: "company.team", name: "DB_PASSWORD", version: "1", tags: &NO_TAGS },
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
    fn retire_removes_an_old_key_only() {
        let mut ring = KeyRing::generate();
        let old = ring.seal(aad("a", "B", "1"), &SecretValue::from("v")).unwrap();
        assert_eq!(ring.retire(1), Err(RetireError::Newest(1)), "the only key is the newest");
        assert_eq!(ring.retire(7), Err(RetireError::NotInRing(7)));
        ring.rotate();
        ring.rotate();
        assert_eq!(ring.retire(3), Err(RetireError::Newest(3)));
        ring.retire(1).unwrap();
        assert_eq!(ring.key_ids(), [2, 3]);
        assert_eq!(ring.retire(1), Err(RetireError::NotInRing(1)), "retired already");
        assert_eq!(ring.open(aad("a", "B", "1"), &old).unwrap_err().kind(), ErrorKind::ConfigInvalid);
        assert_eq!(ring.seal(aad("a", "B", "1"), &SecretValue::from("v")).unwrap().key_id, 3);
        assert_eq!(Error::from(RetireError::NotInRing(7)).kind(), ErrorKind::NotFound);
        assert_eq!(Error::from(RetireError::Newest(3)).kind(), ErrorKind::InvalidInput);
        // Retiring keeps rotation above every id ever used only while the newest stays:
        // the newest can never be retired, so a new key never reuses an id.
        assert_eq!(ring.rotate(), 4);
    }

    #[test]
    fn debug_shows_ids_only() {
        let ring = KeyRing::generate();
        let shown = format!("{ring:?}");
        assert_eq!(shown, "KeyRing { key_ids: [1] }");
    }
}
