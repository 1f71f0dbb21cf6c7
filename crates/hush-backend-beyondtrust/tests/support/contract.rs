//! A BeyondTrust Password Safe contract server, written from BeyondTrust's own clients
//! (`BeyondTrust/ps-integration-library`, PyPI `beyondtrust-bips-library` 2.32.1:
//! `authentication.py`, `core.py`, `secrets_safe.py`, `folders.py`, `mapping/secrets.py`,
//! `validators/secrets.py`; `BeyondTrust/go-client-library-passwordsafe`:
//! `api/authentication`, `api/secrets`, `api/utils/httpclient.go`, `api/entities`) and the
//! Password Safe API reference: exactly the calls hush and the Python client's sign-in,
//! `SecretsSafe` and `Folder` use, under `/BeyondTrust/api/public/v3` (paths and query keys
//! matched without regard to case, as the Python client sends them in lowercase):
//!
//! - `POST /Auth/connect/token`, form `client_id`, `client_secret`,
//!   `grant_type=client_credentials` → `{"access_token", "expires_in", "token_type"}`; 400
//!   `{"error": "invalid_client"}` otherwise;
//! - `POST /Auth/SignAppin` with `Authorization: PS-Auth key=<key>; runas=<user>; [pwd=[<pwd>];]`
//!   or `Bearer <access token>` → 200 `{"UserId", "EmailAddress", "UserName", "Name"}` and
//!   `Set-Cookie: ASP.NET_SessionId=<new id>; path=/; HttpOnly`; 401 otherwise;
//! - `POST /Auth/Signout` → ends the cookie's session, 200;
//! - every other call needs the cookie of a live session (401 `User not authenticated`
//!   otherwise); its `Authorization` header, which the Python client repeats, is not read;
//! - `GET /Secrets-Safe/Folders` → `[{"Id", "Name", "Description", "ParentId", "UserGroupId"}]`;
//! - `GET /Secrets-Safe/Secrets?Path=<folder path>[&Title=<title>][&Separator=/]` → the secrets
//!   of that folder (of that title, compared without regard to case), with their value in
//!   `Password` (for text secrets too: what both official clients read) and `Text`; a bare
//!   list, or `{"TotalCount", "Data"}` when asked with `version=3.2`;
//! - `GET /Secrets-Safe/Secrets/{id}` → the secret (`Username`, `Password` of a credential
//!   secret); `GET .../{id}/text` → `{"Id", "Title", "Text", ...}` of a text secret;
//!   `GET .../{id}/file/download` → a file secret's bytes; 404 `Secret not found` otherwise;
//! - `POST /Secrets-Safe/Folders/{folderId}/secrets/text` (`Title` 1-256, `Text` 1-4096,
//!   `Description`, `Notes` up to 4000, `FolderId`, `OwnerId`/`OwnerType`/`Owners`) and
//!   `POST .../secrets` (credential: `Username`, `Password`) → 201 and the secret; 409 when
//!   the folder holds that title already, 400 for a bad body, 404 for no such folder, 403 for
//!   a user without write access;
//! - `PUT /Secrets-Safe/Secrets/{id}/text` → 200 and the secret; `DELETE /Secrets-Safe/Secrets/{id}`
//!   → 200; 404 when missing, 403 for a user without write access.
//!
//! Error bodies are plain text. The HTTP side (port, thread, faults, request log) is
//! hush-backend-behavior's `ContractServer`; this file is Password Safe's behaviour.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hush_backend_behavior::contract_server::{ContractReply, ContractRequest, ContractServer, HttpFault, form_pairs};
use serde_json::{Value, json};

/// The API path under the address.
pub const API: &str = "/BeyondTrust/api/public/v3";
/// The API registration's key (128 characters, as the Python client requires).
pub const API_KEY: &str = "0a1b2c3dSECRETAPIKEY4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9";
/// The user hush runs as: read and write.
pub const RUN_AS: &str = "svc-hush";
/// A user whose API registration also requires its password.
pub const PWD_RUN_AS: &str = "svc-pwd";
/// That user's password.
pub const PASSWORD: &str = "p@ss SECRETPWD";
/// A user with read access only.
pub const READER: &str = "svc-reader";
/// The OAuth client (an application user with read and write).
pub const CLIENT_ID: &str = "6f0e1d2c-3b4a-5968-7f6e-5d4c3b2a1f0e";
/// Its secret.
pub const CLIENT_SECRET: &str = "SECRETCLIENT-9f8e7d6c5b4a39281706f5e4d3c2b1a0";
/// Folder `hush`.
pub const HUSH_FOLDER_ID: &str = "5a0e8f3c-1d2b-4c3a-9e8f-7a6b5c4d3e2f";
/// Folder `hush/prod`, where hush's secrets live in the tests.
pub const PROD_FOLDER_ID: &str = "9b1f7e2d-3c4a-4b5c-8d9e-0f1a2b3c4d5e";
/// Folder `other`, beside `hush`.
pub const OTHER_FOLDER_ID: &str = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f";

/// Scripted failures with Password Safe's plain-text error body.
pub struct Fault;

impl Fault {
    /// Requests with `method` whose path and query contain `path_contains` get `status` and
    /// `message` at once.
    pub fn status(method: &str, path_contains: &str, status: u16, message: &str) -> HttpFault {
        HttpFault::reply(method, path_contains, ContractReply::text(status, message))
    }

    /// Such requests get nothing for `delay`.
    pub fn silent(method: &str, path_contains: &str, delay: Duration) -> HttpFault {
        HttpFault::silent(method, path_contains, delay)
    }
}

/// One secret the server holds.
#[derive(Debug, Clone, Default)]
pub struct StoredSecret {
    /// Its id.
    pub id: String,
    /// Its folder's id.
    pub folder_id: String,
    /// `Text`, `Credential` or `File`.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// A text secret's text.
    pub text: String,
    /// A credential secret's user name.
    pub username: String,
    /// A credential secret's password.
    pub password: String,
    /// A file secret's bytes.
    pub file: Vec<u8>,
    /// Its description.
    pub description: String,
    /// Its notes.
    pub notes: String,
    /// The owner's user id, when one was given.
    pub owner_id: Option<u64>,
    /// How many times it was written.
    pub writes: u32,
}

/// What the server holds.
#[derive(Default)]
struct State {
    /// Folder id → (name, parent id).
    folders: BTreeMap<String, (String, Option<String>)>,
    secrets: Vec<StoredSecret>,
    /// Live sessions: cookie value → user.
    sessions: BTreeMap<String, String>,
    /// Issued OAuth access tokens.
    tokens: Vec<String>,
    /// Ids handed out so far.
    issued: u64,
    /// Refuse every sign-in (403), repeating its `Authorization` header in the message.
    refuse_echoing: bool,
}

impl State {
    fn next_id(&mut self) -> String {
        self.issued += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.issued)
    }

    fn folder_path(&self, id: &str) -> Option<String> {
        let (name, parent) = self.folders.get(id)?;
        match parent {
            Some(parent) => Some(format!("{}/{name}", self.folder_path(parent)?)),
            None => Some(name.clone()),
        }
    }

    fn folder_of_path(&self, path: &str) -> Option<String> {
        self.folders.keys().find(|id| self.folder_path(id).is_some_and(|p| p.eq_ignore_ascii_case(path))).cloned()
    }

    fn json(&self, secret: &StoredSecret) -> Value {
        let credential = secret.kind == "Credential";
        json!({
            "Id": secret.id,
            "Title": secret.title,
            "Description": secret.description,
            "Username": if credential { Value::from(secret.username.clone()) } else { Value::Null },
            "Password": match secret.kind.as_str() {
                "Credential" => Value::from(secret.password.clone()),
                "Text" => Value::from(secret.text.clone()),
                _ => Value::Null,
            },
            "Text": if secret.kind == "Text" { Value::from(secret.text.clone()) } else { Value::Null },
            "FileName": if secret.kind == "File" { Value::from("secret.bin") } else { Value::Null },
            "SecretType": secret.kind,
            "OwnerId": secret.owner_id,
            "OwnerType": secret.owner_id.map(|_| "User"),
            "FolderId": secret.folder_id,
            "Folder": self.folders.get(&secret.folder_id).map(|(name, _)| name.clone()),
            "FolderPath": self.folder_path(&secret.folder_id),
            "Notes": secret.notes,
            "CreatedOn": "2026-01-01T00:00:00",
            "ModifiedOn": "2026-01-01T00:00:00",
            "Owners": secret.owner_id.map(|id| json!([{"OwnerId": id, "Owner": "svc-hush", "Email": null}])),
            "Urls": [],
        })
    }
}

/// The running contract server.
pub struct Contract {
    /// `http://127.0.0.1:PORT`: hush's `address`.
    pub address: String,
    /// `{address}/BeyondTrust/api/public/v3`: the Python client's `api_url`.
    pub api_url: String,
    state: Arc<Mutex<State>>,
    server: ContractServer,
}

impl Contract {
    /// Starts a server on a free loopback port, with folders `hush`, `hush/prod` and `other`.
    pub fn start() -> Contract {
        super::install_tls_provider();
        let mut state = State::default();
        state.folders.insert(HUSH_FOLDER_ID.into(), ("hush".into(), None));
        state.folders.insert(PROD_FOLDER_ID.into(), ("prod".into(), Some(HUSH_FOLDER_ID.into())));
        state.folders.insert(OTHER_FOLDER_ID.into(), ("other".into(), None));
        let state = Arc::new(Mutex::new(state));
        let served = Arc::clone(&state);
        let server = ContractServer::start(move |request| handle(&mut served.lock().unwrap(), &request));
        let address = server.url.clone();
        Contract { api_url: format!("{address}{API}"), address, state, server }
    }

    fn add(&self, folder_path: &str, secret: StoredSecret) -> String {
        let mut state = self.state.lock().unwrap();
        let folder_id = state.folder_of_path(folder_path).expect("a folder of the server");
        let id = state.next_id();
        state.secrets.push(StoredSecret { id: id.clone(), folder_id, writes: 1, ..secret });
        id
    }

    /// Adds a text secret `title` holding `text` to the folder at `folder_path`; its id.
    pub fn add_text(&self, folder_path: &str, title: &str, text: &str) -> String {
        self.add(
            folder_path,
            StoredSecret { kind: "Text".into(), title: title.into(), text: text.into(), ..Default::default() },
        )
    }

    /// Adds a credential secret.
    pub fn add_credential(&self, folder_path: &str, title: &str, username: &str, password: &str) -> String {
        let secret = StoredSecret {
            kind: "Credential".into(),
            title: title.into(),
            username: username.into(),
            password: password.into(),
            ..Default::default()
        };
        self.add(folder_path, secret)
    }

    /// Adds a file secret.
    pub fn add_file(&self, folder_path: &str, title: &str, bytes: &[u8]) -> String {
        self.add(
            folder_path,
            StoredSecret { kind: "File".into(), title: title.into(), file: bytes.to_vec(), ..Default::default() },
        )
    }

    /// The secret titled `title` (compared without regard to case), in any folder.
    pub fn secret(&self, title: &str) -> Option<StoredSecret> {
        self.state.lock().unwrap().secrets.iter().find(|s| s.title.eq_ignore_ascii_case(title)).cloned()
    }

    /// Every secret, in the order they were created.
    pub fn secrets(&self) -> Vec<StoredSecret> {
        self.state.lock().unwrap().secrets.clone()
    }

    /// The live sessions' cookie values.
    pub fn sessions(&self) -> Vec<String> {
        self.state.lock().unwrap().sessions.keys().cloned().collect()
    }

    /// Refuses every sign-in from now on with 403 and a message repeating the sign-in's
    /// `Authorization` header (its API key and password, or its OAuth access token).
    pub fn refuse_sign_ins_echoing_credentials(&self) {
        self.state.lock().unwrap().refuse_echoing = true;
    }

    /// Ends every session (as Password Safe does after inactivity): the next call gets 401.
    pub fn expire_sessions(&self) {
        self.state.lock().unwrap().sessions.clear();
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

    /// How many requests so far start with `METHOD {API}{rest}`, e.g. `count("POST", "/Auth/SignAppin")`.
    pub fn count(&self, method: &str, rest: &str) -> usize {
        self.server.count(&format!("{method} {API}{rest}"))
    }
}

fn text(status: u16, message: &str) -> ContractReply {
    ContractReply::text(status, message)
}

/// The user a `PS-Auth` or `Bearer` header signs in, when the credentials are right.
fn signed_in_user(state: &State, authorization: &str) -> Option<String> {
    if let Some(token) = authorization.strip_prefix("Bearer ") {
        return state.tokens.iter().any(|t| t == token.trim()).then(|| CLIENT_ID.to_owned());
    }
    let fields = authorization.strip_prefix("PS-Auth ")?;
    let mut key = None;
    let mut runas = None;
    let mut pwd = None;
    for field in fields.split(';') {
        let field = field.trim();
        if let Some(v) = field.strip_prefix("key=") {
            key = Some(v.trim());
        } else if let Some(v) = field.strip_prefix("runas=") {
            runas = Some(v.trim());
        } else if let Some(v) = field.strip_prefix("pwd=") {
            pwd = Some(v.trim().strip_prefix('[')?.strip_suffix(']')?);
        }
    }
    let (key, runas) = (key?, runas?);
    let known = key == API_KEY
        && match runas {
            RUN_AS | READER => pwd.is_none(),
            PWD_RUN_AS => pwd == Some(PASSWORD),
            _ => false,
        };
    known.then(|| runas.to_owned())
}

/// The user of the request's session cookie.
fn session_user(state: &State, request: &ContractRequest) -> Option<String> {
    let cookies = request.header("cookie")?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().strip_prefix("ASP.NET_SessionId="))
        .find_map(|id| state.sessions.get(id).cloned())
}

/// Query value `key`, matched without regard to case.
fn query<'a>(request: &'a ContractRequest, key: &str) -> Option<&'a str> {
    request.query.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
}

fn may_write(user: &str) -> bool {
    user != READER
}

/// Checks a secret body's `Title`, `Text` (text secrets), `Notes`: the message of a 400.
fn body_problem(body: &Value, text_secret: bool) -> Option<&'static str> {
    let field = |key: &str| body.get(key).and_then(Value::as_str);
    match field("Title") {
        Some(t) if !t.is_empty() && t.chars().count() <= 256 => {}
        _ => return Some("Title is required and must be 1 to 256 characters"),
    }
    if text_secret {
        match field("Text") {
            Some(t) if !t.is_empty() && t.chars().count() <= 4096 => {}
            _ => return Some("Text is required and must be 1 to 4096 characters"),
        }
    }
    if field("Notes").is_some_and(|n| n.chars().count() > 4000) {
        return Some("Notes must be at most 4000 characters");
    }
    if field("Description").is_some_and(|d| d.chars().count() > 256) {
        return Some("Description must be at most 256 characters");
    }
    None
}

fn handle(state: &mut State, request: &ContractRequest) -> ContractReply {
    let segments: Vec<String> = request.segments();
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    if lower.len() < 4 || lower[..4] != ["beyondtrust", "api", "public", "v3"] {
        return text(404, "Not Found");
    }
    let parts: Vec<&str> = lower[4..].iter().map(String::as_str).collect();
    let method = request.method.as_str();
    match (method, parts.as_slice()) {
        ("POST", ["auth", "connect", "token"]) => {
            let form = form_pairs(&request.body);
            let ok = form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
                && form.get("grant_type").map(String::as_str) == Some("client_credentials");
            if !ok {
                return ContractReply::json(400, &json!({"error": "invalid_client"}));
            }
            let token = format!("eyJ.token-{}.SECRETTOKEN", state.next_id());
            state.tokens.push(token.clone());
            return ContractReply::json(
                200,
                &json!({"access_token": token, "expires_in": 3600, "token_type": "Bearer", "scope": "publicapi"}),
            );
        }
        ("POST", ["auth", "signappin"]) => {
            if state.refuse_echoing {
                return text(403, &format!("refused: {}", request.header("authorization").unwrap_or_default()));
            }
            let Some(user) = request.header("authorization").and_then(|a| signed_in_user(state, a)) else {
                return text(401, "User not authenticated");
            };
            let session = format!("sess{}SECRETCOOKIE", state.next_id().replace('-', ""));
            state.sessions.insert(session.clone(), user.clone());
            return ContractReply::json(
                200,
                &json!({"UserId": 12, "EmailAddress": format!("{user}@example.com"), "UserName": user, "Name": user}),
            )
            .with_header("set-cookie", &format!("ASP.NET_SessionId={session}; path=/; HttpOnly; SameSite=Lax"));
        }
        ("POST", ["auth", "signout"]) => {
            if let Some(cookies) = request.header("cookie") {
                for id in cookies.split(';').filter_map(|c| c.trim().strip_prefix("ASP.NET_SessionId=")) {
                    state.sessions.remove(id);
                }
            }
            return ContractReply::empty(200);
        }
        _ => {}
    }
    let Some(user) = session_user(state, request) else {
        return text(401, "User not authenticated");
    };
    let wrapped = query(request, "version").is_some_and(|v| v.as_bytes() >= b"3.2".as_slice());
    let list = |items: Vec<Value>| {
        if wrapped {
            ContractReply::json(200, &json!({"TotalCount": items.len(), "Data": items}))
        } else {
            ContractReply::json(200, &Value::Array(items))
        }
    };
    let original = |i: usize| segments[4 + i].clone();
    let find = |state: &State, id: &str| state.secrets.iter().position(|s| s.id.eq_ignore_ascii_case(id));
    match (method, parts.as_slice()) {
        ("GET", ["secrets-safe", "folders"]) => {
            let folders = state
                .folders
                .iter()
                .map(|(id, (name, parent))| {
                    json!({"Id": id, "Name": name, "Description": "", "ParentId": parent, "UserGroupId": null,
                           "FolderOwnerId": null, "IsFavorite": false})
                })
                .collect();
            list(folders)
        }
        ("GET", ["secrets-safe", "secrets"]) => {
            let folder = match query(request, "path") {
                Some(path) => match state.folder_of_path(path) {
                    Some(id) => Some(id),
                    None => return list(Vec::new()),
                },
                None => None,
            };
            let title = query(request, "title");
            let items = state
                .secrets
                .iter()
                .filter(|s| folder.as_ref().is_none_or(|f| &s.folder_id == f))
                .filter(|s| title.is_none_or(|t| s.title.eq_ignore_ascii_case(t)))
                .map(|s| state.json(s))
                .collect();
            list(items)
        }
        ("GET", ["secrets-safe", "secrets", _, rest @ ..]) => {
            let Some(i) = find(state, &original(2)) else { return text(404, "Secret not found") };
            let secret = &state.secrets[i];
            match (rest, secret.kind.as_str()) {
                ([], _) => ContractReply::json(200, &state.json(secret)),
                (["text"], "Text") => {
                    let mut body = state.json(secret);
                    if let Some(object) = body.as_object_mut() {
                        for key in ["Username", "Password", "FileName", "SecretType"] {
                            object.remove(key);
                        }
                    }
                    ContractReply::json(200, &body)
                }
                (["file", "download"], "File") => ContractReply {
                    status: 200,
                    headers: vec![("content-type".into(), "application/octet-stream".into())],
                    body: secret.file.clone(),
                },
                _ => text(404, "Secret not found"),
            }
        }
        ("POST", ["secrets-safe", "folders", _, "secrets", rest @ ..]) if matches!(rest, [] | ["text"]) => {
            let folder_id = original(2).to_ascii_lowercase();
            if !state.folders.contains_key(&folder_id) {
                return text(404, "Folder not found");
            }
            if !may_write(&user) {
                return text(403, "Forbidden: the user may not create secrets in this folder");
            }
            let body = request.json();
            let text_secret = rest == ["text"];
            if let Some(problem) = body_problem(&body, text_secret) {
                return text(400, problem);
            }
            let field = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
            if !text_secret && (field("Username").is_empty() || field("Password").is_empty()) {
                return text(400, "Username and Password are required");
            }
            let title = field("Title");
            if state.secrets.iter().any(|s| s.folder_id == folder_id && s.title.eq_ignore_ascii_case(&title)) {
                return text(409, "A secret with this title already exists in the folder");
            }
            let id = state.next_id();
            let secret = StoredSecret {
                id,
                folder_id,
                kind: if text_secret { "Text".into() } else { "Credential".into() },
                title,
                text: field("Text"),
                username: field("Username"),
                password: field("Password"),
                description: field("Description"),
                notes: field("Notes"),
                owner_id: body.get("OwnerId").and_then(Value::as_u64),
                writes: 1,
                file: Vec::new(),
            };
            let reply = ContractReply::json(201, &state.json(&secret));
            state.secrets.push(secret);
            reply
        }
        ("PUT", ["secrets-safe", "secrets", _, "text"]) => {
            let Some(i) = find(state, &original(2)) else { return text(404, "Secret not found") };
            if state.secrets[i].kind != "Text" {
                return text(400, "The secret is not a text secret");
            }
            if !may_write(&user) {
                return text(403, "Forbidden: the user may not edit this secret");
            }
            let body = request.json();
            if let Some(problem) = body_problem(&body, true) {
                return text(400, problem);
            }
            let field = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
            let secret = &mut state.secrets[i];
            secret.text = field("Text").unwrap_or_default();
            secret.title = field("Title").unwrap_or_else(|| secret.title.clone());
            secret.description = field("Description").unwrap_or_default();
            secret.notes = field("Notes").unwrap_or_default();
            secret.owner_id = body.get("OwnerId").and_then(Value::as_u64).or(secret.owner_id);
            secret.writes += 1;
            let secret = secret.clone();
            ContractReply::json(200, &state.json(&secret))
        }
        ("DELETE", ["secrets-safe", "secrets", _]) => {
            let Some(i) = find(state, &original(2)) else { return text(404, "Secret not found") };
            if !may_write(&user) {
                return text(403, "Forbidden: the user may not delete this secret");
            }
            state.secrets.remove(i);
            ContractReply::empty(200)
        }
        _ => text(404, "Not Found"),
    }
}
