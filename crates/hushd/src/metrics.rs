//! `/metrics`, `/healthz` and `/readyz` on `resolver.metrics_address`: what Prometheus and an
//! orchestrator ask a running hushd.
//!
//! The metrics are the resolver's own counters ([`Resolver::metrics`]), read at each scrape:
//! the numbers `$SRV.STATS` reports, under Prometheus names; and every backend call's
//! duration and outcome ([`BackendCalls`], told by each backend's call observer layer).

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use hush_core::ErrorKind;
use hush_layers::{BackendCall, CallObserver};
use hush_resolver::Resolver;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of Prometheus's text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the endpoints read: the resolver, its NATS connection and its backends' calls.
#[derive(Clone)]
struct Probe {
    resolver: Resolver,
    client: async_nats::Client,
    calls: Arc<BackendCalls>,
    registry: Arc<Registry>,
}

/// `backend`, `binding` and `operation` of a call.
type CallLabels = [(&'static str, String); 3];
/// `backend`, `binding`, `operation` and `outcome` (`ok` or the error's kind) of a call.
type OutcomeLabels = [(&'static str, String); 4];

/// How the last call through a binding ended (a failure of the backend's own, or `Ok`) and when.
type LastCall = (Result<(), ErrorKind>, Instant);

/// Every backend call hushd made, by backend and binding: durations, outcomes, and how the
/// last one ended (what `/readyz` reports per binding).
#[derive(Debug)]
pub struct BackendCalls {
    durations: Family<CallLabels, Histogram>,
    outcomes: Family<OutcomeLabels, Counter>,
    /// By (binding, backend).
    last: Mutex<BTreeMap<(String, String), LastCall>>,
}

impl Default for BackendCalls {
    fn default() -> Self {
        Self {
            // 0.5 ms to ~16 s: a cached database read to a call that timed out after retries.
            durations: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16))),
            outcomes: Family::default(),
            last: Mutex::new(BTreeMap::new()),
        }
    }
}

impl CallObserver for BackendCalls {
    fn observe(&self, call: &BackendCall<'_>) {
        let BackendCall { backend, binding, operation, elapsed, outcome } = *call;
        let labels =
            [("backend", backend.to_owned()), ("binding", binding.to_owned()), ("operation", operation.to_owned())];
        self.durations.get_or_create(&labels).observe(elapsed.as_secs_f64());
        let [backend_label, binding_label, operation_label] = labels;
        let result = match outcome {
            Ok(()) => "ok",
            Err(kind) => kind.as_str(),
        };
        self.outcomes
            .get_or_create(&[backend_label, binding_label, operation_label, ("outcome", result.to_owned())])
            .inc();
        // "Not found" is an answer and a refusal is the caller's: neither says the backend is down.
        let failing = matches!(
            outcome,
            Err(ErrorKind::Unavailable | ErrorKind::Internal | ErrorKind::RateLimited | ErrorKind::PermissionDenied)
        );
        let state = if failing { outcome } else { Ok(()) };
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((binding.to_owned(), backend.to_owned()), (state, Instant::now()));
    }
}

impl BackendCalls {
    /// One line per binding called through so far: `binding B (backend NAME): ok`, or failing
    /// with the kind and for how long.
    fn health(&self) -> String {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        last.iter()
            .map(|((binding, name), (state, at))| match state {
                Ok(()) => format!("binding {binding} (backend {name}): ok\n"),
                Err(kind) => format!(
                    "binding {binding} (backend {name}): failing ({}) at its last call, {}s ago\n",
                    kind.as_str(),
                    at.elapsed().as_secs()
                ),
            })
            .collect()
    }
}

/// The resolver's counters and gauges as Prometheus metrics.
#[derive(Debug)]
struct ResolverCollector {
    resolver: Resolver,
}

impl Collector for ResolverCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let m = self.resolver.metrics();
        // Counters: the text encoder names each `hush_<name>_total`.
        let counters = [
            ("requests", "Requests received, decoded or not.", m.requests),
            ("failed_requests", "Requests answered with an error as a whole.", m.failed_requests),
            ("unauthorized", "Requests refused for their grant, key or MAC.", m.unauthorized),
            ("items", "Secrets asked for in get requests.", m.items),
            ("backend_reads", "Reads that reached a backend.", m.backend_reads),
            ("stale_served", "Values served stale because their backend failed.", m.stale_served),
            ("writes", "Successful puts and deletes.", m.writes),
            ("replays_refused", "Admin requests refused as replays.", m.replays_refused),
            (
                "rejected_change_events",
                "Change events dropped: malformed, forged (no valid MAC) or outside the replay window.",
                m.rejected_change_events,
            ),
            (
                "foreign_reply_subjects",
                "Requests dropped because their reply subject is not an allowed inbox.",
                m.foreign_reply_subjects,
            ),
            (
                "requests_with_previous_keys",
                "Requests sealed to a previous resolver key.",
                m.requests_with_previous_keys,
            ),
            ("audit_recorded", "Audit events the audit stream stored.", m.audit_recorded),
            ("audit_failed", "Audit events the audit stream did not store.", m.audit_failed),
            (
                "audit_refused",
                "Requests answered unavailable because their audit event could not be recorded (audit_required).",
                m.audit_refused,
            ),
            ("cache_hits", "Values answered from the cache.", m.cache_hits),
            ("cache_misses", "Lookups that found no fresh cache entry.", m.cache_misses),
            ("cache_negative_hits", "\"Not found\" answered from the cache.", m.cache_negative_hits),
            ("cache_loads", "Loads the cache made (backend reads after single flight).", m.cache_loads),
            (
                "cache_joined_loads",
                "Misses answered by a concurrent request's load (single flight).",
                m.cache_joined_loads,
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
        }

        let by_kind = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "failed_requests_by_kind",
            "Requests answered with an error as a whole, by the error's kind.",
            None,
            by_kind.metric_type(),
        )?;
        for (kind, count) in m.failed_by_kind {
            ConstCounter::new(count).encode(family.encode_family(&[("kind", kind.as_str())])?)?;
        }

        let gauges = [
            ("in_flight", "Requests being handled now.", m.in_flight as i64),
            ("cache_entries", "Entries in the cache.", m.cache_entries as i64),
            ("serving", "1 while the NATS service is registered and taking requests.", i64::from(m.serving)),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let info = ConstGauge::new(1i64);
        let mut family = encoder.encode_descriptor("build_info", "hushd's version.", None, info.metric_type())?;
        info.encode(family.encode_family(&[("version", env!("CARGO_PKG_VERSION"))])?)?;
        Ok(())
    }
}

/// Binds `address` now (so a taken port fails hushd's start) and serves the endpoints until
/// the returned task is aborted.
pub async fn serve_metrics(
    address: SocketAddr,
    resolver: Resolver,
    client: async_nats::Client,
    calls: Arc<BackendCalls>,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on resolver.metrics_address {address}: {e}"))?;
    let bound = listener.local_addr()?;
    let mut registry = Registry::with_prefix("hush");
    registry.register_collector(Box::new(ResolverCollector { resolver: resolver.clone() }));
    registry.register(
        "backend_call_duration_seconds",
        "How long backend calls took, as the resolver waited (retries and timeouts included).",
        calls.durations.clone(),
    );
    registry.register("backend_calls", "Backend calls by outcome: ok or the error's kind.", calls.outcomes.clone());
    let probe = Probe { resolver, client, calls, registry: Arc::new(registry) };
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(probe);
    tracing::info!(address = %bound, "serving /metrics, /healthz and /readyz");
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::warn!(%error, "the metrics endpoint stopped");
        }
    });
    Ok((bound, task))
}

async fn metrics(State(probe): State<Probe>) -> impl IntoResponse {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &probe.registry) {
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, TEXT_FORMAT)], text),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, TEXT_FORMAT)], String::new()),
    }
}

/// Ready when connected to NATS and serving. A backend that is down does not make hushd
/// unready: its requests fail with `unavailable` and other bindings still answer; the body
/// reports each backend's last call.
async fn ready(State(probe): State<Probe>) -> impl IntoResponse {
    let connected = probe.client.connection_state() == async_nats::connection::State::Connected;
    let serving = probe.resolver.metrics().serving;
    let (status, verdict) = match (connected, serving) {
        (true, true) => (StatusCode::OK, "ready"),
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "not ready: not connected to NATS"),
        (true, false) => {
            (StatusCode::SERVICE_UNAVAILABLE, "not ready: the resolver is not serving (starting or stopping)")
        }
    };
    (status, format!("{verdict}\n{}", probe.calls.health()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_binding_is_failing_only_while_its_last_call_failed_for_the_backend() {
        let calls = BackendCalls::default();
        let observe = |backend, binding, operation, outcome| {
            calls.observe(&BackendCall { backend, binding, operation, elapsed: Duration::from_millis(3), outcome })
        };
        observe("vault", "acme/company.team", "get", Err(ErrorKind::NotFound));
        observe("sql", "acme", "put", Err(ErrorKind::ReadOnly));
        assert_eq!(
            calls.health(),
            "binding acme (backend sql): ok\nbinding acme/company.team (backend vault): ok\n",
            "answers and refusals are not failures"
        );
        observe("vault", "acme/company.team", "get", Err(ErrorKind::Unavailable));
        assert_eq!(
            calls.health(),
            "binding acme (backend sql): ok\n\
             binding acme/company.team (backend vault): failing (unavailable) at its last call, 0s ago\n"
        );
        observe("vault", "acme/company.team", "get", Ok(()));
        assert_eq!(calls.health(), "binding acme (backend sql): ok\nbinding acme/company.team (backend vault): ok\n");

        let mut registry = Registry::default();
        registry.register("calls", "", calls.outcomes.clone());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        let vault = "calls_total{backend=\"vault\",binding=\"acme/company.team\",operation=\"get\"";
        assert!(text.contains(&format!("{vault},outcome=\"unavailable\"}} 1")), "{text}");
        assert!(text.contains(&format!("{vault},outcome=\"ok\"}} 1")), "{text}");
    }
}
