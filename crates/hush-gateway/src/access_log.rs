//! The access log: one line per request with method, tenant, namespace, name, status and
//! duration. Never a value, a grant, a header or a query string.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Logs one line (target `hush_gateway::access`, level INFO) after the response.
pub(crate) async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // Only the path: the query may hold a property path, headers hold the grant.
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    match path.strip_prefix("/v1/secrets/").map(|rest| rest.splitn(3, '/').collect::<Vec<_>>()) {
        Some(parts) if parts.len() == 3 => tracing::info!(
            target: "hush_gateway::access",
            %method,
            tenant = ?parts[0],
            namespace = ?parts[1],
            name = ?parts[2],
            status,
            duration_ms,
        ),
        _ => tracing::info!(target: "hush_gateway::access", %method, path = ?path, status, duration_ms),
    }
    response
}
