//! A Key Vault contract server: an in-test HTTPS server answering as Microsoft's Key Vault
//! REST reference (secrets, API 7.4/7.5) and Entra ID's token endpoint document.
//!
//! What it checks and serves, as the real services do:
//! - `api-version` on every vault request (7.4, 7.5 or 7.6; others are 400 `BadParameter`);
//! - the bearer challenge: a vault request without a valid token is 401 with
//!   `WWW-Authenticate: Bearer authorization="<authority>/<tenant>", resource="https://vault.azure.net"`;
//! - the token exchange at `POST <authority>/<tenant>/oauth2/v2.0/token` (client credentials
//!   with a client secret or a client assertion; scope `https://vault.azure.net/.default`),
//!   and the tenant's OpenID configuration that MSAL reads first;
//! - `PUT/GET /secrets/{name}[/{version}]`, `GET /secrets` and `/secrets/{name}/versions`
//!   with `maxresults` and `nextLink` paging (small pages), tags, `contentType`, versions
//!   (32 hex digits), case-insensitive names;
//! - soft delete: `DELETE /secrets/{name}` moves a secret to `/deletedsecrets/{name}`,
//!   `POST /deletedsecrets/{name}/recover`, `DELETE /deletedsecrets/{name}` (purge), and a
//!   `PUT` onto a soft-deleted name is 409 `Conflict` (`ObjectIsDeletedButRecoverable`);
//! - error bodies `{"error":{"code","message","innererror"}}`: 404 `SecretNotFound`, 403
//!   `Forbidden` naming the missing permission, 429 `Throttled` with `Retry-After`.
//!
//! It is checked against Microsoft's own Python client in `tests/official_client.rs`.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const CLIENT_ID: &str = "hush-test-client";
pub const CLIENT_SECRET: &str = "hush-test-secret";
pub const ASSERTION: &str = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJodXNoIn0.";
const RESOURCE: &str = "https://vault.azure.net";
const MAX_VALUE: usize = 25 * 1024;

/// The test CA's certificate file (trusted by the tests).
pub fn ca_file() -> PathBuf {
    hush_backend_behavior::contract_server::test_ca_file()
}

#[derive(Debug, Clone)]
struct Version {
    id: String,
    value: String,
    content_type: Option<String>,
    tags: BTreeMap<String, String>,
    created: u64,
    enabled: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    /// The name as first written (Key Vault keeps it; lookups ignore case).
    name: String,
    versions: Vec<Version>,
}

#[derive(Debug, Clone)]
struct Deleted {
    entry: Entry,
    deleted: u64,
}

/// An answer given instead of the real one to the next vault request whose method and
/// path match.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: Method,
    pub path_contains: String,
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<u32>,
    pub delay: Duration,
}

/// One request the stub saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub authorized: bool,
}

#[derive(Default)]
struct State {
    secrets: BTreeMap<String, Entry>,
    deleted: BTreeMap<String, Deleted>,
    tokens: HashSet<String>,
    counter: u64,
    faults: VecDeque<Fault>,
    denied: HashSet<&'static str>,
    seen: Vec<Seen>,
    token_requests: Vec<HashMap<String, String>>,
    page_size: usize,
    deleting: bool,
}

/// A running contract server; stops when dropped.
pub struct KeyVaultStub {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for KeyVaultStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn install_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

impl KeyVaultStub {
    /// Starts a stub on a free loopback port serving pages of `page_size` secrets.
    pub async fn start(page_size: usize) -> KeyVaultStub {
        install_provider();
        // The test certificate of hush-backend-behavior's contract servers, beside its CA.
        let ca_file = hush_backend_behavior::contract_server::test_ca_file();
        let dir = ca_file.parent().expect("the fixtures directory");
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
            .expect("server.pem")
            .collect::<Result<_, _>>()
            .expect("server.pem certificates");
        let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).expect("server.key");
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State { page_size, ..State::default() }));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                let acceptor = acceptor.clone();
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(handle(state, addr, request).await) }
                    });
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
                });
            }
        });
        KeyVaultStub { addr, state, task }
    }

    /// `https://127.0.0.1:<port>`: the vault URI and the authority host.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    pub fn push_fault(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push_back(fault);
    }

    /// Refuse `permission` (`get`, `list`, `set`, `delete`, `recover`, `purge`) with 403.
    pub fn deny(&self, permission: &'static str) {
        self.state.lock().unwrap().denied.insert(permission);
    }

    /// While `on`, Key Vault is still deleting every soft-deleted secret: recovering or
    /// purging one is 409 `ObjectIsBeingDeleted`.
    pub fn deletion_in_progress(&self, on: bool) {
        self.state.lock().unwrap().deleting = on;
    }

    pub fn allow_all(&self) {
        self.state.lock().unwrap().denied.clear();
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.state.lock().unwrap().token_requests.clone()
    }

    /// Names of the secrets in the vault (not deleted).
    pub fn names(&self) -> Vec<String> {
        self.state.lock().unwrap().secrets.values().map(|e| e.name.clone()).collect()
    }

    /// Names of the soft-deleted secrets.
    pub fn deleted_names(&self) -> Vec<String> {
        self.state.lock().unwrap().deleted.values().map(|d| d.entry.name.clone()).collect()
    }

    /// The tags of the latest version of `name`.
    pub fn tags_of(&self, name: &str) -> Option<BTreeMap<String, String>> {
        let state = self.state.lock().unwrap();
        state.secrets.get(&name.to_ascii_lowercase()).and_then(|e| e.versions.last()).map(|v| v.tags.clone())
    }

    /// The stored value and content type of the latest version of `name`.
    pub fn stored(&self, name: &str) -> Option<(String, Option<String>)> {
        let state = self.state.lock().unwrap();
        state
            .secrets
            .get(&name.to_ascii_lowercase())
            .and_then(|e| e.versions.last())
            .map(|v| (v.value.clone(), v.content_type.clone()))
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert("content-type", "application/json; charset=utf-8".parse().unwrap());
    response.headers_mut().insert("x-ms-keyvault-service-version", "1.9.1.0".parse().unwrap());
    response
}

fn error(status: u16, code: &str, message: String, inner: Option<&str>) -> Response<Full<Bytes>> {
    let mut detail = json!({ "code": code, "message": message });
    if let Some(inner) = inner {
        detail["innererror"] = json!({ "code": inner });
    }
    reply(status, json!({ "error": detail }))
}

fn not_found(name: &str) -> Response<Full<Bytes>> {
    error(
        404,
        "SecretNotFound",
        format!(
            "A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you \
             may be able to recover it using the correct recovery command. For help resolving this issue, please see \
             https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
        None,
    )
}

fn parse_query(query: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

async fn handle(state: Arc<Mutex<State>>, addr: SocketAddr, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let base = format!("https://127.0.0.1:{}", addr.port());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let auth = request.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return error(400, "BadParameter", "unreadable body".to_owned(), None),
    };

    // Entra ID: the tenant's OpenID configuration and token endpoint.
    let openid = format!("/{TENANT}/v2.0/.well-known/openid-configuration");
    if method == Method::GET && path == openid {
        return reply(
            200,
            json!({
                "token_endpoint": format!("{base}/{TENANT}/oauth2/v2.0/token"),
                "authorization_endpoint": format!("{base}/{TENANT}/oauth2/v2.0/authorize"),
                "device_authorization_endpoint": format!("{base}/{TENANT}/oauth2/v2.0/devicecode"),
                "issuer": format!("{base}/{TENANT}/v2.0"),
                "jwks_uri": format!("{base}/{TENANT}/discovery/v2.0/keys"),
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            }),
        );
    }
    if path.ends_with("/oauth2/v2.0/token") {
        return token(&state, &path, &body);
    }

    let authorized = auth
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|t| state.lock().unwrap().tokens.contains(t));
    state.lock().unwrap().seen.push(Seen {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        authorized,
    });
    let params = parse_query(&query);
    match params.get("api-version").map(String::as_str) {
        Some("7.4" | "7.5" | "7.6") => {}
        Some(other) => {
            return error(
                400,
                "BadParameter",
                format!(
                    "The specified version ({other}) is not recognized. Consider using the latest supported version (7.5)."
                ),
                None,
            );
        }
        None => return error(400, "BadParameter", "api-version is missing".to_owned(), None),
    }
    if !authorized {
        let mut response =
            error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.".to_owned(), None);
        let challenge = format!("Bearer authorization=\"{base}/{TENANT}\", resource=\"{RESOURCE}\"");
        response.headers_mut().insert("www-authenticate", challenge.parse().unwrap());
        return response;
    }

    let fault = {
        let mut s = state.lock().unwrap();
        let at = s.faults.iter().position(|f| f.method == method && path.contains(&f.path_contains));
        at.and_then(|i| s.faults.remove(i))
    };
    if let Some(fault) = fault {
        tokio::time::sleep(fault.delay).await;
        let mut response = reply(fault.status, fault.body);
        if let Some(seconds) = fault.retry_after {
            response.headers_mut().insert("retry-after", seconds.to_string().parse().unwrap());
        }
        return response;
    }

    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut s = state.lock().unwrap();
    let route = match (&method, parts.as_slice()) {
        (&Method::GET, ["secrets"]) => ("list", None),
        (&Method::GET, ["secrets", name, "versions"]) => ("list", Some(*name)),
        (&Method::GET, ["secrets", name] | ["secrets", name, ""]) => ("get", Some(*name)),
        (&Method::GET, ["secrets", name, _version]) => ("get", Some(*name)),
        (&Method::PUT, ["secrets", name]) => ("set", Some(*name)),
        (&Method::DELETE, ["secrets", name]) => ("delete", Some(*name)),
        (&Method::GET, ["deletedsecrets"]) => ("list", None),
        (&Method::GET, ["deletedsecrets", name]) => ("get", Some(*name)),
        (&Method::POST, ["deletedsecrets", name, "recover"]) => ("recover", Some(*name)),
        (&Method::DELETE, ["deletedsecrets", name]) => ("purge", Some(*name)),
        _ => return error(400, "BadParameter", format!("unknown route {method} {path}"), None),
    };
    if s.denied.contains(route.0) {
        return error(
            403,
            "Forbidden",
            format!(
                "The user, group or application 'appid={CLIENT_ID};oid=0f9d1a2e-0000-0000-0000-000000000000;iss=https://sts.windows.net/{TENANT}/' \
                 does not have secrets {} permission on key vault 'hush-stub;location=westeurope'. For help resolving \
                 this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
                route.0
            ),
            Some("AccessDenied"),
        );
    }
    let page_size = |params: &HashMap<String, String>, default: usize| -> Result<usize, String> {
        match params.get("maxresults") {
            None => Ok(default),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=25).contains(&n) => Ok(n.min(default)),
                _ => Err(format!("Invalid maxresults {text}: must be 1 to 25")),
            },
        }
    };
    let api = params.get("api-version").cloned().unwrap_or_default();
    match (&method, parts.as_slice()) {
        (&Method::GET, ["secrets"]) => {
            let size = match page_size(&params, s.page_size) {
                Ok(n) => n,
                Err(message) => return error(400, "BadParameter", message, None),
            };
            let items: Vec<Value> =
                s.secrets.values().filter_map(|e| e.versions.last().map(|v| item(&base, &e.name, v, false))).collect();
            page(&base, "/secrets", &api, items, &params, size)
        }
        (&Method::GET, ["secrets", name, "versions"]) => {
            let size = match page_size(&params, s.page_size) {
                Ok(n) => n,
                Err(message) => return error(400, "BadParameter", message, None),
            };
            let Some(entry) = s.secrets.get(&name.to_ascii_lowercase()) else { return not_found(name) };
            let items: Vec<Value> = entry.versions.iter().map(|v| item(&base, &entry.name, v, true)).collect();
            page(&base, &format!("/secrets/{}/versions", entry.name), &api, items, &params, size)
        }
        (&Method::GET, ["secrets", name] | ["secrets", name, ""]) => {
            match s.secrets.get(&name.to_ascii_lowercase()).and_then(|e| e.versions.last().map(|v| (e, v))) {
                Some((_, v)) if !v.enabled => disabled(),
                Some((e, v)) => reply(200, bundle(&base, &e.name, v, true)),
                None => not_found(name),
            }
        }
        (&Method::GET, ["secrets", name, version]) => {
            let found = s
                .secrets
                .get(&name.to_ascii_lowercase())
                .and_then(|e| e.versions.iter().find(|v| v.id == *version).map(|v| (e, v)));
            match found {
                Some((_, v)) if !v.enabled => disabled(),
                Some((e, v)) => reply(200, bundle(&base, &e.name, v, true)),
                None => not_found(&format!("{name}/{version}")),
            }
        }
        (&Method::PUT, ["secrets", name]) => {
            let valid =
                !name.is_empty() && name.len() <= 127 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !valid {
                return error(
                    400,
                    "BadParameter",
                    "The request URI contains an invalid name: ".to_owned() + name,
                    None,
                );
            }
            let key = name.to_ascii_lowercase();
            if s.deleted.contains_key(&key) {
                return error(
                    409,
                    "Conflict",
                    format!(
                        "Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; \
                         in this state, the secret can only be recovered or purged."
                    ),
                    Some("ObjectIsDeletedButRecoverable"),
                );
            }
            let Ok(parameters) = serde_json::from_slice::<Value>(&body) else {
                return error(400, "BadParameter", "The request body is not valid JSON".to_owned(), None);
            };
            let Some(value) = parameters.get("value").and_then(Value::as_str) else {
                return error(400, "BadParameter", "Property 'value' is required".to_owned(), None);
            };
            if value.len() > MAX_VALUE {
                return error(
                    400,
                    "BadParameter",
                    format!("Secret value exceeds the maximum size of {MAX_VALUE} bytes"),
                    None,
                );
            }
            let tags: BTreeMap<String, String> = parameters
                .get("tags")
                .and_then(Value::as_object)
                .map(|t| t.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect())
                .unwrap_or_default();
            if tags.len() > 15 {
                return error(400, "BadParameter", "A maximum of 15 tags are allowed".to_owned(), None);
            }
            s.counter += 1;
            let version = Version {
                id: format!("{:032x}", s.counter * 0x9E37_79B9 + 0x1000),
                value: value.to_owned(),
                content_type: parameters.get("contentType").and_then(Value::as_str).map(str::to_owned),
                tags,
                created: now(),
                enabled: true,
            };
            let entry =
                s.secrets.entry(key).or_insert_with(|| Entry { name: (*name).to_owned(), versions: Vec::new() });
            entry.versions.push(version.clone());
            let name = entry.name.clone();
            reply(200, bundle(&base, &name, &version, true))
        }
        (&Method::DELETE, ["secrets", name]) => {
            let Some(entry) = s.secrets.remove(&name.to_ascii_lowercase()) else { return not_found(name) };
            let deleted = Deleted { entry, deleted: now() };
            let answer = deleted_bundle(&base, &deleted);
            s.deleted.insert(name.to_ascii_lowercase(), deleted);
            reply(200, answer)
        }
        (&Method::GET, ["deletedsecrets"]) => {
            let size = match page_size(&params, s.page_size) {
                Ok(n) => n,
                Err(message) => return error(400, "BadParameter", message, None),
            };
            let items: Vec<Value> = s.deleted.values().map(|d| deleted_bundle(&base, d)).collect();
            page(&base, "/deletedsecrets", &api, items, &params, size)
        }
        (&Method::GET, ["deletedsecrets", name]) => match s.deleted.get(&name.to_ascii_lowercase()) {
            Some(d) => reply(200, deleted_bundle(&base, d)),
            None => error(404, "SecretNotFound", format!("Deleted Secret not found: {name}"), None),
        },
        (&Method::POST | &Method::DELETE, ["deletedsecrets", name, ..]) if s.deleting => {
            error(409, "ObjectIsBeingDeleted", format!("Secret {name} is currently being deleted."), None)
        }
        (&Method::POST, ["deletedsecrets", name, "recover"]) => match s.deleted.remove(&name.to_ascii_lowercase()) {
            Some(d) => {
                let answer = d.entry.versions.last().map(|v| bundle(&base, &d.entry.name, v, false));
                s.secrets.insert(name.to_ascii_lowercase(), d.entry);
                reply(200, answer.unwrap_or(Value::Null))
            }
            None => error(404, "SecretNotFound", format!("Deleted Secret not found: {name}"), None),
        },
        (&Method::DELETE, ["deletedsecrets", name]) => match s.deleted.remove(&name.to_ascii_lowercase()) {
            Some(_) => {
                let mut response = Response::new(Full::new(Bytes::new()));
                *response.status_mut() = StatusCode::NO_CONTENT;
                response
            }
            None => error(404, "SecretNotFound", format!("Deleted Secret not found: {name}"), None),
        },
        _ => error(400, "BadParameter", format!("unknown route {method} {path}"), None),
    }
}

fn disabled() -> Response<Full<Bytes>> {
    error(403, "Forbidden", "Operation get is not allowed on a disabled secret.".to_owned(), Some("SecretDisabled"))
}

fn attributes(v: &Version) -> Value {
    json!({
        "enabled": v.enabled,
        "created": v.created,
        "updated": v.created,
        "recoveryLevel": "Recoverable+Purgeable",
        "recoverableDays": 90,
    })
}

/// A SecretBundle.
fn bundle(base: &str, name: &str, v: &Version, with_value: bool) -> Value {
    let mut answer = json!({
        "id": format!("{base}/secrets/{name}/{}", v.id),
        "attributes": attributes(v),
        "tags": v.tags,
    });
    if with_value {
        answer["value"] = json!(v.value);
    }
    if let Some(content_type) = &v.content_type {
        answer["contentType"] = json!(content_type);
    }
    answer
}

/// A SecretItem of a list: the id has a version only when listing versions.
fn item(base: &str, name: &str, v: &Version, with_version: bool) -> Value {
    let id = if with_version { format!("{base}/secrets/{name}/{}", v.id) } else { format!("{base}/secrets/{name}") };
    let mut answer = json!({ "id": id, "attributes": attributes(v), "tags": v.tags });
    if let Some(content_type) = &v.content_type {
        answer["contentType"] = json!(content_type);
    }
    answer
}

fn deleted_bundle(base: &str, d: &Deleted) -> Value {
    let name = &d.entry.name;
    let mut answer = match d.entry.versions.last() {
        Some(v) => bundle(base, name, v, false),
        None => json!({}),
    };
    answer["recoveryId"] = json!(format!("{base}/deletedsecrets/{name}"));
    answer["deletedDate"] = json!(d.deleted);
    answer["scheduledPurgeDate"] = json!(d.deleted + 90 * 86_400);
    answer
}

/// One page of `items`, from `$skiptoken` (an offset here; opaque to clients), with a
/// `nextLink` carrying `api-version`, `maxresults` and the next `$skiptoken`.
fn page(
    base: &str,
    path: &str,
    api: &str,
    items: Vec<Value>,
    params: &HashMap<String, String>,
    size: usize,
) -> Response<Full<Bytes>> {
    let start: usize = params.get("$skiptoken").and_then(|t| t.parse().ok()).unwrap_or(0);
    let end = (start + size).min(items.len());
    let value: Vec<Value> = items.get(start..end).map(<[Value]>::to_vec).unwrap_or_default();
    let next = if end < items.len() {
        Value::String(format!("{base}{path}?api-version={api}&$skiptoken={end}&maxresults={size}"))
    } else {
        Value::Null
    };
    reply(200, json!({ "value": value, "nextLink": next }))
}

fn token(state: &Arc<Mutex<State>>, path: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    state.lock().unwrap().token_requests.push(form.clone());
    let aad = |status: u16, code: &str, description: &str| {
        reply(
            status,
            json!({ "error": code, "error_description": description, "error_codes": [7000215], "timestamp": "2026-11-23 12:00:00Z" }),
        )
    };
    if path != format!("/{TENANT}/oauth2/v2.0/token") {
        return aad(400, "invalid_request", "AADSTS90002: Tenant not found.");
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return aad(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
    }
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return aad(400, "unauthorized_client", "AADSTS700016: Application not found in the directory.");
    }
    let secret_ok = form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
    let assertion_ok = form.get("client_assertion_type").map(String::as_str)
        == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        && form.get("client_assertion").map(String::as_str) == Some(ASSERTION);
    if !secret_ok && !assertion_ok {
        return aad(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
    }
    let scope_ok = form.get("scope").is_some_and(|s| s.split(' ').any(|s| s == format!("{RESOURCE}/.default")));
    if !scope_ok {
        return aad(
            400,
            "invalid_scope",
            "AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
        );
    }
    let mut s = state.lock().unwrap();
    s.counter += 1;
    let access_token = format!("stub-token-{}", s.counter);
    s.tokens.insert(access_token.clone());
    reply(
        200,
        json!({ "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": access_token }),
    )
}
