//! The `delinea` backend: the secrets of one Secret Server folder, found by name, read as a
//! field or as an object of fields, written into one field of hush's template, listed and
//! deleted, through Secret Server's REST API with an OAuth2 access token.

use std::fmt;

use async_trait::async_trait;
use hush_core::{
    BackendInfo, Capabilities, DEFAULT_CALL_TIMEOUT, Error, ErrorKind, KindConfig, ListFilter, Result, Scope, Secret,
    SecretBackend, SecretMeta, SecretName, SecretValue, Tags, VersionId, refuse_problems,
};
use hush_rest::{Answer, RestClient, VendorFailure};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::KIND;
use crate::auth::{Authenticator, Method};
use crate::config::DelineaConfig;
use crate::error::{Call, call_error, duplicate_names};
use crate::mapping::{fields_object, namespace_prefix, parse_secret_name, secret_name};

/// Secrets asked for per page of a search (`take`).
pub const SEARCH_PAGE_SIZE: usize = 500;

/// What a backend with `folder_id` and `secret_template_id` can do: read, write and list. No
/// versions (Secret Server's REST API reads no earlier value of a secret) and no tags.
pub const CAPABILITIES: Capabilities = Capabilities::full().with_versions(false).with_tags(false);

/// What a backend without them can do: read and list.
pub const READ_ONLY_CAPABILITIES: Capabilities = Capabilities::read_only();

/// The capabilities of a backend with `config`: [`CAPABILITIES`] when it can write (a folder
/// and a template are configured), else [`READ_ONLY_CAPABILITIES`].
pub fn capabilities(config: &DelineaConfig) -> Capabilities {
    if config.write_problems().is_empty() { CAPABILITIES } else { READ_ONLY_CAPABILITIES }
}

/// What is percent-encoded in a query value or path segment: everything but `[A-Za-z0-9_.~-]`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'~').remove(b'-');

fn encoded(text: &str) -> String {
    utf8_percent_encode(text, QUERY_VALUE).to_string()
}

/// A secret the search found: its id and template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Found {
    id: u64,
    template: Option<u64>,
}

/// The secrets of one Secret Server folder (or of every folder the user sees, for a
/// read-only backend without `folder_id`).
///
/// Key mapping: secret `NAME` of tenant `t` and namespace `a.b` is the secret named
/// `t.a.b.NAME` (see [`crate::secret_name`] and `docs.md`). A secret of template
/// `secret_template_id` reads as its `value_field`; any other secret as the JSON object of its
/// fields by slug. Nothing is sent at construction.
pub struct DelineaBackend {
    info: BackendInfo,
    client: RestClient,
    auth: Authenticator,
    folder_id: Option<u64>,
    secret_template_id: Option<u64>,
    value_field: String,
    site_id: u64,
    /// The value field's `fieldId` in hush's template, read once, at the first create.
    value_field_id: tokio::sync::OnceCell<u64>,
    /// Held by `put` and `delete`: this backend's writes take turns, so two of them never
    /// create two secrets of one name.
    writing: tokio::sync::Mutex<()>,
}

impl DelineaBackend {
    /// A backend for `config`; sends nothing yet.
    ///
    /// Fails with `ConfigInvalid` when the configuration has problems (they are listed) or the
    /// HTTP client cannot be built.
    pub fn new(name: &str, config: DelineaConfig) -> Result<Self> {
        refuse_problems(name, &config.problems())?;
        let timeout = config.request_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT);
        let capabilities = capabilities(&config);
        let vendor = if config.is_platform() { "Delinea Platform" } else { "Secret Server" };
        let client = RestClient::new(vendor, timeout, &config.tls)?;
        let (client, method) = if config.is_platform() {
            let client_secret = SecretValue::from(config.client_secret.as_str());
            (client.redacting(&client_secret), Method::ClientCredentials { client_id: config.client_id, client_secret })
        } else {
            let password = SecretValue::from(config.password.as_str());
            (
                client.redacting(&password),
                Method::Password { username: config.username, password, domain: config.domain },
            )
        };
        let auth = Authenticator::new(&config.address, method);
        let info = BackendInfo { kind: KIND, name: name.to_owned(), capabilities };
        Ok(Self {
            info,
            client,
            auth,
            folder_id: config.folder_id,
            secret_template_id: config.secret_template_id,
            value_field: config.value_field,
            site_id: config.site_id,
            value_field_id: tokio::sync::OnceCell::new(),
            writing: tokio::sync::Mutex::new(()),
        })
    }

    /// The Secret Server name of `name` in `scope`.
    pub fn secret_name(&self, scope: &Scope, name: &SecretName) -> String {
        secret_name(scope, name)
    }

    /// Where hush looks secrets up, for messages: `folder 42`, or `every folder`.
    fn place(&self) -> String {
        match self.folder_id {
            Some(id) => format!("folder {id}"),
            None => "every folder".to_owned(),
        }
    }

    /// Sends the request `build` makes (given `{Secret Server}/api/v1`) with the access token;
    /// on a 401, once more with a renewed token. The answer when it is a 2xx, else Delinea's
    /// failure (redacted).
    async fn call(
        &self,
        doing: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<std::result::Result<Answer, VendorFailure>> {
        let mut token = self.auth.token(&self.client).await?;
        let mut answer = self.client.send(build(token.api()).header(AUTHORIZATION, token.header()), doing).await?;
        if answer.status == 401 {
            token = self.auth.renew(&self.client, &token).await?;
            answer = self.client.send(build(token.api()).header(AUTHORIZATION, token.header()), doing).await?;
        }
        if answer.is_success() { Ok(Ok(answer)) } else { Ok(Err(token.failure(&self.client, &answer, doing))) }
    }

    /// [`Self::call`] of `call`, with any failure as its error.
    async fn call_ok(
        &self,
        call: Call,
        doing: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Answer> {
        self.call(doing, build).await?.map_err(|failure| call_error(call, &self.auth.identity(), &failure))
    }

    /// Every secret the search for `text` finds in the folder, page after page: Secret
    /// Server's `records` (`{id, name, secretTemplateId, folderId, ...}`). At most `limit`.
    async fn search(&self, text: &str, limit: usize) -> Result<Vec<Value>> {
        let doing = Call::Search.doing(&self.place());
        let folder = self.folder_id.map(|id| format!("&filter.folderId={id}")).unwrap_or_default();
        let mut found = Vec::new();
        loop {
            let take = SEARCH_PAGE_SIZE.min(limit - found.len());
            let query = format!("filter.searchText={}{folder}&skip={}&take={take}", encoded(text), found.len());
            let answer = self
                .call_ok(Call::Search, &doing, |api| {
                    self.client.http().get(format!("{api}/secrets?{query}")).header(ACCEPT, "application/json")
                })
                .await?;
            let page = answer.json().ok_or_else(|| self.client.unexpected_answer(&doing, "no JSON"))?;
            let records = page
                .get("records")
                .and_then(Value::as_array)
                .ok_or_else(|| self.client.unexpected_answer(&doing, "no records"))?;
            let count = records.len();
            found.extend(records.iter().cloned());
            let more = page.get("hasNext").and_then(Value::as_bool).unwrap_or(count == take);
            if !more || count == 0 || found.len() >= limit {
                return Ok(found);
            }
        }
    }

    /// The one secret named exactly `text` in the folder; `None` when there is none, and
    /// `Conflict` when there are several (Secret Server's search is not exact, so hush compares
    /// the names itself).
    async fn find(&self, text: &str) -> Result<Option<Found>> {
        let matches: Vec<Found> = self
            .search(text, usize::MAX)
            .await?
            .iter()
            .filter(|record| record.get("name").and_then(Value::as_str) == Some(text))
            .filter_map(|record| {
                Some(Found {
                    id: record.get("id").and_then(Value::as_u64)?,
                    template: record.get("secretTemplateId").and_then(Value::as_u64),
                })
            })
            .collect();
        match matches.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            many => Err(duplicate_names(text, &self.place(), &many.iter().map(|f| f.id).collect::<Vec<_>>())),
        }
    }

    /// The `fieldId` of `value_field` in hush's template (read once).
    async fn value_field_id(&self, template: u64) -> Result<u64> {
        let id = self
            .value_field_id
            .get_or_try_init(|| async {
                let doing = Call::Template.doing(&format!("template {template}"));
                let answer = self
                    .call_ok(Call::Template, &doing, |api| {
                        self.client
                            .http()
                            .get(format!("{api}/secret-templates/{template}"))
                            .header(ACCEPT, "application/json")
                    })
                    .await?;
                let json = answer.json().ok_or_else(|| self.client.unexpected_answer(&doing, "no JSON"))?;
                let fields = json.get("fields").and_then(Value::as_array).cloned().unwrap_or_default();
                let field = fields
                    .iter()
                    .find(|f| f.get("fieldSlugName").and_then(Value::as_str) == Some(self.value_field.as_str()));
                let Some(field) = field else {
                    return Err(Error::new(
                        ErrorKind::ConfigInvalid,
                        format!(
                            "secret template {template} (secret_template_id) has no field with slug {:?} (value_field)",
                            self.value_field
                        ),
                    ));
                };
                if field.get("isFile").and_then(Value::as_bool) == Some(true) {
                    return Err(Error::new(
                        ErrorKind::ConfigInvalid,
                        format!(
                            "field {:?} (value_field) of secret template {template} is a file attachment; hush \
                             writes text fields only",
                            self.value_field
                        ),
                    ));
                }
                field
                    .get("secretTemplateFieldId")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| self.client.unexpected_answer(&doing, "a field without secretTemplateFieldId"))
            })
            .await?;
        Ok(*id)
    }

    /// The folder and template writes need; `Unsupported` (this backend is read-only) naming
    /// the options when one is missing.
    fn write_target(&self) -> Result<(u64, u64)> {
        match (self.folder_id, self.secret_template_id) {
            (Some(folder), Some(template)) => Ok((folder, template)),
            _ => Err(self.unsupported(
                "writes: this backend is read-only without folder_id and secret_template_id (hush config check \
                 names what is missing)",
            )),
        }
    }

    /// What a secret of `template` with `items` reads as (see `docs.md`, "Values").
    fn value_of(&self, name: &str, template: Option<u64>, items: &[Value]) -> Result<SecretValue> {
        if template.is_some() && template == self.secret_template_id {
            let item = items.iter().find(|i| i.get("slug").and_then(Value::as_str) == Some(self.value_field.as_str()));
            let Some(item) = item else {
                return Err(Error::new(
                    ErrorKind::ConfigInvalid,
                    format!("secret {name:?} of hush's template has no field {:?} (value_field)", self.value_field),
                ));
            };
            return Ok(SecretValue::from_stored_text(
                item.get("itemValue").and_then(Value::as_str).unwrap_or_default(),
            ));
        }
        Ok(SecretValue::new(fields_object(items).to_string()))
    }
}

impl fmt::Debug for DelineaBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelineaBackend")
            .field("name", &self.info.name)
            .field("auth", &self.auth)
            .field("folder_id", &self.folder_id)
            .field("secret_template_id", &self.secret_template_id)
            .field("value_field", &self.value_field)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SecretBackend for DelineaBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        if version.is_some() {
            return Err(self.unsupported("pinned versions (Secret Server's REST API reads only the current value)"));
        }
        let text = self.secret_name(scope, name);
        let Some(found) = self.find(&text).await? else {
            return Err(Error::secret_not_found(scope, name, None).with_context("secret", &text));
        };
        let doing = Call::Read.doing(&format!("secret {} in {}", found.id, self.place()));
        let request = |api: &str| {
            self.client.http().get(format!("{api}/secrets/{}", found.id)).header(ACCEPT, "application/json")
        };
        let answer = match self.call(&doing, request).await? {
            Ok(answer) => answer,
            // Removed between the search and the read.
            Err(failure) if failure.status == 404 => {
                return Err(Error::secret_not_found(scope, name, None).with_context("secret", &text));
            }
            Err(failure) => return Err(call_error(Call::Read, &self.auth.identity(), &failure)),
        };
        let secret = answer.json().ok_or_else(|| self.client.unexpected_answer(&doing, "no JSON secret"))?;
        let items = secret.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
        let template = secret.get("secretTemplateId").and_then(Value::as_u64).or(found.template);
        let value = self.value_of(&text, template, &items)?;
        Ok(Secret { value, version: None, tags: Tags::new() })
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let prefix = namespace_prefix(scope);
        let records = self.search(&prefix, usize::MAX).await?;
        if !filter.tags.is_empty() {
            // No secret here has tags, so none carries the filter's pairs.
            return Ok(Vec::new());
        }
        let mut found: Vec<SecretMeta> = records
            .iter()
            .filter_map(|record| record.get("name").and_then(Value::as_str))
            .filter(|text| text.starts_with(&prefix))
            .filter_map(parse_secret_name)
            .filter(|(s, _)| s.tenant == scope.tenant && (filter.recursive || s.namespace == scope.namespace))
            .map(|(s, name)| SecretMeta::new(s.namespace, name))
            .collect();
        found.sort_by(|a, b| (a.namespace.as_str(), a.name.as_str()).cmp(&(b.namespace.as_str(), b.name.as_str())));
        // Two secrets of one name (see `find`) are listed once.
        found.dedup_by(|a, b| a.namespace == b.namespace && a.name == b.name);
        Ok(found)
    }

    /// Writes `value` into the `value_field` of the secret named for the key in the folder,
    /// creating it from `secret_template_id` when there is none.
    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        if !tags.is_empty() {
            return Err(self.unsupported("tags"));
        }
        let (folder, template) = self.write_target()?;
        let text = self.secret_name(scope, name);
        let item_value = value.to_stored_text();
        let _writing = self.writing.lock().await;
        match self.find(&text).await? {
            Some(found) if found.template.is_some_and(|t| t != template) => {
                return Err(Error::invalid_input(format!(
                    "secret {text:?} (id {}) in folder {folder} is of template {}, not hush's {template} \
                     (secret_template_id): hush writes only secrets of its template; rename or remove it",
                    found.id,
                    found.template.unwrap_or_default()
                )));
            }
            Some(found) => {
                let doing = Call::Update.doing(&format!("secret {} in folder {folder}", found.id));
                let body = json!({ "value": item_value }).to_string();
                self.call_ok(Call::Update, &doing, |api| {
                    self.client
                        .http()
                        .put(format!("{api}/secrets/{}/fields/{}", found.id, encoded(&self.value_field)))
                        .header(CONTENT_TYPE, "application/json")
                        .body(body.clone())
                })
                .await?;
            }
            None => {
                let field_id = self.value_field_id(template).await?;
                let doing = Call::Create.doing(&format!("a secret in folder {folder}"));
                let body = json!({
                    "name": text,
                    "secretTemplateId": template,
                    "folderId": folder,
                    "siteId": self.site_id,
                    "items": [{"fieldId": field_id, "slug": self.value_field, "itemValue": item_value}],
                })
                .to_string();
                self.call_ok(Call::Create, &doing, |api| {
                    self.client
                        .http()
                        .post(format!("{api}/secrets"))
                        .header(CONTENT_TYPE, "application/json")
                        .body(body.clone())
                })
                .await?;
            }
        }
        Ok(SecretMeta::new(scope.namespace.clone(), name.clone()).with_tags(tags))
    }

    /// Deletes the secret named for the key in the folder (Secret Server deactivates it).
    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        self.write_target()?;
        let text = self.secret_name(scope, name);
        let _writing = self.writing.lock().await;
        let Some(found) = self.find(&text).await? else {
            return Err(Error::secret_not_found(scope, name, None).with_context("secret", &text));
        };
        let doing = Call::Delete.doing(&format!("secret {} in {}", found.id, self.place()));
        let request = |api: &str| self.client.http().delete(format!("{api}/secrets/{}", found.id));
        match self.call(&doing, request).await? {
            Ok(_) => Ok(()),
            Err(failure) if failure.status == 404 => {
                Err(Error::secret_not_found(scope, name, None).with_context("secret", &text))
            }
            Err(failure) => Err(call_error(Call::Delete, &self.auth.identity(), &failure)),
        }
    }

    async fn check(&self) -> Result<()> {
        self.search("", 1).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_config_is_refused_without_the_password() {
        let config = DelineaConfig::with_password("", "svc", "SECRET\nPW");
        let err = DelineaBackend::new("dl", config).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
        assert!(err.to_string().contains("address"), "{err}");
        assert!(!format!("{err} {err:?}").contains("SECRET"), "{err:?}");
    }

    #[test]
    fn capabilities_follow_the_write_options_and_debug_shows_no_password() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = DelineaConfig::with_password("https://ss", "svc-hush", "SECRETPW");
        assert_eq!(capabilities(&config), READ_ONLY_CAPABILITIES);
        let writer = config.clone().with_folder_and_template(4, 6001);
        assert_eq!(capabilities(&writer), CAPABILITIES);
        let backend = DelineaBackend::new("dl", writer).unwrap();
        let text = format!("{backend:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("svc-hush") && text.contains("6001"), "{text}");
        assert_eq!(backend.info().capabilities, CAPABILITIES);
        const { assert!(CAPABILITIES.read && CAPABILITIES.write && CAPABILITIES.list) };
        const { assert!(!CAPABILITIES.versions && !CAPABILITIES.tags) };
        const { assert!(READ_ONLY_CAPABILITIES.read && READ_ONLY_CAPABILITIES.list && !READ_ONLY_CAPABILITIES.write) };
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encoded("acme.team.DB_PASSWORD"), "acme.team.DB_PASSWORD");
        assert_eq!(encoded("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
