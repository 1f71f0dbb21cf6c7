//! The HTTP side of a contract server: a vendor's REST API, written from its reference and
//! checked with its own client library, for vendors with no server that runs here.
//!
//! A backend's test support writes only the vendor's behaviour, a function from a
//! [`ContractRequest`] to a [`ContractReply`]; [`ContractServer`] does the rest: a loopback
//! port (plain HTTP, or HTTPS with the test CA in `fixtures/`), its own thread and runtime (so
//! blocking tests, such as a Python client, can use it too), a log of every request, and
//! [`HttpFault`]s that answer matching requests (after a delay, or never in time) before the
//! vendor's behaviour is asked. The server stops when dropped.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::Value;

/// The test CA's certificate (PEM): what a backend's `tls.ca_file` names to trust an HTTPS
/// contract server. Valid until 2126, for `localhost` and `127.0.0.1`.
pub fn test_ca_file() -> PathBuf {
    fixtures().join("ca.pem")
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// One request as the vendor's behaviour sees it: the body is read whole, the query decoded.
#[derive(Debug, Clone)]
pub struct ContractRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, still percent-encoded as sent.
    pub path: String,
    /// The query as sent (percent-encoded), without the `?`.
    pub raw_query: String,
    /// The query's pairs, decoded (`+` is a space), in order.
    pub query: Vec<(String, String)>,
    /// The headers.
    pub headers: hyper::HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl ContractRequest {
    /// `METHOD /path?query` as sent (no `?` without a query): what faults match and
    /// [`ContractServer::requests`] lists.
    pub fn line(&self) -> String {
        if self.raw_query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, self.raw_query)
        }
    }

    /// The first value of query parameter `key`.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of query parameter `key` (`?a=1&a=2`).
    pub fn query_all(&self, key: &str) -> Vec<&str> {
        self.query.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// Header `name`'s text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The path's segments, percent-decoded (`/a/b%2Fc` → `["a", "b/c"]`); empty segments
    /// (a `//`) are kept.
    pub fn segments(&self) -> Vec<String> {
        self.path
            .trim_start_matches('/')
            .split('/')
            .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect()
    }
}

/// What the vendor answers: a status, headers and a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractReply {
    /// The HTTP status.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl ContractReply {
    /// `status` with a JSON body.
    pub fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// `status` with a plain text body.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self { status, headers: vec![("content-type".into(), "text/plain".into())], body: body.into().into_bytes() }
    }

    /// `status` with no body.
    pub fn empty(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new() }
    }

    /// The same reply with header `name: value` added.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A scripted failure: requests with `method` whose `PATH?QUERY` contains `path_contains`
/// get `reply` after `delay`, instead of the vendor's answer.
#[derive(Debug, Clone)]
pub struct HttpFault {
    /// `GET`, `POST`, ...
    pub method: String,
    /// A part of `/path?query` that selects the requests.
    pub path_contains: String,
    /// The answer.
    pub reply: ContractReply,
    /// How long to wait before answering.
    pub delay: Duration,
}

impl HttpFault {
    /// Answers `reply` at once.
    pub fn reply(method: &str, path_contains: &str, reply: ContractReply) -> Self {
        Self { method: method.to_owned(), path_contains: path_contains.to_owned(), reply, delay: Duration::ZERO }
    }

    /// Says nothing for `delay` (longer than the client's timeout: a server that hangs).
    pub fn silent(method: &str, path_contains: &str, delay: Duration) -> Self {
        Self { delay, ..Self::reply(method, path_contains, ContractReply::empty(200)) }
    }
}

type Behaviour = dyn Fn(ContractRequest) -> ContractReply + Send + Sync;

struct Shared {
    behaviour: Box<Behaviour>,
    faults: Mutex<Vec<HttpFault>>,
    received: Mutex<Vec<ContractRequest>>,
}

/// A running contract server; stops when dropped.
pub struct ContractServer {
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for ContractServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContractServer").field("url", &self.url).finish_non_exhaustive()
    }
}

impl ContractServer {
    /// Serves `behaviour` over plain HTTP on a free loopback port.
    pub fn start(behaviour: impl Fn(ContractRequest) -> ContractReply + Send + Sync + 'static) -> Self {
        Self::start_with(None, Box::new(behaviour))
    }

    /// Serves `behaviour` over HTTPS with the test certificate (trust [`test_ca_file`]).
    pub fn start_https(behaviour: impl Fn(ContractRequest) -> ContractReply + Send + Sync + 'static) -> Self {
        Self::start_with(Some(tls_acceptor()), Box::new(behaviour))
    }

    fn start_with(tls: Option<tokio_rustls::TlsAcceptor>, behaviour: Box<Behaviour>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().expect("local address"));
        let shared = Arc::new(Shared { behaviour, faults: Mutex::new(Vec::new()), received: Mutex::new(Vec::new()) });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(serve(listener, tls, served, stopped));
        });
        Self { url, shared, stop: Some(stop), thread: Some(thread) }
    }

    /// Adds a fault; faults are tried in the order they were added.
    pub fn fail(&self, fault: HttpFault) {
        self.shared.faults.lock().unwrap().push(fault);
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.shared.faults.lock().unwrap().clear();
    }

    /// Every request so far, as `METHOD /path?query` ([`ContractRequest::line`]).
    pub fn requests(&self) -> Vec<String> {
        self.shared.received.lock().unwrap().iter().map(ContractRequest::line).collect()
    }

    /// Every request so far, whole (headers and body too).
    pub fn received(&self) -> Vec<ContractRequest> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Forgets the requests so far.
    pub fn clear_requests(&self) {
        self.shared.received.lock().unwrap().clear();
    }

    /// How many requests so far start with `prefix` (`"POST /authn/"`).
    pub fn count(&self, prefix: &str) -> usize {
        self.requests().iter().filter(|r| r.starts_with(prefix)).count()
    }
}

impl Drop for ContractServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(fixtures().join("server.pem"))
        .expect("fixtures/server.pem")
        .collect::<Result<_, _>>()
        .expect("fixtures/server.pem certificates");
    let key = PrivateKeyDer::from_pem_file(fixtures().join("server.key")).expect("fixtures/server.key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

async fn serve(
    listener: std::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => continue },
            _ = &mut stopped => return,
        };
        let shared = Arc::clone(&shared);
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| answer(Arc::clone(&shared), request));
            let http = hyper::server::conn::http1::Builder::new();
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = http.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
                    }
                }
                None => {
                    let _ = http.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
                }
            }
        });
    }
}

async fn answer(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let raw_query = request.uri().query().unwrap_or_default().to_owned();
    let query = url::form_urlencoded::parse(raw_query.as_bytes()).into_owned().collect();
    let headers = request.headers().clone();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let request = ContractRequest { method, path, raw_query, query, headers, body };
    let line = request.line();
    shared.received.lock().unwrap().push(request.clone());
    let fault = shared
        .faults
        .lock()
        .unwrap()
        .iter()
        .find(|f| f.method == request.method && line.contains(&f.path_contains))
        .cloned();
    let reply = match fault {
        Some(fault) => {
            tokio::time::sleep(fault.delay).await;
            fault.reply
        }
        None => (shared.behaviour)(request),
    };
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    Ok(response.body(Full::new(Bytes::from(reply.body))).expect("a response"))
}

/// The pairs of a form-encoded body (`a=1&b=2`), decoded.
pub fn form_pairs(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}
