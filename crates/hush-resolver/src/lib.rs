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
mod audit_stream;
mod authz;
mod budget;
mod handle;
mod metrics;
mod replay;
mod reply;
mod serve;
mod transport;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hush_cache::SecretCache;
use hush_core::{BindingTree, SharedBackend};
use hush_crypto::{ChangeEventKey, GrantVerifier, ResolverKeyPair};
use hush_proto::codec::MAX_RESPONSE_BYTES;

pub use audit_stream::{AuditSettings, AuditStreamError};
pub use authz::BindingPolicy;
pub use budget::ReadBudget;
pub use handle::Handled;
pub use metrics::ResolverMetrics;
pub use replay::{JetStreamLedger, LedgerError, MemoryLedger, ReplayLedger, ledger_lifetime};
pub use reply::ReplyPrefixes;
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
    /// How audit events are recorded.
    pub audit: AuditSettings,
    /// This replica's name in audit events.
    pub instance: String,
    /// How far an admin request's `sent_at` may be from now (clock skew included); its id is
    /// remembered by the replay ledger for twice that.
    pub replay_window: Duration,
    /// Which tenants require grants bound to the client key.
    pub binding_policy: BindingPolicy,
    /// The reply subjects hushd answers to.
    pub reply_prefixes: ReplyPrefixes,
    /// How many backend reads one grant may cause per window.
    pub read_budget: ReadBudget,
}

impl Default for ResolverSettings {
    fn default() -> Self {
        Self {
            service_name: "hush".into(),
            queue_group: "hush-resolver".into(),
            max_in_flight: 1024,
            request_timeout: Duration::from_secs(8),
            audit: AuditSettings::default(),
            instance: "hushd".into(),
            replay_window: Duration::from_secs(60),
            binding_policy: BindingPolicy::default(),
            reply_prefixes: ReplyPrefixes::default(),
            read_budget: ReadBudget::default(),
        }
    }
}

/// The resolver: bindings, cache, grant checks, the resolver's keys and the replay ledger.
/// Cheap to clone.
///
/// `Debug` shows no grant token and no key material.
#[derive(Clone, Debug)]
pub struct Resolver {
    inner: Arc<Inner>,
}

struct Inner {
    bindings: BindingTree<SharedBackend>,
    cache: SecretCache,
    grants: authz::GrantGate,
    transport: transport::TransportKeys,
    event_keys: Vec<ChangeEventKey>,
    ledger: Arc<dyn ReplayLedger>,
    budgets: budget::GrantBudgets,
    settings: ResolverSettings,
    metrics: metrics::Counters,
    /// The largest reply this replica sends: 1 MiB, or less when the NATS server takes less
    /// ([`Resolver::limit_replies_to`]).
    reply_limit: AtomicUsize,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("tenants", &self.bindings.tenants().count())
            .field("grants", &self.grants)
            .field("transport", &self.transport)
            .field("ledger", &self.ledger)
            .field("budgets", &self.budgets)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// A resolver over `bindings`, reading through `cache`, trusting grants `verifier` accepts,
    /// answering with `keys` (the first is the primary; more are live during a rotation), and
    /// recording admin request ids in `ledger`.
    ///
    /// # Panics
    ///
    /// When `keys` is empty.
    pub fn new(
        bindings: BindingTree<SharedBackend>,
        cache: SecretCache,
        verifier: GrantVerifier,
        keys: Vec<ResolverKeyPair>,
        ledger: Arc<dyn ReplayLedger>,
        settings: ResolverSettings,
    ) -> Self {
        let transport = transport::TransportKeys::new(keys);
        Resolver {
            inner: Arc::new(Inner {
                bindings,
                cache,
                grants: authz::GrantGate::new(verifier, settings.binding_policy.clone()),
                event_keys: transport.change_event_keys(),
                transport,
                ledger,
                budgets: budget::GrantBudgets::new(settings.read_budget),
                settings,
                metrics: metrics::Counters::default(),
                reply_limit: AtomicUsize::new(MAX_RESPONSE_BYTES),
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

    /// Whether hushd answers a request whose reply subject is `reply`: only under the allowed
    /// inbox prefixes. Others are counted and logged at debug; the request is not handled.
    pub fn may_reply_to(&self, reply: Option<&str>) -> bool {
        let allowed = reply.is_some_and(|reply| self.inner.settings.reply_prefixes.allows(reply));
        if !allowed {
            metrics::Counters::bump(&self.inner.metrics.foreign_reply_subjects);
            tracing::debug!(
                reply = reply.unwrap_or(""),
                "dropped a request whose reply subject is not an allowed inbox"
            );
        }
        allowed
    }

    /// Keeps replies within `max_payload`, the most bytes the NATS server takes in a message
    /// (it says so on each connect): a reply over it would never arrive, and its client would
    /// wait out its timeout, twice for a read. Never above [`MAX_RESPONSE_BYTES`]; 0 (not known
    /// yet) leaves that.
    pub fn limit_replies_to(&self, max_payload: usize) {
        let limit = if max_payload == 0 { MAX_RESPONSE_BYTES } else { max_payload.min(MAX_RESPONSE_BYTES) };
        if self.inner.reply_limit.load(Ordering::Relaxed) != limit {
            self.inner.reply_limit.store(limit, Ordering::Relaxed);
        }
    }

    /// The largest reply this replica sends now.
    pub(crate) fn reply_limit(&self) -> usize {
        self.inner.reply_limit.load(Ordering::Relaxed)
    }

    pub(crate) fn counters(&self) -> &metrics::Counters {
        &self.inner.metrics
    }

    /// The cache, for invalidation from change events.
    pub fn cache(&self) -> &SecretCache {
        &self.inner.cache
    }
}

#[cfg(test)]
mod tests;
