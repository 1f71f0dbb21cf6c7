//! hush's `sql` backend: the encrypted SQL store, the embedded default.
//!
//! One code path over `sqlx::Any` serves SQLite (a file, created when missing, WAL
//! journal), PostgreSQL and MySQL/MariaDB; the few differences (placeholders, column
//! types, migration locks) live in `dialect.rs` and the per-dialect `migrations/` folders.
//! Every value is sealed by the [`AtRestCipher`](hush_core::AtRestCipher) handed to
//! [`SqlBackend::connect`], bound to (tenant, namespace, name, version, tags): no plaintext
//! value is ever written to a table, an index or a log. [`SqlBackend::rekey`] re-seals rows
//! under the cipher's newest key and migrates rows stored before tags were bound;
//! [`SqlBackend::key_usage`] counts rows per key id.
//!
//! **Architecture invariant:** depends on `hush-core` and its vendor crates (sqlx, serde,
//! tokio) only, never on `hush-crypto`: the cipher arrives as a trait object.
//!
//! See `docs.md` (below) for capabilities and the key mapping.

#![deny(missing_docs)]
#![doc = include_str!("../docs.md")]

mod backend;
mod config;
mod dialect;
mod error;
mod rekey;
mod schema;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{BackendFactory, BuildContext, Capabilities, RekeyReport, Result, SealedStore, SharedBackend};

pub use backend::SqlBackend;
pub use config::{MAX_TABLE_PREFIX_LEN, SqlConfig, redact_url};

/// The backend kind, as written in config: `kind = "sql"`.
pub const KIND: &str = "sql";

/// Builds SQL stores from `[backends.<name>]` tables of `kind = "sql"`: they need the
/// at-rest key ring (`keys.at_rest`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SqlFactory;

#[async_trait]
impl BackendFactory for SqlFactory {
    type Config = SqlConfig;
    const KIND: &'static str = KIND;
    const SEALS_AT_REST: bool = true;

    fn capabilities(&self, _: &SqlConfig) -> Capabilities {
        Capabilities::full()
    }

    async fn build(&self, config: SqlConfig, context: &BuildContext) -> Result<SharedBackend> {
        Ok(Arc::new(connect(config, context).await?))
    }

    async fn open_sealed_store(
        &self,
        config: SqlConfig,
        context: &BuildContext,
    ) -> Result<Option<Arc<dyn SealedStore>>> {
        Ok(Some(Arc::new(connect(config, context).await?)))
    }
}

/// Connects with the context's name, call timeout (the default `connect_timeout`) and key ring.
async fn connect(mut config: SqlConfig, context: &BuildContext) -> Result<SqlBackend> {
    config.connect_timeout.get_or_insert(context.call_timeout);
    SqlBackend::connect(&context.name, config, context.at_rest_cipher()?).await
}

#[async_trait]
impl SealedStore for SqlBackend {
    async fn rekey(&self, batch_size: usize) -> Result<RekeyReport> {
        SqlBackend::rekey(self, batch_size).await
    }

    async fn key_usage(&self) -> Result<BTreeMap<u32, u64>> {
        SqlBackend::key_usage(self).await
    }

    async fn close(&self) {
        SqlBackend::close(self).await;
    }
}
