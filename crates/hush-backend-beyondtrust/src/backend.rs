//! The `beyondtrust` backend: the secrets of one Password Safe Secrets Safe folder, found by
//! title, read (text, credential and file secrets), written as text secrets, deleted and
//! listed through Password Safe's public API v3, in one session.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use hush_core::{
    BackendInfo, Capabilities, DEFAULT_CALL_TIMEOUT, Error, ErrorKind, KindConfig, ListFilter, Result, Scope, Secret,
    SecretBackend, SecretMeta, SecretName, SecretValue, Tags, VersionId, refuse_problems,
};
use hush_rest::{Answer, RestClient, VendorFailure};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{ACCEPT, CONTENT_TYPE, COOKIE};
use serde_json::{Value, json};

use crate::KIND;
use crate::auth::{Method, Sessions};
use crate::config::BeyondTrustConfig;
use crate::error::{Call, call_error};
use crate::mapping::{MAX_TEXT_LEN, credential_value, key_notes, parse_listed, secret_title, value_text};

/// What this backend can do: read, write and list; no tags, no versions (Secrets Safe keeps
/// no readable history of a secret's values through the API hush uses, and has no free-form
/// tags).
pub const CAPABILITIES: Capabilities = Capabilities::full().with_tags(false).with_versions(false);

/// The `Description` of the text secrets hush creates.
pub const DESCRIPTION: &str = "written by hush";

/// The deepest folder tree walked to find a folder's path.
const MAX_FOLDER_DEPTH: usize = 64;

/// What is percent-encoded in a query value or a path segment: everything but
/// `[A-Za-z0-9_.~-]`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'~').remove(b'-');

fn component(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// The folder as configured.
#[derive(Debug, Clone)]
enum FolderSpec {
    Id(String),
    Path(String),
}

/// The folder as Password Safe knows it: its id (for creating secrets) and its path (for
/// finding them).
#[derive(Debug, Clone)]
struct Folder {
    id: String,
    path: String,
}

/// One secret of the folder, as a search answered it.
struct Found {
    id: String,
    /// `Text`, `Credential` or `File`.
    kind: String,
}

/// Secrets of one Secrets Safe folder.
///
/// Key mapping: secret `NAME` of tenant `t` and namespace `a.b` is the secret titled
/// `t.a.b.NAME` in the folder (letter case escaped; see [`crate::secret_title`] and `docs.md`).
/// Text secrets hold the value (UTF-8 as is, other bytes as `hush-base64:` + base64); a
/// credential secret reads as `{"username", "password"}`; a file secret as the file's bytes.
/// Nothing is sent at construction.
pub struct BeyondTrustBackend {
    info: BackendInfo,
    client: RestClient,
    /// `{address}/BeyondTrust/api/public/v3`.
    api_url: String,
    spec: FolderSpec,
    /// The configured folder, for messages.
    folder_label: String,
    folder: tokio::sync::OnceCell<Folder>,
    owner_id: Option<u32>,
    sessions: Sessions,
    /// Held by `put` and `delete`, so that two writes of one new title do not create it twice.
    writes: tokio::sync::Mutex<()>,
}

impl BeyondTrustBackend {
    /// A backend for `config`; sends nothing yet.
    ///
    /// Fails with `ConfigInvalid` when the configuration has problems (they are listed) or the
    /// HTTP client cannot be built.
    pub fn new(name: &str, config: BeyondTrustConfig) -> Result<Self> {
        refuse_problems(name, &config.problems())?;
        let timeout = config.request_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT);
        let mut client = RestClient::new("Password Safe", timeout, &config.tls)?;
        let api_url = config.api_url();
        let method = if config.uses_oauth() {
            let client_secret = SecretValue::from(config.client_secret.as_str());
            client = client.redacting(&client_secret);
            Method::OAuth { client_id: config.client_id, client_secret }
        } else {
            let api_key = SecretValue::from(config.api_key.as_str());
            client = client.redacting(&api_key);
            let password = (!config.password.is_empty()).then(|| SecretValue::from(config.password.as_str()));
            if let Some(password) = &password {
                client = client.redacting(password);
            }
            Method::ApiKey { api_key, run_as: config.run_as, password }
        };
        let (spec, folder_label) = if config.folder_id.is_empty() {
            (FolderSpec::Path(config.folder.clone()), config.folder)
        } else {
            (FolderSpec::Id(config.folder_id.clone()), format!("id {}", config.folder_id))
        };
        let sessions = Sessions::new(&api_url, method);
        let info = BackendInfo { kind: KIND, name: name.to_owned(), capabilities: CAPABILITIES };
        Ok(Self {
            info,
            client,
            api_url,
            spec,
            folder_label,
            folder: tokio::sync::OnceCell::new(),
            owner_id: config.owner_id,
            sessions,
            writes: tokio::sync::Mutex::new(()),
        })
    }

    /// The title of `name` in `scope` in the folder.
    pub fn secret_title(&self, scope: &Scope, name: &SecretName) -> String {
        secret_title(scope, name)
    }

    /// Ends the session (`POST /Auth/Signout`) now, if there is one; the next call signs in
    /// again. Dropping the backend does this too, without waiting, when a tokio runtime runs.
    pub async fn sign_out(&self) -> Result<()> {
        let Some(session) = self.sessions.take().await else { return Ok(()) };
        let doing = "signing out of Password Safe";
        let answer = self.client.send(self.sessions.sign_out_request(&self.client, &session), doing).await?;
        if answer.is_success() { Ok(()) } else { Err(session.failure(&self.client, &answer, doing).error()) }
    }

    /// Sends the request `build` makes in the session; on a 401, once more in a renewed
    /// session. The answer when it is a 2xx, else Password Safe's failure (redacted).
    async fn call(
        &self,
        call: Call,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<std::result::Result<Answer, VendorFailure>> {
        let doing = call.doing(&self.folder_label);
        let mut session = self.sessions.session(&self.client).await?;
        let mut answer = self.client.send(build().header(COOKIE, session.cookie()), &doing).await?;
        if answer.status == 401 {
            session = self.sessions.renew(&self.client, &session).await?;
            answer = self.client.send(build().header(COOKIE, session.cookie()), &doing).await?;
        }
        if answer.is_success() { Ok(Ok(answer)) } else { Ok(Err(session.failure(&self.client, &answer, &doing))) }
    }

    /// [`Self::call`], with any failure as its error.
    async fn call_ok(&self, call: Call, build: impl Fn() -> reqwest::RequestBuilder) -> Result<Answer> {
        self.call(call, build).await?.map_err(|failure| call_error(call, &self.sessions.identity(), &failure))
    }

    /// The error for an answer Password Safe should not give to `call`.
    fn unexpected(&self, call: Call, what: &str) -> Error {
        self.client.unexpected_answer(&call.doing(&self.folder_label), what)
    }

    /// A JSON list answer: a bare array (API 3.0, 3.1) or `{"TotalCount", "Data": [...]}`
    /// (3.2 and later).
    fn items(&self, call: Call, answer: &Answer) -> Result<Vec<Value>> {
        match answer.json() {
            Some(Value::Array(items)) => Ok(items),
            Some(Value::Object(mut wrapper)) => match wrapper.remove("Data") {
                Some(Value::Array(items)) => Ok(items),
                _ => Err(self.unexpected(call, "an object without a Data list")),
            },
            _ => Err(self.unexpected(call, "no JSON list")),
        }
    }

    /// `GET /Secrets-Safe/Folders`: the configured folder's id and path (walking `ParentId`s).
    async fn resolve_folder(&self) -> Result<Folder> {
        let url = format!("{}/Secrets-Safe/Folders", self.api_url);
        let answer =
            self.call_ok(Call::Folders, || self.client.http().get(&url).header(ACCEPT, "application/json")).await?;
        let folders = self.items(Call::Folders, &answer)?;
        let text = |folder: &Value, key: &str| folder.get(key).and_then(Value::as_str).map(str::to_owned);
        // Id (lowercase) → (name, parent id).
        let tree: HashMap<String, (String, Option<String>)> = folders
            .iter()
            .filter_map(|f| {
                let id = text(f, "Id")?.to_ascii_lowercase();
                Some((id, (text(f, "Name")?, text(f, "ParentId").map(|p| p.to_ascii_lowercase()))))
            })
            .collect();
        let path_of = |id: &str| -> Option<String> {
            let mut names = Vec::new();
            let mut current = Some(id.to_owned());
            while let Some(id) = current {
                let (name, parent) = tree.get(&id)?;
                names.push(name.as_str());
                if names.len() > MAX_FOLDER_DEPTH {
                    return None;
                }
                current = parent.clone().filter(|p| !p.is_empty() && p != "00000000-0000-0000-0000-000000000000");
            }
            names.reverse();
            Some(names.join("/"))
        };
        let found = match &self.spec {
            FolderSpec::Id(id) => {
                let id = id.to_ascii_lowercase();
                path_of(&id).map(|path| Folder { id, path })
            }
            FolderSpec::Path(path) => tree
                .keys()
                .filter_map(|id| path_of(id).map(|p| (id, p)))
                .find(|(_, p)| p.eq_ignore_ascii_case(path))
                .map(|(id, p)| Folder { id: id.clone(), path: p }),
        };
        found.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "Password Safe has no Secrets Safe folder {} that {} may see",
                    self.folder_label,
                    self.sessions.identity()
                ),
            )
        })
    }

    /// The configured folder, looked up once.
    async fn folder(&self) -> Result<&Folder> {
        self.folder.get_or_try_init(|| self.resolve_folder()).await
    }

    /// `GET /Secrets-Safe/Secrets?Path=<folder>[&Title=<title>]`: the folder's secrets (of
    /// that title), without those of other folders.
    async fn secrets(&self, call: Call, title: Option<&str>) -> Result<Vec<Value>> {
        let folder = self.folder().await?;
        let mut url = format!("{}/Secrets-Safe/Secrets?Path={}", self.api_url, component(&folder.path));
        if let Some(title) = title {
            url.push_str(&format!("&Title={}", component(title)));
        }
        let answer = match self.call(call, || self.client.http().get(&url).header(ACCEPT, "application/json")).await? {
            Ok(answer) => answer,
            // Some versions answer 404 when nothing matches.
            Err(failure) if failure.status == 404 && title.is_some() => return Ok(Vec::new()),
            Err(failure) => return Err(call_error(call, &self.sessions.identity(), &failure)),
        };
        let in_folder = |secret: &Value| {
            secret.get("FolderId").and_then(Value::as_str).is_none_or(|id| id.eq_ignore_ascii_case(&folder.id))
        };
        Ok(self.items(call, &answer)?.into_iter().filter(in_folder).collect())
    }

    /// The secret titled `title` in the folder, if any.
    async fn find(&self, title: &str) -> Result<Option<Found>> {
        let secrets = self.secrets(Call::Find, Some(title)).await?;
        let found = secrets
            .iter()
            .find(|s| s.get("Title").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(title)));
        let Some(secret) = found else { return Ok(None) };
        let id = secret
            .get("Id")
            .and_then(Value::as_str)
            .ok_or_else(|| self.unexpected(Call::Find, "a secret without an Id"))?;
        let kind = secret.get("SecretType").and_then(Value::as_str).unwrap_or("Credential");
        Ok(Some(Found { id: id.to_owned(), kind: kind.to_owned() }))
    }

    /// `{api}/Secrets-Safe/Secrets/{id}{rest}`.
    fn secret_url(&self, id: &str, rest: &str) -> String {
        format!("{}/Secrets-Safe/Secrets/{}{rest}", self.api_url, component(id))
    }

    /// The value of `found`: the text of a text secret, `{"username", "password"}` of a
    /// credential secret, the bytes of a file secret. `None` when it went away meanwhile.
    async fn read(&self, found: &Found) -> Result<Option<SecretValue>> {
        let kind = found.kind.to_ascii_lowercase();
        let url = match kind.as_str() {
            "text" => self.secret_url(&found.id, "/text"),
            "file" => self.secret_url(&found.id, "/file/download"),
            _ => self.secret_url(&found.id, ""),
        };
        let answer = match self.call(Call::Read, || self.client.http().get(&url)).await? {
            Ok(answer) => answer,
            Err(failure) if failure.status == 404 => return Ok(None),
            Err(failure) => return Err(call_error(Call::Read, &self.sessions.identity(), &failure)),
        };
        if kind == "file" {
            return Ok(Some(SecretValue::new(answer.body)));
        }
        let json = answer.json().ok_or_else(|| self.unexpected(Call::Read, "no JSON"))?;
        let field = |key: &str| json.get(key).and_then(Value::as_str);
        if kind == "text" {
            let text = field("Text").ok_or_else(|| self.unexpected(Call::Read, "a text secret without Text"))?;
            return Ok(Some(SecretValue::from_stored_text(text)));
        }
        Ok(Some(credential_value(field("Username").unwrap_or_default(), field("Password").unwrap_or_default())))
    }

    /// The body of a text secret hush writes (`POST .../secrets/text`, `PUT .../text`).
    fn text_body(&self, folder: &Folder, title: &str, text: &str, notes: &str) -> Value {
        let mut body = json!({
            "Title": title,
            "Text": text,
            "Description": DESCRIPTION,
            "Notes": notes,
            "FolderId": folder.id,
        });
        if let Some(owner) = self.owner_id {
            body["OwnerId"] = json!(owner);
            body["OwnerType"] = json!("User");
            body["Owners"] = json!([{ "OwnerId": owner }]);
        }
        body
    }
}

impl fmt::Debug for BeyondTrustBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BeyondTrustBackend")
            .field("name", &self.info.name)
            .field("api_url", &self.api_url)
            .field("folder", &self.folder_label)
            .field("sessions", &self.sessions)
            .finish_non_exhaustive()
    }
}

impl Drop for BeyondTrustBackend {
    /// Signs out of the current session without waiting: the request is spawned on the tokio
    /// runtime the backend is dropped in; with no runtime (or a sign-in under way) nothing is
    /// sent and Password Safe ends the idle session itself.
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let Some(session) = self.sessions.take_now() else { return };
        let request = self.sessions.sign_out_request(&self.client, &session);
        runtime.spawn(async move {
            let _ = request.send().await;
        });
    }
}

#[async_trait]
impl SecretBackend for BeyondTrustBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        if version.is_some() {
            return Err(self.unsupported("reading a pinned version"));
        }
        let title = secret_title(scope, name);
        let not_found = || {
            Error::secret_not_found(scope, name, None)
                .with_context("title", &title)
                .with_context("folder", &self.folder_label)
        };
        let Some(found) = self.find(&title).await? else { return Err(not_found()) };
        let value = self.read(&found).await?.ok_or_else(not_found)?;
        Ok(Secret { value, version: None, tags: Tags::new() })
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let secrets = self.secrets(Call::List, None).await?;
        if !filter.tags.is_empty() {
            // No secret here has tags, so none carries the filter's pairs.
            return Ok(Vec::new());
        }
        let mut found: Vec<(Scope, SecretName)> = secrets
            .iter()
            .filter_map(|s| {
                let title = s.get("Title").and_then(Value::as_str)?;
                parse_listed(title, s.get("Notes").and_then(Value::as_str))
            })
            .filter(|(s, _)| {
                s.tenant == scope.tenant
                    && (s.namespace == scope.namespace
                        || (filter.recursive && scope.namespace.is_self_or_ancestor_of(&s.namespace)))
            })
            .collect();
        found.sort_by(|a, b| (a.0.namespace.as_str(), a.1.as_str()).cmp(&(b.0.namespace.as_str(), b.1.as_str())));
        found.dedup();
        Ok(found.into_iter().map(|(s, name)| SecretMeta::new(s.namespace, name)).collect())
    }

    /// Writes the value as a text secret: updates the secret of that title, or creates it in
    /// the folder. A credential or file secret of that title is left alone (`Unsupported`).
    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        if !tags.is_empty() {
            return Err(self.unsupported("tags"));
        }
        let text = value_text(&value);
        let length = text.chars().count();
        if length > MAX_TEXT_LEN {
            return Err(Error::invalid_input(format!(
                "secret {name} in {scope} is {length} characters as text (binary values count as base64), more than \
                 the {MAX_TEXT_LEN} a Password Safe text secret holds"
            )));
        }
        let title = secret_title(scope, name);
        let notes = key_notes(scope, name);
        let _write = self.writes.lock().await;
        let folder = self.folder().await?;
        let body = self.text_body(folder, &title, &text, &notes).to_string();
        match self.find(&title).await? {
            None => {
                let url = format!("{}/Secrets-Safe/Folders/{}/secrets/text", self.api_url, component(&folder.id));
                let request =
                    || self.client.http().post(&url).header(CONTENT_TYPE, "application/json").body(body.clone());
                self.call_ok(Call::Create, request).await?;
            }
            Some(found) if found.kind.eq_ignore_ascii_case("text") => {
                let url = self.secret_url(&found.id, "/text");
                let request =
                    || self.client.http().put(&url).header(CONTENT_TYPE, "application/json").body(body.clone());
                self.call_ok(Call::Update, request).await?;
            }
            Some(found) => {
                return Err(self.unsupported(&format!(
                    "writing secret {name} in {scope}: its title {title} holds a {} secret, and hush writes text \
                     secrets only",
                    found.kind
                )));
            }
        }
        Ok(SecretMeta::new(scope.namespace.clone(), name.clone()).with_tags(tags))
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        let title = secret_title(scope, name);
        let not_found = || {
            Error::secret_not_found(scope, name, None)
                .with_context("title", &title)
                .with_context("folder", &self.folder_label)
        };
        let _write = self.writes.lock().await;
        let Some(found) = self.find(&title).await? else { return Err(not_found()) };
        let url = self.secret_url(&found.id, "");
        match self.call(Call::Delete, || self.client.http().delete(&url)).await? {
            Ok(_) => Ok(()),
            Err(failure) if failure.status == 404 => Err(not_found()),
            Err(failure) => Err(call_error(Call::Delete, &self.sessions.identity(), &failure)),
        }
    }

    /// Signs in (once) and looks the folder up again.
    async fn check(&self) -> Result<()> {
        let folder = self.resolve_folder().await?;
        let _ = self.folder.set(folder);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_config_is_refused_without_credentials() {
        let config = BeyondTrustConfig::with_api_key("", "SECRET KEY", "svc", "hush");
        let err = BeyondTrustBackend::new("bt", config).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
        assert!(err.to_string().contains("address"), "{err}");
        assert!(!format!("{err} {err:?}").contains("SECRET"), "{err:?}");
    }

    #[test]
    fn debug_shows_no_credentials() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config =
            BeyondTrustConfig::with_api_key("https://pws", "SECRETKEY", "svc", "hush/prod").with_password("SECRETPWD");
        let backend = BeyondTrustBackend::new("bt", config).unwrap();
        let text = format!("{backend:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("hush/prod") && text.contains("user svc"), "{text}");
        assert_eq!(backend.info().capabilities, CAPABILITIES);
        const { assert!(CAPABILITIES.write && CAPABILITIES.list && !CAPABILITIES.tags && !CAPABILITIES.versions) };
    }

    #[test]
    fn query_values_and_ids_are_percent_encoded() {
        assert_eq!(component("hush/prod x"), "hush%2Fprod%20x");
        assert_eq!(component("^Acme.a.DB_^x"), "%5EAcme.a.DB_%5Ex");
    }
}
