//! hush's `pulumi-esc` backend: read-only secrets from the top-level values of one Pulumi ESC
//! environment.
//!
//! [`EscBackend`] opens the environment through ESC's REST API (`POST
//! {api_url}/environments/{org}/{project}/{env}/open?duration=`, header `Authorization: token
//! <access_token>`), reuses the session id until shortly before the session ends (one open
//! for any number of concurrent requests), and reads the opened values (`GET .../open/{id}`)
//! on every request; hush's cache sits above it. Secret `NAME` of any tenant and namespace
//! is top-level property `<prefix>NAME`; strings read as their bytes, anything else as compact
//! JSON. Errors map ESC's statuses onto hush's kinds (`error.rs`): 401/403 permission denied,
//! 404 of the environment not found, 429 rate limited, 5xx / timeouts / connect failures
//! unavailable; never with the token in them. No retries: the retry layer retries.
//!
//! Capabilities: read and list; no write, no tags, no versions (see `docs.md`).
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

pub use backend::{EscBackend, TOKEN_VARIABLE};
pub use config::{DEFAULT_API_URL, DEFAULT_SESSION_DURATION, EscConfig};
pub use mapping::{plain_json, property_name, secret_name, value_bytes};

/// The backend kind, as written in config: `kind = "pulumi-esc"`.
pub const KIND: &str = "pulumi-esc";

/// Builds Pulumi ESC backends from `[backends.<name>]` tables of `kind = "pulumi-esc"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct EscFactory;

#[async_trait]
impl BackendFactory for EscFactory {
    type Config = EscConfig;
    const KIND: &'static str = KIND;

    fn capabilities(&self, _: &EscConfig) -> Capabilities {
        Capabilities::read_only()
    }

    async fn build(&self, mut config: EscConfig, context: &BuildContext) -> Result<SharedBackend> {
        config.request_timeout.get_or_insert(context.call_timeout);
        Ok(Arc::new(EscBackend::new(&context.name, config)?))
    }
}
