//! hush's `gcp-secret-manager` backend: secrets in Google Cloud Secret Manager.
//!
//! [`GcpBackend::connect`] builds Google's official client (`google-cloud-secretmanager-v1`,
//! REST/JSON over reqwest) with a service-account key (a file or inline JSON), Application
//! Default Credentials, or no credentials for emulators; the SDK makes one attempt per call,
//! bounded by `request_timeout`, and hush's retry layer does the retrying. Errors map
//! Google's statuses onto hush's kinds (`error.rs`): NOT_FOUND not found, PERMISSION_DENIED
//! permission denied (naming the missing permission), RESOURCE_EXHAUSTED rate limited,
//! UNAVAILABLE / 5xx / timeouts unavailable.
//!
//! The key mapping is [`secret_key`]; it and the label rules are described in `docs.md`
//! (below).
//!
//! **Architecture invariant:** depends on `hush-core` and Google's SDK crates (and the HTTP
//! and TLS crates under them) only; it knows nothing of NATS, grants, the namespace
//! hierarchy, caching, retries or other backends.

#![deny(missing_docs)]
#![doc = include_str!("../docs.md")]

use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{BackendFactory, BuildContext, Capabilities, Result, SharedBackend};

mod backend;
mod config;
mod error;
mod mapping;

pub use backend::{GcpBackend, MAX_VALUE_BYTES, capabilities};
pub use config::{CredentialsSource, DEFAULT_ENDPOINT, GcpConfig};
pub use mapping::{
    MAX_LABELS, MAX_PREFIX_LEN, MAX_SECRET_ID_LEN, NAMESPACE_LABEL, SecretKey, TAG_RULE, TENANT_LABEL, encode_direct,
    is_hashed, labels_for, lower_escape, lower_unescape, namespace_digest, parse_direct, parse_secret_id, scope_labels,
    secret_key, secret_resource, tags_of, tenant_digest,
};

/// The backend kind, as written in config: `kind = "gcp-secret-manager"`.
pub const KIND: &str = "gcp-secret-manager";

/// Builds Google Secret Manager backends from `[backends.<name>]` tables of `kind = "gcp-secret-manager"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GcpFactory;

#[async_trait]
impl BackendFactory for GcpFactory {
    type Config = GcpConfig;
    const KIND: &'static str = KIND;

    fn capabilities(&self, _: &GcpConfig) -> Capabilities {
        capabilities()
    }

    async fn build(&self, mut config: GcpConfig, context: &BuildContext) -> Result<SharedBackend> {
        config.request_timeout.get_or_insert(context.call_timeout);
        Ok(Arc::new(GcpBackend::connect(&context.name, config).await?))
    }
}
