//! The service loop: NATS in, [`Resolver::handle`] and [`Resolver::apply_change`], NATS out.

use std::future::Future;
use std::sync::Arc;

use async_nats::service::ServiceExt;
use futures::StreamExt;
use hush_proto::subject::{self, AdminOp};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::Resolver;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The NATS service or one of its endpoints could not be registered.
    #[error("could not start the NATS service: {0}")]
    Service(String),
    /// The change-event subscription failed.
    #[error("could not subscribe to change events: {0}")]
    Subscribe(String),
}

/// Runs `resolver` on `client` until `shutdown` completes, then stops taking requests,
/// finishes the ones in flight and flushes.
pub async fn serve(
    resolver: Resolver,
    client: async_nats::Client,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let settings = resolver.settings().clone();
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
    let in_flight = Arc::new(Semaphore::new(settings.max_in_flight.max(1)));
    let mut tasks = JoinSet::new();
    tracing::info!(service = %settings.service_name, queue_group = %settings.queue_group, "resolver serving");

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            // Change events first: a write acknowledged to a client must be seen by this replica
            // before a later read from that client, and NATS delivers the event first.
            biased;
            _ = &mut shutdown => break,
            Some(message) = changes.next() => {
                if let Err(error) = resolver.apply_change(&message.subject, &message.payload).await {
                    tracing::warn!(%error, subject = %message.subject, "ignored a malformed change event");
                }
            }
            Some(request) = requests.next() => {
                let Ok(permit) = in_flight.clone().acquire_owned().await else { break };
                let (resolver, client) = (resolver.clone(), client.clone());
                tasks.spawn(async move {
                    let handled = resolver.handle(&request.message.subject, &request.message.payload).await;
                    if let Some((subject, payload)) = handled.change
                        && let Err(error) = client.publish(subject, payload.into()).await
                    {
                        tracing::warn!(%error, "could not publish a change event");
                    }
                    if let Err(error) = request.respond(Ok(handled.reply.into())).await {
                        tracing::debug!(%error, "could not send a reply");
                    }
                    if let Some((subject, payload)) = handled.audit
                        && let Err(error) = client.publish(subject, payload.into()).await
                    {
                        tracing::warn!(%error, "could not publish an audit event");
                    }
                    drop(permit);
                });
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            else => break,
        }
    }

    tracing::info!(in_flight = tasks.len(), "resolver stopping: finishing requests in flight");
    drop(requests);
    if let Err(error) = service.stop().await {
        tracing::warn!(%error, "could not stop the NATS service cleanly");
    }
    while tasks.join_next().await.is_some() {}
    if let Err(error) = client.flush().await {
        tracing::warn!(%error, "could not flush the NATS connection");
    }
    Ok(())
}
