//! A 1Password Connect contract server, written from the Connect API specification (1.5.7,
//! `ErrorResponse`, `Item`, `FullItem`, `Field`) and the official SDKs (`connect-sdk-python`'s
//! `client.py`, `connect-sdk-go`'s `connect/client.go`): exactly the calls hush and the SDK's
//! `get_item`, `get_item_by_title`, `get_items`, `create_item`, `update_item`, `delete_item`
//! and `get_vault` use:
//!
//! - `GET /heartbeat` → `.` (text, no token needed);
//! - `GET /v1/vaults/{vault}` → the vault (`id`, `name`, `items`, ...);
//! - `GET /v1/vaults/{vault}/items[?filter=title eq "..."]` → item summaries (no fields), the
//!   filter's only form being `title eq "<title>"` (400 otherwise);
//! - `POST /v1/vaults/{vault}/items`, a full item → the item with ids, `version` 1,
//!   `createdAt`/`updatedAt` (400 for a missing title, an unknown category or field type);
//! - `GET /v1/vaults/{vault}/items/{item}` → the full item;
//! - `PUT /v1/vaults/{vault}/items/{item}`, a full item → the item, `version` + 1 (400 when the
//!   body's `id` is another item's);
//! - `DELETE /v1/vaults/{vault}/items/{item}` → 204.
//!
//! Every `/v1` request needs `Authorization: Bearer <token>` (401 `Invalid token signature`
//! otherwise); [`TOKEN`] reads and writes every vault, [`READ_ONLY_TOKEN`] gets 403 on writes,
//! [`SCOPED_TOKEN`] reaches [`VAULT`] only (403 `vault ... is not in scope` elsewhere). An
//! unknown vault or item is 404. Errors are `{"status": <code>, "message": "..."}`. The HTTP
//! side (port, thread, faults, request log) is hush-backend-behavior's `ContractServer`; this
//! file is Connect's behaviour.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use hush_backend_behavior::contract_server::{ContractReply, ContractRequest, ContractServer, HttpFault};
use serde_json::{Map, Value, json};

/// The token that reads and writes every vault.
pub const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.connect-SECRET-token.sig";
/// A token that reads every vault and writes none.
pub const READ_ONLY_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.read-only-SECRET.sig";
/// A token that reaches [`VAULT`] only.
pub const SCOPED_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.scoped-SECRET.sig";

/// The vault every test uses.
pub const VAULT: &str = "hushtestvault0000000000001";
/// A second vault (a tenant's own).
pub const OTHER_VAULT: &str = "hushtestvault0000000000002";

/// The categories the Connect API accepts (its `Item.category` enum).
const CATEGORIES: [&str; 22] = [
    "LOGIN",
    "PASSWORD",
    "API_CREDENTIAL",
    "SERVER",
    "DATABASE",
    "CREDIT_CARD",
    "MEMBERSHIP",
    "PASSPORT",
    "SOFTWARE_LICENSE",
    "OUTDOOR_LICENSE",
    "SECURE_NOTE",
    "WIRELESS_ROUTER",
    "BANK_ACCOUNT",
    "DRIVER_LICENSE",
    "IDENTITY",
    "REWARD_PROGRAM",
    "DOCUMENT",
    "EMAIL_ACCOUNT",
    "SOCIAL_SECURITY_NUMBER",
    "MEDICAL_RECORD",
    "SSH_KEY",
    "CUSTOM",
];

/// The field types the Connect API accepts (its `Field.type` enum).
const FIELD_TYPES: [&str; 8] = ["STRING", "EMAIL", "CONCEALED", "URL", "TOTP", "DATE", "MONTH_YEAR", "MENU"];

/// Scripted failures with Connect's error body.
pub struct Fault;

impl Fault {
    /// Requests with `method` whose path and query contain `path_contains` get `status` and
    /// `{"status", "message"}` at once.
    pub fn status(method: &str, path_contains: &str, status: u16, message: &str) -> HttpFault {
        HttpFault::reply(method, path_contains, error(status, message))
    }

    /// Such requests get nothing for `delay`.
    pub fn silent(method: &str, path_contains: &str, delay: Duration) -> HttpFault {
        HttpFault::silent(method, path_contains, delay)
    }
}

/// The server's state: vault id → item id → full item.
#[derive(Default)]
struct State {
    vaults: BTreeMap<String, BTreeMap<String, Value>>,
    next_id: u64,
}

impl State {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("item{:022}", self.next_id)
    }
}

/// The running contract server.
pub struct Contract {
    /// `http(s)://127.0.0.1:PORT`: hush's `address` and the SDK's URL.
    pub address: String,
    state: Arc<Mutex<State>>,
    server: ContractServer,
}

impl Contract {
    /// Starts a server over plain HTTP on a free loopback port, with [`VAULT`] and
    /// [`OTHER_VAULT`] empty.
    pub fn start() -> Contract {
        Self::start_with(false)
    }

    /// The same over HTTPS with the test certificate.
    pub fn start_https() -> Contract {
        Self::start_with(true)
    }

    fn start_with(https: bool) -> Contract {
        super::install_tls_provider();
        let mut state = State::default();
        for vault in [VAULT, OTHER_VAULT] {
            state.vaults.insert(vault.to_owned(), BTreeMap::new());
        }
        let state = Arc::new(Mutex::new(state));
        let served = Arc::clone(&state);
        let behaviour = move |request: ContractRequest| handle(&mut served.lock().unwrap(), &request);
        let server = if https { ContractServer::start_https(behaviour) } else { ContractServer::start(behaviour) };
        Contract { address: server.url.clone(), state, server }
    }

    /// Adds `item` (a full item without `id`) to `vault` as a person would; its id.
    pub fn insert(&self, vault: &str, item: Value) -> String {
        let mut state = self.state.lock().unwrap();
        let id = state.new_id();
        let item = stored(item, &id, vault, 1, None);
        state.vaults.get_mut(vault).expect("a vault").insert(id.clone(), item);
        id
    }

    /// Replaces item `id` of `vault` by `item`, as a person editing it would (version + 1).
    pub fn edit(&self, vault: &str, id: &str, item: Value) {
        let mut state = self.state.lock().unwrap();
        let items = state.vaults.get_mut(vault).expect("a vault");
        let old = items.get(id).expect("an item");
        let version = old["version"].as_u64().unwrap_or(1) + 1;
        let item = stored(item, id, vault, version, old.get("createdAt").cloned());
        items.insert(id.to_owned(), item);
    }

    /// The items of `vault`, whole.
    pub fn items(&self, vault: &str) -> Vec<Value> {
        self.state.lock().unwrap().vaults.get(vault).map(|items| items.values().cloned().collect()).unwrap_or_default()
    }

    /// The one item of `vault` titled `title`.
    pub fn item(&self, vault: &str, title: &str) -> Value {
        let mut found: Vec<Value> = self.items(vault).into_iter().filter(|i| i["title"] == title).collect();
        assert_eq!(found.len(), 1, "items titled {title:?} in {vault}");
        found.pop().unwrap()
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

    /// How many requests so far start with `prefix` (`"POST /v1/"`).
    pub fn count(&self, prefix: &str) -> usize {
        self.server.count(prefix)
    }

    /// Forgets the requests so far.
    pub fn clear_requests(&self) {
        self.server.clear_requests();
    }
}

fn error(status: u16, message: &str) -> ContractReply {
    ContractReply::json(status, &json!({"status": status, "message": message}))
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// `item` as stored: with its id, vault, version, times and field ids.
fn stored(mut item: Value, id: &str, vault: &str, version: u64, created_at: Option<Value>) -> Value {
    let object = item.as_object_mut().expect("an item object");
    object.insert("id".into(), json!(id));
    object.insert("vault".into(), json!({"id": vault}));
    object.insert("version".into(), json!(version));
    object.insert("createdAt".into(), created_at.unwrap_or_else(|| json!(now())));
    object.insert("updatedAt".into(), json!(now()));
    object.entry("tags").or_insert_with(|| json!([]));
    object.entry("favorite").or_insert(json!(false));
    if let Some(Value::Array(fields)) = object.get_mut("fields") {
        for (i, field) in fields.iter_mut().enumerate() {
            let field = field.as_object_mut().expect("a field object");
            if field.get("id").and_then(Value::as_str).is_none_or(str::is_empty) {
                field.insert("id".into(), json!(format!("field{i:021}")));
            }
            field.entry("type").or_insert(json!("STRING"));
        }
    }
    item
}

/// What `GET .../items` shows of an item: everything but fields, sections and files.
fn summary(item: &Value) -> Value {
    let mut object: Map<String, Value> = item.as_object().cloned().unwrap_or_default();
    for key in ["fields", "sections", "files"] {
        object.remove(key);
    }
    Value::Object(object)
}

/// What is wrong with an item a client sent, if anything.
fn invalid(item: &Value) -> Option<String> {
    if item.get("title").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Some("Validation: title is required".into());
    }
    let category = item.get("category").and_then(Value::as_str).unwrap_or_default();
    if !CATEGORIES.contains(&category) {
        return Some("Invalid item category".into());
    }
    if let Some(tags) = item.get("tags")
        && !tags.as_array().is_some_and(|t| t.iter().all(Value::is_string))
    {
        return Some("Validation: tags must be strings".into());
    }
    for field in item.get("fields").and_then(Value::as_array).into_iter().flatten() {
        let kind = field.get("type").and_then(Value::as_str).unwrap_or("STRING");
        if !FIELD_TYPES.contains(&kind) {
            return Some(format!("Invalid field type {kind}"));
        }
        if field.get("value").is_some_and(|v| !v.is_string()) {
            return Some("Validation: a field's value must be a string".into());
        }
    }
    None
}

/// The title a filter selects: the filter must be `title eq "<title>"`.
fn filtered_title(filter: &str) -> Option<&str> {
    filter.strip_prefix("title eq \"")?.strip_suffix('"')
}

fn handle(state: &mut State, request: &ContractRequest) -> ContractReply {
    let segments = request.segments();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = request.method.as_str();
    if (method, segments.as_slice()) == ("GET", &["heartbeat"][..]) {
        return ContractReply::text(200, ".");
    }
    let token = request.header("authorization").and_then(|a| a.strip_prefix("Bearer "));
    let (writes, scoped) = match token {
        Some(TOKEN) => (true, false),
        Some(READ_ONLY_TOKEN) => (false, false),
        Some(SCOPED_TOKEN) => (true, true),
        _ => return error(401, "Invalid token signature"),
    };
    let ["v1", "vaults", vault, rest @ ..] = segments.as_slice() else {
        return error(404, "Not found");
    };
    let vault = (*vault).to_owned();
    let Some(items) = state.vaults.get(&vault) else {
        return error(404, &format!("vault {vault} not found"));
    };
    if scoped && vault != VAULT {
        return error(403, &format!("vault {vault} is not in scope"));
    }
    if method != "GET" && !writes {
        return error(403, &format!("token does not have write access to vault {vault}"));
    }
    match (method, rest) {
        ("GET", []) => ContractReply::json(
            200,
            &json!({"id": vault, "name": "hush tests", "items": items.len(), "type": "USER_CREATED",
                    "attributeVersion": 1, "contentVersion": items.len() + 1}),
        ),
        ("GET", ["items"]) => {
            let title = match request.query("filter") {
                None => None,
                Some(filter) => match filtered_title(filter) {
                    Some(title) => Some(title),
                    None => return error(400, &format!("Invalid filter: {filter}")),
                },
            };
            let listed: Vec<Value> =
                items.values().filter(|item| title.is_none_or(|t| item["title"] == t)).map(summary).collect();
            ContractReply::json(200, &Value::Array(listed))
        }
        ("POST", ["items"]) => {
            let item = request.json();
            if let Some(problem) = invalid(&item) {
                return error(400, &problem);
            }
            let id = state.new_id();
            let item = stored(item, &id, &vault, 1, None);
            state.vaults.get_mut(&vault).expect("the vault").insert(id, item.clone());
            ContractReply::json(200, &item)
        }
        ("GET", ["items", id]) => match items.get(*id) {
            Some(item) => ContractReply::json(200, item),
            None => error(404, &format!("item {id} not found")),
        },
        ("PUT", ["items", id]) => {
            let Some(old) = items.get(*id) else {
                return error(404, &format!("item {id} not found"));
            };
            let item = request.json();
            if item.get("id").and_then(Value::as_str).is_some_and(|sent| sent != *id) {
                return error(400, "The item's id does not match the path");
            }
            if let Some(problem) = invalid(&item) {
                return error(400, &problem);
            }
            let version = old["version"].as_u64().unwrap_or(1) + 1;
            let item = stored(item, id, &vault, version, old.get("createdAt").cloned());
            state.vaults.get_mut(&vault).expect("the vault").insert((*id).to_owned(), item.clone());
            ContractReply::json(200, &item)
        }
        ("DELETE", ["items", id]) => match state.vaults.get_mut(&vault).expect("the vault").remove(*id) {
            Some(_) => ContractReply::empty(204),
            None => error(404, &format!("item {id} not found")),
        },
        _ => error(404, "Not found"),
    }
}
