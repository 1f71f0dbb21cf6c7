//! The `elasticsearch` backend: secrets as documents of one Elasticsearch 8 / OpenSearch 2
//! index, values sealed with hush's at-rest key ring, one request per step and no retries.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine as _;
use hush_core::{
    AtRestAad, AtRestCipher, BackendInfo, Capabilities, DEFAULT_CALL_TIMEOUT, Error, ErrorKind, KindConfig, ListFilter,
    Namespace, Result, Scope, Secret, SecretBackend, SecretMeta, SecretName, SecretValue, Tags, VersionId,
    refuse_problems,
};
use hush_rest::{Answer, RestClient, credential};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::KIND;
use crate::config::ElasticsearchConfig;
use crate::error::{call_error, error_type, is_index_missing, is_index_present, is_version_conflict};
use crate::mapping::{LATEST, StoredDocument, VERSION, index_mappings, latest_id, tag_term, version_id};

/// What this backend can do: everything (read, write, list, tags, versions).
pub const CAPABILITIES: Capabilities = Capabilities::full();

/// How many latest documents one `_search` of a list asks for; further pages follow with
/// `search_after`.
pub const LIST_PAGE_SIZE: usize = 500;

/// How many version numbers one write tries to take (`_create` of version N+1, N+2, ... while
/// each is taken by a concurrent writer) before it answers a temporary `Conflict`. This is how
/// versions are allocated, not a retry: every attempt is a different document.
pub const MAX_VERSION_ALLOCATIONS: u64 = 128;

/// The vendor's name in messages: the answers of both products look alike.
const VENDOR: &str = "Elasticsearch/OpenSearch";

/// The oldest major versions whose API this backend speaks.
const MIN_ELASTICSEARCH_MAJOR: u64 = 8;
const MIN_OPENSEARCH_MAJOR: u64 = 2;

/// Secrets of one index of an Elasticsearch 8 or OpenSearch 2 cluster.
///
/// Key mapping: secret `NAME` of tenant `t` and namespace `a.b` is the latest document
/// `<prefix>:t:a.b:NAME` and the version documents `<prefix>:t:a.b:NAME:v<N>` (see `docs.md`),
/// all routed by the latest document's id. Nothing is sent at construction; the index is
/// created with hush's mappings by the first write that finds it missing.
pub struct ElasticsearchBackend {
    info: BackendInfo,
    client: RestClient,
    /// The cluster URL without a trailing `/`.
    base: String,
    index: String,
    prefix: String,
    /// `Basic ...` or `ApiKey ...`, marked sensitive; none for a cluster without security.
    authorization: Option<HeaderValue>,
    cipher: Arc<dyn AtRestCipher>,
}

/// One document read by id.
enum Read {
    Found(Box<StoredDocument>),
    Missing,
    IndexMissing,
}

/// The fields of a latest document a list reads.
#[derive(Deserialize)]
struct Listed {
    namespace: String,
    name: String,
    version: u64,
    #[serde(default)]
    tags: std::collections::BTreeMap<String, String>,
    updated_at: Option<i64>,
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

/// The AAD a value of `scope`/`name` at `version` with `tags` is sealed with (the SQL store's).
fn aad<'a>(scope: &'a Scope, name: &'a SecretName, version: &'a str, tags: &'a Tags) -> AtRestAad<'a> {
    AtRestAad { tenant: scope.tenant.as_str(), namespace: scope.namespace.as_str(), name: name.as_str(), version, tags }
}

fn term(field: &str, value: impl Into<Value>) -> Value {
    json!({"term": {field: value.into()}})
}

impl ElasticsearchBackend {
    /// A backend for `config` whose values `cipher` seals; sends nothing yet.
    ///
    /// Fails with `ConfigInvalid` when the configuration has problems (they are listed), the
    /// credentials cannot be sent in a header, or the HTTP client cannot be built (an unreadable
    /// `tls.ca`).
    pub fn new(name: &str, config: ElasticsearchConfig, cipher: Arc<dyn AtRestCipher>) -> Result<Self> {
        refuse_problems(name, &config.problems())?;
        let timeout = config.request_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT);
        let mut client = RestClient::new(VENDOR, timeout, &config.tls)?;
        let authorization = if !config.api_key.is_empty() {
            let key = SecretValue::from(config.api_key.as_str());
            client.redact(&key);
            Some(credential::authorization("ApiKey", &key)?)
        } else if !config.username.is_empty() {
            let password = SecretValue::from(config.password.as_str());
            let pair = SecretValue::new(format!("{}:{}", config.username, config.password).into_bytes());
            let basic = SecretValue::from(base64::engine::general_purpose::STANDARD.encode(pair.expose()).as_str());
            client.redact(&password);
            client.redact(&basic);
            Some(credential::authorization("Basic", &basic)?)
        } else {
            None
        };
        let info = BackendInfo { kind: KIND, name: name.to_owned(), capabilities: CAPABILITIES };
        Ok(Self {
            info,
            client,
            base: config.url.trim_end_matches('/').to_owned(),
            index: config.index,
            prefix: config.prefix,
            authorization,
            cipher,
        })
    }

    /// `{url}/{index}{path}`.
    fn index_url(&self, path: &str) -> String {
        format!("{}/{}{path}", self.base, self.index)
    }

    /// Sends `request` with the credentials; the answer whatever its status.
    async fn send(&self, request: reqwest::RequestBuilder, doing: &str) -> Result<Answer> {
        let mut request = request.header(ACCEPT, "application/json");
        if let Some(authorization) = &self.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        self.client.send(request, doing).await
    }

    /// Sends `request` with `body` as JSON.
    async fn send_json(&self, request: reqwest::RequestBuilder, body: &Value, doing: &str) -> Result<Answer> {
        self.send(request.header(CONTENT_TYPE, "application/json").body(body.to_string()), doing).await
    }

    /// The error for `answer`, which is not a success.
    fn error(&self, answer: &Answer, doing: &str) -> Error {
        call_error(&self.index, error_type(answer).as_deref(), &self.client.failure(answer, doing))
            .with_context("index", &self.index)
    }

    /// A document of the index that is not what hush writes: permanent, without its content.
    fn malformed(&self, id: &str, what: &str) -> Error {
        Error::new(ErrorKind::Internal, format!("document {id} of index {} {what}", self.index))
    }

    /// `GET /{index}/_doc/{id}?routing=`: a real-time read of one document.
    async fn read(&self, id: &str, routing: &str, doing: &str) -> Result<Read> {
        let url = self.index_url(&format!("/_doc/{id}?routing={routing}"));
        let answer = self.send(self.client.http().get(url), doing).await?;
        if is_index_missing(&answer) {
            return Ok(Read::IndexMissing);
        }
        if answer.status == 404 {
            return Ok(Read::Missing);
        }
        if !answer.is_success() {
            return Err(self.error(&answer, doing));
        }
        let body = answer.json().ok_or_else(|| self.client.unexpected_answer(doing, "no JSON"))?;
        if body.get("found").and_then(Value::as_bool) == Some(false) {
            return Ok(Read::Missing);
        }
        let source = body.get("_source").cloned().ok_or_else(|| self.client.unexpected_answer(doing, "no _source"))?;
        let document = serde_json::from_value(source).map_err(|_| self.malformed(id, "is not one hush wrote"))?;
        Ok(Read::Found(Box::new(document)))
    }

    /// `PUT /{index}` with hush's mappings; an index created meanwhile is fine.
    async fn create_index(&self) -> Result<()> {
        let doing = format!("creating index {}", self.index);
        let body = json!({"mappings": index_mappings()});
        let answer = self.send_json(self.client.http().put(self.index_url("")), &body, &doing).await?;
        if answer.is_success() || is_index_present(&answer) { Ok(()) } else { Err(self.error(&answer, &doing)) }
    }

    /// Takes the first free version number from `first` on: `_create` of its version document
    /// (made by `document`), the next number while a concurrent writer holds one. At most
    /// [`MAX_VERSION_ALLOCATIONS`] numbers, then a temporary `Conflict`.
    async fn allocate(
        &self,
        first: u64,
        secret: &str,
        doing: &str,
        document: impl Fn(u64) -> Result<StoredDocument>,
    ) -> Result<StoredDocument> {
        for version in (first..=u64::MAX).take(MAX_VERSION_ALLOCATIONS as usize) {
            let doc = document(version)?;
            let id = format!("{secret}:v{version}");
            let url = self.index_url(&format!("/_create/{id}?routing={secret}"));
            let body = serde_json::to_value(&doc).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
            let answer = self.send_json(self.client.http().put(url), &body, doing).await?;
            if answer.is_success() {
                return Ok(doc);
            }
            if !is_version_conflict(&answer) {
                return Err(self.error(&answer, doing));
            }
        }
        Err(Error::new(
            ErrorKind::Conflict,
            format!("{MAX_VERSION_ALLOCATIONS} version numbers from {first} were taken by concurrent writers {doing}"),
        )
        .set_temporary(true)
        .with_context("index", &self.index))
    }

    /// Makes `version` the secret's latest document, unless a newer one is already
    /// (`version_type=external`: the cluster keeps the highest); waits until lists see it.
    async fn write_latest(&self, version: &StoredDocument, doing: &str) -> Result<()> {
        let latest = version.as_latest();
        let url = self.index_url(&format!(
            "/_doc/{id}?routing={id}&version={v}&version_type=external&refresh=wait_for",
            id = latest.secret,
            v = latest.version
        ));
        let body = serde_json::to_value(&latest).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
        let answer = self.send_json(self.client.http().put(url), &body, doing).await?;
        if answer.is_success() || is_version_conflict(&answer) { Ok(()) } else { Err(self.error(&answer, doing)) }
    }

    /// Opens the value of `doc`, a document of `scope`/`name`.
    fn open(&self, scope: &Scope, name: &SecretName, id: &str, doc: &StoredDocument) -> Result<Secret> {
        let tags = doc.tags().ok_or_else(|| self.malformed(id, "holds invalid tags"))?;
        let sealed = doc.sealed().ok_or_else(|| self.malformed(id, "holds no sealed value"))?;
        let version = doc.version.to_string();
        let value = self
            .cipher
            .open(aad(scope, name, &version, &tags), &sealed)
            .map_err(|e| e.with_context("document", id).with_context("index", &self.index))?;
        Ok(Secret { value, version: Some(VersionId::new(version)?), tags })
    }

    /// `GET /`: which product and version answers; `None` when the credentials may not ask
    /// (the `monitor` cluster privilege is not among those the backend needs).
    async fn product(&self) -> Result<Option<String>> {
        let doing = "reading the cluster's version";
        let answer = self.send(self.client.http().get(format!("{}/", self.base)), doing).await?;
        if answer.status == 403 {
            return Ok(None);
        }
        if !answer.is_success() {
            return Err(self.error(&answer, doing));
        }
        let body = answer.json().ok_or_else(|| self.client.unexpected_answer(doing, "no JSON"))?;
        let number = body.pointer("/version/number").and_then(Value::as_str).unwrap_or_default();
        let major: u64 = number.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
        let elasticsearch = answer.header("x-elastic-product") == Some("Elasticsearch");
        let opensearch = body.pointer("/version/distribution").and_then(Value::as_str) == Some("opensearch");
        match (elasticsearch, opensearch) {
            (true, _) if major >= MIN_ELASTICSEARCH_MAJOR => Ok(Some(format!("Elasticsearch {number}"))),
            (false, true) if major >= MIN_OPENSEARCH_MAJOR => Ok(Some(format!("OpenSearch {number}"))),
            _ => Err(Error::new(
                ErrorKind::ConfigInvalid,
                format!(
                    "{} is not Elasticsearch {MIN_ELASTICSEARCH_MAJOR}+ or OpenSearch {MIN_OPENSEARCH_MAJOR}+ (version {number:?}, X-Elastic-Product {})",
                    self.base,
                    if elasticsearch { "present" } else { "absent" }
                ),
            )),
        }
    }

    /// `GET /{index}/_mapping`: a missing index is fine (the first write creates it); an index
    /// whose mappings are not hush's is `ConfigInvalid`.
    async fn check_mappings(&self) -> Result<()> {
        let doing = format!("reading the mappings of index {}", self.index);
        let answer = self.send(self.client.http().get(self.index_url("/_mapping")), &doing).await?;
        if is_index_missing(&answer) {
            return Ok(());
        }
        if !answer.is_success() {
            return Err(self.error(&answer, &doing));
        }
        let body = answer.json().ok_or_else(|| self.client.unexpected_answer(&doing, "no JSON"))?;
        // One entry per concrete index (the configured name may be an alias).
        let fine = body.as_object().is_some_and(|indices| {
            !indices.is_empty()
                && indices.values().all(|index| {
                    let properties = &index["mappings"]["properties"];
                    ["record", "secret", "tenant", "namespace", "namespace_path", "name", "tag_pairs"]
                        .iter()
                        .all(|field| properties[field]["type"] == "keyword")
                })
        });
        if fine {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::ConfigInvalid,
                format!("index {} has mappings hush did not create; give the backend its own index", self.index),
            ))
        }
    }
}

impl fmt::Debug for ElasticsearchBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElasticsearchBackend")
            .field("name", &self.info.name)
            .field("url", &self.base)
            .field("index", &self.index)
            .field("prefix", &self.prefix)
            .field("authorization", &self.authorization.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SecretBackend for ElasticsearchBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        let secret = latest_id(&self.prefix, scope, name);
        let doing = format!("reading secret {name} of {scope} from index {}", self.index);
        let id = match version {
            None => secret.clone(),
            Some(pinned) => match pinned.as_str().parse::<u64>() {
                Ok(number) if number > 0 => version_id(&self.prefix, scope, name, number),
                _ => return Err(Error::secret_not_found(scope, name, version)),
            },
        };
        match self.read(&id, &secret, &doing).await? {
            Read::Found(doc) if !doc.deleted => self.open(scope, name, &id, &doc),
            _ => Err(Error::secret_not_found(scope, name, version).with_context("index", &self.index)),
        }
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let doing = format!("listing secrets of {scope} in index {}", self.index);
        let mut filters = vec![
            term("record", LATEST),
            term("prefix", self.prefix.as_str()),
            term("deleted", false),
            term("tenant", scope.tenant.as_str()),
        ];
        let namespace_field = if filter.recursive { "namespace_path" } else { "namespace" };
        filters.push(term(namespace_field, scope.namespace.as_str()));
        filters.extend(filter.tags.iter().map(|(k, v)| term("tag_pairs", tag_term(k, v))));
        let mut query = json!({
            "size": LIST_PAGE_SIZE,
            "query": {"bool": {"filter": filters}},
            "sort": [{"namespace": "asc"}, {"name": "asc"}],
            "_source": ["namespace", "name", "version", "tags", "updated_at"],
            "track_total_hits": false,
        });
        let mut found = Vec::new();
        loop {
            let request = self.client.http().post(self.index_url("/_search"));
            let answer = self.send_json(request, &query, &doing).await?;
            if is_index_missing(&answer) {
                return Ok(Vec::new());
            }
            if !answer.is_success() {
                return Err(self.error(&answer, &doing));
            }
            let body = answer.json().ok_or_else(|| self.client.unexpected_answer(&doing, "no JSON"))?;
            let hits = body
                .pointer("/hits/hits")
                .and_then(Value::as_array)
                .ok_or_else(|| self.client.unexpected_answer(&doing, "no hits"))?;
            for hit in hits {
                let id = hit.get("_id").and_then(Value::as_str).unwrap_or("?");
                let listed: Listed = serde_json::from_value(hit["_source"].clone())
                    .map_err(|_| self.malformed(id, "is not one hush wrote"))?;
                let meta = SecretMeta {
                    namespace: Namespace::new(listed.namespace)
                        .map_err(|_| self.malformed(id, "holds a bad namespace"))?,
                    name: SecretName::new(listed.name).map_err(|_| self.malformed(id, "holds a bad name"))?,
                    version: Some(VersionId::new(listed.version.to_string())?),
                    tags: Tags::try_from(listed.tags).map_err(|_| self.malformed(id, "holds invalid tags"))?,
                    updated_at: listed.updated_at,
                };
                found.push(meta);
            }
            match hits.last().and_then(|hit| hit.get("sort")) {
                Some(sort) if hits.len() >= LIST_PAGE_SIZE => query["search_after"] = sort.clone(),
                _ => break,
            }
        }
        found.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Ok(found)
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        let secret = latest_id(&self.prefix, scope, name);
        let doing = format!("writing secret {name} of {scope} to index {}", self.index);
        let current = match self.read(&secret, &secret, &doing).await? {
            Read::Found(doc) => doc.version,
            Read::Missing => 0,
            Read::IndexMissing => {
                self.create_index().await?;
                0
            }
        };
        let now = unix_now();
        let sealed_version = |version: u64| {
            let sealed = self.cipher.seal(aad(scope, name, &version.to_string(), &tags), &value)?;
            Ok(StoredDocument::sealed_version(&self.prefix, scope, name, version, &tags, &sealed, now))
        };
        let written = self.allocate(current.saturating_add(1), &secret, &doing, sealed_version).await?;
        self.write_latest(&written, &doing).await?;
        Ok(SecretMeta {
            namespace: scope.namespace.clone(),
            name: name.clone(),
            version: Some(VersionId::new(written.version.to_string())?),
            tags,
            updated_at: Some(now),
        })
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        let secret = latest_id(&self.prefix, scope, name);
        let doing = format!("deleting secret {name} of {scope} from index {}", self.index);
        let current = match self.read(&secret, &secret, &doing).await? {
            Read::Found(doc) if !doc.deleted => doc.version,
            _ => return Err(Error::secret_not_found(scope, name, None).with_context("index", &self.index)),
        };
        let now = unix_now();
        let tombstone = |version: u64| Ok(StoredDocument::deleted_version(&self.prefix, scope, name, version, now));
        let taken = self.allocate(current.saturating_add(1), &secret, &doing, tombstone).await?;
        self.write_latest(&taken, &doing).await?;
        // Every version up to the delete's, the one it took included; writes after it stay.
        let query = json!({"query": {"bool": {"filter": [
            term("secret", secret.as_str()),
            term("record", VERSION),
            {"range": {"version": {"lte": taken.version}}},
        ]}}});
        let url = self.index_url(&format!("/_delete_by_query?routing={secret}&conflicts=proceed"));
        let answer = self.send_json(self.client.http().post(url), &query, &doing).await?;
        if !answer.is_success() {
            return Err(self.error(&answer, &doing));
        }
        let failures = answer.json().and_then(|b| b.get("failures").and_then(Value::as_array).map(Vec::len));
        match failures {
            Some(0) | None => Ok(()),
            Some(n) => Err(Error::unavailable(format!(
                "{VENDOR} failed to delete {n} old versions {doing}; the secret is deleted, its old versions may stay readable by number until the next delete"
            ))
            .set_temporary(true)
            .with_context("index", &self.index)),
        }
    }

    async fn check(&self) -> Result<()> {
        self.product().await?;
        self.check_mappings().await
    }
}

#[cfg(test)]
mod tests {
    use hush_backend_behavior::at_rest::TestCipher;

    use super::*;

    #[test]
    fn a_bad_config_is_refused_without_the_credentials() {
        let config = ElasticsearchConfig::new("").with_basic_auth("hush", "pw\nSECRET");
        let err = ElasticsearchBackend::new("es", config, TestCipher::new(1)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
        assert!(err.to_string().contains("url"), "{err}");
        assert!(!format!("{err} {err:?}").contains("SECRET"), "{err:?}");
    }

    #[test]
    fn debug_shows_no_credentials() {
        // reqwest needs rustls's process provider, which the binaries install.
        let _ = rustls::crypto::ring::default_provider().install_default();
        for config in [
            ElasticsearchConfig::new("http://127.0.0.1:9200").with_basic_auth("hush", "pw-SECRET"),
            ElasticsearchConfig::new("http://127.0.0.1:9200").with_api_key("key-SECRET"),
        ] {
            let backend = ElasticsearchBackend::new("es", config, TestCipher::new(1)).unwrap();
            let text = format!("{backend:?}");
            assert!(!text.contains("SECRET") && text.contains("\"***\""), "{text}");
            assert!(text.contains("hush-secrets"), "{text}");
            assert_eq!(backend.info().capabilities, CAPABILITIES);
        }
        const { assert!(CAPABILITIES.write && CAPABILITIES.list && CAPABILITIES.tags && CAPABILITIES.versions) };
    }
}
