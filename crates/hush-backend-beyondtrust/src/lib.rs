//! hush's `beyondtrust` backend: the secrets of one BeyondTrust Password Safe Secrets Safe
//! folder, read, written, deleted and listed.
//!
//! [`BeyondTrustBackend`] calls Password Safe's public API v3
//! (`{address}/BeyondTrust/api/public/v3`) as BeyondTrust's own clients do
//! (`beyondtrust-bips-library`, `go-client-library-passwordsafe`): it signs in once with
//! `POST /Auth/SignAppin` (`Authorization: PS-Auth key=<api key>; runas=<user>; [pwd=[...];]`,
//! or `Bearer` after an OAuth `POST /Auth/connect/token`), keeps the session cookie for every
//! call, signs in again once when a call is refused with 401 (`auth.rs`), and signs out when
//! dropped. The folder (`folder_id` or `folder` path) is looked up once with
//! `GET /Secrets-Safe/Folders`; secrets are found with
//! `GET /Secrets-Safe/Secrets?Path=&Title=`, read with `GET /Secrets-Safe/Secrets/{id}/text`
//! (text), `GET /Secrets-Safe/Secrets/{id}` (credential: `{"username", "password"}`) or
//! `.../file/download` (file), created with `POST /Secrets-Safe/Folders/{id}/secrets/text`,
//! updated with `PUT /Secrets-Safe/Secrets/{id}/text`, deleted with
//! `DELETE /Secrets-Safe/Secrets/{id}` and listed with `GET /Secrets-Safe/Secrets?Path=`.
//! Every hush key maps injectively onto one title (`<tenant>.<segments>.<NAME>`, letter case
//! escaped, long keys hashed: `mapping.rs`). Errors map Password Safe's statuses onto hush's
//! kinds (`error.rs`). No retries: the retry layer retries.
//!
//! Capabilities: read, write and list; no tags, no versions (see `docs.md`).
//!
//! **Architecture invariant:** depends on `hush-core` and `hush-rest` (reqwest over the rustls
//! provider the binaries install) only; it knows nothing of NATS, grants, the namespace
//! hierarchy, caching, retries or other backends.

#![deny(missing_docs)]
#![doc = include_str!("../docs.md")]

mod auth;
mod backend;
mod config;
mod error;
mod mapping;

use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{BackendFactory, BuildContext, Capabilities, Result, SharedBackend};

pub use backend::{BeyondTrustBackend, CAPABILITIES, DESCRIPTION};
pub use config::{API_PATH, BeyondTrustConfig};
pub use mapping::{
    HASHED_TITLE_PREFIX, MAX_TEXT_LEN, MAX_TITLE_LEN, NOTES_PREFIX, credential_value, escaped_title, key_notes,
    parse_listed, parse_title, secret_title, value_text,
};

/// The backend kind, as written in config: `kind = "beyondtrust"`.
pub const KIND: &str = "beyondtrust";

/// Builds BeyondTrust Password Safe backends from `[backends.<name>]` tables of
/// `kind = "beyondtrust"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BeyondTrustFactory;

#[async_trait]
impl BackendFactory for BeyondTrustFactory {
    type Config = BeyondTrustConfig;
    const KIND: &'static str = KIND;

    fn capabilities(&self, _: &BeyondTrustConfig) -> Capabilities {
        CAPABILITIES
    }

    async fn build(&self, mut config: BeyondTrustConfig, context: &BuildContext) -> Result<SharedBackend> {
        config.request_timeout.get_or_insert(context.call_timeout);
        Ok(Arc::new(BeyondTrustBackend::new(&context.name, config)?))
    }
}
