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
//! The HTTP side (port, thread, faults, request log) is hush-backend-behavior's
//! `ContractServer`; this file is Doppler's behaviour.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hush_backend_behavior::contract_server::{ContractReply, ContractRequest, ContractServer, HttpFault};
use serde_json::{Map, Value, json};

/// The read/write service token the server accepts.
pub const TOKEN: &str = "dp.st.prd.0123456789SECRETTOKEN";
/// A read-only service token of the same config.
pub const READ_ONLY_TOKEN: &str = "dp.st.prd.READONLY0123456789";

/// Scripted failures with Doppler's error body.
pub struct Fault;

impl Fault {
    /// Requests with `method` whose path and query contain `path_contains` get `status` and
    /// `{"messages": [message]}` at once.
    pub fn status(method: &str, path_contains: &str, status: u16, message: &str) -> HttpFault {
        HttpFault::reply(method, path_contains, error(status, message))
    }

    /// Such requests get nothing for `delay`.
    pub fn silent(method: &str, path_contains: &str, delay: Duration) -> HttpFault {
        HttpFault::silent(method, path_contains, delay)
    }
}

/// (project, config) → name → value.
type Configs = BTreeMap<(String, String), BTreeMap<String, String>>;

/// The running contract server.
pub struct Contract {
    /// `http://127.0.0.1:PORT`: hush's `api_url` and the SDK's base URL.
    pub api_url: String,
    configs: Arc<Mutex<Configs>>,
    server: ContractServer,
}

impl Contract {
    /// Starts a server on a free loopback port.
    pub fn start() -> Contract {
        super::install_tls_provider();
        let configs = Arc::new(Mutex::new(Configs::new()));
        let served = Arc::clone(&configs);
        let server = ContractServer::start(move |request| handle(&mut served.lock().unwrap(), &request));
        Contract { api_url: server.url.clone(), configs, server }
    }

    /// Creates config `project/config` (empty) if missing.
    pub fn config(&self, project: &str, config: &str) {
        self.configs.lock().unwrap().entry((project.to_owned(), config.to_owned())).or_default();
    }

    /// Sets secret `name` of `project/config` to `value`.
    pub fn set(&self, project: &str, config: &str, name: &str, value: &str) {
        let mut configs = self.configs.lock().unwrap();
        configs.entry((project.to_owned(), config.to_owned())).or_default().insert(name.to_owned(), value.to_owned());
    }

    /// The secrets of `project/config`.
    pub fn secrets(&self, project: &str, config: &str) -> BTreeMap<String, String> {
        self.configs.lock().unwrap().get(&(project.to_owned(), config.to_owned())).cloned().unwrap_or_default()
    }

    /// Adds a fault.
    pub fn fail(&self, fault: HttpFault) {
        self.server.fail(fault);
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.server.heal();
    }

    /// Every request so far, as `METHOD /v3/...?query`.
    pub fn requests(&self) -> Vec<String> {
        self.server.requests()
    }
}

fn error(status: u16, message: &str) -> ContractReply {
    ContractReply::json(status, &json!({"messages": [message], "success": false}))
}

fn is_doppler_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn value_json(value: &str) -> Value {
    json!({"raw": value, "computed": value, "note": ""})
}

fn handle(configs: &mut Configs, request: &ContractRequest) -> ContractReply {
    let auth = request.header("authorization");
    let writer = auth == Some(format!("Bearer {TOKEN}").as_str());
    let reader = writer || auth == Some(format!("Bearer {READ_ONLY_TOKEN}").as_str());
    if !reader {
        return error(401, "Invalid Auth token");
    }
    let body = request.json();
    // Project and config come from the query, or the JSON body of a POST.
    let field = |key: &str| {
        request
            .query(key)
            .map(str::to_owned)
            .or_else(|| body.get(key).and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default()
    };
    let key = (field("project"), field("config"));
    if key.0.is_empty() || key.1.is_empty() {
        return error(400, "project and config are required");
    }
    let writes = matches!(request.method.as_str(), "POST" | "DELETE");
    if writes && !writer {
        return error(403, "This token does not have access to requested resource");
    }
    let Some(secrets) = configs.get_mut(&key) else {
        return error(404, "Could not find requested config");
    };
    let name = request.query("name").unwrap_or_default().to_owned();
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v3/configs/config/secret") => match secrets.get(&name) {
            Some(value) => ContractReply::json(200, &json!({"name": name, "value": value_json(value)})),
            None => error(404, "Could not find requested secret"),
        },
        ("DELETE", "/v3/configs/config/secret") => match secrets.remove(&name) {
            Some(_) => ContractReply::json(200, &json!({"success": true})),
            None => error(404, "Could not find requested secret"),
        },
        ("GET", "/v3/configs/config/secrets/names") => {
            ContractReply::json(200, &json!({"names": secrets.keys().collect::<Vec<_>>()}))
        }
        ("GET", "/v3/configs/config/secrets") => {
            let all: Map<String, Value> = secrets.iter().map(|(k, v)| (k.clone(), value_json(v))).collect();
            ContractReply::json(200, &json!({"secrets": all}))
        }
        ("POST", "/v3/configs/config/secrets") => {
            let Some(Value::Object(update)) = body.get("secrets") else {
                return error(400, "secrets must be an object");
            };
            for (name, value) in update {
                if !is_doppler_name(name) {
                    return error(
                        400,
                        &format!("Secret name {name} must be uppercase letters, numbers and underscores"),
                    );
                }
                if !value.is_string() && !value.is_null() {
                    return error(400, "Secret values must be strings");
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
            ContractReply::json(200, &json!({"secrets": all}))
        }
        _ => error(404, "Not found"),
    }
}
