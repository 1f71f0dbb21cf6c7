//! A test-only at-rest cipher: real AES-256-GCM with a key ring, as hush-crypto's, written
//! here because backends must not depend on hush-crypto. The tests of every kind that seals
//! values itself (the SQL store, Elasticsearch) hand it to their backend.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hush_core::{AtRestAad, AtRestCipher, AtRestFormat, Error, ErrorKind, Result, SealedRecord, SecretValue};

/// AES-256-GCM under a ring of random keys; the newest key seals.
pub struct TestCipher {
    keys: RwLock<BTreeMap<u32, Aes256Gcm>>,
    newest: AtomicU32,
    fail_seal: AtomicBool,
}

impl TestCipher {
    /// A ring holding one random key with id `key_id`.
    pub fn new(key_id: u32) -> Arc<Self> {
        let cipher = Self {
            keys: RwLock::new(BTreeMap::new()),
            newest: AtomicU32::new(key_id),
            fail_seal: AtomicBool::new(false),
        };
        cipher.keys.write().unwrap().insert(key_id, Aes256Gcm::new(&Aes256Gcm::generate_key(&mut OsRng)));
        Arc::new(cipher)
    }

    /// Adds a random key with the next id and makes it the newest; returns its id.
    pub fn rotate(&self) -> u32 {
        let id = self.newest.load(Ordering::SeqCst) + 1;
        self.keys.write().unwrap().insert(id, Aes256Gcm::new(&Aes256Gcm::generate_key(&mut OsRng)));
        self.newest.store(id, Ordering::SeqCst);
        id
    }

    /// Drops key `id` from the ring: what it sealed no longer opens.
    pub fn forget(&self, id: u32) {
        self.keys.write().unwrap().remove(&id);
    }

    /// Makes every seal fail (or work again), to test failed writes.
    pub fn set_fail_seal(&self, fail: bool) {
        self.fail_seal.store(fail, Ordering::SeqCst);
    }

    /// Seals `value` under the newest key the way rows were sealed before tags were bound
    /// (format 1), to test that such rows stay readable and that `rekey` migrates them.
    pub fn seal_format_1(&self, aad: AtRestAad<'_>, value: &SecretValue) -> SealedRecord {
        self.seal_as(AtRestFormat::V1, aad, value).expect("format 1 seal")
    }

    fn seal_as(&self, format: AtRestFormat, aad: AtRestAad<'_>, value: &SecretValue) -> Result<SealedRecord> {
        let key_id = self.newest.load(Ordering::SeqCst);
        let keys = self.keys.read().unwrap();
        let key = keys.get(&key_id).ok_or_else(|| Error::new(ErrorKind::Internal, "newest key missing"))?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = key
            .encrypt(&nonce, Payload { msg: value.expose(), aad: &aad_bytes(format, aad) })
            .map_err(|_| Error::new(ErrorKind::Internal, "seal failed"))?;
        Ok(SealedRecord { key_id, format, nonce: nonce.to_vec(), ciphertext })
    }
}

/// The AAD of ARCHITECTURE.md "At rest", as hush-crypto's `KeyRing` builds it, every field
/// with a u32 LE length: format 1 is `"hush-at-rest-v1" ‖ tenant ‖ namespace ‖ name ‖
/// version`; format 2 is `"hush-at-rest-v2"`, the same fields, the tag count (u32 LE), then
/// each tag's key and value in key order.
fn aad_bytes(format: AtRestFormat, aad: AtRestAad<'_>) -> Vec<u8> {
    fn lp(out: &mut Vec<u8>, part: &[u8]) {
        out.extend_from_slice(&(part.len() as u32).to_le_bytes());
        out.extend_from_slice(part);
    }
    let mut out = Vec::new();
    let label = match format {
        AtRestFormat::V1 => "hush-at-rest-v1",
        AtRestFormat::V2 => "hush-at-rest-v2",
    };
    for part in [label, aad.tenant, aad.namespace, aad.name, aad.version] {
        lp(&mut out, part.as_bytes());
    }
    if format == AtRestFormat::V2 {
        lp(&mut out, &(aad.tags.len() as u32).to_le_bytes());
        for (key, value) in aad.tags.iter() {
            lp(&mut out, key.as_bytes());
            lp(&mut out, value.as_bytes());
        }
    }
    out
}

impl fmt::Debug for TestCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCipher").field("newest", &self.newest.load(Ordering::SeqCst)).finish()
    }
}

impl AtRestCipher for TestCipher {
    fn seal(&self, aad: AtRestAad<'_>, value: &SecretValue) -> Result<SealedRecord> {
        if self.fail_seal.load(Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::Internal, "test cipher told to fail"));
        }
        self.seal_as(AtRestFormat::CURRENT, aad, value)
    }

    fn open(&self, aad: AtRestAad<'_>, record: &SealedRecord) -> Result<SecretValue> {
        let keys = self.keys.read().unwrap();
        let key = keys
            .get(&record.key_id)
            .ok_or_else(|| Error::new(ErrorKind::Internal, format!("key {} is not in the ring", record.key_id)))?;
        if record.nonce.len() != 12 {
            return Err(Error::new(ErrorKind::Internal, "bad nonce length"));
        }
        let plain = key
            .decrypt(
                Nonce::from_slice(&record.nonce),
                Payload { msg: &record.ciphertext, aad: &aad_bytes(record.format, aad) },
            )
            .map_err(|_| Error::new(ErrorKind::Internal, "sealed value failed to open"))?;
        Ok(SecretValue::new(plain))
    }

    fn newest_key_id(&self) -> u32 {
        self.newest.load(Ordering::SeqCst)
    }
}
