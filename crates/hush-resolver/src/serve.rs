//! The service loop: NATS in, [`Resolver::handle`] and [`Resolver::apply_change`], NATS out.

use std::future::Future;
use std::sync::atomic::Ordering;

use std::sync::Arc;

use async_nats::service::{Request, ServiceExt};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use hush_proto::message::RequestEnvelope;
use hush_proto::subject::{self, AdminOp};
use tokio::task::JoinSet;

use crate::Resolver;
use crate::audit_stream::{AUDIT_ACK_TIMEOUT, AuditGate, AuditStream, AuditStreamError, PendingEvent, publish_audit};
use crate::metrics::Counters;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The NATS service or one of its endpoints could not be registered.
    #[error("could not start the NATS service: {0}")]
    Service(String),
    /// The change-event subscription failed.
    #[error("could not subscribe to change events: {0}")]
    Subscribe(String),
    /// The audit stream could not be created or updated.
    #[error(transparent)]
    Audit(#[from] AuditStreamError),
}

/// Runs `resolver` on `client` until `shutdown` completes, then stops taking requests,
/// finishes the ones in flight and flushes.
pub async fn serve(
    resolver: Resolver,
    client: async_nats::Client,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let settings = resolver.settings().clone();
    // Before the service registers: a replica that cannot record audit events takes no request.
    let audit_stream = match settings.audit.enabled {
        true => Some(AuditStream::open(&client, &settings.audit).await?),
        false => None,
    };
    let stats = resolver.clone();
    let service = client
        .service_builder()
        .description("hush secret resolver")
        .queue_group(&settings.queue_group)
        .stats_handler(move |_endpoint, _stats| stats.metrics().to_json())
        .start(&settings.service_name, env!("CARGO_PKG_VERSION"))
        .await
        .map_err(|e| ServeError::Service(e.to_string()))?;
    let mut endpoints = vec![
        service
            .endpoint_builder()
            .name("get")
            .add(subject::GET_WILDCARD)
            .await
            .map_err(|e| ServeError::Service(e.to_string()))?,
    ];
    for op in AdminOp::ALL {
        let endpoint = service
            .endpoint_builder()
            .name(op.as_str())
            .add(op.wildcard())
            .await
            .map_err(|e| ServeError::Service(e.to_string()))?;
        endpoints.push(endpoint);
    }
    let mut changes =
        client.subscribe(subject::CHANGED_WILDCARD).await.map_err(|e| ServeError::Subscribe(e.to_string()))?;
    let mut requests = futures::stream::select_all(endpoints);
    let (events, audit_events) = tokio::sync::mpsc::unbounded_channel();
    let audit = AuditQueue { events, gate: Arc::new(AuditGate::new()), required: settings.audit.required };
    let audit_publisher = audit_stream
        .map(|stream| tokio::spawn(publish_audit(stream, audit_events, audit.gate.clone(), resolver.clone())));
    let max_in_flight = settings.max_in_flight.max(1);
    // On hushd's default single-threaded runtime a task per request buys nothing: the loop
    // itself polls the requests in flight. With several runtime threads, each is a task.
    let spawn = tokio::runtime::Handle::current().runtime_flavor() != tokio::runtime::RuntimeFlavor::CurrentThread;
    let mut local = FuturesUnordered::new();
    let mut tasks = JoinSet::new();
    tracing::info!(service = %settings.service_name, queue_group = %settings.queue_group, "resolver serving");
    let metrics = resolver.counters();
    metrics.serving.store(1, Ordering::Relaxed);

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            // Change events first: a write acknowledged to a client must be seen by this replica
            // before a later read from that client, and NATS delivers the event first. Then the
            // requests in flight, so a new request never waits behind a burst of arrivals.
            biased;
            _ = &mut shutdown => break,
            Some(message) = changes.next() => {
                if let Err(error) = resolver.apply_change(&message.subject, &message.payload).await {
                    // Debug only: anyone may publish here, and a flood must not flood the log.
                    tracing::debug!(%error, subject = %message.subject, "dropped a change event");
                }
            }
            Some(()) = local.next(), if !local.is_empty() => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            Some(request) = requests.next(), if local.len() + tasks.len() < max_in_flight => {
                if !resolver.may_reply_to(request.message.reply.as_deref()) {
                    continue;
                }
                if spawn {
                    let (resolver, client, audit) = (resolver.clone(), client.clone(), audit.clone());
                    tasks.spawn(async move { answer(&resolver, &client, &audit, request).await });
                } else {
                    local.push(answer(&resolver, &client, &audit, request));
                }
            }
            else => break,
        }
        metrics.in_flight.store((local.len() + tasks.len()) as u64, Ordering::Relaxed);
    }
    metrics.serving.store(0, Ordering::Relaxed);

    tracing::info!(in_flight = local.len() + tasks.len(), "resolver stopping: finishing requests in flight");
    drop(requests);
    // Each step that needs the NATS server is bounded: with the server gone, hushd still stops.
    match tokio::time::timeout(NATS_STEP_TIMEOUT, service.stop()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "could not stop the NATS service cleanly"),
        Err(_) => tracing::warn!("NATS did not confirm the service's stop in time"),
    }
    while local.next().await.is_some() {}
    while tasks.join_next().await.is_some() {}
    metrics.in_flight.store(0, Ordering::Relaxed);
    drop(local);
    drop(audit);
    if let Some(publisher) = audit_publisher {
        match tokio::time::timeout(AUDIT_ACK_TIMEOUT + NATS_STEP_TIMEOUT, publisher).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => tracing::warn!("the audit publisher stopped abnormally"),
            Err(_) => tracing::warn!("audit events still queued for the audit stream at shutdown were dropped"),
        }
    }
    match tokio::time::timeout(NATS_STEP_TIMEOUT, client.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "could not flush the NATS connection"),
        Err(_) => tracing::warn!("could not flush the NATS connection: the server did not answer in time"),
    }
    Ok(())
}

/// How long stopping waits for each step that needs the NATS server (the service's stop, the
/// last audit events, the final flush).
const NATS_STEP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Where [`answer`] sends audit events, and whether it must wait for them to be recorded.
#[derive(Clone)]
struct AuditQueue {
    events: tokio::sync::mpsc::UnboundedSender<PendingEvent>,
    gate: Arc<AuditGate>,
    required: bool,
}

/// Handles one request: the change event first (so every replica drops the secret before the
/// client can read again), then the reply, then the audit event. With `audit_required`, the
/// reply waits until the audit stream stored the event, and a request is refused unhandled
/// while the stream refuses events (ARCHITECTURE.md, "Audit").
async fn answer(resolver: &Resolver, client: &async_nats::Client, audit: &AuditQueue, request: Request) {
    if audit.required && !audit.gate.admits() {
        Counters::bump(&resolver.counters().requests);
        let request_id = RequestEnvelope::decode(&request.message.payload).map(|e| e.request_id).unwrap_or_default();
        tracing::debug!(request_id = %hex::encode(request_id), "request refused: the audit stream refuses events");
        respond(&request, resolver.audit_refusal(request_id, false)).await;
        return;
    }
    // The server says on each connect how large a message may be: a reply over it is refused.
    resolver.limit_replies_to(client.max_payload());
    let handled = resolver.handle(&request.message.subject, &request.message.payload).await;
    let wrote = handled.change.is_some();
    if let Some((subject, payload)) = handled.change
        && let Err(error) = client.publish(subject, payload.into()).await
    {
        tracing::warn!(%error, "could not publish a change event");
    }
    let Some((subject, payload)) = handled.audit else {
        respond(&request, handled.reply).await;
        return;
    };
    let request_id = handled.summary.request_id;
    if !audit.required {
        respond(&request, handled.reply).await;
        // Fails only when the publisher is gone, at shutdown.
        let _ = audit.events.send(PendingEvent { subject, payload, request_id, recorded: None });
        return;
    }
    let (recorded, stored) = tokio::sync::oneshot::channel();
    let _ = audit.events.send(PendingEvent { subject, payload, request_id, recorded: Some(recorded) });
    if stored.await.unwrap_or(false) {
        respond(&request, handled.reply).await;
        return;
    }
    if wrote {
        tracing::error!(
            request_id = %hex::encode(request_id),
            "a write was applied but its audit event could not be recorded; its client is told unavailable"
        );
    }
    respond(&request, resolver.audit_refusal(request_id, handled.summary.failure.is_some())).await;
}

async fn respond(request: &Request, reply: Vec<u8>) {
    if let Err(error) = request.respond(Ok(reply.into())).await {
        tracing::debug!(%error, "could not send a reply");
    }
}
