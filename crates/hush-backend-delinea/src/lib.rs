//! hush's `delinea` backend: the secrets of one Delinea Secret Server folder (on-premises, or
//! the Secret Server vault of a Delinea Platform tenant), read, written, listed and deleted.
//!
//! [`DelineaBackend`] calls Secret Server's REST API as the official clients do
//! (python-tss-sdk for the read path, tss-sdk-go and the REST reference for the write path):
//! it signs in with OAuth2 (`POST {address}/oauth2/token` with the password grant, or, on
//! Delinea Platform, the client-credentials grant at
//! `{address}/identity/api/oauth2/token/xpmplatform` followed by vault-broker discovery,
//! `GET {address}/vaultbroker/api/vaults`) and sends `Authorization: Bearer <token>`; the token
//! is replaced (with `grant_type=refresh_token` where Secret Server gave a refresh token) before
//! `expires_in` ends, once for concurrent requests, and a request refused with 401 is repeated
//! once after a new sign-in (`auth.rs`). Secrets are found by name in the folder with
//! `GET /api/v1/secrets?filter.searchText=&filter.folderId=` (then compared exactly: two of one
//! name are a `Conflict`), read with `GET /api/v1/secrets/{id}`, created with
//! `POST /api/v1/secrets`, updated with `PUT /api/v1/secrets/{id}/fields/{slug}` and deleted
//! with `DELETE /api/v1/secrets/{id}`. Every hush key maps injectively onto the secret name
//! `<tenant>.<namespace>.<NAME>` (`mapping.rs`). Errors map Delinea's statuses onto hush's
//! kinds (`error.rs`). No retries: the retry layer retries.
//!
//! Capabilities: read, list and (with `folder_id` and `secret_template_id`) write; no versions,
//! no tags (see `docs.md`).
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

pub use auth::{DEFAULT_TOKEN_LIFE, PLATFORM_TOKEN_PATH, REFRESH_MARGIN, TOKEN_PATH, VAULTS_PATH, refresh_after};
pub use backend::{CAPABILITIES, DelineaBackend, READ_ONLY_CAPABILITIES, SEARCH_PAGE_SIZE, capabilities};
pub use config::{DEFAULT_SITE_ID, DEFAULT_VALUE_FIELD, DelineaConfig};
pub use mapping::{fields_object, namespace_prefix, parse_secret_name, secret_name};

/// The backend kind, as written in config: `kind = "delinea"`.
pub const KIND: &str = "delinea";

/// Builds Delinea backends from `[backends.<name>]` tables of `kind = "delinea"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DelineaFactory;

#[async_trait]
impl BackendFactory for DelineaFactory {
    type Config = DelineaConfig;
    const KIND: &'static str = KIND;

    fn capabilities(&self, config: &DelineaConfig) -> Capabilities {
        capabilities(config)
    }

    async fn build(&self, mut config: DelineaConfig, context: &BuildContext) -> Result<SharedBackend> {
        config.request_timeout.get_or_insert(context.call_timeout);
        Ok(Arc::new(DelineaBackend::new(&context.name, config)?))
    }
}
