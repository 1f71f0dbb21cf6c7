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

pub use backend::SqlBackend;
pub use config::{MAX_TABLE_PREFIX_LEN, SqlConfig, redact_url};
pub use rekey::RekeyReport;

/// The backend kind, as written in config: `kind = "sql"`.
pub const KIND: &str = "sql";
