//! What backends need beyond their own table: the at-rest key ring, and who observes their calls.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use hush_config::HushConfig;
use hush_core::{AtRestAad, AtRestCipher, Error, ErrorKind, Result, SealedRecord, SecretValue};
use hush_crypto::KeyRing;

/// Shared inputs of backend construction.
#[derive(Debug, Clone, Default)]
pub struct BackendContext {
    /// The at-rest key ring, when `keys.at_rest` is set.
    pub at_rest: Option<Arc<dyn AtRestCipher>>,
    /// Told of every backend call (hushd's metrics), when set: each binding is wrapped in a
    /// [`CallObserverLayer`](hush_layers::CallObserverLayer) labelled with it.
    pub observer: Option<Arc<dyn hush_layers::CallObserver>>,
}

impl BackendContext {
    /// Reads the key ring named by `keys.at_rest`, if any.
    pub fn from_config(config: &HushConfig) -> Result<BackendContext> {
        let at_rest = match &config.keys.at_rest {
            None => None,
            Some(path) => Some(Arc::new(ReloadingKeyRing::load(path.clone())?) as Arc<dyn AtRestCipher>),
        };
        Ok(BackendContext { at_rest, observer: None })
    }
}

/// The key ring file, read again when a record names a key the ring in memory lacks, and before
/// a seal when the file changed since it was read: after `hush keys rotate-at-rest`, a running
/// hushd writes under the new key from its next write on, and opens rows `hush rekey` re-sealed
/// under it, without a restart.
#[derive(Debug)]
struct ReloadingKeyRing {
    path: PathBuf,
    loaded: RwLock<Loaded>,
}

/// The ring in memory and the file as it was when read.
#[derive(Debug)]
struct Loaded {
    ring: KeyRing,
    stamp: Option<FileStamp>,
}

/// What tells a replaced ring file from the one read: `save_replace` renames a new file over
/// it (another inode, a new modification time, usually another length).
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(FileStamp { modified: meta.modified().ok(), len: meta.len(), inode })
    }
}

impl ReloadingKeyRing {
    fn load(path: PathBuf) -> Result<Self> {
        let stamp = FileStamp::of(&path);
        let ring = Self::read(&path)?;
        Ok(Self { path, loaded: RwLock::new(Loaded { ring, stamp }) })
    }

    fn read(path: &Path) -> Result<KeyRing> {
        KeyRing::load(path)
            .map_err(|e| Error::new(ErrorKind::ConfigInvalid, format!("keys.at_rest {}: {e}", path.display())))
    }

    fn current(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.loaded.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn replace(&self, ring: KeyRing, stamp: Option<FileStamp>) {
        *self.loaded.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Loaded { ring, stamp };
    }

    /// Reads the file again when it changed since it was read; keeps the ring in memory when
    /// the new file cannot be read (logged).
    fn follow_file(&self) {
        let stamp = FileStamp::of(&self.path);
        if stamp.is_none() || stamp == self.current().stamp {
            return;
        }
        match Self::read(&self.path) {
            Ok(fresh) => {
                let newest = fresh.newest_key_id();
                self.replace(fresh, stamp);
                tracing::info!(newest_key_id = newest, "the at-rest key ring file changed: reloaded it");
            }
            Err(e) => {
                tracing::warn!(error = %e, "the at-rest key ring file changed but cannot be read: keeping the ring in memory")
            }
        }
    }
}

impl AtRestCipher for ReloadingKeyRing {
    fn seal(&self, aad: AtRestAad<'_>, value: &SecretValue) -> Result<SealedRecord> {
        // One `stat` per write: writes are admin operations, far rarer than reads.
        self.follow_file();
        self.current().ring.seal(aad, value)
    }

    fn open(&self, aad: AtRestAad<'_>, record: &SealedRecord) -> Result<SecretValue> {
        let first = self.current().ring.open(aad, record);
        if first.is_ok() || self.current().ring.key_ids().contains(&record.key_id) {
            return first;
        }
        let stamp = FileStamp::of(&self.path);
        let fresh = Self::read(&self.path)?;
        if !fresh.key_ids().contains(&record.key_id) {
            return first;
        }
        tracing::info!(key_id = record.key_id, "the at-rest key ring has a new key: reloaded it");
        let opened = fresh.open(aad, record);
        self.replace(fresh, stamp);
        opened
    }

    fn newest_key_id(&self) -> u32 {
        self.follow_file();
        self.current().ring.newest_key_id()
    }
}

#[cfg(test)]
mod tests {
    use hush_core::Tags;

    use super::*;

    #[test]
    fn a_rotated_ring_file_seals_new_writes_without_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("at-rest.keyring");
        KeyRing::generate().save_new(&path).unwrap();
        let cipher = ReloadingKeyRing::load(path.clone()).unwrap();
        let tags = Tags::new();
        let aad = AtRestAad { tenant: "acme", namespace: "a", name: "B", version: "1", tags: &tags };
        let before = cipher.seal(aad, &SecretValue::from("v")).unwrap();
        assert_eq!(before.key_id, 1);

        let mut ring = KeyRing::load(&path).unwrap();
        ring.rotate();
        ring.save_replace(&path).unwrap();
        let after = cipher.seal(aad, &SecretValue::from("v")).unwrap();
        assert_eq!(after.key_id, 2, "the next write follows the file");
        assert_eq!(cipher.newest_key_id(), 2);
        assert_eq!(cipher.open(aad, &before).unwrap().expose(), b"v");

        // A file that cannot be read keeps the ring in memory.
        std::fs::write(&path, b"not a key ring").unwrap();
        assert_eq!(cipher.seal(aad, &SecretValue::from("v")).unwrap().key_id, 2);
    }
}
