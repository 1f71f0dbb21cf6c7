//! hush's `kubernetes` backend: Kubernetes Secrets, read, written, deleted and listed, so hush
//! serves what the External Secrets Operator (or anyone) synced into a cluster.
//!
//! [`KubernetesBackend`] calls the API server's REST paths as client-go and the official
//! Python client do (header `Authorization: Bearer <token>`): `GET`, `PUT` and `DELETE
//! /api/v1/namespaces/{namespace}/secrets/{name}`, `POST .../secrets` to create, and `GET
//! .../secrets?labelSelector=&limit=&continue=` to list page by page. Credentials are the
//! in-cluster service account (its token file re-read every minute) or a kubeconfig context
//! with a bearer token. Every hush key maps injectively onto one Secret name, a DNS-1123
//! subdomain (`mapping.rs`); the Kubernetes namespace comes from `namespace` or the
//! `namespaces` mapping (`config.rs`). Errors map the API server's `Status` answers onto hush's
//! kinds (`error.rs`): 401 and 403 on reads permission denied, 403 on writes read-only, 404
//! not found, 409 conflict (temporary), 422 invalid input, 429 rate limited, 5xx / timeouts /
//! connect failures unavailable; never with the token in them. No retries: the retry layer
//! retries.
//!
//! HTTP stack: `hush-rest` (reqwest over rustls with the ring provider the binaries install),
//! not `kube`/`k8s-openapi`: a thin client over the few REST paths needed.
//!
//! Capabilities: read, write, list and tags (as labels); no versions (see `docs.md`).
//!
//! **Architecture invariant:** depends on `hush-core` and `hush-rest` only; it knows nothing
//! of NATS, grants, the namespace hierarchy, caching, retries or other backends.

#![deny(missing_docs)]
#![doc = include_str!("../docs.md")]

mod backend;
mod config;
mod credentials;
mod error;
mod mapping;

use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{BackendFactory, BuildContext, Capabilities, Result, SharedBackend};

pub use backend::{CAPABILITIES, KubernetesBackend, LIST_PAGE_SIZE};
pub use config::{DEFAULT_DATA_KEY, KubernetesConfig};
pub use credentials::{SERVICE_ACCOUNT_DIR, TOKEN_REFRESH};
pub use mapping::{
    MANAGED_BY_LABEL, MANAGED_BY_VALUE, MAX_SECRET_NAME_LEN, NAME_ANNOTATION, NAMESPACE_ANNOTATION, TAG_LABEL_PREFIX,
    TENANT_ANNOTATION, parse_secret_name, parse_stored, secret_name,
};

/// The backend kind, as written in config: `kind = "kubernetes"`.
pub const KIND: &str = "kubernetes";

/// Builds Kubernetes backends from `[backends.<name>]` tables of `kind = "kubernetes"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct KubernetesFactory;

#[async_trait]
impl BackendFactory for KubernetesFactory {
    type Config = KubernetesConfig;
    const KIND: &'static str = KIND;

    fn capabilities(&self, _: &KubernetesConfig) -> Capabilities {
        CAPABILITIES
    }

    async fn build(&self, mut config: KubernetesConfig, context: &BuildContext) -> Result<SharedBackend> {
        config.request_timeout.get_or_insert(context.call_timeout);
        Ok(Arc::new(KubernetesBackend::new(&context.name, config)?))
    }
}
