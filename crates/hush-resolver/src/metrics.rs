//! Counters the resolver keeps, reported in `$SRV.STATS` and by [`Resolver::metrics`](crate::Resolver::metrics).

use std::sync::atomic::{AtomicU64, Ordering};

use hush_cache::SecretCache;
use hush_core::ErrorKind;
use serde_json::json;

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    pub failed_requests: AtomicU64,
    /// `failed_requests` by error kind, in the order of [`ErrorKind::ALL`].
    pub failed_by_kind: [AtomicU64; ErrorKind::ALL.len()],
    pub unauthorized: AtomicU64,
    pub items: AtomicU64,
    pub backend_reads: AtomicU64,
    pub stale_served: AtomicU64,
    pub writes: AtomicU64,
    pub replays_refused: AtomicU64,
    pub rejected_change_events: AtomicU64,
    pub foreign_reply_subjects: AtomicU64,
    pub requests_with_previous_keys: AtomicU64,
    pub audit_recorded: AtomicU64,
    pub audit_failed: AtomicU64,
    pub audit_refused: AtomicU64,
    /// A gauge: requests being handled now (set by the serve loop).
    pub in_flight: AtomicU64,
    /// A gauge, 0 or 1: the service is registered and taking requests (set by the serve loop).
    pub serving: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request answered with `kind` as a whole.
    pub(crate) fn failed(&self, kind: ErrorKind) {
        Self::bump(&self.failed_requests);
        if let Some(at) = ErrorKind::ALL.iter().position(|k| *k == kind) {
            Self::bump(&self.failed_by_kind[at]);
        }
    }

    pub(crate) fn snapshot(&self, cache: &SecretCache) -> ResolverMetrics {
        let stats = cache.stats();
        ResolverMetrics {
            requests: self.requests.load(Ordering::Relaxed),
            failed_requests: self.failed_requests.load(Ordering::Relaxed),
            failed_by_kind: std::array::from_fn(|at| {
                (ErrorKind::ALL[at], self.failed_by_kind[at].load(Ordering::Relaxed))
            }),
            unauthorized: self.unauthorized.load(Ordering::Relaxed),
            items: self.items.load(Ordering::Relaxed),
            backend_reads: self.backend_reads.load(Ordering::Relaxed),
            stale_served: self.stale_served.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            replays_refused: self.replays_refused.load(Ordering::Relaxed),
            rejected_change_events: self.rejected_change_events.load(Ordering::Relaxed),
            foreign_reply_subjects: self.foreign_reply_subjects.load(Ordering::Relaxed),
            requests_with_previous_keys: self.requests_with_previous_keys.load(Ordering::Relaxed),
            audit_recorded: self.audit_recorded.load(Ordering::Relaxed),
            audit_failed: self.audit_failed.load(Ordering::Relaxed),
            audit_refused: self.audit_refused.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            serving: self.serving.load(Ordering::Relaxed) == 1,
            cache_hits: stats.hits,
            cache_misses: stats.misses,
            cache_negative_hits: stats.negative_hits,
            cache_loads: stats.loads,
            cache_joined_loads: stats.joined_loads,
            cache_entries: stats.entries,
        }
    }
}

/// What the resolver counted since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolverMetrics {
    /// Requests received (decoded or not).
    pub requests: u64,
    /// Requests answered with an error as a whole.
    pub failed_requests: u64,
    /// `failed_requests` by the error's kind, every kind listed.
    pub failed_by_kind: [(ErrorKind, u64); ErrorKind::ALL.len()],
    /// Requests refused for their grant.
    pub unauthorized: u64,
    /// Secrets asked for in get requests.
    pub items: u64,
    /// Reads that reached a backend (cache misses after single flight).
    pub backend_reads: u64,
    /// Values served stale because the backend failed.
    pub stale_served: u64,
    /// Successful puts and deletes.
    pub writes: u64,
    /// Admin requests refused as replays: outside the replay window, or an id used before.
    pub replays_refused: u64,
    /// Change events dropped: malformed, no valid MAC, or outside the replay window.
    pub rejected_change_events: u64,
    /// Requests dropped unanswered because their reply subject is not an allowed inbox.
    pub foreign_reply_subjects: u64,
    /// Authenticated requests sealed to a previous resolver key (`keys.previous_resolver_keys`):
    /// when it stays 0, no client uses them any more and they can be retired.
    pub requests_with_previous_keys: u64,
    /// Audit events the audit stream acknowledged (stored).
    pub audit_recorded: u64,
    /// Audit events the audit stream did not acknowledge (not stored).
    pub audit_failed: u64,
    /// Requests answered `unavailable` because their audit event could not be recorded
    /// (`resolver.audit_required`): refused before handling, or their reply withheld.
    pub audit_refused: u64,
    /// Requests being handled now.
    pub in_flight: u64,
    /// Whether the service is registered with NATS and taking requests (false before
    /// [`serve`](crate::serve) has registered it and once it is stopping).
    pub serving: bool,
    /// Cache hits: a value answered from the cache.
    pub cache_hits: u64,
    /// Cache misses: no fresh entry on arrival.
    pub cache_misses: u64,
    /// "Not found" answered from a cached negative entry.
    pub cache_negative_hits: u64,
    /// Loads the cache made: backend reads, after single flight.
    pub cache_loads: u64,
    /// Misses answered by a concurrent call's load instead of their own (single flight).
    pub cache_joined_loads: u64,
    /// Entries in the cache.
    pub cache_entries: u64,
}

impl ResolverMetrics {
    /// As JSON, for `$SRV.STATS`.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "requests": self.requests,
            "failed_requests": self.failed_requests,
            "failed_by_kind": self.failed_by_kind.iter().map(|(kind, count)| (kind.as_str(), *count)).collect::<std::collections::BTreeMap<_, _>>(),
            "unauthorized": self.unauthorized,
            "items": self.items,
            "backend_reads": self.backend_reads,
            "stale_served": self.stale_served,
            "writes": self.writes,
            "replays_refused": self.replays_refused,
            "rejected_change_events": self.rejected_change_events,
            "foreign_reply_subjects": self.foreign_reply_subjects,
            "requests_with_previous_keys": self.requests_with_previous_keys,
            "audit_recorded": self.audit_recorded,
            "audit_failed": self.audit_failed,
            "audit_refused": self.audit_refused,
            "in_flight": self.in_flight,
            "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses,
            "cache_negative_hits": self.cache_negative_hits,
            "cache_loads": self.cache_loads,
            "cache_joined_loads": self.cache_joined_loads,
            "cache_entries": self.cache_entries,
        })
    }
}
