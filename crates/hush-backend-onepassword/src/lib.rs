//! hush's `onepassword` backend: secrets as items in the vaults of a 1Password Connect
//! server, read, written, deleted and listed.
//!
//! [`OnePasswordBackend`] calls the Connect server API as 1Password's official Connect SDKs
//! do (header `Authorization: Bearer <token>`): `GET /v1/vaults/{vault}/items?filter=title eq
//! "<title>"` to find a secret's item, `GET /v1/vaults/{vault}/items/{item}` to read it,
//! `POST /v1/vaults/{vault}/items` to create it, `PUT /v1/vaults/{vault}/items/{item}` to
//! replace it, `DELETE /v1/vaults/{vault}/items/{item}` to delete it, `GET
//! /v1/vaults/{vault}/items` to list, and `GET /heartbeat` with `GET /v1/vaults/{vault}` to
//! check. Every hush key maps injectively onto one item title (`<prefix><tenant>/<namespace>/<name>`,
//! `mapping.rs`) in the tenant's vault (`vault_ids`, else `vault_id`); the value is the
//! concealed field labelled `value`, and an item with other fields (a Login item) reads as the
//! JSON object of its fields, which a path selects from. Errors map Connect's statuses onto
//! hush's kinds (`error.rs`): 401 permission denied, 403 on a write read-only, 403 otherwise
//! permission denied, 404 not found, 429 rate limited, 5xx / timeouts / connect failures
//! unavailable; never with the token or a value in them. No retries: the retry layer retries.
//!
//! Capabilities: read, write, list and tags; no versions (see `docs.md`).
//!
//! **Architecture invariant:** depends on `hush-core` and `hush-rest` (reqwest over the rustls
//! provider the binaries install) only; it knows nothing of NATS, grants, the namespace
//! hierarchy, caching, retries or other backends.

#![deny(missing_docs)]
#![doc = include_str!("../docs.md")]

mod backend;
mod config;
mod error;
mod mapping;

use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{BackendFactory, BuildContext, Capabilities, Result, SharedBackend};

pub use backend::{CAPABILITIES, HOST_VARIABLE, ITEM_CATEGORY, OnePasswordBackend, TOKEN_VARIABLE};
pub use config::{DEFAULT_FIELD, DEFAULT_PREFIX, ID_LEN, MAX_PREFIX_LEN, OnePasswordConfig, is_onepassword_id};
pub use mapping::{hush_tags, item_tag, item_tags, item_title, item_value, parse_item_tag, parse_item_title};

/// The backend kind, as written in config: `kind = "onepassword"`.
pub const KIND: &str = "onepassword";

/// Builds 1Password backends from `[backends.<name>]` tables of `kind = "onepassword"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OnePasswordFactory;

#[async_trait]
impl BackendFactory for OnePasswordFactory {
    type Config = OnePasswordConfig;
    const KIND: &'static str = KIND;

    fn capabilities(&self, _: &OnePasswordConfig) -> Capabilities {
        CAPABILITIES
    }

    async fn build(&self, mut config: OnePasswordConfig, context: &BuildContext) -> Result<SharedBackend> {
        config.request_timeout.get_or_insert(context.call_timeout);
        Ok(Arc::new(OnePasswordBackend::new(&context.name, config)?))
    }
}
