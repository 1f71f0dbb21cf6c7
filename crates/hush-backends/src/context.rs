//! What backends need beyond their own table: the at-rest key ring.

use std::sync::Arc;

use hush_config::HushConfig;
use hush_core::{AtRestCipher, Error, ErrorKind, Result};
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
            Some(path) => {
                let ring = KeyRing::load(path).map_err(|e| {
                    Error::new(ErrorKind::ConfigInvalid, format!("keys.at_rest {}: {e}", path.display()))
                })?;
                Some(Arc::new(ring) as Arc<dyn AtRestCipher>)
            }
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
