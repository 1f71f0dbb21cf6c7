//! Where audit events are stored: the JetStream stream every replica publishes them to, the
//! task that publishes them and learns whether the stream stored them, and the gate that
//! refuses requests while it does not (`resolver.audit_required`). ARCHITECTURE.md, "Audit",
//! is the construction.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use async_nats::jetstream::stream::{Config, DiscardPolicy, RetentionPolicy, StorageType};
use hush_proto::subject;
use tokio::sync::{mpsc, oneshot};

use crate::Resolver;

/// How audit events are recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// Whether requests produce audit events at all.
    pub enabled: bool,
    /// Refuse to serve what cannot be audited: a reply waits until the stream stored its
    /// event, and is replaced by an `unavailable` error when it was not.
    pub required: bool,
    /// The JetStream stream (subjects `hush.v1.audit.>`).
    pub stream: String,
    /// How long the stream keeps an event.
    pub max_age: Duration,
    /// Most bytes the stream holds; the oldest events go first.
    pub max_bytes: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            required: false,
            stream: "HUSH_AUDIT".into(),
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_bytes: 1 << 30,
        }
    }
}

/// Why the audit stream could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("could not open the audit stream {stream} (JetStream, subjects {subjects}): {reason}")]
pub struct AuditStreamError {
    stream: String,
    subjects: &'static str,
    reason: String,
}

/// How long a replica waits for the stream to acknowledge a message of audit events.
pub(crate) const AUDIT_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Most audit events in one message.
const AUDIT_BATCH: usize = 256;

/// How long an event waits for others to share its message, unless audit is required.
const AUDIT_LINGER: Duration = Duration::from_millis(2);

/// The JetStream stream that stores audit events.
#[derive(Clone)]
pub(crate) struct AuditStream {
    jetstream: jetstream::Context,
    /// The connection it publishes on: it knows the server's `max_payload`.
    client: async_nats::Client,
    name: String,
}

impl AuditStream {
    /// Creates the stream, or updates an existing one to the configured limits.
    pub(crate) async fn open(client: &async_nats::Client, settings: &AuditSettings) -> Result<Self, AuditStreamError> {
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(AUDIT_ACK_TIMEOUT);
        let config = Config {
            name: settings.stream.clone(),
            description: Some("hush: audit events, who read or wrote what, when, with what result".into()),
            subjects: vec![subject::AUDIT_WILDCARD.into()],
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::Old,
            storage: StorageType::File,
            max_age: settings.max_age,
            max_bytes: i64::try_from(settings.max_bytes).unwrap_or(i64::MAX),
            ..Default::default()
        };
        jetstream.create_or_update_stream(config).await.map_err(|e| AuditStreamError {
            stream: settings.stream.clone(),
            subjects: subject::AUDIT_WILDCARD,
            reason: e.to_string(),
        })?;
        Ok(Self { jetstream, client: client.clone(), name: settings.stream.clone() })
    }

    /// The most bytes one message may carry: the server's `max_payload` (1 MiB unless its
    /// config says otherwise), which the server reports on each connect.
    fn max_message_bytes(&self) -> usize {
        self.client.max_payload()
    }

    /// Publishes one message and waits for the stream to acknowledge it.
    async fn record(&self, subject: String, payload: Vec<u8>) -> Result<(), String> {
        let ack = self.jetstream.publish(subject, payload.into()).await.map_err(|e| e.to_string())?;
        let ack = ack.await.map_err(|e| e.to_string())?;
        if ack.stream != self.name {
            return Err(format!("stored by stream {} instead of {}", ack.stream, self.name));
        }
        Ok(())
    }
}

/// One audit event on its way to the stream.
pub(crate) struct PendingEvent {
    pub subject: String,
    pub payload: Vec<u8>,
    pub request_id: [u8; 16],
    /// Told whether the stream stored the event (`audit_required`); `None`: nobody waits.
    pub recorded: Option<oneshot::Sender<bool>>,
}

/// Closed while the audit stream refuses events: with `audit_required`, requests are then
/// refused before they are handled, except one a second let through as a probe.
#[derive(Debug)]
pub(crate) struct AuditGate {
    started: Instant,
    /// Milliseconds since `started` when the last probe was let through, plus one; 0: open.
    closed: AtomicU64,
}

/// How often a closed gate lets a request through to find out whether the stream records again.
const PROBE_EVERY: Duration = Duration::from_secs(1);

impl AuditGate {
    pub(crate) fn new() -> Self {
        Self { started: Instant::now(), closed: AtomicU64::new(0) }
    }

    /// Whether a request may be handled now: the gate is open, or it is this second's probe.
    pub(crate) fn admits(&self) -> bool {
        let last = self.closed.load(Ordering::Acquire);
        if last == 0 {
            return true;
        }
        let now = self.now_ms();
        now.saturating_sub(last) >= PROBE_EVERY.as_millis() as u64
            && self.closed.compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    fn recorded(&self) {
        self.closed.store(0, Ordering::Release);
    }

    fn failed(&self) {
        let now = self.now_ms();
        let _ = self.closed.compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire);
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64 + 1
    }
}

/// How many of the events whose JSON has `lengths` bytes share one message of at most `limit`
/// bytes, joined by newlines: as many as fit, and at least one (an event larger than `limit`
/// goes alone, and the server's refusal of it is counted and logged like any other).
fn events_that_fit(lengths: impl IntoIterator<Item = usize>, limit: usize) -> usize {
    let (mut bytes, mut count) = (0, 0);
    for length in lengths {
        let joined = if count == 0 { length } else { bytes + 1 + length };
        if count > 0 && joined > limit {
            break;
        }
        (bytes, count) = (joined, count + 1);
    }
    count
}

/// Publishes audit events as JSON Lines: whatever is queued when the publisher wakes goes out
/// in one message per tenant (more when they would exceed the server's `max_payload`), so
/// under load events share messages instead of adding one message per request, and when idle
/// each event goes out at once. Then waits for the stream's acknowledgements, counts, tells
/// whoever waits, and opens or closes the gate.
pub(crate) async fn publish_audit(
    stream: AuditStream,
    mut events: mpsc::UnboundedReceiver<PendingEvent>,
    gate: Arc<AuditGate>,
    resolver: Resolver,
) {
    let counters = resolver.counters();
    // Nobody waits for an event unless audit is required: then events wait a little for
    // others, so the stream stores (and acknowledges) one message per tenant and linger
    // instead of one per request or two.
    let linger = if resolver.settings().audit.required { Duration::ZERO } else { AUDIT_LINGER };
    let mut batch = Vec::with_capacity(AUDIT_BATCH);
    while events.recv_many(&mut batch, AUDIT_BATCH).await > 0 {
        if !linger.is_zero() && batch.len() < AUDIT_BATCH {
            tokio::time::sleep(linger).await;
            while batch.len() < AUDIT_BATCH
                && let Ok(event) = events.try_recv()
            {
                batch.push(event);
            }
        }
        batch.sort_by(|a, b| a.subject.cmp(&b.subject));
        let limit = stream.max_message_bytes();
        let mut messages = Vec::new();
        for mut group in batch.chunk_by_mut(|a, b| a.subject == b.subject) {
            while !group.is_empty() {
                let fit = events_that_fit(group.iter().map(|e| e.payload.len()), limit);
                let (events, rest) = group.split_at_mut(fit);
                group = rest;
                let payload = events.iter().map(|e| e.payload.as_slice()).collect::<Vec<_>>().join(&b'\n');
                // Who waits for each event: once its payload is in the message, all that is left of it.
                let waiting: Vec<_> = events.iter_mut().map(|e| (e.request_id, e.recorded.take())).collect();
                messages.push((stream.record(events[0].subject.clone(), payload), waiting));
            }
        }
        batch.clear();
        let (records, waiting): (Vec<_>, Vec<_>) = messages.into_iter().unzip();
        for (outcome, events) in futures::future::join_all(records).await.into_iter().zip(waiting) {
            let count = events.len() as u64;
            match &outcome {
                Ok(()) => {
                    counters.audit_recorded.fetch_add(count, Ordering::Relaxed);
                    gate.recorded();
                }
                Err(error) => {
                    counters.audit_failed.fetch_add(count, Ordering::Relaxed);
                    gate.failed();
                    let ids: Vec<String> = events.iter().map(|(id, _)| hex::encode(id)).collect();
                    tracing::warn!(%error, stream = %stream.name, request_ids = %ids.join(","), "audit events were not recorded");
                }
            }
            for (_, waiter) in events {
                if let Some(waiter) = waiter {
                    let _ = waiter.send(outcome.is_ok());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_share_a_message_up_to_the_servers_limit() {
        // Joined by one newline each: 10 + 1 + 10 + 1 + 10 = 32 bytes.
        assert_eq!(events_that_fit([10, 10, 10, 10], 32), 3);
        assert_eq!(events_that_fit([10, 10, 10, 10], 31), 2);
        assert_eq!(events_that_fit([10, 10], 1 << 20), 2);
        // One event over the limit still goes, alone, and the one after it waits for the next.
        assert_eq!(events_that_fit([40, 10], 32), 1);
        assert_eq!(events_that_fit([10, 40], 32), 1);
        assert_eq!(events_that_fit([], 32), 0);
    }

    #[test]
    fn a_closed_gate_lets_one_probe_through_a_second() {
        // Started two seconds ago, so "the last probe was at the start" is long enough ago.
        let gate = AuditGate { started: Instant::now() - 2 * PROBE_EVERY, closed: AtomicU64::new(0) };
        assert!(gate.admits() && gate.admits(), "open");
        gate.failed();
        assert!(!gate.admits(), "closed just now");
        gate.closed.store(1, Ordering::Release);
        assert!(gate.admits(), "the probe, a second after the last");
        assert!(!gate.admits(), "only one probe");
        gate.recorded();
        assert!(gate.admits() && gate.admits(), "open again");
    }
}
