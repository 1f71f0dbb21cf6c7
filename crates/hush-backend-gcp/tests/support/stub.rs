//! A Secret Manager REST v1 contract server, written from Google's API reference
//! (<https://cloud.google.com/secret-manager/docs/reference/rest>), for what drongo lacks:
//! error bodies (`{"error": {"code": 403, "message": "...", "status": "PERMISSION_DENIED"}}`),
//! the list `filter` (`labels.<key>=<value>` joined by `AND`) and pagination
//! (`pageSize`, `pageToken`, `nextPageToken`), and slow answers.
//!
//! Paths: `POST v1/projects/{p}/secrets?secretId=`, `GET|PATCH|DELETE v1/projects/{p}/secrets/{s}`,
//! `GET v1/projects/{p}/secrets`, `POST v1/projects/{p}/secrets/{s}:addVersion`,
//! `GET v1/projects/{p}/secrets/{s}/versions/{v}` and `...{v}:access`. The HTTP side (port,
//! thread, faults, request log) is hush-backend-behavior's `ContractServer`; this file is
//! Secret Manager's behaviour, and a view of the log with the query decoded and a note of the
//! bearer token each request carried.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use hush_backend_behavior::contract_server::{ContractReply, ContractRequest, ContractServer, HttpFault};
use serde_json::{Value, json};

/// Scripted failures with Google's error body.
pub struct Fault;

impl Fault {
    /// A Google error answer: `{"error": {"code", "message", "status"}}`, to requests with
    /// `method` whose path and query (as sent) contain `path_contains`.
    pub fn google(method: &str, path_contains: &str, code: u16, status: &str, message: &str) -> HttpFault {
        Fault::google_with_details(method, path_contains, code, status, message, json!([]))
    }

    /// A Google error answer with `details` (e.g. a `google.rpc.ErrorInfo`).
    pub fn google_with_details(
        method: &str,
        path_contains: &str,
        code: u16,
        status: &str,
        message: &str,
        details: Value,
    ) -> HttpFault {
        let mut error = json!({"code": code, "message": message, "status": status});
        if details.as_array().is_some_and(|d| !d.is_empty()) {
            error["details"] = details;
        }
        HttpFault::reply(method, path_contains, reply(code, json!({ "error": error })))
    }

    /// Such requests get nothing for `delay`.
    pub fn silent(method: &str, path_contains: &str, delay: Duration) -> HttpFault {
        HttpFault::silent(method, path_contains, delay)
    }
}

#[derive(Default)]
struct StubSecret {
    labels: BTreeMap<String, String>,
    /// (payload base64, state) per version, version n at index n - 1.
    versions: Vec<(String, &'static str)>,
}

/// (project, secret id) → secret.
type Secrets = BTreeMap<(String, String), StubSecret>;

/// The running contract server.
pub struct Stub {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    server: ContractServer,
}

/// Secrets per list page, small so that paging is exercised.
const PAGE_SIZE: usize = 2;

impl Stub {
    /// Starts a server on a free loopback port.
    pub fn start() -> Stub {
        super::install_tls_provider();
        let secrets = Mutex::new(Secrets::new());
        let server = ContractServer::start(move |request| handle(&mut secrets.lock().unwrap(), &request));
        Stub { endpoint: server.url.clone(), server }
    }

    /// Adds a fault.
    pub fn fail(&self, fault: HttpFault) {
        self.server.fail(fault);
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.server.heal();
    }

    /// Every request so far, as `METHOD /v1/...?query` with the query decoded, then
    /// ` [bearer jwt]` for a signed JWT (three dot-separated parts), ` [bearer]` for another
    /// bearer token, nothing without one.
    pub fn requests(&self) -> Vec<String> {
        self.server.received().iter().map(shown).collect()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.server.clear_requests();
    }
}

fn shown(request: &ContractRequest) -> String {
    let query: Vec<String> = request.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut line = format!("{} {}?{}", request.method, request.path, query.join("&"));
    if let Some(token) = request.header("authorization").and_then(|a| a.strip_prefix("Bearer ")) {
        line.push_str(if token.split('.').count() == 3 { " [bearer jwt]" } else { " [bearer]" });
    }
    line
}

fn reply(status: u16, body: Value) -> ContractReply {
    ContractReply::json(status, &body)
}

fn error(code: u16, status: &str, message: &str) -> ContractReply {
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

fn handle(secrets: &mut Secrets, request: &ContractRequest) -> ContractReply {
    let (method, path) = (&request.method, &request.path);
    let query: BTreeMap<String, String> = request.query.iter().cloned().collect();
    let body = request.json();
    let Some(rest) = path.strip_prefix("/v1/projects/") else {
        return error(404, "NOT_FOUND", "unknown path");
    };
    let (project, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let project = project.to_owned();
    match (method.as_str(), rest.strip_prefix("secrets").unwrap_or("?")) {
        ("POST", "") => {
            let id = query.get("secretId").cloned().unwrap_or_default();
            let valid = !id.is_empty()
                && id.len() <= 255
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                error(400, "INVALID_ARGUMENT", "Secret ID must be 1-255 characters of [A-Za-z0-9_-].")
            } else if secrets.contains_key(&(project.clone(), id.clone())) {
                error(409, "ALREADY_EXISTS", &format!("Secret [projects/{project}/secrets/{id}] already exists."))
            } else {
                let labels = body["labels"]
                    .as_object()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
                    .unwrap_or_default();
                let secret = StubSecret { labels, versions: Vec::new() };
                let answer = secret_json(&project, &id, &secret);
                secrets.insert((project.clone(), id), secret);
                reply(200, answer)
            }
        }
        ("GET", "") => {
            let filter = query.get("filter").cloned().unwrap_or_default();
            let start: usize = query.get("pageToken").and_then(|t| t.parse().ok()).unwrap_or(0);
            let size = query.get("pageSize").and_then(|s| s.parse().ok()).filter(|s| *s > 0).unwrap_or(PAGE_SIZE);
            let all: Vec<Value> = secrets
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
                ("POST", Some("addVersion"), None) => match secrets.get_mut(&key) {
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
                ("GET", None, None) => match secrets.get(&key) {
                    None => missing,
                    Some(secret) => reply(200, secret_json(&project, &id, secret)),
                },
                ("PATCH", None, None) => match secrets.get_mut(&key) {
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
                ("DELETE", None, None) => match secrets.remove(&key) {
                    None => missing,
                    Some(_) => reply(200, json!({})),
                },
                ("GET", None, Some(version)) => {
                    let (version, access) = match version.strip_suffix(":access") {
                        Some(v) => (v.to_owned(), true),
                        None => (version, false),
                    };
                    match secrets.get(&key) {
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
    }
}
