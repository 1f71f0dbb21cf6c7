//! The replay ledger: where the ids of admin requests are recorded, so a captured request
//! replayed later is refused on every replica and after a restart (ARCHITECTURE.md "Replays").
//!
//! [`JetStreamLedger`] is the ledger hushd runs with: a JetStream key-value bucket that every
//! replica shares, whose entries expire after twice the replay window, written with an atomic
//! create-if-absent. [`MemoryLedger`] remembers ids in one process only, for tests and benches.

use std::fmt;
use std::time::Duration;

use async_nats::jetstream::kv;
use hush_core::{Error, TenantId};

/// Records request ids; a second record of the same id inside its lifetime is refused.
#[async_trait::async_trait]
pub trait ReplayLedger: Send + Sync + fmt::Debug + 'static {
    /// Records `request_id` (of a request for `tenant`): `Ok(true)` the first time,
    /// `Ok(false)` when it was recorded before, `Err` (unavailable) when the ledger cannot
    /// tell; the caller then refuses the request.
    async fn first_use(&self, tenant: &TenantId, request_id: &[u8; 16]) -> Result<bool, Error>;
}

/// How long an id must be remembered for a replay window: a request is accepted while
/// `|now − sent_at| ≤ window`, so from the moment it is recorded it can come back for at most
/// twice the window.
pub fn ledger_lifetime(window: Duration) -> Duration {
    window * 2
}

/// The ledger in a JetStream key-value bucket shared by every replica.
pub struct JetStreamLedger {
    bucket: String,
    store: kv::Store,
}

/// Why the replay ledger could not be opened.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot open the replay ledger, JetStream key-value bucket {bucket:?} (is JetStream enabled on the NATS server, `nats-server -js`, and may this user use it?): {reason}"
)]
pub struct LedgerError {
    bucket: String,
    reason: String,
}

impl JetStreamLedger {
    /// Opens the bucket, creating it (file storage, one value per key, entries expiring after
    /// [`ledger_lifetime`]`(window)`) or updating its expiry to match.
    pub async fn open(client: &async_nats::Client, bucket: &str, window: Duration) -> Result<Self, LedgerError> {
        let jetstream = async_nats::jetstream::new(client.clone());
        let config = kv::Config {
            bucket: bucket.to_owned(),
            description: "hush: ids of admin requests already made (replay protection)".to_owned(),
            history: 1,
            max_age: ledger_lifetime(window),
            storage: async_nats::jetstream::stream::StorageType::File,
            ..Default::default()
        };
        let store = jetstream
            .create_or_update_key_value(config)
            .await
            .map_err(|e| LedgerError { bucket: bucket.to_owned(), reason: e.to_string() })?;
        Ok(Self { bucket: bucket.to_owned(), store })
    }
}

impl fmt::Debug for JetStreamLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JetStreamLedger").field("bucket", &self.bucket).finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl ReplayLedger for JetStreamLedger {
    async fn first_use(&self, tenant: &TenantId, request_id: &[u8; 16]) -> Result<bool, Error> {
        match self.store.create(hex::encode(request_id), tenant.as_str().as_bytes().to_vec().into()).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(Error::unavailable(format!(
                "the replay ledger (JetStream bucket {}) did not record the request: {e}",
                self.bucket
            ))),
        }
    }
}

/// A ledger in this process's memory: for tests and benches only, since another replica or
/// a restart forgets it.
pub struct MemoryLedger {
    seen: moka::sync::Cache<[u8; 16], ()>,
}

impl MemoryLedger {
    /// Remembers ids for [`ledger_lifetime`]`(window)`.
    pub fn new(window: Duration) -> Self {
        Self { seen: moka::sync::Cache::builder().time_to_live(ledger_lifetime(window)).build() }
    }
}

impl fmt::Debug for MemoryLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLedger").field("ids", &self.seen.entry_count()).finish()
    }
}

#[async_trait::async_trait]
impl ReplayLedger for MemoryLedger {
    async fn first_use(&self, _tenant: &TenantId, request_id: &[u8; 16]) -> Result<bool, Error> {
        let entry = self.seen.entry(*request_id).or_insert(());
        Ok(entry.is_fresh())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_ledger_refuses_a_second_use() {
        let ledger = MemoryLedger::new(Duration::from_secs(60));
        let tenant = TenantId::new("acme").unwrap();
        assert!(ledger.first_use(&tenant, &[1; 16]).await.unwrap());
        assert!(!ledger.first_use(&tenant, &[1; 16]).await.unwrap());
        assert!(ledger.first_use(&tenant, &[2; 16]).await.unwrap());
    }

    #[test]
    fn ids_outlive_the_window_on_both_sides() {
        assert_eq!(ledger_lifetime(Duration::from_secs(60)), Duration::from_secs(120));
    }
}
