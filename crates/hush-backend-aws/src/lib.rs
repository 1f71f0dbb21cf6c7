//! hush's `aws-secrets-manager` backend: secrets in AWS Secrets Manager (or an AWS-compatible
//! server such as moto, through `endpoint_override`).
//!
//! [`AwsBackend::connect`] builds one SDK client from an [`AwsConfig`]: static keys (with an
//! optional session token) or the default credential chain, the region, and the SDK's
//! timeouts set from `request_timeout` with one attempt per call (hush's retry layer retries).
//! Each hush secret is one AWS secret; values are its `SecretString` (UTF-8) or
//! `SecretBinary`; hush tags are its AWS tags; versions are AWS `VersionId`s. Deletes
//! schedule the secret for deletion (a recovery window of 7 to 30 days) or force it; a
//! scheduled secret reads and lists as not found, and a put onto its name restores it.
//! Errors map AWS's codes onto hush's kinds (`error.rs`).
//!
//! The key mapping is [`secret_name`]; both it and the rest are described in `docs.md` (below).
//!
//! **Architecture invariant:** depends on `hush-core` and its vendor crates (the AWS SDK and
//! the smithy HTTP client under it) only; it knows nothing of NATS, grants, the namespace
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

pub use backend::{AwsBackend, CURRENT_STAGE, MAX_VALUE_BYTES, capabilities};
pub use config::{AwsConfig, MAX_RECOVERY_WINDOW_DAYS, MIN_RECOVERY_WINDOW_DAYS};
pub use mapping::{namespace_folder, parse_secret_name, secret_name};

/// The backend kind, as written in config: `kind = "aws-secrets-manager"`.
pub const KIND: &str = "aws-secrets-manager";

/// Builds AWS Secrets Manager backends from `[backends.<name>]` tables of `kind = "aws-secrets-manager"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsFactory;

#[async_trait]
impl BackendFactory for AwsFactory {
    type Config = AwsConfig;
    const KIND: &'static str = KIND;

    fn capabilities(&self, _: &AwsConfig) -> Capabilities {
        capabilities()
    }

    async fn build(&self, mut config: AwsConfig, context: &BuildContext) -> Result<SharedBackend> {
        config.request_timeout.get_or_insert(context.call_timeout);
        Ok(Arc::new(AwsBackend::connect(&context.name, config).await?))
    }
}
