//! The resolver service as a library: what `hushd` runs.
//!
//! A [`Resolver`] answers requests on `hush.v1.get.>` and `hush.v1.admin.<op>.>` as one
//! NATS service (queue group, `$SRV.PING/INFO/STATS`), checks the grant of every request,
//! walks the namespace lineage through the [`BindingTree`](hush_core::BindingTree), reads
//! through the cache, seals values to the client, publishes audit events, and publishes and
//! obeys change events so every replica drops a changed secret at once.
//!
//! The request path is [`Resolver::handle`]: bytes in, bytes out, no NATS. The service loop in
//! [`serve`] only moves messages; benches drive `handle` directly.
//!
//! **Architecture invariant:** the resolver never names a backend kind. It sees each binding as
//! a [`SharedBackend`](hush_core::SharedBackend) already wrapped in its layers (read-only, tag
//! filter, retry, timeout) by `hush-backends`.

#![deny(missing_docs)]

mod audit;
mod authz;
mod handle;
mod metrics;
mod serve;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use hush_cache::SecretCache;
use hush_core::{BindingTree, SharedBackend};
use hush_crypto::{GrantVerifier, ResolverKeyPair};

pub use handle::Handled;
pub use metrics::ResolverMetrics;
pub use serve::{ServeError, serve};

/// How the resolver runs.
#[derive(Debug, Clone)]
pub struct ResolverSettings {
    /// NATS service name (`$SRV.INFO.<name>`).
    pub service_name: String,
    /// Queue group shared by replicas.
    pub queue_group: String,
    /// Most requests handled at once by this replica.
    pub max_in_flight: usize,
    /// Bound on one request, backends included.
    pub request_timeout: Duration,
    /// Publish audit events.
    pub audit: bool,
    /// This replica's name in audit events.
    pub instance: String,
    /// Longest grant lifetime the verifier accepts: replayed writes are refused that long.
    pub max_grant_lifetime: Duration,
}

impl Default for ResolverSettings {
    fn default() -> Self {
        Self {
            service_name: "hush".into(),
            queue_group: "hush-resolver".into(),
            max_in_flight: 1024,
            request_timeout: Duration::from_secs(10),
            audit: true,
            instance: "hushd".into(),
            max_grant_lifetime: Duration::from_secs(24 * 3600),
        }
    }
}

/// The resolver: bindings, cache, grant checks and the resolver's key. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Resolver {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    bindings: BindingTree<SharedBackend>,
    cache: SecretCache,
    grants: authz::GrantGate,
    transport: transport::TransportKeys,
    settings: ResolverSettings,
    metrics: metrics::Counters,
    /// Request ids of writes already made, refused when replayed (DESIGN.md 4b "Replays").
    seen_writes: moka::sync::Cache<[u8; 16], ()>,
}

impl Resolver {
    /// A resolver over `bindings`, reading through `cache`, trusting grants `verifier` accepts,
    /// and sealing with `key`.
    pub fn new(
        bindings: BindingTree<SharedBackend>,
        cache: SecretCache,
        verifier: GrantVerifier,
        key: ResolverKeyPair,
        settings: ResolverSettings,
    ) -> Self {
        // A write's request id is remembered for as long as any grant can live, plus clock skew.
        let verifier_lifetime = settings.max_grant_lifetime + Duration::from_secs(120);
        Resolver {
            inner: Arc::new(Inner {
                bindings,
                cache,
                grants: authz::GrantGate::new(verifier),
                transport: transport::TransportKeys::new(key),
                seen_writes: moka::sync::Cache::builder()
                    .max_capacity(1_000_000)
                    .time_to_live(verifier_lifetime)
                    .build(),
                settings,
                metrics: metrics::Counters::default(),
            }),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &ResolverSettings {
        &self.inner.settings
    }

    /// Counters since start.
    pub fn metrics(&self) -> ResolverMetrics {
        self.inner.metrics.snapshot(&self.inner.cache)
    }

    /// The cache, for invalidation from change events.
    pub fn cache(&self) -> &SecretCache {
        &self.inner.cache
    }
}

#[cfg(test)]
mod tests;
