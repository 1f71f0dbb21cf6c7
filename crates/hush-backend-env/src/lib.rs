//! hush's `env` backend: read-only secrets from `SECRET_<NAME>` environment variables
//! holding base64 values, as Kestra's open-source edition reads them.
//!
//! The variables are read once, when the backend is built ([`EnvBackend::from_process_env`]),
//! and never again: a variable set later is not seen. Tests and embedders hand variables in
//! directly with [`EnvBackend::from_vars`]. There is one global set of secrets per process:
//! tenant and namespace are ignored, so every tenant and namespace bound to this backend
//! sees the same secrets. Bind it only where that is intended.
//!
//! Capabilities: read and list; no write, no tags, no versions (see `docs.md`).
//!
//! **Architecture invariant:** depends on `hush-core` and `base64` only; it knows nothing of
//! NATS, caching, layers or other backends.

#![deny(missing_docs)]
#![doc = include_str!("../docs.md")]

mod backend;
mod config;
mod error;

use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{BackendFactory, BuildContext, Capabilities, Result, SharedBackend};

pub use backend::EnvBackend;
pub use config::EnvConfig;

/// The backend kind, as written in config: `kind = "env"`.
pub const KIND: &str = "env";

/// Builds `env` backends from `[backends.<name>]` tables of `kind = "env"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvFactory;

#[async_trait]
impl BackendFactory for EnvFactory {
    type Config = EnvConfig;
    const KIND: &'static str = KIND;

    fn capabilities(&self, _: &EnvConfig) -> Capabilities {
        Capabilities::read_only()
    }

    async fn build(&self, config: EnvConfig, context: &BuildContext) -> Result<SharedBackend> {
        Ok(Arc::new(EnvBackend::from_process_env(&context.name, config)?))
    }
}
