//! A Kubernetes API server contract for core/v1 Secrets, written from the Kubernetes API
//! reference (Secret v1, "Operations": read, list, create, replace, delete) and the API
//! concepts page (label selectors, `limit`/`continue` chunking, `Status` errors, optimistic
//! concurrency with `resourceVersion`):
//!
//! - `GET /api/v1/namespaces/{ns}/secrets/{name}` → the Secret, or 404 `Status` (`NotFound`);
//! - `GET /api/v1/namespaces/{ns}/secrets?labelSelector=&limit=&continue=` → `SecretList`
//!   with `metadata.continue` while more remain (a bad `continue` is 400 `BadRequest`);
//! - `POST /api/v1/namespaces/{ns}/secrets` → 201 and the Secret (409 `AlreadyExists`, 422
//!   `Invalid` for a name that is not a DNS-1123 subdomain or a bad data key, 400 for data
//!   that is not base64); `stringData` is merged into `data`;
//! - `PUT /api/v1/namespaces/{ns}/secrets/{name}` → 200 (404 when missing; 409 `Conflict` when
//!   the body's `metadata.resourceVersion` is set and stale; none means unconditional, as
//!   Secrets allow);
//! - `DELETE /api/v1/namespaces/{ns}/secrets/{name}` → 200 `Status` `Success` (404 when
//!   missing).
//!
//! `Authorization: Bearer <TOKEN>` may do everything; `READ_ONLY_TOKEN` (a service account
//! with get/list only) gets RBAC's 403 `Forbidden` on writes; anything else 401. Every error
//! is a `Status` body `{"kind":"Status","apiVersion":"v1","status":"Failure","message",
//! "reason","code","details"}`. The HTTP side (port, TLS, faults, request log) is
//! hush-backend-behavior's `ContractServer`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hush_backend_behavior::contract_server::{ContractReply, ContractRequest, ContractServer, HttpFault};
use serde_json::{Map, Value, json};

/// The token of a service account that may do everything on secrets.
pub const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.SECRETSERVICEACCOUNTTOKEN";
/// The token of a service account with get and list only.
pub const READ_ONLY_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.READONLYSECRETTOKEN";

/// A `Status` failure body.
pub fn status(code: u16, reason: &str, message: &str) -> ContractReply {
    ContractReply::json(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}),
    )
}

/// Scripted failures with a `Status` body.
pub struct Fault;

impl Fault {
    /// Requests with `method` whose path and query contain `path_contains` get `code` at once.
    pub fn status(method: &str, path_contains: &str, code: u16, reason: &str, message: &str) -> HttpFault {
        HttpFault::reply(method, path_contains, status(code, reason, message))
    }
}

#[derive(Default)]
struct Store {
    /// (namespace, name) → the Secret object.
    secrets: BTreeMap<(String, String), Value>,
    resource_version: u64,
}

/// The running contract server.
pub struct Contract {
    /// `http(s)://127.0.0.1:PORT`: the kubeconfig's `server`.
    pub url: String,
    store: Arc<Mutex<Store>>,
    server: ContractServer,
}

impl Contract {
    /// Starts a plain HTTP server on a free loopback port.
    pub fn start() -> Contract {
        Self::started(false)
    }

    /// Starts an HTTPS server (the behaviour crate's test CA).
    pub fn start_https() -> Contract {
        Self::started(true)
    }

    fn started(https: bool) -> Contract {
        super::install_tls_provider();
        let store = Arc::new(Mutex::new(Store::default()));
        let served = Arc::clone(&store);
        let behaviour = move |request: ContractRequest| handle(&mut served.lock().unwrap(), &request);
        let server = if https { ContractServer::start_https(behaviour) } else { ContractServer::start(behaviour) };
        Contract { url: server.url.clone(), store, server }
    }

    /// Stores Secret `name` in `namespace` with `data` (raw bytes) and `labels`, as another
    /// tool (ESO, kubectl) would.
    pub fn insert(&self, namespace: &str, name: &str, data: &[(&str, &[u8])], labels: &[(&str, &str)]) {
        let mut store = self.store.lock().unwrap();
        let data: Map<String, Value> =
            data.iter().map(|(k, v)| ((*k).to_owned(), Value::String(BASE64.encode(v)))).collect();
        let labels: Map<String, Value> =
            labels.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))).collect();
        let object = json!({"metadata": {"name": name, "namespace": namespace, "labels": labels}, "data": data, "type": "Opaque"});
        let stored = store.stamp(namespace, object);
        store.secrets.insert((namespace.to_owned(), name.to_owned()), stored);
    }

    /// Secret `name` of `namespace`, as stored.
    pub fn secret(&self, namespace: &str, name: &str) -> Option<Value> {
        self.store.lock().unwrap().secrets.get(&(namespace.to_owned(), name.to_owned())).cloned()
    }

    /// The names of the Secrets of `namespace`.
    pub fn names(&self, namespace: &str) -> Vec<String> {
        self.store.lock().unwrap().secrets.keys().filter(|(ns, _)| ns == namespace).map(|(_, n)| n.clone()).collect()
    }

    /// Adds a fault.
    pub fn fail(&self, fault: HttpFault) {
        self.server.fail(fault);
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.server.heal();
    }

    /// Every request so far, as `METHOD /api/v1/...?query`.
    pub fn requests(&self) -> Vec<String> {
        self.server.requests()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.server.clear_requests();
    }
}

impl Store {
    /// `object` as stored: kind, apiVersion, namespace, a new resourceVersion, uid.
    fn stamp(&mut self, namespace: &str, mut object: Value) -> Value {
        self.resource_version += 1;
        let rv = self.resource_version.to_string();
        object["kind"] = json!("Secret");
        object["apiVersion"] = json!("v1");
        let metadata = object["metadata"].as_object_mut().expect("metadata");
        metadata.insert("namespace".into(), json!(namespace));
        metadata.insert("resourceVersion".into(), json!(rv));
        metadata.entry("uid").or_insert_with(|| json!(format!("00000000-0000-0000-0000-{:012}", rv)));
        metadata.entry("creationTimestamp").or_insert_with(|| json!("2026-01-01T00:00:00Z"));
        if object.get("type").is_none_or(Value::is_null) {
            object["type"] = json!("Opaque");
        }
        object
    }
}

fn is_dns_subdomain(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|l| {
            !l.is_empty()
                && l.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && l.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

fn is_data_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// Whether `labels` match the equality-based `selector` (`k=v`, `k==v`, `k!=v`, `k`, `!k`);
/// `Err` for a selector the server cannot parse.
fn selector_matches(selector: &str, labels: &Map<String, Value>) -> Result<bool, String> {
    let get = |k: &str| labels.get(k).and_then(Value::as_str);
    let mut all = true;
    for term in selector.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let matched = if let Some((k, v)) = term.split_once("!=") {
            get(k.trim()) != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            get(k.trim()) == Some(v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            get(k.trim()).is_none()
        } else if term.contains(' ') || term.contains('(') {
            return Err(format!("unable to parse requirement: {term}"));
        } else {
            get(term).is_some()
        };
        all &= matched;
    }
    Ok(all)
}

fn not_found(name: &str) -> ContractReply {
    status(404, "NotFound", &format!("secrets \"{name}\" not found"))
}

fn handle(store: &mut Store, request: &ContractRequest) -> ContractReply {
    let auth = request.header("authorization");
    let writer = auth == Some(format!("Bearer {TOKEN}").as_str());
    let reader = writer || auth == Some(format!("Bearer {READ_ONLY_TOKEN}").as_str());
    if !reader {
        return status(401, "Unauthorized", "Unauthorized");
    }
    let segments = request.segments();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (namespace, name) = match segments.as_slice() {
        ["api", "v1", "namespaces", ns, "secrets"] => (*ns, None),
        ["api", "v1", "namespaces", ns, "secrets", name] => (*ns, Some(*name)),
        _ => return status(404, "NotFound", "the server could not find the requested resource"),
    };
    let method = request.method.as_str();
    if method != "GET" && !writer {
        let verb = match (method, name) {
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("DELETE", _) => "delete",
            _ => "patch",
        };
        let what = name.map(|n| format!("secrets \"{n}\"")).unwrap_or_else(|| "secrets".to_owned());
        return status(
            403,
            "Forbidden",
            &format!(
                "{what} is forbidden: User \"system:serviceaccount:hush:reader\" cannot {verb} resource \"secrets\" in API group \"\" in the namespace \"{namespace}\""
            ),
        );
    }
    let key = |n: &str| (namespace.to_owned(), n.to_owned());
    match (method, name) {
        ("GET", Some(name)) => match store.secrets.get(&key(name)) {
            Some(secret) => ContractReply::json(200, secret),
            None => not_found(name),
        },
        ("GET", None) => list(store, namespace, request),
        ("POST", None) => {
            let body = match validated(request, namespace, None) {
                Ok(body) => body,
                Err(reply) => return reply,
            };
            let name = body["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            if store.secrets.contains_key(&key(&name)) {
                return status(409, "AlreadyExists", &format!("secrets \"{name}\" already exists"));
            }
            let stored = store.stamp(namespace, body);
            store.secrets.insert(key(&name), stored.clone());
            ContractReply::json(201, &stored)
        }
        ("PUT", Some(name)) => {
            let body = match validated(request, namespace, Some(name)) {
                Ok(body) => body,
                Err(reply) => return reply,
            };
            let Some(current) = store.secrets.get(&key(name)) else { return not_found(name) };
            let current_rv = current["metadata"]["resourceVersion"].as_str().unwrap_or_default();
            if let Some(rv) = body["metadata"]["resourceVersion"].as_str().filter(|rv| !rv.is_empty())
                && rv != current_rv
            {
                return status(
                    409,
                    "Conflict",
                    &format!(
                        "Operation cannot be fulfilled on secrets \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
                    ),
                );
            }
            let (uid, created) = (current["metadata"]["uid"].clone(), current["metadata"]["creationTimestamp"].clone());
            let mut body = body;
            body["metadata"]["uid"] = uid;
            body["metadata"]["creationTimestamp"] = created;
            let stored = store.stamp(namespace, body);
            store.secrets.insert(key(name), stored.clone());
            ContractReply::json(200, &stored)
        }
        ("DELETE", Some(name)) => match store.secrets.remove(&key(name)) {
            Some(secret) => ContractReply::json(
                200,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                        "details": {"name": name, "kind": "secrets", "uid": secret["metadata"]["uid"]}}),
            ),
            None => not_found(name),
        },
        _ => status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"),
    }
}

/// The request's Secret, checked and with `stringData` merged into `data`; or the error reply.
fn validated(request: &ContractRequest, namespace: &str, path_name: Option<&str>) -> Result<Value, ContractReply> {
    let mut body = request.json();
    if body.get("kind").and_then(Value::as_str).is_some_and(|k| k != "Secret") || !body.is_object() {
        return Err(status(400, "BadRequest", "the body of the request was in an unknown format"));
    }
    let name = body.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_owned();
    if let Some(path_name) = path_name
        && name != path_name
    {
        return Err(status(400, "BadRequest", "the name of the object does not match the name on the URL"));
    }
    if body.pointer("/metadata/namespace").and_then(Value::as_str).is_some_and(|ns| ns != namespace) {
        return Err(status(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if !is_dns_subdomain(&name) {
        return Err(status(
            422,
            "Invalid",
            &format!(
                "Secret \"{name}\" is invalid: metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"
            ),
        ));
    }
    let mut data = body.get("data").and_then(Value::as_object).cloned().unwrap_or_default();
    for (k, v) in &data {
        if v.as_str().is_none_or(|t| BASE64.decode(t).is_err()) {
            return Err(status(400, "BadRequest", &format!("illegal base64 data in data key {k:?}")));
        }
    }
    if let Some(string_data) = body.get("stringData").and_then(Value::as_object) {
        for (k, v) in string_data {
            data.insert(k.clone(), json!(BASE64.encode(v.as_str().unwrap_or_default())));
        }
    }
    if let Some(bad) = data.keys().find(|k| !is_data_key(k)) {
        return Err(status(
            422,
            "Invalid",
            &format!(
                "Secret \"{name}\" is invalid: data[{bad}]: Invalid value: \"{bad}\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
            ),
        ));
    }
    let object = body.as_object_mut().expect("an object");
    object.remove("stringData");
    object.insert("data".into(), Value::Object(data));
    Ok(body)
}

fn list(store: &Store, namespace: &str, request: &ContractRequest) -> ContractReply {
    let selector = request.query("labelSelector").unwrap_or_default();
    let limit = request.query("limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0);
    // The continue token: base64 of the last name returned.
    let after = match request.query("continue").filter(|c| !c.is_empty()) {
        Some(token) => match BASE64.decode(token).ok().and_then(|b| String::from_utf8(b).ok()) {
            Some(after) => Some(after),
            None => return status(400, "BadRequest", "continue key is not valid: illegal base64 data"),
        },
        None => None,
    };
    let mut items = Vec::new();
    for ((ns, name), secret) in &store.secrets {
        if ns != namespace || after.as_ref().is_some_and(|a| name <= a) {
            continue;
        }
        let labels = secret.pointer("/metadata/labels").and_then(Value::as_object).cloned().unwrap_or_default();
        match selector_matches(selector, &labels) {
            Ok(true) => items.push(secret.clone()),
            Ok(false) => {}
            Err(message) => return status(400, "BadRequest", &message),
        }
    }
    let mut metadata = json!({"resourceVersion": store.resource_version.to_string()});
    if let Some(limit) = limit
        && items.len() > limit
    {
        items.truncate(limit);
        let last = items.last().and_then(|s| s.pointer("/metadata/name")).and_then(Value::as_str).unwrap_or_default();
        metadata["continue"] = json!(BASE64.encode(last));
        metadata["remainingItemCount"] = json!(0);
    }
    ContractReply::json(200, &json!({"kind": "SecretList", "apiVersion": "v1", "metadata": metadata, "items": items}))
}
