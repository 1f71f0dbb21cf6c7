//! hush's `elasticsearch` backend: secrets as documents of one Elasticsearch 8 or OpenSearch 2
//! index, sealed with hush's at-rest key ring, with versions and tags.
//!
//! [`ElasticsearchBackend`] speaks the documented REST API both products share (`_doc`,
//! `_create`, `_search`, `_delete_by_query`, index creation), with plain `application/json`
//! (which both accept; the vendor clients' `compatible-with=8` media type is Elasticsearch's
//! only). Every value is sealed with the [`AtRestCipher`](hush_core::AtRestCipher) before it
//! leaves hush (AES-256-GCM, AAD tenant, namespace, name, version, tags, as the SQL store), so
//! the cluster only ever holds ciphertext.
//!
//! Documents (`docs.md`): one per version (`<prefix>:<tenant>:<namespace>:<name>:v<N>`, created
//! with `_create`, so two writers never get one version) and one latest document per secret
//! (`<prefix>:<tenant>:<namespace>:<name>`, written with external versioning, so an older
//! version never replaces a newer one; a delete leaves it as a tombstone). All documents of a
//! secret are routed by the latest document's id. Tags are keyword terms; lists are `term`
//! queries paged with `search_after`. Errors map the statuses and Elasticsearch's error types
//! onto hush's kinds (`error.rs`), never with a credential or a value in them. No retries: the
//! retry layer retries.
//!
//! Capabilities: read, write, list, tags and versions.
//!
//! **Architecture invariant:** depends on `hush-core` and `hush-rest` (reqwest over the
//! rustls provider the binaries install) only; it knows nothing of NATS, grants, the
//! namespace hierarchy, caching, retries, key material or other backends.

#![deny(missing_docs)]
#![doc = include_str!("../docs.md")]

mod backend;
mod config;
mod error;
mod mapping;

use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{BackendFactory, BuildContext, Capabilities, Result, SharedBackend};

pub use backend::{CAPABILITIES, ElasticsearchBackend, LIST_PAGE_SIZE, MAX_VERSION_ALLOCATIONS};
pub use config::{DEFAULT_INDEX, DEFAULT_PREFIX, ElasticsearchConfig};
pub use mapping::{
    MAX_DOCUMENT_ID_LEN, StoredDocument, index_mappings, latest_id, namespace_path, parse_latest_id, tag_term,
    version_id,
};

/// The backend kind, as written in config: `kind = "elasticsearch"`.
pub const KIND: &str = "elasticsearch";

/// Builds Elasticsearch / OpenSearch backends from `[backends.<name>]` tables of
/// `kind = "elasticsearch"`; they need the at-rest key ring (`keys.at_rest`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ElasticsearchFactory;

#[async_trait]
impl BackendFactory for ElasticsearchFactory {
    type Config = ElasticsearchConfig;
    const KIND: &'static str = KIND;
    const SEALS_AT_REST: bool = true;

    fn capabilities(&self, _: &ElasticsearchConfig) -> Capabilities {
        CAPABILITIES
    }

    async fn build(&self, mut config: ElasticsearchConfig, context: &BuildContext) -> Result<SharedBackend> {
        config.request_timeout.get_or_insert(context.call_timeout);
        let cipher = context.at_rest_cipher()?;
        Ok(Arc::new(ElasticsearchBackend::new(&context.name, config, cipher)?))
    }
}
