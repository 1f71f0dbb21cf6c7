//! The `onepassword` backend: one item per secret in the vaults of a 1Password Connect server,
//! found by title, read, created or replaced, deleted and listed through the Connect API.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use async_trait::async_trait;
use hush_core::{
    BackendInfo, Capabilities, DEFAULT_CALL_TIMEOUT, Error, ErrorKind, KindConfig, ListFilter, Result, Scope, Secret,
    SecretBackend, SecretMeta, SecretName, SecretValue, Tags, VersionId, refuse_problems,
};
use hush_rest::{Answer, RestClient, credential};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::KIND;
use crate::config::{OnePasswordConfig, address_problem, is_onepassword_id, tenant_vault};
use crate::error::{Call, call_error, withholding};
use crate::mapping::{hush_tags, item_tags, item_title, item_value, parse_item_tag, parse_item_title};

/// Where the token comes from when `token` is empty, as for 1Password's SDKs and tools.
pub const TOKEN_VARIABLE: &str = "OP_CONNECT_TOKEN";

/// Where the address comes from when `address` is empty, as for 1Password's SDKs.
pub const HOST_VARIABLE: &str = "OP_CONNECT_HOST";

/// The category of the items hush creates: it needs no autofill field (a `LOGIN` or
/// `PASSWORD` item may need a field of purpose `PASSWORD`).
pub const ITEM_CATEGORY: &str = "API_CREDENTIAL";

/// What this backend can do: read, write, list and tags; no versions (Connect cannot read an
/// item's earlier versions).
pub const CAPABILITIES: Capabilities = Capabilities::full().with_versions(false);

/// How many locks serialise the writes of one title (by hash) in this process.
const WRITE_LOCKS: usize = 32;

/// `configured` when set, else the trimmed value of `variable` (read with `read`); checked
/// as an address. `ConfigInvalid` naming the key or the variable.
fn address_or_variable(
    backend: &str,
    configured: &str,
    variable: &str,
    read: impl FnOnce(&str) -> Option<String>,
) -> Result<String> {
    let (address, from) = if configured.is_empty() {
        (read(variable).map(|v| v.trim().to_owned()).unwrap_or_default(), variable)
    } else {
        (configured.to_owned(), "address")
    };
    if address.is_empty() {
        return Err(Error::new(
            ErrorKind::ConfigInvalid,
            format!("backend {backend:?}: address is not set and {variable} is empty"),
        ));
    }
    match address_problem(&address) {
        Some(problem) => Err(Error::new(ErrorKind::ConfigInvalid, format!("backend {backend:?}: {from}: {problem}"))),
        None => Ok(address.trim_end_matches('/').to_owned()),
    }
}

/// An item as Connect lists it (no fields).
#[derive(Debug, Clone)]
struct Summary {
    id: String,
    title: String,
    category: String,
    tags: Vec<String>,
    updated_at: Option<i64>,
}

/// Unix seconds of an RFC 3339 time as Connect writes it (`2024-05-01T12:00:00.123Z`).
fn unix_seconds(time: &str) -> Option<i64> {
    let at = humantime::parse_rfc3339_weak(time.trim_end_matches('Z')).ok()?;
    at.duration_since(std::time::UNIX_EPOCH).ok().and_then(|d| i64::try_from(d.as_secs()).ok())
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map_or_else(Vec::new, |a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
}

/// The item `item` (an element of a list, or a whole item) describes; `None` when it has no
/// proper id or title. Archived and deleted items are left out (`Some(None)`).
fn summary(item: &Value) -> Option<Option<Summary>> {
    let id = item.get("id").and_then(Value::as_str).filter(|id| is_onepassword_id(id))?;
    let title = item.get("title").and_then(Value::as_str)?;
    if matches!(item.get("state").and_then(Value::as_str), Some("ARCHIVED" | "DELETED")) {
        return Some(None);
    }
    Some(Some(Summary {
        id: id.to_owned(),
        title: title.to_owned(),
        category: item.get("category").and_then(Value::as_str).unwrap_or(ITEM_CATEGORY).to_owned(),
        tags: strings(item.get("tags")),
        updated_at: item.get("updatedAt").and_then(Value::as_str).and_then(unix_seconds),
    }))
}

/// Secrets as items in the vaults of one 1Password Connect server.
///
/// Key mapping: secret `NAME` of tenant `t` in namespace `a.b` is the item titled
/// `<prefix>t/a.b/NAME` in the tenant's vault (see [`crate::item_title`] and `docs.md`); its
/// value is the concealed field labelled `field`. Nothing is sent at construction.
pub struct OnePasswordBackend {
    info: BackendInfo,
    client: RestClient,
    /// The server's address, without a trailing `/`.
    address: String,
    /// `Bearer <token>`, marked sensitive.
    authorization: HeaderValue,
    vault_id: String,
    vault_ids: BTreeMap<String, String>,
    prefix: String,
    field: String,
    /// Writes of one title (put, delete) take the lock its hash selects, so two writes of a
    /// new secret in this process cannot create two items.
    write_locks: Vec<Mutex<()>>,
}

impl OnePasswordBackend {
    /// A backend for `config`; sends nothing yet.
    ///
    /// Fails with `ConfigInvalid` when the configuration has problems (they are listed), no
    /// address or token is set (in config or `OP_CONNECT_HOST` / `OP_CONNECT_TOKEN`), or the
    /// HTTP client cannot be built (an unreadable `tls.ca_file`).
    pub fn new(name: &str, config: OnePasswordConfig) -> Result<Self> {
        refuse_problems(name, &config.problems())?;
        let address = address_or_variable(name, &config.address, HOST_VARIABLE, |v| std::env::var(v).ok())?;
        let timeout = config.request_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT);
        let token = credential::configured_or_env(name, "token", &config.token, TOKEN_VARIABLE)?;
        let authorization = credential::authorization("Bearer", &token)?;
        let client = RestClient::new("1Password Connect", timeout, &config.tls)?.redacting(&token);
        let info = BackendInfo { kind: KIND, name: name.to_owned(), capabilities: CAPABILITIES };
        Ok(Self {
            info,
            client,
            address,
            authorization,
            vault_id: config.vault_id,
            vault_ids: config.vault_ids,
            prefix: config.prefix,
            field: config.field,
            write_locks: (0..WRITE_LOCKS).map(|_| Mutex::new(())).collect(),
        })
    }

    /// The vault of `scope`'s tenant, or `NotFound` when the backend has none for it.
    fn vault(&self, scope: &Scope) -> Result<&str> {
        let tenant = scope.tenant.as_str();
        tenant_vault(&self.vault_ids, &self.vault_id, tenant).ok_or_else(|| {
            Error::not_found(format!(
                "backend {:?} has no 1Password vault for tenant {tenant}: set vault_ids.{tenant} or vault_id",
                self.info.name
            ))
        })
    }

    /// `{address}/v1/vaults/{vault}/items`.
    fn items_url(&self, vault: &str) -> String {
        format!("{}/v1/vaults/{vault}/items", self.address)
    }

    /// Sends `request` with the token; the answer, or the mapped error (the vendor's message
    /// withheld when it repeats `written`).
    async fn send(&self, call: Call, vault: &str, request: reqwest::RequestBuilder, written: &str) -> Result<Answer> {
        let request = request.header(AUTHORIZATION, self.authorization.clone()).header(ACCEPT, "application/json");
        let doing = call.doing(vault);
        let answer = self.client.send(request, &doing).await?;
        if answer.is_success() {
            Ok(answer)
        } else {
            Err(call_error(call, vault, &withholding(self.client.failure(&answer, &doing), written)))
        }
    }

    /// The JSON of `answer`, or the error for an answer Connect should not give.
    fn json(&self, call: Call, vault: &str, answer: &Answer) -> Result<Value> {
        answer.json().ok_or_else(|| self.client.unexpected_answer(&call.doing(vault), "no JSON"))
    }

    /// Like [`Self::send`], with a 404 as the secret's `NotFound`.
    async fn send_for_item(
        &self,
        call: Call,
        vault: &str,
        (scope, name, title): (&Scope, &SecretName, &str),
        request: reqwest::RequestBuilder,
        written: &str,
    ) -> Result<Answer> {
        self.send(call, vault, request, written).await.map_err(|e| {
            if e.kind() == ErrorKind::NotFound { self.secret_not_found(scope, name, vault, title) } else { e }
        })
    }

    fn secret_not_found(&self, scope: &Scope, name: &SecretName, vault: &str, title: &str) -> Error {
        Error::secret_not_found(scope, name, None).with_context("title", title).with_context("vault", vault)
    }

    /// The items of `vault` (archived ones left out), all of them or those `filter` selects.
    async fn summaries(&self, call: Call, vault: &str, filter: Option<&str>) -> Result<Vec<Summary>> {
        let url = match filter {
            None => self.items_url(vault),
            Some(filter) => {
                let encoded: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
                format!("{}?filter={encoded}", self.items_url(vault))
            }
        };
        let answer = self.send(call, vault, self.client.http().get(url), "").await?;
        match self.json(call, vault, &answer)? {
            Value::Array(items) => items
                .iter()
                .map(|item| {
                    summary(item).ok_or_else(|| {
                        self.client.unexpected_answer(&call.doing(vault), "an item without an id or title")
                    })
                })
                .filter_map(Result::transpose)
                .collect(),
            Value::Null => Ok(Vec::new()),
            _ => Err(self.client.unexpected_answer(&call.doing(vault), "items that are not a list")),
        }
    }

    /// The one item of `vault` titled exactly `title`: `None` when there is none; `Internal`
    /// naming the title when there are several (hush never picks one).
    async fn find(&self, vault: &str, title: &str) -> Result<Option<Summary>> {
        // Titles hush uses hold no `"` or `\` (see the config's checks), so the filter needs
        // no escaping; the exact comparison keeps a server's looser matching out.
        let filter = format!("title eq \"{title}\"");
        let mut found: Vec<Summary> =
            self.summaries(Call::Find, vault, Some(&filter)).await?.into_iter().filter(|s| s.title == title).collect();
        match found.len() {
            0 | 1 => Ok(found.pop()),
            count => Err(Error::new(
                ErrorKind::Internal,
                format!(
                    "{count} items of vault {vault} are titled {title:?}; hush keeps one item per secret and picks none of them: delete or rename all but one"
                ),
            )
            .with_context("title", title)
            .with_context("vault", vault)),
        }
    }

    /// The lock the writes of `title` take.
    fn write_lock(&self, title: &str) -> &Mutex<()> {
        let mut hasher = DefaultHasher::new();
        title.hash(&mut hasher);
        &self.write_locks[(hasher.finish() % WRITE_LOCKS as u64) as usize]
    }

    /// Whether a secret in `found` (the scope of a parsed title) belongs in a list of `listed`
    /// with `filter` (tags aside).
    fn lists(listed: &Scope, filter: &ListFilter, found: &Scope) -> bool {
        found.tenant == listed.tenant
            && (found.namespace == listed.namespace
                || (filter.recursive && listed.namespace.is_self_or_ancestor_of(&found.namespace)))
    }
}

impl fmt::Debug for OnePasswordBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnePasswordBackend")
            .field("name", &self.info.name)
            .field("address", &self.address)
            .field("vault_id", &self.vault_id)
            .field("vault_ids", &self.vault_ids)
            .field("prefix", &self.prefix)
            .field("field", &self.field)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SecretBackend for OnePasswordBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        if version.is_some() {
            return Err(
                self.unsupported("reading a pinned version (1Password Connect reads an item's latest version only)")
            );
        }
        let vault = self.vault(scope)?;
        let title = item_title(&self.prefix, scope, name);
        let summary =
            self.find(vault, &title).await?.ok_or_else(|| self.secret_not_found(scope, name, vault, &title))?;
        let url = format!("{}/{}", self.items_url(vault), summary.id);
        let request = self.client.http().get(url);
        let answer = self.send_for_item(Call::Read, vault, (scope, name, &title), request, "").await?;
        let item = self.json(Call::Read, vault, &answer)?;
        let fields = item.get("fields").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        let tags = strings(item.get("tags"));
        Ok(Secret {
            value: item_value(fields, &self.field),
            version: None,
            tags: hush_tags(tags.iter().map(String::as_str)),
        })
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let vault = self.vault(scope)?;
        let mut found: Vec<SecretMeta> = self
            .summaries(Call::List, vault, None)
            .await?
            .into_iter()
            .filter_map(|s| {
                let (parsed, name) = parse_item_title(&self.prefix, &s.title)?;
                let tags = hush_tags(s.tags.iter().map(String::as_str));
                (Self::lists(scope, filter, &parsed) && tags.contains_all(&filter.tags)).then_some(SecretMeta {
                    namespace: parsed.namespace,
                    name,
                    version: None,
                    tags,
                    updated_at: s.updated_at,
                })
            })
            .collect();
        found.sort_by(|a, b| (a.namespace.as_str(), a.name.as_str()).cmp(&(b.namespace.as_str(), b.name.as_str())));
        Ok(found)
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        let vault = self.vault(scope)?;
        let title = item_title(&self.prefix, scope, name);
        let text = value.to_stored_text();
        let field = json!({"type": "CONCEALED", "label": self.field, "value": text});
        let _writing = self.write_lock(&title).lock().await;
        let existing = self.find(vault, &title).await?;
        let key = (scope, name, title.as_str());
        let answer = match existing {
            None => {
                let item = json!({
                    "vault": {"id": vault},
                    "title": title,
                    "category": ITEM_CATEGORY,
                    "tags": item_tags(&tags),
                    "fields": [field],
                });
                let request = self.client.http().post(self.items_url(vault)).header(CONTENT_TYPE, "application/json");
                self.send(Call::Create, vault, request.body(item.to_string()), &text).await?
            }
            Some(existing) => {
                // Replace: hush's value field and tags; tags that are not hush's stay.
                let kept = existing.tags.iter().filter(|t| parse_item_tag(t).is_none()).cloned();
                let all_tags: BTreeSet<String> = kept.chain(item_tags(&tags)).collect();
                let item = json!({
                    "id": existing.id,
                    "vault": {"id": vault},
                    "title": title,
                    "category": existing.category,
                    "tags": all_tags,
                    "fields": [field],
                });
                let url = format!("{}/{}", self.items_url(vault), existing.id);
                let request = self.client.http().put(url).header(CONTENT_TYPE, "application/json");
                self.send_for_item(Call::Replace, vault, key, request.body(item.to_string()), &text).await?
            }
        };
        let updated_at =
            answer.json().and_then(|item| item.get("updatedAt").and_then(Value::as_str).and_then(unix_seconds));
        Ok(SecretMeta { namespace: scope.namespace.clone(), name: name.clone(), version: None, tags, updated_at })
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        let vault = self.vault(scope)?;
        let title = item_title(&self.prefix, scope, name);
        let _writing = self.write_lock(&title).lock().await;
        let existing =
            self.find(vault, &title).await?.ok_or_else(|| self.secret_not_found(scope, name, vault, &title))?;
        let request = self.client.http().delete(format!("{}/{}", self.items_url(vault), existing.id));
        self.send_for_item(Call::Delete, vault, (scope, name, &title), request, "").await.map(|_| ())
    }

    async fn check(&self) -> Result<()> {
        // Reachability first: the heartbeat needs no token, so a refusal below is the token's.
        let heartbeat = self.client.http().get(format!("{}/heartbeat", self.address));
        let doing = Call::Heartbeat.doing("");
        let answer = self.client.send(heartbeat, &doing).await?;
        if !answer.is_success() {
            return Err(call_error(Call::Heartbeat, "", &self.client.failure(&answer, &doing)));
        }
        let vaults: BTreeSet<&str> = self
            .vault_ids
            .values()
            .map(String::as_str)
            .chain((!self.vault_id.is_empty()).then_some(self.vault_id.as_str()))
            .collect();
        for vault in vaults {
            let request = self.client.http().get(format!("{}/v1/vaults/{vault}", self.address));
            self.send(Call::Vault, vault, request, "").await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VAULT: &str = "abcdefghijklmnopqrstuvwxy0";

    #[test]
    fn a_bad_config_is_refused_without_the_token() {
        let err = OnePasswordBackend::new("op", OnePasswordConfig::new("http://op", "eyJ SECRET", "")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
        assert!(err.to_string().contains("vault_id"), "{err}");
        assert!(!format!("{err} {err:?}").contains("SECRET"), "{err:?}");
    }

    #[test]
    fn the_address_comes_from_config_else_the_variable() {
        let from = |configured: &str, variable: Option<&str>| {
            address_or_variable("op", configured, HOST_VARIABLE, |_| variable.map(str::to_owned))
        };
        assert_eq!(from("http://a:8080/", Some("http://b")).unwrap(), "http://a:8080");
        assert_eq!(from("", Some(" http://b:8080\n")).unwrap(), "http://b:8080");
        let missing = from("", None).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::ConfigInvalid);
        assert!(missing.to_string().contains("address is not set and OP_CONNECT_HOST is empty"), "{missing}");
        let bad = from("", Some("op-connect:8080")).unwrap_err();
        assert!(bad.to_string().contains("OP_CONNECT_HOST: must be http(s)://"), "{bad}");
    }

    #[test]
    fn debug_shows_no_token() {
        // reqwest needs rustls's process provider, which the binaries install.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let backend = OnePasswordBackend::new("op", OnePasswordConfig::new("http://op", "eyJ.SECRET", VAULT)).unwrap();
        let text = format!("{backend:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains(VAULT), "{text}");
        assert_eq!(backend.info().capabilities, CAPABILITIES);
        const { assert!(CAPABILITIES.write && CAPABILITIES.list && CAPABILITIES.tags && !CAPABILITIES.versions) };
    }

    #[test]
    fn listed_items_need_an_id_and_a_title_and_not_be_archived() {
        let listed =
            summary(&json!({"id": VAULT, "title": "t", "tags": ["a=b"], "updatedAt": "2024-05-01T12:00:00.123Z"}));
        let listed = listed.flatten().unwrap();
        assert_eq!((listed.category.as_str(), listed.tags.as_slice()), (ITEM_CATEGORY, &["a=b".to_owned()][..]));
        assert_eq!(listed.updated_at, Some(1_714_564_800));
        assert!(summary(&json!({"id": VAULT, "title": "t", "state": "ARCHIVED"})).unwrap().is_none());
        assert!(summary(&json!({"id": "../x", "title": "t"})).is_none());
        assert!(summary(&json!({"id": VAULT})).is_none());
    }
}
