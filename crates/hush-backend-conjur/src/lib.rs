//! hush's `conjur` backend: the variables of one CyberArk Conjur (Secrets Manager,
//! self-hosted or SaaS) account under one policy branch, read, listed and, where a policy
//! declared them, set.
//!
//! [`ConjurBackend`] calls Conjur's REST API as the official clients do: it authenticates
//! (`POST /authn/{account}/{login}/authenticate` with the API key, or
//! `POST /authn-jwt/{service_id}/{account}/authenticate` with `jwt=<token file>`, both with
//! `Accept-Encoding: base64`) and sends `Authorization: Token token="<base64 token>"`; the
//! token is renewed before its 8 minutes end, once for concurrent requests, and a request
//! refused with 401 is repeated once after a new authentication (`auth.rs`). Variables are
//! read with `GET /secrets/{account}/variable/{id}[?version=N]`, set with
//! `POST /secrets/{account}/variable/{id}`, listed with
//! `GET /resources/{account}?kind=variable&search=&limit=&offset=` and read in batches with
//! `GET /secrets?variable_ids=` ([`ConjurBackend::get_many`]). Every hush key maps injectively
//! onto the variable `<prefix>/<tenant>/<namespace segments>/<NAME>` (`mapping.rs`). Errors map
//! Conjur's statuses onto hush's kinds (`error.rs`); a write to a variable no policy declared is
//! `Unsupported`, naming the policy to load. No retries: the retry layer retries.
//!
//! Capabilities: read (with pinned versions) and list; not `write` (see `docs.md`).
//!
//! **Architecture invariant:** depends on `hush-core` and `hush-rest` (reqwest over the rustls
//! provider the binaries install) only; it knows nothing of NATS, grants, the namespace
//! hierarchy, caching, retries or other backends.

#![deny(missing_docs)]
#![doc = include_str!("../docs.md")]

mod auth;
mod backend;
mod batch;
mod config;
mod error;
mod mapping;

use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{BackendFactory, BuildContext, Capabilities, Result, SharedBackend};

pub use auth::{REFRESH_AFTER, TOKEN_LIFE};
pub use backend::{API_KEY_VARIABLE, CAPABILITIES, ConjurBackend, LIST_PAGE_SIZE};
pub use config::{AuthnJwtConfig, ConjurConfig, DEFAULT_PREFIX};
pub use mapping::{namespace_folder, parse_variable_id, path_segment, qualified_variable_id, variable_id};

/// The backend kind, as written in config: `kind = "conjur"`.
pub const KIND: &str = "conjur";

/// Builds Conjur backends from `[backends.<name>]` tables of `kind = "conjur"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConjurFactory;

#[async_trait]
impl BackendFactory for ConjurFactory {
    type Config = ConjurConfig;
    const KIND: &'static str = KIND;

    fn capabilities(&self, _: &ConjurConfig) -> Capabilities {
        CAPABILITIES
    }

    async fn build(&self, mut config: ConjurConfig, context: &BuildContext) -> Result<SharedBackend> {
        config.request_timeout.get_or_insert(context.call_timeout);
        Ok(Arc::new(ConjurBackend::new(&context.name, config)?))
    }
}
