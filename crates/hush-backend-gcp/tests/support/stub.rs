//! A Secret Manager REST v1 contract server, written from Google's API reference
//! (<https://cloud.google.com/secret-manager/docs/reference/rest>), for what drongo lacks:
//! error bodies (`{"error": {"code": 403, "message": "...", "status": "PERMISSION_DENIED"}}`),
//! the list `filter` (`labels.<key>=<value>` joined by `AND`) and pagination
//! (`pageSize`, `pageToken`, `nextPageToken`), and slow answers.
//!
//! Paths: `POST v1/projects/{p}/secrets?secretId=`, `GET|PATCH|DELETE v1/projects/{p}/secrets/{s}`,
//! `GET v1/projects/{p}/secrets`, `POST v1/projects/{p}/secrets/{s}:addVersion`,
//! `GET v1/projects/{p}/secrets/{s}/versions/{v}` and `...{v}:access`. Faults answer a
//! request whose method and path match, before the normal handling. Every request is logged,
//! with a note of the bearer token it carried.
//! The server runs on its own thread and runtime, so blocking tests (the Python client) can
//! use it too; it stops when dropped.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};

/// A scripted failure: requests with `method` whose path and query contain `path_contains`
/// get `status` and `body` after `delay`.
#[derive(Clone, Debug)]
pub struct Fault {
    /// `GET`, `POST`, ...
    pub method: &'static str,
    /// A part of `/v1/...?query` that selects the requests.
    pub path_contains: String,
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
    /// How long to wait before answering.
    pub delay: Duration,
}

impl Fault {
    /// A Google error answer: `{"error": {"code", "message", "status"}}` (plus `details`).
    pub fn google(method: &'static str, path_contains: &str, code: u16, status: &str, message: &str) -> Fault {
        Fault::google_with_details(method, path_contains, code, status, message, json!([]))
    }

    /// A Google error answer with `details` (e.g. a `google.rpc.ErrorInfo`).
    pub fn google_with_details(
        method: &'static str,
        path_contains: &str,
        code: u16,
        status: &str,
        message: &str,
        details: Value,
    ) -> Fault {
        let mut error = json!({"code": code, "message": message, "status": status});
        if details.as_array().is_some_and(|d| !d.is_empty()) {
            error["details"] = details;
        }
        Fault {
            method,
            path_contains: path_contains.to_owned(),
            status: code,
            body: json!({ "error": error }).to_string(),
            delay: Duration::ZERO,
        }
    }
}

#[derive(Default)]
struct StubSecret {
    labels: BTreeMap<String, String>,
    /// (payload base64, state) per version, version n at index n - 1.
    versions: Vec<(String, &'static str)>,
}

#[derive(Default)]
struct State {
    secrets: BTreeMap<(String, String), StubSecret>,
    faults: Vec<Fault>,
    requests: Vec<String>,
}

/// The running contract server.
pub struct Stub {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Secrets per list page, small so that paging is exercised.
const PAGE_SIZE: usize = 2;

impl Stub {
    /// Starts a server on a free loopback port.
    pub fn start() -> Stub {
        super::install_tls_provider();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
        let state = Arc::new(Mutex::new(State::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(serve(listener, served, stopped));
        });
        Stub { endpoint, state, stop: Some(stop), thread: Some(thread) }
    }

    /// Adds a fault.
    pub fn fail(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push(fault);
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.state.lock().unwrap().faults.clear();
    }

    /// Every request so far, as `METHOD /v1/...?query` (query percent-decoded).
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<Mutex<State>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => continue },
            _ = &mut stopped => return,
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| handle(Arc::clone(&state), request));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " ")).decode_utf8_lossy().into_owned()
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=UTF-8")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a response")
}

fn error(code: u16, status: &str, message: &str) -> Response<Full<Bytes>> {
    reply(code, json!({"error": {"code": code, "message": message, "status": status}}))
}

fn secret_json(project: &str, id: &str, secret: &StubSecret) -> Value {
    json!({
        "name": format!("projects/{project}/secrets/{id}"),
        "replication": {"automatic": {}},
        "createTime": "2026-01-01T00:00:00Z",
        "labels": secret.labels,
        "etag": "\"1\"",
    })
}

fn version_json(project: &str, id: &str, number: usize, state: &str) -> Value {
    json!({
        "name": format!("projects/{project}/secrets/{id}/versions/{number}"),
        "createTime": "2026-01-01T00:00:00Z",
        "state": state,
        "etag": "\"1\"",
    })
}

/// Whether `labels` match a filter of `labels.<k>=<v>` terms joined by ` AND `.
fn matches(filter: &str, labels: &BTreeMap<String, String>) -> bool {
    filter.split(" AND ").map(str::trim).filter(|t| !t.is_empty()).all(|term| {
        match term.strip_prefix("labels.").and_then(|t| t.split_once('=')) {
            Some((k, v)) => labels.get(k.trim()).map(String::as_str) == Some(v.trim()),
            None => false,
        }
    })
}

async fn handle(state: Arc<Mutex<State>>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query: BTreeMap<String, String> = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let shown_query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut line = format!("{method} {path}?{}", shown_query.join("&"));
    // Which credentials came along: a signed JWT (three dot-separated parts) or another token.
    let auth = request.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Some(token) = auth.strip_prefix("Bearer ") {
        line.push_str(if token.split('.').count() == 3 { " [bearer jwt]" } else { " [bearer]" });
    }
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);

    let fault = {
        let mut state = state.lock().unwrap();
        state.requests.push(line.clone());
        state.faults.iter().find(|f| f.method == method && line.contains(&f.path_contains)).cloned()
    };
    if let Some(fault) = fault {
        tokio::time::sleep(fault.delay).await;
        let response = Response::builder()
            .status(fault.status)
            .header("content-type", "application/json; charset=UTF-8")
            .body(Full::new(Bytes::from(fault.body)))
            .expect("a response");
        return Ok(response);
    }

    let Some(rest) = path.strip_prefix("/v1/projects/") else {
        return Ok(error(404, "NOT_FOUND", "unknown path"));
    };
    let (project, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let project = project.to_owned();
    let mut state = state.lock().unwrap();
    let response = match (method.as_str(), rest.strip_prefix("secrets").unwrap_or("?")) {
        ("POST", "") => {
            let id = query.get("secretId").cloned().unwrap_or_default();
            let valid = !id.is_empty()
                && id.len() <= 255
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                error(400, "INVALID_ARGUMENT", "Secret ID must be 1-255 characters of [A-Za-z0-9_-].")
            } else if state.secrets.contains_key(&(project.clone(), id.clone())) {
                error(409, "ALREADY_EXISTS", &format!("Secret [projects/{project}/secrets/{id}] already exists."))
            } else {
                let labels = body["labels"]
                    .as_object()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
                    .unwrap_or_default();
                let secret = StubSecret { labels, versions: Vec::new() };
                let answer = secret_json(&project, &id, &secret);
                state.secrets.insert((project.clone(), id), secret);
                reply(200, answer)
            }
        }
        ("GET", "") => {
            let filter = query.get("filter").cloned().unwrap_or_default();
            let start: usize = query.get("pageToken").and_then(|t| t.parse().ok()).unwrap_or(0);
            let size = query.get("pageSize").and_then(|s| s.parse().ok()).filter(|s| *s > 0).unwrap_or(PAGE_SIZE);
            let all: Vec<Value> = state
                .secrets
                .iter()
                .filter(|((p, _), s)| *p == project && matches(&filter, &s.labels))
                .map(|((p, id), s)| secret_json(p, id, s))
                .collect();
            let page: Vec<Value> = all.iter().skip(start).take(size).cloned().collect();
            let mut answer = json!({"secrets": page, "totalSize": all.len()});
            if start + size < all.len() {
                answer["nextPageToken"] = json!((start + size).to_string());
            }
            reply(200, answer)
        }
        (_, tail) => {
            let tail = tail.strip_prefix('/').unwrap_or(tail);
            let (id_part, version_part) = match tail.split_once("/versions/") {
                Some((id, v)) => (id.to_owned(), Some(v.to_owned())),
                None => (tail.to_owned(), None),
            };
            let (id, action) = match id_part.split_once(':') {
                Some((id, action)) => (id.to_owned(), Some(action.to_owned())),
                None => (id_part.clone(), None),
            };
            let key = (project.clone(), id.clone());
            let missing = error(404, "NOT_FOUND", &format!("Secret [projects/{project}/secrets/{id}] not found."));
            match (method.as_str(), action.as_deref(), version_part) {
                ("POST", Some("addVersion"), None) => match state.secrets.get_mut(&key) {
                    None => missing,
                    Some(secret) => {
                        let data = body["payload"]["data"].as_str().unwrap_or_default().to_owned();
                        let valid = base64::engine::general_purpose::STANDARD.decode(&data).is_ok();
                        if !valid {
                            error(400, "INVALID_ARGUMENT", "payload.data is not base64.")
                        } else {
                            secret.versions.push((data, "ENABLED"));
                            reply(200, version_json(&project, &id, secret.versions.len(), "ENABLED"))
                        }
                    }
                },
                ("GET", None, None) => match state.secrets.get(&key) {
                    None => missing,
                    Some(secret) => reply(200, secret_json(&project, &id, secret)),
                },
                ("PATCH", None, None) => match state.secrets.get_mut(&key) {
                    None => missing,
                    Some(secret) => {
                        if query.get("updateMask").map(String::as_str) != Some("labels") {
                            error(400, "INVALID_ARGUMENT", "updateMask must name labels.")
                        } else {
                            secret.labels = body["labels"]
                                .as_object()
                                .map(|m| {
                                    m.iter()
                                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                                        .collect()
                                })
                                .unwrap_or_default();
                            reply(200, secret_json(&project, &id, secret))
                        }
                    }
                },
                ("DELETE", None, None) => match state.secrets.remove(&key) {
                    None => missing,
                    Some(_) => reply(200, json!({})),
                },
                ("GET", None, Some(version)) => {
                    let (version, access) = match version.strip_suffix(":access") {
                        Some(v) => (v.to_owned(), true),
                        None => (version, false),
                    };
                    match state.secrets.get(&key) {
                        None => missing,
                        Some(secret) => {
                            let number =
                                if version == "latest" { secret.versions.len() } else { version.parse().unwrap_or(0) };
                            match secret.versions.get(number.wrapping_sub(1)) {
                                None => error(
                                    404,
                                    "NOT_FOUND",
                                    &format!(
                                        "Secret Version [projects/{project}/secrets/{id}/versions/{version}] not found."
                                    ),
                                ),
                                Some((_, vstate)) if access && *vstate != "ENABLED" => error(
                                    400,
                                    "FAILED_PRECONDITION",
                                    &format!("Cannot access secret version in state {vstate}."),
                                ),
                                Some((data, vstate)) if access => reply(
                                    200,
                                    json!({
                                        "name": format!("projects/{project}/secrets/{id}/versions/{number}"),
                                        "payload": {"data": data},
                                    }),
                                ),
                                Some((_, vstate)) => reply(200, version_json(&project, &id, number, vstate)),
                            }
                        }
                    }
                }
                _ => error(404, "NOT_FOUND", "unknown path"),
            }
        }
    };
    Ok(response)
}
