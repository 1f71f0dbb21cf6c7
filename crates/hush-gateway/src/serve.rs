//! The connection loop: TCP, the TLS handshake, HTTP/1.1 on hyper, and a graceful stop.
//!
//! axum's own `serve` has no TLS; this loop does the handshake itself so each request can
//! carry its connection's client certificate chain ([`ConnectionCertificates`]) to the
//! per-tenant check.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use rustls::pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// Longest a client may take to finish the TLS handshake or send a request's headers.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest the gateway waits for requests in flight after it is told to stop.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The client certificate chain of the connection a request came on (empty without TLS or
/// without a client certificate). Every request carries it as an extension.
#[derive(Debug, Clone, Default)]
pub struct ConnectionCertificates(Arc<Vec<CertificateDer<'static>>>);

impl ConnectionCertificates {
    /// The chain, end entity first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.0
    }
}

/// Serves `router` on `listener` (over TLS when `tls` is given) until `shutdown` completes,
/// then stops accepting and waits up to 30 s for the requests in flight.
pub async fn serve(
    router: axum::Router,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let (io, certificates) = match tls {
                None => (Connection::Plain(tcp), ConnectionCertificates::default()),
                Some(acceptor) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let chain = stream.get_ref().1.peer_certificates().map(<[_]>::to_vec).unwrap_or_default();
                        (Connection::Tls(Box::new(stream)), ConnectionCertificates(Arc::new(chain)))
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                },
            };
            let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(certificates.clone());
                router.clone().oneshot(request)
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(HANDSHAKE_TIMEOUT);
            let connection = match io {
                Connection::Plain(tcp) => watcher.watch(http.serve_connection(TokioIo::new(tcp), service)).await,
                Connection::Tls(tls) => watcher.watch(http.serve_connection(TokioIo::new(tls), service)).await,
            };
            if let Err(e) = connection {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still in flight after {}s; stopping anyway", DRAIN_TIMEOUT.as_secs());
    }
    Ok(())
}

enum Connection {
    Plain(tokio::net::TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>),
}
