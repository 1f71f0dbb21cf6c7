//! A Delinea Secret Server contract server, written from the official Python client
//! (`DelineaXPM/python-tss-sdk`, PyPI `python-tss-sdk`, `delinea/secrets/server.py`: the read
//! path), the Go client (`DelineaXPM/tss-sdk-go`, `server/secret.go`, `server/server.go`,
//! `server/secret_template.go`: creating secrets, templates, Platform discovery) and the REST
//! reference (updating a field, deleting). Exactly the calls hush and those clients use:
//!
//! - on-premises: `GET /api/v1/healthcheck` → `Healthy` (how python-tss-sdk tells Secret
//!   Server from Platform); `POST /oauth2/token`, form `username`, `password`,
//!   `grant_type=password` (and `domain`) or `grant_type=refresh_token`, `refresh_token` →
//!   `{access_token, token_type: "bearer", expires_in, refresh_token}`; 400
//!   `{"error": "invalid_grant"}` for a wrong password or an unknown refresh token;
//! - Platform mode: `GET /health` → `Healthy` (and no `/api/v1/healthcheck`);
//!   `POST /identity/api/oauth2/token/xpmplatform`, form `client_id`, `client_secret`,
//!   `grant_type=client_credentials`, `scope=xpmheadless` → `{access_token, token_type,
//!   expires_in, scope}`; `GET /vaultbroker/api/vaults` (with the token) → `{"vaults": [{...,
//!   "isDefault", "isActive", "connection": {"url": "<server>/vault"}}]}`; the API is then under
//!   `/vault/api/v1`;
//! - every API call needs `Authorization: Bearer <token>` of a token it issued and that has not
//!   expired (401 `{"message"}` otherwise);
//! - `GET {api}/secrets?filter.searchText=&filter.folderId=&skip=&take=` → `{"skip", "take",
//!   "total", "hasNext", "records": [{id, name, folderId, secretTemplateId, siteId, active,
//!   ...}]}` of the active secrets whose name contains the text (case-insensitive, as Secret
//!   Server's search is not exact), by id; `GET {api}/secrets/search-total?...` → the count;
//! - `GET {api}/secrets/{id}` (and `/secrets/0?secretPath=\Folder\name`) → `{id, name,
//!   folderId, secretTemplateId, siteId, active, items: [{itemId, fieldId, fileAttachmentId,
//!   fieldName, slug, fieldDescription, filename, itemValue, isFile, isNotes, isPassword}],
//!   ...}`; 404 for an unknown or deleted secret; `GET {api}/secrets/{id}/fields/{slug}` → the
//!   field's value as a JSON string;
//! - `GET {api}/secret-templates/{id}` → `{id, name, fields: [{secretTemplateFieldId,
//!   fieldSlugName, displayName, name, isFile, isPassword, isRequired, ...}]}`;
//! - `POST {api}/secrets`, body `{name, secretTemplateId, folderId, siteId, items: [{fieldId,
//!   slug, itemValue}]}` → the new secret; 400 for an unknown template, folder or field;
//! - `PUT {api}/secrets/{id}/fields/{slug}`, body `{"value"}` → the value;
//! - `DELETE {api}/secrets/{id}` → `{id, objectType, responseCodes}`; the secret is
//!   deactivated (searches and reads no longer see it).
//!
//! A user with View only (`READER`) gets 403 `{"message": "Access Denied"}` on writes. Errors
//! are `{"message", "messageDetail", "errorCode"}`. The HTTP side (port, thread, faults, request
//! log) is hush-backend-behavior's `ContractServer`; this file is Delinea's behaviour.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hush_backend_behavior::contract_server::{ContractReply, ContractRequest, ContractServer, HttpFault, form_pairs};
use serde_json::{Value, json};

/// The user hush signs in as: View, Edit, Add Secret and Delete on the folder.
pub const USERNAME: &str = "svc-hush";
/// Its password (with characters a form must encode).
pub const PASSWORD: &str = "Pa55&SECRET=word+";
/// A domain user, signing in with `domain`.
pub const DOMAIN_USERNAME: &str = "svc-ad";
/// Its domain.
pub const DOMAIN: &str = "CORP";
/// Its password.
pub const DOMAIN_PASSWORD: &str = "ADSECRETpass";
/// A user with View only.
pub const READER: &str = "svc-reader";
/// Its password.
pub const READER_PASSWORD: &str = "READERSECRETpw";
/// The Platform service user's client id (Platform mode).
pub const CLIENT_ID: &str = "hush-app@acme";
/// Its client secret.
pub const CLIENT_SECRET: &str = "CLIENTSECRET-9f8e7d";
/// The folder hush uses.
pub const FOLDER_ID: u64 = 42;
/// Its name, for `secretPath`.
pub const FOLDER_NAME: &str = "Hush";
/// Another folder.
pub const OTHER_FOLDER_ID: u64 = 43;
/// hush's template: `password` (field 501) and `notes` (502).
pub const HUSH_TEMPLATE_ID: u64 = 6001;
/// Secret Server's built-in `Password` template: `resource`, `username`, `password`, `notes`.
pub const PASSWORD_TEMPLATE_ID: u64 = 2;
/// A template whose `key` field is a file attachment.
pub const FILE_TEMPLATE_ID: u64 = 6002;

/// Scripted failures with Secret Server's error body.
pub struct Fault;

impl Fault {
    /// Requests with `method` whose path and query contain `path_contains` get `status` and
    /// `{"message": message}` at once.
    pub fn status(method: &str, path_contains: &str, status: u16, message: &str) -> HttpFault {
        HttpFault::reply(method, path_contains, error(status, message))
    }

    /// Such requests get nothing for `delay`.
    pub fn silent(method: &str, path_contains: &str, delay: Duration) -> HttpFault {
        HttpFault::silent(method, path_contains, delay)
    }
}

/// One field of a stored secret.
#[derive(Debug, Clone)]
pub struct Item {
    /// The template field's id.
    pub field_id: u64,
    /// Its slug.
    pub slug: String,
    /// The value.
    pub value: String,
    /// Whether it is a password field.
    pub is_password: bool,
    /// Whether it is a file attachment.
    pub is_file: bool,
}

/// One stored secret.
#[derive(Debug, Clone)]
pub struct StoredSecret {
    /// Its name.
    pub name: String,
    /// Its folder.
    pub folder_id: u64,
    /// Its template.
    pub template_id: u64,
    /// Its site.
    pub site_id: u64,
    /// False once deleted.
    pub active: bool,
    /// Its fields, in the template's order.
    pub items: Vec<Item>,
}

impl StoredSecret {
    /// The value of field `slug`.
    pub fn field(&self, slug: &str) -> Option<&str> {
        self.items.iter().find(|i| i.slug == slug).map(|i| i.value.as_str())
    }
}

/// (field id, slug, is password, is file) of each field of `template`.
fn template_fields(template: u64) -> Option<Vec<(u64, &'static str, bool, bool)>> {
    match template {
        HUSH_TEMPLATE_ID => Some(vec![(501, "password", true, false), (502, "notes", false, false)]),
        PASSWORD_TEMPLATE_ID => Some(vec![
            (101, "resource", false, false),
            (102, "username", false, false),
            (103, "password", true, false),
            (104, "notes", false, false),
        ]),
        FILE_TEMPLATE_ID => Some(vec![(601, "password", false, true), (602, "notes", false, false)]),
        _ => None,
    }
}

fn template_name(template: u64) -> &'static str {
    match template {
        HUSH_TEMPLATE_ID => "Hush Value",
        PASSWORD_TEMPLATE_ID => "Password",
        _ => "Key File",
    }
}

/// What the server holds.
struct State {
    /// `http://127.0.0.1:PORT`.
    address: String,
    platform: bool,
    secrets: BTreeMap<u64, StoredSecret>,
    next_id: u64,
    /// Access token → (user, expiry).
    tokens: BTreeMap<String, (String, Instant)>,
    /// Refresh token → user.
    refresh_tokens: BTreeMap<String, String>,
    issued: u64,
    /// `expires_in` of new tokens.
    token_life: Duration,
    /// Whether the vault broker names a default active vault.
    has_default_vault: bool,
}

/// The running contract server.
pub struct Contract {
    /// `http://127.0.0.1:PORT`: hush's `address` and the Python client's `base_url`.
    pub address: String,
    state: Arc<Mutex<State>>,
    server: ContractServer,
}

impl Contract {
    /// Starts a Secret Server (on-premises) on a free loopback port.
    pub fn start() -> Contract {
        Self::start_as(false)
    }

    /// Starts a Delinea Platform tenant (token, vault broker, the vault under `/vault`).
    pub fn start_platform() -> Contract {
        Self::start_as(true)
    }

    fn start_as(platform: bool) -> Contract {
        super::install_tls_provider();
        let state = Arc::new(Mutex::new(State {
            address: String::new(),
            platform,
            secrets: BTreeMap::new(),
            next_id: 1,
            tokens: BTreeMap::new(),
            refresh_tokens: BTreeMap::new(),
            issued: 0,
            token_life: Duration::from_secs(1200),
            has_default_vault: true,
        }));
        let served = Arc::clone(&state);
        let server = ContractServer::start(move |request| handle(&mut served.lock().unwrap(), &request));
        state.lock().unwrap().address = server.url.clone();
        Contract { address: server.url.clone(), state, server }
    }

    /// Adds an active secret `name` of `template` in `folder` with the given field values
    /// (other fields empty); its id.
    pub fn add(&self, folder: u64, template: u64, name: &str, values: &[(&str, &str)]) -> u64 {
        let mut state = self.state.lock().unwrap();
        let items = template_fields(template)
            .expect("a known template")
            .into_iter()
            .map(|(field_id, slug, is_password, is_file)| Item {
                field_id,
                slug: slug.to_owned(),
                value: values.iter().find(|(s, _)| *s == slug).map(|(_, v)| (*v).to_owned()).unwrap_or_default(),
                is_password,
                is_file,
            })
            .collect();
        let id = state.next_id;
        state.next_id += 1;
        let secret = StoredSecret {
            name: name.to_owned(),
            folder_id: folder,
            template_id: template,
            site_id: 1,
            active: true,
            items,
        };
        state.secrets.insert(id, secret);
        id
    }

    /// The secret with `id`.
    pub fn secret(&self, id: u64) -> Option<StoredSecret> {
        self.state.lock().unwrap().secrets.get(&id).cloned()
    }

    /// The active secrets named `name`, with their ids.
    pub fn named(&self, name: &str) -> Vec<(u64, StoredSecret)> {
        let state = self.state.lock().unwrap();
        state.secrets.iter().filter(|(_, s)| s.active && s.name == name).map(|(id, s)| (*id, s.clone())).collect()
    }

    /// New tokens live `life` (`expires_in`).
    pub fn set_token_life(&self, life: Duration) {
        self.state.lock().unwrap().token_life = life;
    }

    /// Whether the vault broker names a default, active vault.
    pub fn set_default_vault(&self, present: bool) {
        self.state.lock().unwrap().has_default_vault = present;
    }

    /// The access tokens issued and not forgotten.
    pub fn tokens(&self) -> Vec<String> {
        self.state.lock().unwrap().tokens.keys().cloned().collect()
    }

    /// The refresh tokens issued and not used.
    pub fn refresh_tokens(&self) -> Vec<String> {
        self.state.lock().unwrap().refresh_tokens.keys().cloned().collect()
    }

    /// Forgets every access token (as if they were revoked): the next request gets 401.
    pub fn expire_tokens(&self) {
        self.state.lock().unwrap().tokens.clear();
    }

    /// Forgets every refresh token: a refresh grant gets 400 `invalid_grant`.
    pub fn forget_refresh_tokens(&self) {
        self.state.lock().unwrap().refresh_tokens.clear();
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

    /// Every request so far, whole.
    pub fn received(&self) -> Vec<ContractRequest> {
        self.server.received()
    }

    /// How many requests so far start with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.server.count(prefix)
    }

    /// The grant types of the token requests so far, in order.
    pub fn grants(&self) -> Vec<String> {
        self.received()
            .iter()
            .filter(|r| r.method == "POST" && r.path.contains("oauth2/token"))
            .map(|r| form_pairs(&r.body).get("grant_type").cloned().unwrap_or_default())
            .collect()
    }
}

fn error(status: u16, message: &str) -> ContractReply {
    ContractReply::json(status, &json!({"message": message, "messageDetail": message, "errorCode": "API_Error"}))
}

/// Issues a token for `user`; a refresh token with `refresh`.
fn issue(state: &mut State, user: &str, refresh: bool) -> ContractReply {
    state.issued += 1;
    let access = format!("AgJ1dEOKEN{}-{:08x}", state.issued, state.issued.wrapping_mul(2_654_435_761));
    state.tokens.insert(access.clone(), (user.to_owned(), Instant::now() + state.token_life));
    let mut body = json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": state.token_life.as_secs(),
    });
    if refresh {
        let refresh_token = format!("RfRESH{}-{:08x}", state.issued, state.issued.wrapping_mul(40_503));
        state.refresh_tokens.insert(refresh_token.clone(), user.to_owned());
        body["refresh_token"] = json!(refresh_token);
    } else {
        body["scope"] = json!("xpmheadless");
    }
    ContractReply::json(200, &body)
}

fn password_grant(state: &mut State, form: &BTreeMap<String, String>) -> ContractReply {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    match get("grant_type") {
        "password" => {
            let (user, password, domain) = (get("username"), get("password"), get("domain"));
            let known = (user == USERNAME && password == PASSWORD && domain.is_empty())
                || (user == READER && password == READER_PASSWORD && domain.is_empty())
                || (user == DOMAIN_USERNAME && password == DOMAIN_PASSWORD && domain == DOMAIN);
            if !known {
                return ContractReply::json(400, &json!({"error": "invalid_grant"}));
            }
            issue(state, user, true)
        }
        "refresh_token" => match state.refresh_tokens.remove(get("refresh_token")) {
            Some(user) => issue(state, &user, true),
            None => ContractReply::json(400, &json!({"error": "invalid_grant"})),
        },
        _ => ContractReply::json(400, &json!({"error": "unsupported_grant_type"})),
    }
}

fn platform_grant(state: &mut State, form: &BTreeMap<String, String>) -> ContractReply {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("grant_type") != "client_credentials" || get("scope") != "xpmheadless" {
        return ContractReply::json(400, &json!({"error": "invalid_request"}));
    }
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return ContractReply::json(400, &json!({"error": "invalid_client", "error_description": "bad credentials"}));
    }
    issue(state, CLIENT_ID, false)
}

/// The user of the request's bearer token, or `None` when it carries no live token.
fn caller(state: &State, request: &ContractRequest) -> Option<String> {
    let token = request.header("authorization")?.strip_prefix("Bearer ")?;
    let (user, expires) = state.tokens.get(token)?;
    (Instant::now() < *expires).then(|| user.clone())
}

fn secret_json(id: u64, secret: &StoredSecret) -> Value {
    let items: Vec<Value> = secret
        .items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            json!({
                "itemId": id * 100 + n as u64,
                "fieldId": item.field_id,
                "fileAttachmentId": if item.is_file && !item.value.is_empty() { json!(id * 1000 + n as u64) } else { Value::Null },
                "fieldName": item.slug,
                "slug": item.slug,
                "fieldDescription": "",
                "filename": if item.is_file { json!("key.pem") } else { Value::Null },
                "itemValue": if item.is_file { "*** Not Valid For Display ***".to_owned() } else { item.value.clone() },
                "isFile": item.is_file,
                "isNotes": item.slug == "notes",
                "isPassword": item.is_password,
            })
        })
        .collect();
    json!({
        "id": id,
        "name": secret.name,
        "secretTemplateId": secret.template_id,
        "secretTemplateName": template_name(secret.template_id),
        "folderId": secret.folder_id,
        "siteId": secret.site_id,
        "active": secret.active,
        "checkedOut": false,
        "checkOutEnabled": false,
        "lastHeartBeatStatus": "Pending",
        "lastHeartBeatCheck": "2026-01-01T00:00:00",
        "lastPasswordChangeAttempt": "0001-01-01T00:00:00",
        "items": items,
    })
}

fn summary_json(id: u64, secret: &StoredSecret) -> Value {
    json!({
        "id": id,
        "name": secret.name,
        "secretTemplateId": secret.template_id,
        "secretTemplateName": template_name(secret.template_id),
        "folderId": secret.folder_id,
        "siteId": secret.site_id,
        "active": secret.active,
        "checkedOut": false,
        "isRestricted": false,
    })
}

/// The active secrets a search request selects, by id.
fn search(state: &State, request: &ContractRequest) -> Vec<(u64, StoredSecret)> {
    let text = request.query("filter.searchText").unwrap_or_default().to_lowercase();
    let folder = request.query("filter.folderId").and_then(|f| f.parse::<u64>().ok());
    state
        .secrets
        .iter()
        .filter(|(_, s)| s.active && s.name.to_lowercase().contains(&text))
        .filter(|(_, s)| folder.is_none_or(|f| s.folder_id == f))
        .map(|(id, s)| (*id, s.clone()))
        .collect()
}

fn handle(state: &mut State, request: &ContractRequest) -> ContractReply {
    let segments = request.segments();
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = request.method.as_str();
    let platform = state.platform;
    // Unauthenticated: health and tokens.
    match (method, parts.as_slice(), platform) {
        ("GET", ["api", "v1", "healthcheck"], false) | ("GET", ["health"], true) => {
            return ContractReply::text(200, "Healthy");
        }
        ("POST", ["oauth2", "token"], false) => return password_grant(state, &form_pairs(&request.body)),
        ("POST", ["identity", "api", "oauth2", "token", "xpmplatform"], true) => {
            return platform_grant(state, &form_pairs(&request.body));
        }
        _ => {}
    }
    let Some(user) = caller(state, request) else {
        return error(
            401,
            "Authentication failed or was not provided. Verify the credentials are correct or supply an authentication token.",
        );
    };
    let api: &[&str] = match (platform, parts.as_slice()) {
        (true, ["vaultbroker", "api", "vaults"]) if method == "GET" => {
            let vaults = if state.has_default_vault {
                vec![json!({
                    "vaultId": "c0ffee00-0000-0000-0000-000000000001", "name": "Secret Server", "type": "SecretServer",
                    "isDefault": true, "isGlobalDefault": true, "isActive": true,
                    "connection": {"url": format!("{}/vault/", state.address), "oAuthProfileId": "p1"},
                })]
            } else {
                Vec::new()
            };
            return ContractReply::json(200, &json!({"vaults": vaults}));
        }
        (true, ["vault", "api", "v1", rest @ ..]) => rest,
        (false, ["api", "v1", rest @ ..]) => rest,
        _ => return error(404, "No HTTP resource was found that matches the request URI."),
    };
    let writer = user != READER;
    match (method, api) {
        ("GET", ["secrets"]) => {
            let found = search(state, request);
            let skip: usize = request.query("skip").and_then(|s| s.parse().ok()).unwrap_or(0);
            let take: usize = request.query("take").and_then(|s| s.parse().ok()).unwrap_or(10);
            let page: Vec<Value> = found.iter().skip(skip).take(take).map(|(id, s)| summary_json(*id, s)).collect();
            let has_next = skip + page.len() < found.len();
            ContractReply::json(
                200,
                &json!({
                    "filter": {"searchText": request.query("filter.searchText")},
                    "skip": skip, "take": take, "total": found.len(), "pageCount": 1,
                    "currentPage": 1, "batchCount": 1, "prevSkip": 0, "nextSkip": skip + page.len(),
                    "hasPrev": skip > 0, "hasNext": has_next, "records": page, "sortBy": [], "success": true,
                    "severity": "None",
                }),
            )
        }
        ("GET", ["secrets", "search-total"]) => ContractReply::json(200, &json!(search(state, request).len())),
        ("GET", ["secrets", "0"]) if request.query("secretPath").is_some() => {
            let path = request.query("secretPath").unwrap_or_default();
            let found = path.strip_prefix(&format!("\\{FOLDER_NAME}\\")).and_then(|name| {
                state.secrets.iter().find(|(_, s)| s.active && s.folder_id == FOLDER_ID && s.name == name)
            });
            match found {
                Some((id, secret)) => ContractReply::json(200, &secret_json(*id, secret)),
                None => error(404, "Secret not found"),
            }
        }
        ("GET", ["secrets", id]) => match id.parse::<u64>().ok().and_then(|id| state.secrets.get(&id).map(|s| (id, s)))
        {
            Some((id, secret)) if secret.active => ContractReply::json(200, &secret_json(id, secret)),
            _ => error(404, "Secret not found"),
        },
        ("GET", ["secrets", id, "fields", slug]) => {
            let secret = id.parse::<u64>().ok().and_then(|id| state.secrets.get(&id)).filter(|s| s.active);
            match secret.and_then(|s| s.field(slug)) {
                Some(value) => ContractReply::json(200, &json!(value)),
                None => error(404, "Secret or field not found"),
            }
        }
        ("GET", ["secret-templates", id]) => {
            match id.parse::<u64>().ok().and_then(|id| template_fields(id).map(|f| (id, f))) {
                Some((id, fields)) => {
                    let fields: Vec<Value> = fields
                        .iter()
                        .map(|(field_id, slug, is_password, is_file)| {
                            json!({
                                "secretTemplateFieldId": field_id, "fieldSlugName": slug, "displayName": slug,
                                "name": slug, "description": "", "isFile": is_file, "isPassword": is_password,
                                "isNotes": *slug == "notes", "isRequired": false, "isUrl": false, "isList": false,
                            })
                        })
                        .collect();
                    ContractReply::json(200, &json!({"id": id, "name": template_name(id), "fields": fields}))
                }
                None => error(404, "Secret template not found"),
            }
        }
        ("POST", ["secrets"]) => {
            if !writer {
                return error(403, "Access Denied");
            }
            let body = request.json();
            let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
            let template = body.get("secretTemplateId").and_then(Value::as_u64).unwrap_or_default();
            let folder = body.get("folderId").and_then(Value::as_u64).unwrap_or_default();
            let site = body.get("siteId").and_then(Value::as_u64).unwrap_or_default();
            let Some(fields) = template_fields(template) else {
                return error(400, "Invalid secret template");
            };
            if name.is_empty() || ![FOLDER_ID, OTHER_FOLDER_ID].contains(&folder) || site == 0 {
                return error(400, "Secret name, folder and site are required");
            }
            let mut items: Vec<Item> = fields
                .iter()
                .map(|(field_id, slug, is_password, is_file)| Item {
                    field_id: *field_id,
                    slug: (*slug).to_owned(),
                    value: String::new(),
                    is_password: *is_password,
                    is_file: *is_file,
                })
                .collect();
            for given in body.get("items").and_then(Value::as_array).cloned().unwrap_or_default() {
                let field_id = given.get("fieldId").and_then(Value::as_u64);
                let Some(item) = items.iter_mut().find(|i| Some(i.field_id) == field_id) else {
                    return error(400, "Secret field is not on the template");
                };
                item.value = given.get("itemValue").and_then(Value::as_str).unwrap_or_default().to_owned();
            }
            let id = state.next_id;
            state.next_id += 1;
            let secret = StoredSecret {
                name: name.to_owned(),
                folder_id: folder,
                template_id: template,
                site_id: site,
                active: true,
                items,
            };
            let reply = secret_json(id, &secret);
            state.secrets.insert(id, secret);
            ContractReply::json(200, &reply)
        }
        ("PUT", ["secrets", id, "fields", slug]) => {
            if !writer {
                return error(403, "Access Denied");
            }
            let Some(value) = request.json().get("value").and_then(Value::as_str).map(str::to_owned) else {
                return error(400, "value is required");
            };
            let secret = id.parse::<u64>().ok().and_then(|id| state.secrets.get_mut(&id)).filter(|s| s.active);
            let Some(item) = secret.and_then(|s| s.items.iter_mut().find(|i| i.slug == *slug)) else {
                return error(404, "Secret or field not found");
            };
            item.value = value.clone();
            ContractReply::json(200, &json!(value))
        }
        ("DELETE", ["secrets", id]) => {
            if !writer {
                return error(403, "Access Denied");
            }
            match id.parse::<u64>().ok().and_then(|id| state.secrets.get_mut(&id).map(|s| (id, s))) {
                Some((id, secret)) if secret.active => {
                    secret.active = false;
                    ContractReply::json(200, &json!({"id": id, "objectType": "Secret", "responseCodes": []}))
                }
                _ => error(404, "Secret not found"),
            }
        }
        _ => error(404, "No HTTP resource was found that matches the request URI."),
    }
}
