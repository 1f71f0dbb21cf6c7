//! The Secret Manager backend: Google's `google-cloud-secretmanager-v1` client (REST/JSON).

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use futures::stream::{self, StreamExt, TryStreamExt};
use google_cloud_auth::credentials::{self, Credentials};
use google_cloud_gax::paginator::Paginator as _;
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model::{
    Replication, Secret as GcpSecret, SecretPayload, replication, secret_version,
};
use hush_core::{
    BackendInfo, Capabilities, DEFAULT_CALL_TIMEOUT, Error, ErrorKind, KindConfig, ListFilter, Result, Scope, Secret,
    SecretBackend, SecretMeta, SecretName, SecretValue, Tags, VersionId,
};

use crate::KIND;
use crate::config::{CredentialsSource, GcpConfig};
use crate::error::parse_error;
use crate::mapping::{
    NAMESPACE_LABEL, SecretKey, TENANT_LABEL, labels_for, namespace_digest, parse_secret_id, secret_key,
    secret_resource, tags_of, tenant_digest,
};

/// Secret Manager's documented limit on a version's payload: 64 KiB.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// Requests in flight at once while listing (one version lookup per secret).
const LIST_CONCURRENCY: usize = 16;

/// What a `gcp-secret-manager` backend can do: everything (tags are labels, versions are
/// Secret Manager's version numbers).
pub fn capabilities() -> Capabilities {
    Capabilities::full()
}

/// Secrets in Google Cloud Secret Manager, one project.
///
/// Key mapping ([`secret_key`](crate::secret_key)): secret id
/// `<prefix><tenant>--<segment>--...--<NAME>` (each `-` of a part written `-_`), hashed when
/// longer than 255 characters; labels `hush_tenant` / `hush_namespace` locate it, tags are
/// the other labels. Each `put` adds a version; `delete` deletes the secret.
pub struct GcpBackend {
    info: BackendInfo,
    client: SecretManagerService,
    project: String,
    prefix: String,
    endpoint: String,
    credentials: CredentialsSource,
}

/// The credentials a configuration names.
async fn credentials_for(name: &str, config: &GcpConfig) -> Result<Credentials> {
    let invalid = |message: String| Error::new(ErrorKind::ConfigInvalid, format!("gcp backend {name:?}: {message}"));
    let from_json = |text: &str, key: &str| -> Result<Credentials> {
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|_| invalid(format!("{key} is not JSON (a service-account key)")))?;
        match json.get("type").and_then(|t| t.as_str()) {
            Some("service_account") => credentials::service_account::Builder::new(json)
                .build()
                .map_err(|_| invalid(format!("{key} is not a usable service-account key"))),
            // Other credential files (authorized_user, external_account, ...) go through ADC.
            Some(other) => Err(invalid(format!(
                "{key} holds {other:?} credentials; only service-account keys are read here \
                 (point GOOGLE_APPLICATION_CREDENTIALS at other kinds and leave both keys out)"
            ))),
            None => Err(invalid(format!("{key} has no \"type\": is it a service-account key?"))),
        }
    };
    match config.credentials_source() {
        CredentialsSource::Anonymous => Ok(credentials::anonymous::Builder::new().build()),
        CredentialsSource::InlineJson => {
            from_json(config.credentials_json.as_deref().unwrap_or_default(), "credentials_json")
        }
        CredentialsSource::File => {
            let file = config.credentials_file.clone().unwrap_or_default();
            let text = tokio::fs::read_to_string(&file)
                .await
                .map_err(|e| invalid(format!("cannot read credentials_file {}: {e}", file.display())))?;
            from_json(&text, "credentials_file")
        }
        CredentialsSource::ApplicationDefault => credentials::Builder::default().build().map_err(|e| {
            invalid(format!(
                "no Application Default Credentials ({}): set credentials_file, credentials_json or \
                 GOOGLE_APPLICATION_CREDENTIALS",
                e.to_string().lines().next().unwrap_or_default()
            ))
        }),
    }
}

impl GcpBackend {
    /// Checks the configuration and builds the client. Makes no request: a project that
    /// cannot be reached shows at the first call or at [`check`](SecretBackend::check).
    ///
    /// The SDK's own retries are off (one attempt per call, bounded by `request_timeout`):
    /// hush's retry layer retries temporary errors.
    pub async fn connect(name: &str, config: GcpConfig) -> Result<GcpBackend> {
        hush_core::refuse_problems(name, &config.problems())?;
        let credentials = credentials_for(name, &config).await?;
        let endpoint = config
            .endpoint
            .clone()
            .unwrap_or_else(|| crate::DEFAULT_ENDPOINT.to_owned())
            .trim_end_matches('/')
            .to_owned();
        let client = SecretManagerService::builder()
            .with_endpoint(endpoint.clone())
            .with_credentials(credentials)
            .with_retry_policy(NeverRetry)
            .with_attempt_timeout(config.request_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT))
            .build()
            .await
            .map_err(|e| {
                Error::new(ErrorKind::ConfigInvalid, format!("gcp backend {name:?}: cannot build the client: {e}"))
            })?;
        let credentials = config.credentials_source();
        Ok(GcpBackend {
            info: BackendInfo { kind: KIND, name: name.to_owned(), capabilities: capabilities() },
            client,
            project: config.project,
            prefix: config.prefix,
            endpoint,
            credentials,
        })
    }

    /// `projects/<project>/secrets/<id>`.
    fn resource(&self, key: &SecretKey) -> String {
        secret_resource(&self.project, key)
    }

    /// Adds the backend, operation and secret resource to an error.
    fn context(&self, err: Error, operation: &'static str, resource: &str) -> Error {
        err.with_context("backend", &self.info.name)
            .with_context("operation", operation)
            .with_context("secret", resource)
    }

    /// Every secret of the project (matching `filter`, when given), page by page.
    async fn list_secrets(&self, parent: &str, filter: Option<String>) -> Result<Vec<GcpSecret>> {
        let mut request = self.client.list_secrets().set_parent(parent.to_owned());
        if let Some(filter) = filter {
            request = request.set_filter(filter);
        }
        let mut pages = request.by_page();
        let mut secrets = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.context(parse_error(&e), "list", parent))?;
            secrets.extend(page.secrets);
        }
        Ok(secrets)
    }

    /// The list entry of a secret: its latest version, or `None` when it has no enabled one.
    async fn meta_of(
        &self,
        name: SecretName,
        secret: &GcpSecret,
        namespace: hush_core::Namespace,
    ) -> Result<Option<SecretMeta>> {
        let latest = self.client.get_secret_version().set_name(format!("{}/versions/latest", secret.name)).send().await;
        let version = match latest {
            Ok(version) => version,
            Err(e) => {
                let err = parse_error(&e);
                if matches!(err.kind(), ErrorKind::NotFound)
                    || e.status().is_some_and(|s| s.code == google_cloud_gax::error::rpc::Code::FailedPrecondition)
                {
                    return Ok(None);
                }
                return Err(self.context(err, "list", &secret.name));
            }
        };
        if version.state != secret_version::State::Enabled {
            return Ok(None);
        }
        Ok(Some(SecretMeta {
            namespace,
            name,
            version: Some(version_id_of(&version.name)?),
            tags: tags_of(&secret.labels),
            updated_at: version.create_time.map(|t| t.seconds()),
        }))
    }
}

/// The version id of a version resource name (`.../versions/3` → `3`).
fn version_id_of(resource: &str) -> Result<VersionId> {
    let number = resource.rsplit('/').next().unwrap_or_default();
    VersionId::new(number)
        .map_err(|_| Error::new(ErrorKind::Internal, "Secret Manager answered with a version that is not a number"))
}

impl fmt::Debug for GcpBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcpBackend")
            .field("name", &self.info.name)
            .field("project", &self.project)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials)
            .finish()
    }
}

#[async_trait]
impl SecretBackend for GcpBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        let missing = || Error::secret_not_found(scope, name, version);
        let key = secret_key(&self.prefix, scope, name);
        let resource = self.resource(&key);
        let pinned = match version {
            None => "latest".to_owned(),
            Some(v) => v.number().ok_or_else(missing)?.to_string(),
        };
        let access = self.client.access_secret_version().set_name(format!("{resource}/versions/{pinned}")).send();
        let metadata = self.client.get_secret().set_name(resource.clone()).send();
        let (access, metadata) = futures::join!(access, metadata);
        let not_found_or = |e: google_cloud_secretmanager_v1::Error| {
            let err = parse_error(&e);
            // A DISABLED or DESTROYED version answers FAILED_PRECONDITION: it cannot be read.
            let unreadable =
                e.status().is_some_and(|s| s.code == google_cloud_gax::error::rpc::Code::FailedPrecondition);
            if err.kind() == ErrorKind::NotFound || unreadable {
                missing()
            } else {
                self.context(err, "get", &resource)
            }
        };
        let answer = access.map_err(not_found_or)?;
        let secret = metadata.map_err(not_found_or)?;
        let payload = answer.payload.ok_or_else(missing)?;
        Ok(Secret {
            value: SecretValue::new(payload.data.to_vec()),
            version: Some(version_id_of(&answer.name)?),
            tags: tags_of(&secret.labels),
        })
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let parent = format!("projects/{}", self.project);
        // Ask the server for hush's labels (and the tags); the checks below are what counts.
        let mut server_filter = format!("labels.{TENANT_LABEL}={}", tenant_digest(&scope.tenant));
        if !filter.recursive {
            server_filter.push_str(&format!(" AND labels.{NAMESPACE_LABEL}={}", namespace_digest(scope)));
        }
        let key = secret_key(&self.prefix, scope, &SecretName::new("x")?);
        match labels_for(&key, &filter.tags) {
            Ok(_) => {
                for (k, v) in filter.tags.iter() {
                    server_filter.push_str(&format!(" AND labels.{k}={v}"));
                }
            }
            // A tag that cannot be a label is on no secret.
            Err(_) => return Ok(Vec::new()),
        }
        let secrets = match self.list_secrets(&parent, Some(server_filter)).await {
            // A server that does not take the filter: list everything, the checks below decide.
            Err(e) if e.kind() == ErrorKind::InvalidInput => {
                tracing::debug!(backend = %self.info.name, error = %e, "list filter refused; listing without it");
                self.list_secrets(&parent, None).await?
            }
            listed => listed?,
        };
        let mut found: Vec<(SecretName, hush_core::Namespace, GcpSecret)> = Vec::new();
        for secret in secrets {
            let Some(id) = secret.name.rsplit('/').next() else { continue };
            let labels: &HashMap<String, String> = &secret.labels;
            let Some((at, name)) = parse_secret_id(&self.prefix, id, labels) else { continue };
            let inside = if filter.recursive {
                scope.namespace.is_self_or_ancestor_of(&at.namespace)
            } else {
                at.namespace == scope.namespace
            };
            if at.tenant == scope.tenant && inside && tags_of(labels).contains_all(&filter.tags) {
                found.push((name, at.namespace, secret));
            }
        }
        let mut listed: Vec<SecretMeta> = stream::iter(found)
            .map(|(name, namespace, secret)| async move { self.meta_of(name, &secret, namespace).await })
            .buffer_unordered(LIST_CONCURRENCY)
            .try_filter_map(|meta| async move { Ok(meta) })
            .try_collect()
            .await?;
        listed.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Ok(listed)
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        if value.len() > MAX_VALUE_BYTES {
            return Err(Error::invalid_input(format!(
                "the value of {name} is {} bytes; Secret Manager holds at most 64 KiB ({MAX_VALUE_BYTES} bytes) per version",
                value.len()
            )));
        }
        let key = secret_key(&self.prefix, scope, name);
        let labels = labels_for(&key, &tags).map_err(Error::invalid_input)?;
        let resource = self.resource(&key);
        let created = self
            .client
            .create_secret()
            .set_parent(format!("projects/{}", self.project))
            .set_secret_id(key.id.clone())
            .set_secret(
                GcpSecret::new()
                    .set_replication(Replication::new().set_automatic(replication::Automatic::new()))
                    .set_labels(labels.clone()),
            )
            .send()
            .await;
        let existed = match created {
            Ok(_) => false,
            Err(e) if e.status().is_some_and(|s| s.code == google_cloud_gax::error::rpc::Code::AlreadyExists) => true,
            Err(e) => return Err(self.context(parse_error(&e), "put (create secret)", &resource)),
        };
        let payload = SecretPayload::new().set_data(bytes::Bytes::copy_from_slice(value.expose()));
        drop(value);
        let added = self
            .client
            .add_secret_version()
            .set_parent(resource.clone())
            .set_payload(payload)
            .send()
            .await
            .map_err(|e| self.context(parse_error(&e), "put (add version)", &resource))?;
        if existed {
            // The tags given replace the secret's tags: its labels are rewritten.
            self.client
                .update_secret()
                .set_secret(GcpSecret::new().set_name(resource.clone()).set_labels(labels))
                .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(["labels"]))
                .send()
                .await
                .map_err(|e| self.context(parse_error(&e), "put (labels)", &resource))?;
        }
        Ok(SecretMeta {
            namespace: scope.namespace.clone(),
            name: name.clone(),
            version: Some(version_id_of(&added.name)?),
            tags,
            updated_at: added.create_time.map(|t| t.seconds()),
        })
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        let key = secret_key(&self.prefix, scope, name);
        let resource = self.resource(&key);
        self.client.delete_secret().set_name(resource.clone()).send().await.map_err(|e| {
            let err = parse_error(&e);
            if err.kind() == ErrorKind::NotFound {
                Error::secret_not_found(scope, name, None)
            } else {
                self.context(err, "delete", &resource)
            }
        })
    }

    async fn check(&self) -> Result<()> {
        let parent = format!("projects/{}", self.project);
        self.client
            .list_secrets()
            .set_parent(parent.clone())
            .set_page_size(1)
            .send()
            .await
            .map(drop)
            .map_err(|e| self.context(parse_error(&e), "check (list secrets)", &parent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_come_from_resource_names() {
        assert_eq!(version_id_of("projects/p/secrets/s/versions/7").unwrap().as_str(), "7");
        assert_eq!(version_id_of("projects/p/secrets/s/versions/7").unwrap().number(), Some(7));
    }
}
