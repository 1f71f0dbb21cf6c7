//! What backends need beyond their own table: the at-rest key ring.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use hush_config::HushConfig;
use hush_core::{AtRestAad, AtRestCipher, Error, ErrorKind, Result, SealedRecord, SecretValue};
use hush_crypto::KeyRing;

/// Shared inputs of backend construction.
#[derive(Debug, Clone, Default)]
pub struct BackendContext {
    /// The at-rest key ring, when `keys.at_rest` is set.
    pub at_rest: Option<Arc<dyn AtRestCipher>>,
}

impl BackendContext {
    /// Reads the key ring named by `keys.at_rest`, if any.
    pub fn from_config(config: &HushConfig) -> Result<BackendContext> {
        let at_rest = match &config.keys.at_rest {
            None => None,
            Some(path) => Some(Arc::new(ReloadingKeyRing::load(path.clone())?) as Arc<dyn AtRestCipher>),
        };
        Ok(BackendContext { at_rest })
    }

    /// The key ring, or an error naming the backend that needs one.
    pub(crate) fn cipher_for(&self, backend: &str) -> Result<Arc<dyn AtRestCipher>> {
        self.at_rest.clone().ok_or_else(|| {
            Error::new(
                ErrorKind::ConfigInvalid,
                format!("backend {backend:?} seals values at rest: set keys.at_rest (see `hush keys init`)"),
            )
        })
    }
}

/// The key ring file, read again when a record names a key the ring in memory lacks: after
/// `hush keys rotate-at-rest` and `hush rekey`, a running hushd opens rows re-sealed under the
/// new key without a restart. It seals under the newest key it has read.
#[derive(Debug)]
struct ReloadingKeyRing {
    path: PathBuf,
    ring: RwLock<KeyRing>,
}

impl ReloadingKeyRing {
    fn load(path: PathBuf) -> Result<Self> {
        let ring = Self::read(&path)?;
        Ok(Self { path, ring: RwLock::new(ring) })
    }

    fn read(path: &Path) -> Result<KeyRing> {
        KeyRing::load(path)
            .map_err(|e| Error::new(ErrorKind::ConfigInvalid, format!("keys.at_rest {}: {e}", path.display())))
    }

    fn current(&self) -> std::sync::RwLockReadGuard<'_, KeyRing> {
        self.ring.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl AtRestCipher for ReloadingKeyRing {
    fn seal(&self, aad: AtRestAad<'_>, value: &SecretValue) -> Result<SealedRecord> {
        self.current().seal(aad, value)
    }

    fn open(&self, aad: AtRestAad<'_>, record: &SealedRecord) -> Result<SecretValue> {
        let first = self.current().open(aad, record);
        if first.is_ok() || self.current().key_ids().contains(&record.key_id) {
            return first;
        }
        let fresh = Self::read(&self.path)?;
        if !fresh.key_ids().contains(&record.key_id) {
            return first;
        }
        tracing::info!(key_id = record.key_id, "the at-rest key ring has a new key: reloaded it");
        let opened = fresh.open(aad, record);
        *self.ring.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
        opened
    }

    fn newest_key_id(&self) -> u32 {
        self.current().newest_key_id()
    }
}
