//! hush's `doppler` backend: the secrets of one Doppler config, read, written, deleted and
//! listed.
//!
//! [`DopplerBackend`] calls Doppler's v3 REST API as the official SDKs do (header
//! `Authorization: Bearer <token>`): `GET {api_url}/v3/configs/config/secret?project=&config=&name=`
//! to read, `POST .../secrets` with `{"project", "config", "secrets": {NAME: value}}` to write,
//! `DELETE .../secret?project=&config=&name=` to delete and `GET .../secrets/names` to list.
//! Every hush key maps injectively onto one Doppler name of `[A-Z0-9_]`
//! (`<prefix>__<tenant>__<namespace>__<name>`, escaped: `mapping.rs`). Errors map Doppler's
//! statuses onto hush's kinds (`error.rs`): 401 permission denied, 403 on a write read-only
//! (a read-only service token), 404 not found, 429 rate limited, 5xx / timeouts / connect
//! failures unavailable; never with the token in them. No retries: the retry layer retries.
//!
//! Capabilities: read, write and list; no tags, no versions (see `docs.md`).
//!
//! **Architecture invariant:** depends on `hush-core` and its HTTP client (reqwest over the
//! rustls provider the binaries install) only; it knows nothing of NATS, grants, the
//! namespace hierarchy, caching, retries or other backends.

#![deny(missing_docs)]
#![doc = include_str!("../docs.md")]

mod backend;
mod config;
mod error;
mod mapping;

use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{BackendFactory, BuildContext, Capabilities, Result, SharedBackend};

pub use backend::{CAPABILITIES, DopplerBackend, TOKEN_VARIABLE};
pub use config::{DEFAULT_API_URL, DEFAULT_PREFIX, DopplerConfig};
pub use mapping::{MAX_DOPPLER_NAME_LEN, checked_secret_name, namespace_folder, parse_secret_name, secret_name};

/// The backend kind, as written in config: `kind = "doppler"`.
pub const KIND: &str = "doppler";

/// Builds Doppler backends from `[backends.<name>]` tables of `kind = "doppler"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DopplerFactory;

#[async_trait]
impl BackendFactory for DopplerFactory {
    type Config = DopplerConfig;
    const KIND: &'static str = KIND;

    fn capabilities(&self, _: &DopplerConfig) -> Capabilities {
        CAPABILITIES
    }

    async fn build(&self, mut config: DopplerConfig, context: &BuildContext) -> Result<SharedBackend> {
        config.request_timeout.get_or_insert(context.call_timeout);
        Ok(Arc::new(DopplerBackend::new(&context.name, config)?))
    }
}
