//! hush's `vault` backend: secrets in a KV mount of HashiCorp Vault or OpenBao.
//!
//! [`VaultBackend::connect`] logs in with the configured [`AuthConfig`] (`token`,
//! `userpass`, `approle` or `kubernetes`), then a task renews the token before its TTL runs
//! out and logs in again when it cannot be renewed; a request denied because the token was
//! revoked or expired triggers one login and is repeated once. KV v2 is the default engine
//! (versions, tags in `custom_metadata`); a KV v1 mount (`engine_version = 1`) has neither.
//! Errors map Vault's statuses onto hush's kinds (`error.rs`): 404 not found, 403 permission
//! denied, 5xx, a sealed server and unreachable servers unavailable (temporary).
//!
//! The key mapping is [`secret_path`]; how values sit in entries is in `entry.rs`; both are
//! described in `docs.md` (below).
//!
//! **Architecture invariant:** depends on `hush-core` and its vendor crates (vaultrs and
//! the HTTP and TLS crates under it) only; it knows nothing of NATS, grants, the namespace
//! hierarchy, caching, retries or other backends.

#![deny(missing_docs)]
#![doc = include_str!("../docs.md")]

use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{BackendFactory, BuildContext, Capabilities, Result, SharedBackend};

mod auth;
mod backend;
mod config;
mod entry;
mod error;
mod mapping;
mod mount;

pub use backend::{VaultBackend, capabilities};
pub use config::{AuthConfig, DEFAULT_KUBERNETES_JWT_FILE, VaultConfig};
pub use entry::{VALUE_BASE64_FIELD, VALUE_FIELD};
pub use hush_core::TlsConfig;
pub use mapping::{api_path, namespace_folder, parse_secret_path, secret_path};

/// The backend kind, as written in config: `kind = "vault"`.
pub const KIND: &str = "vault";

/// Builds Vault / OpenBao backends from `[backends.<name>]` tables of `kind = "vault"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct VaultFactory;

#[async_trait]
impl BackendFactory for VaultFactory {
    type Config = VaultConfig;
    const KIND: &'static str = KIND;

    fn capabilities(&self, config: &VaultConfig) -> Capabilities {
        capabilities(config.engine_version)
    }

    async fn build(&self, mut config: VaultConfig, context: &BuildContext) -> Result<SharedBackend> {
        config.request_timeout.get_or_insert(context.call_timeout);
        Ok(Arc::new(VaultBackend::connect(&context.name, config).await?))
    }
}
