//! The `kubernetes` backend: Kubernetes Secrets read, written, deleted and listed through the
//! API server's REST paths (`/api/v1/namespaces/{namespace}/secrets[/{name}]`), one request
//! per call (a write that finds no Secret to replace creates it: two).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hush_core::{
    BackendInfo, Capabilities, DEFAULT_CALL_TIMEOUT, Error, ErrorKind, KindConfig, ListFilter, Result, Scope, Secret,
    SecretBackend, SecretMeta, SecretName, SecretValue, Tags, TlsConfig, VersionId, refuse_problems,
};
use hush_rest::{Answer, RestClient, credential};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Map, Value, json};

use crate::KIND;
use crate::config::{KubernetesConfig, NamespaceMap, SelectorTerm, parse_selector};
use crate::credentials::{self, Connection, SERVICE_ACCOUNT_DIR};
use crate::error::{Call, call_error};
use crate::mapping::{
    MANAGED_BY_LABEL, MANAGED_BY_VALUE, NAME_ANNOTATION, NAMESPACE_ANNOTATION, TENANT_ANNOTATION, labels_to_tags,
    parse_stored, secret_name, tag_labels,
};

/// What this backend can do: read, write, list and tags (as labels); no versions.
pub const CAPABILITIES: Capabilities = Capabilities::full().with_versions(false);

/// How many Secrets one list request asks for; `continue` tokens page through the rest.
pub const LIST_PAGE_SIZE: usize = 250;

/// Kubernetes Secrets of one cluster.
///
/// Key mapping: see [`crate::secret_name`] and `docs.md`. The value is the Secret's data key
/// `data_key`; a Secret with other data keys reads as a JSON object of all of them. Nothing
/// is sent at construction.
pub struct KubernetesBackend {
    info: BackendInfo,
    client: RestClient,
    connection: Connection,
    namespaces: NamespaceMap,
    selector: Vec<SelectorTerm>,
    selector_text: String,
    data_key: String,
}

/// A Secret as read: its labels, annotations and data (decoded).
struct Stored {
    labels: BTreeMap<String, String>,
    data: BTreeMap<String, Vec<u8>>,
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect())
        .unwrap_or_default()
}

impl KubernetesBackend {
    /// A backend for `config`, with in-cluster credentials unless `kubeconfig` is set; sends
    /// nothing yet.
    ///
    /// Fails with `ConfigInvalid` when the configuration has problems (they are listed), the
    /// credentials cannot be read, or the HTTP client cannot be built.
    pub fn new(name: &str, config: KubernetesConfig) -> Result<Self> {
        Self::with_service_account(name, config, |v| std::env::var(v).ok(), Path::new(SERVICE_ACCOUNT_DIR))
    }

    /// [`new`](Self::new), with the in-cluster environment read by `read_env` and the service
    /// account's files in `service_account_dir` (tests use a directory of their own).
    pub fn with_service_account(
        name: &str,
        config: KubernetesConfig,
        read_env: impl Fn(&str) -> Option<String>,
        service_account_dir: &Path,
    ) -> Result<Self> {
        refuse_problems(name, &config.problems())?;
        let connection = match &config.kubeconfig {
            Some(path) => credentials::from_kubeconfig(path, &config.context),
            None => credentials::in_cluster(read_env, service_account_dir),
        }
        .map_err(|e| Error::new(ErrorKind::ConfigInvalid, format!("backend {name:?}: {}", e.message())))?;
        let timeout = config.request_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT);
        let tls = if connection.skip_verify { TlsConfig::insecure_skip_verify() } else { TlsConfig::default() };
        let mut client = RestClient::trusting("Kubernetes", timeout, &tls, &connection.ca_pem)?;
        if let Some(token) = connection.token.current()? {
            client.redact(&token);
        }
        let default_namespace = connection.namespace.clone().unwrap_or_else(|| "default".to_owned());
        let selector = parse_selector(&config.label_selector).map_err(Error::invalid_input)?;
        Ok(Self {
            info: BackendInfo { kind: KIND, name: name.to_owned(), capabilities: CAPABILITIES },
            client,
            namespaces: NamespaceMap::new(&config, &default_namespace),
            connection,
            selector,
            selector_text: config.label_selector,
            data_key: config.data_key,
        })
    }

    fn collection_url(&self, namespace: &str) -> String {
        format!("{}/api/v1/namespaces/{namespace}/secrets", self.connection.server)
    }

    /// Sends `request` with the current token; the answer whatever its status, or the
    /// transport error.
    async fn send(&self, call: Call, namespace: &str, request: reqwest::RequestBuilder) -> Result<(Answer, String)> {
        let token = self.connection.token.current()?;
        let mut request = request.header(ACCEPT, "application/json");
        if let Some(token) = &token {
            request = request.header(AUTHORIZATION, credential::authorization("Bearer", token)?);
        }
        let doing = call.doing(namespace);
        let answer = self.client.send(request, &doing).await?;
        Ok((answer, doing))
    }

    /// The error for a failed answer, redacting the current token.
    fn failure(&self, call: Call, answer: &Answer, doing: &str) -> Error {
        let token = self.connection.token.current().ok().flatten();
        let also: Vec<&SecretValue> = token.iter().collect();
        call_error(call, &self.client.failure_redacting(answer, doing, &also))
    }

    fn not_found(&self, scope: &Scope, name: &SecretName, namespace: &str, secret: &str) -> Error {
        Error::secret_not_found(scope, name, None)
            .with_context("kubernetes_namespace", namespace)
            .with_context("kubernetes_secret", secret)
    }

    /// The Secret `secret` of Kubernetes namespace `namespace`, when it exists and the label
    /// selector shows it.
    async fn fetch(&self, namespace: &str, secret: &str) -> Result<Option<Stored>> {
        let url = format!("{}/{secret}", self.collection_url(namespace));
        let (answer, doing) = self.send(Call::Get, namespace, self.client.http().get(url)).await?;
        if answer.status == 404 {
            return Ok(None);
        }
        if !answer.is_success() {
            return Err(self.failure(Call::Get, &answer, &doing));
        }
        let object = answer.json().ok_or_else(|| self.client.unexpected_answer(&doing, "no JSON"))?;
        let stored =
            self.stored(&object).ok_or_else(|| self.client.unexpected_answer(&doing, "data that is not base64"))?;
        Ok(self.selector.iter().all(|t| t.matches(&stored.labels)).then_some(stored))
    }

    /// The labels and decoded data of Secret `object`; `None` when data is not base64.
    fn stored(&self, object: &Value) -> Option<Stored> {
        let labels = string_map(object.pointer("/metadata/labels"));
        let mut data = BTreeMap::new();
        for (key, text) in string_map(object.get("data")) {
            data.insert(key, BASE64.decode(text.as_bytes()).ok()?);
        }
        Some(Stored { labels, data })
    }

    /// The hush value of a Secret's data: the bytes of `data_key` when it is the only key,
    /// else a JSON object of every key (UTF-8 text as is, other bytes as `hush-base64:` +
    /// base64).
    fn value_of(&self, data: BTreeMap<String, Vec<u8>>) -> SecretValue {
        if data.len() == 1 && data.contains_key(&self.data_key) {
            return SecretValue::new(data.into_values().next().unwrap_or_default());
        }
        let object: Map<String, Value> =
            data.into_iter().map(|(k, v)| (k, Value::String(SecretValue::new(v).to_stored_text()))).collect();
        SecretValue::from(Value::Object(object).to_string().as_str())
    }

    /// One page of the Secrets of `namespace` matching `selector`, and the next `continue`.
    async fn list_page(
        &self,
        namespace: &str,
        selector: &str,
        token: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>)> {
        let mut url = format!("{}?limit={LIST_PAGE_SIZE}", self.collection_url(namespace));
        if !selector.is_empty() {
            url.push_str(&format!("&labelSelector={}", utf8_percent_encode(selector, NON_ALPHANUMERIC)));
        }
        if let Some(token) = token {
            url.push_str(&format!("&continue={}", utf8_percent_encode(token, NON_ALPHANUMERIC)));
        }
        let (answer, doing) = self.send(Call::List, namespace, self.client.http().get(url)).await?;
        if !answer.is_success() {
            return Err(self.failure(Call::List, &answer, &doing));
        }
        let list = answer.json().ok_or_else(|| self.client.unexpected_answer(&doing, "no JSON"))?;
        let items = match list.get("items") {
            Some(Value::Array(items)) => items.clone(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(self.client.unexpected_answer(&doing, "items that are not a list")),
        };
        let next = list.pointer("/metadata/continue").and_then(Value::as_str).filter(|c| !c.is_empty());
        Ok((items, next.map(str::to_owned)))
    }

    /// The label selector of a list: the configured one and `hush.tag/k=v` per tag, or `None`
    /// when a tag cannot be a label (then no Secret has it).
    fn list_selector(&self, tags: &Tags) -> Option<String> {
        let mut terms: Vec<String> =
            self.selector_text.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
        for (key, value) in tag_labels(tags).ok()? {
            terms.push(format!("{key}={value}"));
        }
        Some(terms.join(","))
    }
}

impl fmt::Debug for KubernetesBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubernetesBackend")
            .field("name", &self.info.name)
            .field("server", &self.connection.server)
            .field("namespace", &self.namespaces.default_namespace())
            .field("label_selector", &self.selector_text)
            .field("data_key", &self.data_key)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SecretBackend for KubernetesBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        if version.is_some() {
            return Err(self.unsupported("reading a pinned version"));
        }
        let namespace = self.namespaces.resolve(scope);
        let secret = secret_name(scope, name);
        let stored =
            self.fetch(namespace, &secret).await?.ok_or_else(|| self.not_found(scope, name, namespace, &secret))?;
        let tags = labels_to_tags(&stored.labels);
        Ok(Secret { value: self.value_of(stored.data), version: None, tags })
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let Some(selector) = self.list_selector(&filter.tags) else { return Ok(Vec::new()) };
        let mut found: Vec<SecretMeta> = Vec::new();
        for namespace in self.namespaces.candidates(scope, filter.recursive) {
            let mut token: Option<String> = None;
            loop {
                let (items, next) = self.list_page(&namespace, &selector, token.as_deref()).await?;
                for item in items {
                    let secret = item.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
                    let annotations = string_map(item.pointer("/metadata/annotations"));
                    let Some((s, n)) = parse_stored(secret, &annotations) else { continue };
                    let inside = s.tenant == scope.tenant
                        && (s.namespace == scope.namespace
                            || (filter.recursive && scope.namespace.is_self_or_ancestor_of(&s.namespace)));
                    // A Secret counts only in the Kubernetes namespace its key maps to.
                    if !inside || self.namespaces.resolve(&s) != namespace {
                        continue;
                    }
                    let labels = string_map(item.pointer("/metadata/labels"));
                    let tags = labels_to_tags(&labels);
                    if !tags.contains_all(&filter.tags) || !self.selector.iter().all(|t| t.matches(&labels)) {
                        continue;
                    }
                    found.push(SecretMeta::new(s.namespace, n).with_tags(tags));
                }
                match next {
                    Some(next) => token = Some(next),
                    None => break,
                }
            }
        }
        found.sort_by(|a, b| (a.namespace.as_str(), a.name.as_str()).cmp(&(b.namespace.as_str(), b.name.as_str())));
        Ok(found)
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        let mut labels = tag_labels(&tags)?;
        for term in &self.selector {
            if let SelectorTerm::Equals(k, v) = term {
                labels.insert(k.clone(), v.clone());
            }
        }
        labels.insert(MANAGED_BY_LABEL.to_owned(), MANAGED_BY_VALUE.to_owned());
        if !self.selector.iter().all(|t| t.matches(&labels)) {
            return Err(Error::invalid_input(format!(
                "secret {name} in {scope} with these tags would not match label_selector {:?}",
                self.selector_text
            )));
        }
        let namespace = self.namespaces.resolve(scope);
        let secret = secret_name(scope, name);
        let body = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": secret,
                "namespace": namespace,
                "labels": labels,
                "annotations": {
                    TENANT_ANNOTATION: scope.tenant.as_str(),
                    NAMESPACE_ANNOTATION: scope.namespace.as_str(),
                    NAME_ANNOTATION: name.as_str(),
                },
            },
            "type": "Opaque",
            "data": { self.data_key.as_str(): BASE64.encode(value.expose()) },
        })
        .to_string();
        // Replace (Secrets allow an update without resourceVersion: last writer wins, as in
        // every hush backend); when there is nothing to replace, create.
        let url = format!("{}/{secret}", self.collection_url(namespace));
        let request = self.client.http().put(url).header(CONTENT_TYPE, "application/json").body(body.clone());
        let (answer, doing) = self.send(Call::Replace, namespace, request).await?;
        if answer.status == 404 {
            let request = self
                .client
                .http()
                .post(self.collection_url(namespace))
                .header(CONTENT_TYPE, "application/json")
                .body(body);
            let (answer, doing) = self.send(Call::Create, namespace, request).await?;
            if !answer.is_success() {
                return Err(self.failure(Call::Create, &answer, &doing));
            }
        } else if !answer.is_success() {
            return Err(self.failure(Call::Replace, &answer, &doing));
        }
        Ok(SecretMeta::new(scope.namespace.clone(), name.clone()).with_tags(tags))
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        let namespace = self.namespaces.resolve(scope);
        let secret = secret_name(scope, name);
        // A Secret the label selector hides is not there for hush.
        if !self.selector.is_empty() && self.fetch(namespace, &secret).await?.is_none() {
            return Err(self.not_found(scope, name, namespace, &secret));
        }
        let url = format!("{}/{secret}", self.collection_url(namespace));
        let (answer, doing) = self.send(Call::Delete, namespace, self.client.http().delete(url)).await?;
        match answer.status {
            404 => Err(self.not_found(scope, name, namespace, &secret)),
            _ if answer.is_success() => Ok(()),
            _ => Err(self.failure(Call::Delete, &answer, &doing)),
        }
    }

    async fn check(&self) -> Result<()> {
        let selector = self.list_selector(&Tags::new()).unwrap_or_default();
        self.list_page(self.namespaces.default_namespace(), &selector, None).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_configs_are_refused() {
        let err = KubernetesBackend::with_service_account(
            "k8s",
            KubernetesConfig::in_cluster().with_namespace("Bad"),
            |_| None,
            Path::new("/nonexistent"),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
        assert!(err.to_string().contains("namespace"), "{err}");
        let err =
            KubernetesBackend::with_service_account("k8s", KubernetesConfig::in_cluster(), |_| None, Path::new("/x"))
                .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
        assert!(err.to_string().contains("KUBERNETES_SERVICE_HOST"), "{err}");
        const { assert!(CAPABILITIES.write && CAPABILITIES.list && CAPABILITIES.tags && !CAPABILITIES.versions) };
    }
}
