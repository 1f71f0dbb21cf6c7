//! A Doppler contract server, written from the official Python SDK (`DopplerHQ/python-sdk`,
//! `src/dopplersdk/services/secrets.py` and `models/`): exactly the calls hush and the SDK's
//! `secrets.get/update/delete/names/list` use:
//!
//! - `GET /v3/configs/config/secret?project=&config=&name=` → `{"name", "value": {"raw",
//!   "computed", "note"}}` (404 for a missing secret);
//! - `POST /v3/configs/config/secrets`, body `{"project", "config", "secrets": {NAME: value}}`
//!   → `{"secrets": {NAME: {"raw", "computed", "note"}}}` for the whole config;
//! - `DELETE /v3/configs/config/secret?project=&config=&name=` → `{"success": true}` (404 when
//!   missing);
//! - `GET /v3/configs/config/secrets/names?project=&config=` → `{"names": [...]}`;
//! - `GET /v3/configs/config/secrets?project=&config=` → `{"secrets": {NAME: value}}`.
//!
//! Every request needs `Authorization: Bearer <token>` (401 otherwise); a read-only token
//! reads and gets 403 on writes; an unknown project or config is 404; names must be
//! `[A-Z_][A-Z0-9_]*` (400 otherwise). Errors are `{"messages": [...], "success": false}`.
//! Faults answer a request whose method and path match, before the normal handling. The
//! server runs on its own thread and runtime; it stops when dropped.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Map, Value, json};

/// The read/write service token the server accepts.
pub const TOKEN: &str = "dp.st.prd.0123456789SECRETTOKEN";
/// A read-only service token of the same config.
pub const READ_ONLY_TOKEN: &str = "dp.st.prd.READONLY0123456789";

/// A scripted failure: requests with `method` whose path and query contain `path_contains`
/// get `status` and a Doppler error body after `delay`.
#[derive(Clone, Debug)]
pub struct Fault {
    /// `GET`, `POST` or `DELETE`.
    pub method: &'static str,
    /// A part of `/v3/...?query` that selects the requests.
    pub path_contains: String,
    /// The HTTP status.
    pub status: u16,
    /// Doppler's message in the body.
    pub message: String,
    /// How long to wait before answering.
    pub delay: Duration,
}

impl Fault {
    /// An immediate Doppler error answer.
    pub fn status(method: &'static str, path_contains: &str, status: u16, message: &str) -> Fault {
        Fault {
            method,
            path_contains: path_contains.to_owned(),
            status,
            message: message.to_owned(),
            delay: Duration::ZERO,
        }
    }

    /// A server that says nothing for `delay`.
    pub fn silent(method: &'static str, path_contains: &str, delay: Duration) -> Fault {
        Fault { delay, ..Fault::status(method, path_contains, 200, "") }
    }
}

#[derive(Default)]
struct State {
    /// (project, config) → name → value.
    configs: BTreeMap<(String, String), BTreeMap<String, String>>,
    faults: Vec<Fault>,
    requests: Vec<String>,
}

/// The running contract server.
pub struct Contract {
    /// `http://127.0.0.1:PORT`: hush's `api_url` and the SDK's base URL.
    pub api_url: String,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Contract {
    /// Starts a server on a free loopback port.
    pub fn start() -> Contract {
        super::install_tls_provider();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let api_url = format!("http://{}", listener.local_addr().expect("local address"));
        let state = Arc::new(Mutex::new(State::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(serve(listener, served, stopped));
        });
        Contract { api_url, state, stop: Some(stop), thread: Some(thread) }
    }

    /// Creates config `project/config` (empty) if missing.
    pub fn config(&self, project: &str, config: &str) {
        self.state.lock().unwrap().configs.entry((project.to_owned(), config.to_owned())).or_default();
    }

    /// Sets secret `name` of `project/config` to `value`.
    pub fn set(&self, project: &str, config: &str, name: &str, value: &str) {
        let mut state = self.state.lock().unwrap();
        state
            .configs
            .entry((project.to_owned(), config.to_owned()))
            .or_default()
            .insert(name.to_owned(), value.to_owned());
    }

    /// The secrets of `project/config`.
    pub fn secrets(&self, project: &str, config: &str) -> BTreeMap<String, String> {
        self.state.lock().unwrap().configs.get(&(project.to_owned(), config.to_owned())).cloned().unwrap_or_default()
    }

    /// Adds a fault.
    pub fn fail(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push(fault);
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.state.lock().unwrap().faults.clear();
    }

    /// Every request so far, as `METHOD /v3/...?query`.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}

impl Drop for Contract {
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

fn reply(status: u16, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a response")
}

fn error(status: u16, message: &str) -> Response<Full<Bytes>> {
    reply(status, &json!({"messages": [message], "success": false}))
}

/// `%XX` and `+` decoded (the SDK form-encodes query values).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_doppler_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn value_json(value: &str) -> Value {
    json!({"raw": value, "computed": value, "note": ""})
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
    let line = match request.uri().query() {
        Some(q) => format!("{method} {path}?{q}"),
        None => format!("{method} {path}"),
    };
    let auth = request.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let fault = {
        let mut state = state.lock().unwrap();
        state.requests.push(line.clone());
        state.faults.iter().find(|f| f.method == method && line.contains(&f.path_contains)).cloned()
    };
    if let Some(fault) = fault {
        tokio::time::sleep(fault.delay).await;
        return Ok(error(fault.status, &fault.message));
    }
    let writer = auth.as_deref() == Some(format!("Bearer {TOKEN}").as_str());
    let reader = writer || auth.as_deref() == Some(format!("Bearer {READ_ONLY_TOKEN}").as_str());
    if !reader {
        return Ok(error(401, "Invalid Auth token"));
    }
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // Project and config come from the query, or the JSON body of a POST.
    let field = |key: &str| {
        query.get(key).cloned().or_else(|| body.get(key).and_then(Value::as_str).map(str::to_owned)).unwrap_or_default()
    };
    let key = (field("project"), field("config"));
    if key.0.is_empty() || key.1.is_empty() {
        return Ok(error(400, "project and config are required"));
    }
    let writes = matches!(method.as_str(), "POST" | "DELETE");
    if writes && !writer {
        return Ok(error(403, "This token does not have access to requested resource"));
    }
    let mut state = state.lock().unwrap();
    let Some(secrets) = state.configs.get_mut(&key) else {
        return Ok(error(404, "Could not find requested config"));
    };
    match (method.as_str(), path.as_str()) {
        ("GET", "/v3/configs/config/secret") => {
            let name = query.get("name").cloned().unwrap_or_default();
            Ok(match secrets.get(&name) {
                Some(value) => reply(200, &json!({"name": name, "value": value_json(value)})),
                None => error(404, "Could not find requested secret"),
            })
        }
        ("DELETE", "/v3/configs/config/secret") => {
            let name = query.get("name").cloned().unwrap_or_default();
            Ok(match secrets.remove(&name) {
                Some(_) => reply(200, &json!({"success": true})),
                None => error(404, "Could not find requested secret"),
            })
        }
        ("GET", "/v3/configs/config/secrets/names") => {
            Ok(reply(200, &json!({"names": secrets.keys().collect::<Vec<_>>()})))
        }
        ("GET", "/v3/configs/config/secrets") => {
            let all: Map<String, Value> = secrets.iter().map(|(k, v)| (k.clone(), value_json(v))).collect();
            Ok(reply(200, &json!({"secrets": all})))
        }
        ("POST", "/v3/configs/config/secrets") => {
            let Some(Value::Object(update)) = body.get("secrets") else {
                return Ok(error(400, "secrets must be an object"));
            };
            for (name, value) in update {
                if !is_doppler_name(name) {
                    return Ok(error(
                        400,
                        &format!("Secret name {name} must be uppercase letters, numbers and underscores"),
                    ));
                }
                if !value.is_string() && !value.is_null() {
                    return Ok(error(400, "Secret values must be strings"));
                }
            }
            for (name, value) in update {
                match value {
                    Value::String(text) => {
                        secrets.insert(name.clone(), text.clone());
                    }
                    _ => {
                        secrets.remove(name);
                    }
                }
            }
            let all: Map<String, Value> = secrets.iter().map(|(k, v)| (k.clone(), value_json(v))).collect();
            Ok(reply(200, &json!({"secrets": all})))
        }
        _ => Ok(error(404, "Not found")),
    }
}
