//! hush's `azure-key-vault` backend: secrets in an Azure Key Vault.
//!
//! Built on Microsoft's official SDK (`azure_security_keyvault_secrets`, `azure_identity`,
//! `azure_core` 1.x) over a reqwest 0.13 client hush builds itself (rustls with ring, the
//! configured `request_timeout` and `ca_file`), so the tree keeps one TLS stack; the SDK's
//! own retries are off (hush's retry layer retries temporary errors). Credentials: a client
//! secret, workload identity, a managed identity, or the default chain ([`CredentialConfig`]),
//! with `authority_host` for sovereign clouds. Deletes are soft-delete aware: `delete`
//! soft-deletes (and purges with `purge_on_delete`), and a `put` onto a soft-deleted name
//! recovers it first. Errors map Key Vault's statuses onto hush's kinds (`error.rs`).
//!
//! The key mapping is [`secret_name`], described in `docs.md` (below).
//!
//! **Architecture invariant:** depends on `hush-core` and its vendor crates (the Azure SDK
//! and the HTTP and TLS crates under it) only; it knows nothing of NATS, grants, the
//! namespace hierarchy, caching, retries or other backends.

#![deny(missing_docs)]
#![doc = include_str!("../docs.md")]

use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{BackendFactory, BuildContext, Capabilities, Result, SharedBackend};

mod backend;
mod config;
mod error;
mod mapping;

pub use backend::{
    AzureBackend, BASE64_CONTENT_TYPE, MAX_STORED_VALUE, NAME_TAG, NAMESPACE_TAG, TENANT_TAG, capabilities,
};
pub use config::{
    AzureConfig, CredentialConfig, DEFAULT_API_VERSION, DEFAULT_AUTHORITY_HOST, DEFAULT_VAULT_DNS_SUFFIX,
};
pub use mapping::{MAX_SECRET_NAME, parse_secret_name, secret_name};

/// The backend kind, as written in config: `kind = "azure-key-vault"`.
pub const KIND: &str = "azure-key-vault";

/// Builds Azure Key Vault backends from `[backends.<name>]` tables of `kind = "azure-key-vault"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AzureFactory;

#[async_trait]
impl BackendFactory for AzureFactory {
    type Config = AzureConfig;
    const KIND: &'static str = KIND;

    fn capabilities(&self, _: &AzureConfig) -> Capabilities {
        capabilities()
    }

    async fn build(&self, mut config: AzureConfig, context: &BuildContext) -> Result<SharedBackend> {
        config.request_timeout.get_or_insert(context.call_timeout);
        Ok(Arc::new(AzureBackend::connect(&context.name, config).await?))
    }
}
