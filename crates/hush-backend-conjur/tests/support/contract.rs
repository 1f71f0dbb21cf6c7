//! A Conjur contract server, written from the official Python client (`cyberark/conjur-api-python`,
//! PyPI `conjur-api`: `http/endpoints.py`, `http/api.py`, `wrappers/http_wrapper.py`,
//! `providers/authn_authentication_strategy.py`, `providers/jwt_authentication_strategy.py`,
//! `utils/util_functions.py`) and Conjur's API reference: exactly the calls hush and the
//! client's `get`, `get_many`, `set`, `list` and authentication use:
//!
//! - `POST /authn/{account}/{login}/authenticate`, body the API key → an access token: JSON
//!   `{"protected", "payload", "signature"}` (the payload's `exp` 8 minutes on), or its base64
//!   text when asked with `Accept-Encoding: base64`; 401 with no body otherwise;
//! - `POST /authn-jwt/{service_id}/{account}[/{host}]/authenticate`, form body `jwt=...` → the
//!   same; 401 for an unknown JWT or service;
//! - every other call needs `Authorization: Token token="<base64 token>"` of a token it issued
//!   and did not expire (401 otherwise);
//! - `GET /secrets/{account}/variable/{id}[?version=N]` → the value's bytes
//!   (`application/octet-stream`); 404 for an undeclared variable, one without a value, or a
//!   missing version; 403 without `execute`;
//! - `POST /secrets/{account}/variable/{id}`, body the value → 201; 404 for an undeclared
//!   variable, 403 without `update`, 422 for an empty value;
//! - `GET /secrets?variable_ids=<account>:variable:<id>,...` → `{"<account>:variable:<id>":
//!   value}`; with `Accept: base64` the values base64-encoded and `Content-Encoding: base64`;
//!   404 when one of them has no value;
//! - `GET /resources/{account}?kind=variable[&search=][&limit=][&offset=]` → the resources
//!   sorted by id (`{"id", "owner", "policy", "permissions", "annotations", "secrets":
//!   [{"version"}], "created_at"}`), at most 1000 (`limit` above it is 422). `search` is kept
//!   simple here: a case-insensitive substring of the id (Conjur's is a full-text search).
//!
//! Ids in paths are percent-encoded (`hush%2Facme%2F...`, as the Python client sends them) or
//! not. Errors are `{"error": {"code", "message"}}`. The HTTP side (port, thread, faults,
//! request log) is hush-backend-behavior's `ContractServer`; this file is Conjur's behaviour.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hush_backend_behavior::contract_server::{ContractReply, ContractRequest, ContractServer, HttpFault, form_pairs};
use serde_json::{Value, json};

/// The account every test uses.
pub const ACCOUNT: &str = "myorg";
/// The host hush authenticates as: read, execute and update on every variable.
pub const LOGIN: &str = "host/hush-resolver";
/// Its API key.
pub const API_KEY: &str = "3x7jd0SECRETAPIKEY1q2w3e";
/// A host with read and execute, no update.
pub const READER_LOGIN: &str = "host/reader";
/// Its API key.
pub const READER_API_KEY: &str = "2b9fk1READERSECRETKEY";
/// The authn-jwt service the server has enabled.
pub const JWT_SERVICE: &str = "k8s";
/// The JWT that service accepts (it names `LOGIN`).
pub const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJoYXNoLXJlc29sdmVyIn0.SECRETSIGNATURE";
/// Conjur's largest page of resources.
pub const MAX_LIMIT: usize = 1000;

/// Scripted failures with Conjur's error body.
pub struct Fault;

impl Fault {
    /// Requests with `method` whose path and query contain `path_contains` get `status` and
    /// `{"error": {"message": message}}` at once.
    pub fn status(method: &str, path_contains: &str, status: u16, message: &str) -> HttpFault {
        HttpFault::reply(method, path_contains, error(status, "error", message))
    }

    /// Such requests get nothing for `delay`.
    pub fn silent(method: &str, path_contains: &str, delay: Duration) -> HttpFault {
        HttpFault::silent(method, path_contains, delay)
    }
}

/// What the server holds.
#[derive(Default)]
struct State {
    /// Variable id → its values, oldest first (declared when present, even empty).
    variables: BTreeMap<String, Vec<Vec<u8>>>,
    /// Issued access tokens (their base64 text) → the login.
    tokens: BTreeMap<String, String>,
    /// Tokens issued so far, for unique ones.
    issued: u64,
    /// Of them, those asked for with `Accept-Encoding: base64`.
    issued_base64: usize,
}

/// The running contract server.
pub struct Contract {
    /// `http://127.0.0.1:PORT`: hush's `address` and the Python client's `conjur_url`.
    pub address: String,
    state: Arc<Mutex<State>>,
    server: ContractServer,
}

impl Contract {
    /// Starts a server on a free loopback port.
    pub fn start() -> Contract {
        super::install_tls_provider();
        let state = Arc::new(Mutex::new(State::default()));
        let served = Arc::clone(&state);
        let server = ContractServer::start(move |request| handle(&mut served.lock().unwrap(), &request));
        Contract { address: server.url.clone(), state, server }
    }

    /// Declares variable `id` (as loading a policy would), without a value.
    pub fn declare(&self, id: &str) {
        self.state.lock().unwrap().variables.entry(id.to_owned()).or_default();
    }

    /// Declares variable `id` and adds `value` as its newest version.
    pub fn set(&self, id: &str, value: &[u8]) {
        self.state.lock().unwrap().variables.entry(id.to_owned()).or_default().push(value.to_vec());
    }

    /// Every value of variable `id`, oldest first; `None` when it is not declared.
    pub fn values(&self, id: &str) -> Option<Vec<Vec<u8>>> {
        self.state.lock().unwrap().variables.get(id).cloned()
    }

    /// How many access tokens were asked for with `Accept-Encoding: base64` (and answered as
    /// base64 text).
    pub fn base64_authentications(&self) -> usize {
        self.state.lock().unwrap().issued_base64
    }

    /// The access tokens issued and not expired, as base64 text.
    pub fn tokens(&self) -> Vec<String> {
        self.state.lock().unwrap().tokens.keys().cloned().collect()
    }

    /// Forgets every access token issued (as if they expired): the next request gets 401.
    pub fn expire_tokens(&self) {
        self.state.lock().unwrap().tokens.clear();
    }

    /// Adds a fault.
    pub fn fail(&self, fault: HttpFault) {
        self.server.fail(fault);
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.server.heal();
    }

    /// Every request so far, as `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.server.requests()
    }

    /// How many requests so far start with `prefix` (`"POST /authn/"`).
    pub fn count(&self, prefix: &str) -> usize {
        self.server.count(prefix)
    }
}

fn error(status: u16, code: &str, message: &str) -> ContractReply {
    ContractReply::json(status, &json!({"error": {"code": code, "message": message}}))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// Issues a token for `login`: JSON, or its base64 text when the client asked for it.
fn issue(state: &mut State, login: &str, request: &ContractRequest) -> ContractReply {
    state.issued += 1;
    let encode = |v: &Value| STANDARD.encode(v.to_string());
    let iat = now();
    let token = json!({
        "protected": encode(&json!({"alg": "conjur.org/slosilo/v2", "kid": "contract"})),
        "payload": encode(&json!({"sub": login, "iat": iat, "exp": iat + 8 * 60, "jti": state.issued})),
        "signature": STANDARD.encode(format!("signature-{}", state.issued)),
    })
    .to_string();
    let base64 = STANDARD.encode(&token);
    state.tokens.insert(base64.clone(), login.to_owned());
    if request.header("accept-encoding").is_some_and(|e| e.eq_ignore_ascii_case("base64")) {
        state.issued_base64 += 1;
        ContractReply::text(200, base64)
    } else {
        ContractReply {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: token.into_bytes(),
        }
    }
}

/// The login of the request's token, or `None` when it carries no token the server issued.
fn caller(state: &State, request: &ContractRequest) -> Option<String> {
    let header = request.header("authorization")?;
    let token = header.strip_prefix("Token token=\"")?.strip_suffix('"')?;
    state.tokens.get(token).cloned()
}

/// The variable id of `/secrets/{account}/variable/{id...}`'s segments after `variable`.
fn joined(segments: &[String]) -> String {
    segments.join("/")
}

fn resource(id: &str, values: &[Vec<u8>]) -> Value {
    json!({
        "created_at": "2026-01-01T00:00:00.000+00:00",
        "id": format!("{ACCOUNT}:variable:{id}"),
        "owner": format!("{ACCOUNT}:policy:hush"),
        "policy": format!("{ACCOUNT}:policy:root"),
        "permissions": [],
        "annotations": [],
        "secrets": (1..=values.len()).map(|v| json!({"version": v, "expires_at": null})).collect::<Vec<_>>(),
    })
}

fn handle(state: &mut State, request: &ContractRequest) -> ContractReply {
    let segments = request.segments();
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = request.method.as_str();
    // Authentication.
    match (method, parts.as_slice()) {
        ("POST", ["authn", account, login, "authenticate"]) => {
            let key = String::from_utf8_lossy(&request.body).trim().to_owned();
            let known = (*login == LOGIN && key == API_KEY) || (*login == READER_LOGIN && key == READER_API_KEY);
            if *account != ACCOUNT || !known {
                return ContractReply::empty(401);
            }
            return issue(state, login, request);
        }
        ("POST", ["authn-jwt", service, account, rest @ ..]) if rest.last() == Some(&"authenticate") => {
            let host = match rest {
                ["authenticate"] => LOGIN.to_owned(),
                [host, "authenticate"] => (*host).to_owned(),
                _ => return error(404, "not_found", "no such route"),
            };
            let jwt = form_pairs(&request.body).get("jwt").cloned().unwrap_or_default();
            if *service != JWT_SERVICE || *account != ACCOUNT || jwt != JWT || host != LOGIN {
                return ContractReply::empty(401);
            }
            return issue(state, &host, request);
        }
        _ => {}
    }
    let Some(login) = caller(state, request) else {
        return ContractReply::text(401, "Unauthorized");
    };
    match (method, parts.as_slice()) {
        ("GET", ["secrets", account, "variable", id @ ..]) if *account == ACCOUNT && !id.is_empty() => {
            let id = joined(&segments[3..]);
            let Some(values) = state.variables.get(&id) else {
                return error(
                    404,
                    "not_found",
                    &format!("Variable '{ACCOUNT}:variable:{id}' not found in account '{ACCOUNT}'"),
                );
            };
            let version = match request.query("version") {
                None => values.len(),
                Some(v) => match v.parse::<usize>() {
                    Ok(v) if (1..=values.len()).contains(&v) => v,
                    _ => return error(404, "not_found", "Requested version does not exist"),
                },
            };
            if version == 0 {
                return error(404, "not_found", &format!("Variable {ACCOUNT}:variable:{id} is empty or not found."));
            }
            ContractReply {
                status: 200,
                headers: vec![("content-type".into(), "application/octet-stream".into())],
                body: values[version - 1].clone(),
            }
        }
        ("POST", ["secrets", account, "variable", id @ ..]) if *account == ACCOUNT && !id.is_empty() => {
            let id = joined(&segments[3..]);
            let Some(values) = state.variables.get_mut(&id) else {
                let message = format!("Variable '{ACCOUNT}:variable:{id}' not found in account '{ACCOUNT}'");
                return error(404, "not_found", &message);
            };
            if login != LOGIN {
                return error(403, "forbidden", "Forbidden");
            }
            if request.body.is_empty() {
                return error(422, "argument_error", "'value' may not be empty");
            }
            values.push(request.body.to_vec());
            ContractReply::empty(201)
        }
        ("GET", ["secrets"]) => {
            let Some(list) = request.query("variable_ids") else {
                return error(422, "argument_error", "variable_ids is required");
            };
            let base64 = request.header("accept").is_some_and(|a| a.eq_ignore_ascii_case("base64"));
            let mut answer = serde_json::Map::new();
            for qualified in list.split(',') {
                let id = qualified.strip_prefix(&format!("{ACCOUNT}:variable:")).unwrap_or("");
                let Some(value) = state.variables.get(id).and_then(|v| v.last()) else {
                    return error(404, "not_found", &format!("Variable {qualified} is empty or not found."));
                };
                let text = if base64 {
                    STANDARD.encode(value)
                } else {
                    match String::from_utf8(value.clone()) {
                        Ok(text) => text,
                        Err(_) => {
                            return error(
                                406,
                                "not_acceptable",
                                "Issue encoding secret into JSON format, try including 'Accept: base64' header.",
                            );
                        }
                    }
                };
                answer.insert(qualified.to_owned(), Value::String(text));
            }
            let reply = ContractReply::json(200, &Value::Object(answer));
            if base64 { reply.with_header("content-encoding", "base64") } else { reply }
        }
        ("GET", ["resources", account]) if *account == ACCOUNT => {
            let limit = match request.query("limit").map(str::parse::<usize>) {
                None => MAX_LIMIT,
                Some(Ok(l)) if (1..=MAX_LIMIT).contains(&l) => l,
                Some(_) => return error(422, "argument_error", &format!("'limit' must be between 1 and {MAX_LIMIT}")),
            };
            let offset = request.query("offset").and_then(|o| o.parse::<usize>().ok()).unwrap_or(0);
            let search = request.query("search").map(str::to_lowercase);
            let kinds: BTreeSet<&str> = request.query_all("kind").into_iter().collect();
            if !kinds.is_empty() && !kinds.contains("variable") {
                return ContractReply::json(200, &json!([]));
            }
            let page: Vec<Value> = state
                .variables
                .iter()
                .filter(|(id, _)| search.as_ref().is_none_or(|s| id.to_lowercase().contains(s)))
                .skip(offset)
                .take(limit)
                .map(|(id, values)| resource(id, values))
                .collect();
            ContractReply::json(200, &Value::Array(page))
        }
        _ => error(404, "not_found", "no such route"),
    }
}
