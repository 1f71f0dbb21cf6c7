//! A Pulumi ESC contract server, written from the official Python SDK (`pulumi/esc-sdk`,
//! `sdk/python/pulumi_esc_sdk/api/esc_api.py` and `models/`): exactly the calls hush and the
//! SDK's open/read use, under `/api/esc`:
//!
//! - `POST /api/esc/environments/{org}/{project}/{env}/open?duration=<Go duration>` →
//!   `{"id": "<session>"}` (404 for an unknown environment, 400 for a bad duration);
//! - `GET /api/esc/environments/{org}/{project}/{env}/open/{id}` (and `open//{id}`, as the
//!   SDK's property read sends it) → `{"exprs", "properties", "schema", "executionContext"}`,
//!   every value wrapped as `{"value", "secret", "trace"}` at every level; with
//!   `?property=NAME`, that property's `Value` only; 404 for an unknown or expired session.
//!
//! Every request needs `Authorization: token <token>` (401 otherwise); errors are
//! `{"code", "message"}`. The HTTP side (port, thread, faults, request log) is
//! hush-backend-behavior's `ContractServer`; this file is ESC's behaviour.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hush_backend_behavior::contract_server::{ContractReply, ContractRequest, ContractServer, HttpFault};
use serde_json::{Map, Value, json};

/// The one access token the server accepts.
pub const TOKEN: &str = "pul-0123456789abcdefSECRETTOKEN";

/// Scripted failures with ESC's error body.
pub struct Fault;

impl Fault {
    /// Requests with `method` whose path and query contain `path_contains` get `status` and
    /// `{"code", "message"}` at once.
    pub fn status(method: &str, path_contains: &str, status: u16, message: &str) -> HttpFault {
        HttpFault::reply(method, path_contains, error(status, message))
    }

    /// Such requests get nothing for `delay`.
    pub fn silent(method: &str, path_contains: &str, delay: Duration) -> HttpFault {
        HttpFault::silent(method, path_contains, delay)
    }
}

struct Session {
    environment: (String, String, String),
    expires: Instant,
}

#[derive(Default)]
struct State {
    /// (org, project, env) → property name → wrapped value.
    environments: BTreeMap<(String, String, String), Map<String, Value>>,
    sessions: BTreeMap<String, Session>,
    next_session: u64,
}

/// The running contract server.
pub struct Contract {
    /// `http://127.0.0.1:PORT`, what the Python SDK is given as its host.
    pub endpoint: String,
    /// `http://127.0.0.1:PORT/api/esc`, hush's `api_url`.
    pub api_url: String,
    state: Arc<Mutex<State>>,
    server: ContractServer,
}

/// A `Range` in environment `env`'s definition, as ESC's traces and expressions carry.
fn source_range(env: &str) -> Value {
    json!({
        "environment": env,
        "begin": {"line": 1, "column": 1, "byte": 0},
        "end": {"line": 1, "column": 10, "byte": 9},
    })
}

/// `plain` wrapped as ESC wraps opened values: `{"value", "secret", "trace"}` at every level.
pub fn wrap(plain: &Value, secret: bool) -> Value {
    let inner = match plain {
        Value::Object(object) => Value::Object(object.iter().map(|(k, v)| (k.clone(), wrap(v, secret))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(|v| wrap(v, secret)).collect()),
        other => other.clone(),
    };
    let mut wrapped = json!({"value": inner, "trace": {"def": source_range("test")}});
    if secret {
        wrapped["secret"] = Value::Bool(true);
    }
    wrapped
}

impl Contract {
    /// Starts a server on a free loopback port.
    pub fn start() -> Contract {
        super::install_tls_provider();
        let state = Arc::new(Mutex::new(State::default()));
        let served = Arc::clone(&state);
        let server = ContractServer::start(move |request| handle(&mut served.lock().unwrap(), &request));
        let endpoint = server.url.clone();
        let api_url = format!("{endpoint}/api/esc");
        Contract { endpoint, api_url, state, server }
    }

    /// Creates environment `org/project/env` (empty) if missing.
    pub fn environment(&self, org: &str, project: &str, env: &str) {
        let key = (org.to_owned(), project.to_owned(), env.to_owned());
        self.state.lock().unwrap().environments.entry(key).or_default();
    }

    /// Sets top-level property `name` of `org/project/env` to `plain` (wrapped as ESC does).
    pub fn set(&self, org: &str, project: &str, env: &str, name: &str, plain: Value, secret: bool) {
        let key = (org.to_owned(), project.to_owned(), env.to_owned());
        let mut state = self.state.lock().unwrap();
        state.environments.entry(key).or_default().insert(name.to_owned(), wrap(&plain, secret));
    }

    /// Sets top-level property `name` to a raw ESC `Value` (e.g. one marked `unknown`).
    pub fn set_raw(&self, org: &str, project: &str, env: &str, name: &str, value: Value) {
        let key = (org.to_owned(), project.to_owned(), env.to_owned());
        self.state.lock().unwrap().environments.entry(key).or_default().insert(name.to_owned(), value);
    }

    /// Adds a fault.
    pub fn fail(&self, fault: HttpFault) {
        self.server.fail(fault);
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.server.heal();
    }

    /// Forgets every open session, as a service restart or an expiry would.
    pub fn drop_sessions(&self) {
        self.state.lock().unwrap().sessions.clear();
    }

    /// Every request so far, as `METHOD /api/esc/...?query`.
    pub fn requests(&self) -> Vec<String> {
        self.server.requests()
    }

    /// How many requests so far are opens.
    pub fn opens(&self) -> usize {
        self.requests().iter().filter(|r| r.starts_with("POST ") && r.contains("/open")).count()
    }

    /// How many requests so far are reads of a session.
    pub fn reads(&self) -> usize {
        self.requests().iter().filter(|r| r.starts_with("GET ") && r.contains("/open/")).count()
    }
}

fn error(status: u16, message: &str) -> ContractReply {
    ContractReply::json(status, &json!({"code": status, "message": message}))
}

/// A Go duration of `<number><unit>` terms (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), or `None`.
fn go_duration(text: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).filter(|n| *n > 0)?;
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * seconds;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_secs_f64(total))
}

fn handle(state: &mut State, request: &ContractRequest) -> ContractReply {
    if request.header("authorization") != Some(format!("token {TOKEN}").as_str()) {
        return error(401, "Unauthorized: No credentials provided or are invalid.");
    }
    let (method, path) = (&request.method, &request.path);
    let Some(rest) = path.strip_prefix("/api/esc/environments/") else {
        return error(404, "Not found");
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let [org, project, env, "open", tail @ ..] = parts.as_slice() else {
        return error(404, "Not found");
    };
    let key = ((*org).to_owned(), (*project).to_owned(), (*env).to_owned());
    // `open/{id}` and the SDK's `open//{id}` are the same read.
    let tail: Vec<&str> = tail.iter().copied().filter(|t| !t.is_empty()).collect();
    match (method.as_str(), tail.as_slice()) {
        ("POST", []) => {
            if !state.environments.contains_key(&key) {
                return error(404, &format!("Environment '{project}/{env}' not found"));
            }
            let duration = match request.query("duration") {
                None => Duration::from_secs(3600),
                Some(text) => match go_duration(text) {
                    Some(d) => d,
                    None => return error(400, &format!("invalid duration {text:?}")),
                },
            };
            state.next_session += 1;
            let id = format!("{:08}", state.next_session);
            state.sessions.insert(id.clone(), Session { environment: key, expires: Instant::now() + duration });
            ContractReply::json(200, &json!({"id": id}))
        }
        ("GET", [id]) => {
            let live = state.sessions.get(*id).is_some_and(|s| s.environment == key && Instant::now() < s.expires);
            if !live {
                return error(404, &format!("open session {id} not found"));
            }
            let properties = state.environments.get(&key).cloned().unwrap_or_default();
            if let Some(property) = request.query("property") {
                return match properties.get(property) {
                    Some(value) => ContractReply::json(200, value),
                    None => error(404, &format!("property {property:?} not found")),
                };
            }
            let exprs: Map<String, Value> =
                properties.keys().map(|k| (k.clone(), json!({"range": source_range(env)}))).collect();
            ContractReply::json(
                200,
                &json!({
                    "exprs": exprs,
                    "properties": properties,
                    "schema": {"type": "object"},
                    "executionContext": {"properties": {}, "schema": {}},
                }),
            )
        }
        _ => error(405, "method not allowed"),
    }
}
