//! The AWS Secrets Manager backend: one SDK client, one secret per hush secret.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::config::{Credentials, Region};
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, SecretListEntry, Tag};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use hush_core::{
    BackendInfo, Capabilities, DEFAULT_CALL_TIMEOUT, Error, ErrorKind, KindConfig, ListFilter, Result, Scope, Secret,
    SecretBackend, SecretMeta, SecretName, SecretValue, Tags, VersionId,
};

use crate::KIND;
use crate::config::AwsConfig;
use crate::error::{code_of, is_marked_for_deletion, parse_error};
use crate::mapping::{namespace_folder, parse_secret_name, secret_name};

/// The largest value AWS Secrets Manager stores (`SecretString` or `SecretBinary`), in bytes.
pub const MAX_VALUE_BYTES: usize = 65_536;

/// The staging label of a secret's current version, which hush reads by default.
pub const CURRENT_STAGE: &str = "AWSCURRENT";

/// Staging labels AWS itself manages, accepted as a pinned "version".
const AWS_STAGES: [&str; 3] = [CURRENT_STAGE, "AWSPREVIOUS", "AWSPENDING"];

/// Secrets per `ListSecrets` page (AWS's maximum).
const LIST_PAGE: i32 = 100;

/// What an `aws-secrets-manager` backend can do: everything.
pub fn capabilities() -> Capabilities {
    Capabilities::full()
}

/// Secrets in AWS Secrets Manager (or an AWS-compatible server).
///
/// Key mapping ([`secret_name`](crate::secret_name)): the secret named
/// `<prefix><tenant>/<namespace>/<NAME>`. Values are the secret's `SecretString` when UTF-8,
/// its `SecretBinary` otherwise; hush tags are the secret's AWS tags; a hush version is an AWS
/// `VersionId` (or one of the labels `AWSCURRENT`, `AWSPREVIOUS`, `AWSPENDING`).
pub struct AwsBackend {
    info: BackendInfo,
    client: Client,
    prefix: String,
    region: String,
    endpoint: Option<String>,
    recovery_window_days: u8,
    force_delete: bool,
}

impl AwsBackend {
    /// Checks the configuration and builds the SDK client: static credentials when given,
    /// else the default chain (environment, profile, web identity, SSO, container and
    /// instance roles), resolved lazily on the first call. Makes no call to AWS: `check` does.
    ///
    /// A bad configuration, or no region anywhere, is `ConfigInvalid`.
    pub async fn connect(name: &str, config: AwsConfig) -> Result<AwsBackend> {
        hush_core::refuse_problems(name, &config.problems())?;
        // rustls over ring, the crypto provider the rest of hush uses (no aws-lc-rs).
        let http =
            aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
        let timeout = config.request_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT);
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            // hush's retry layer retries temporary errors; a second loop here would multiply them.
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(timeout)
                    .operation_attempt_timeout(timeout)
                    .operation_timeout(timeout)
                    .build(),
            );
        if let Some(region) = &config.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &config.profile {
            loader = loader.profile_name(profile);
        }
        if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
            let credentials =
                Credentials::new(id.clone(), secret.clone(), config.session_token.clone(), None, "hush-config");
            loader = loader.credentials_provider(credentials);
        }
        if let Some(endpoint) = &config.endpoint_override {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader.load().await;
        let Some(region) = sdk.region().map(ToString::to_string) else {
            return Err(Error::new(
                ErrorKind::ConfigInvalid,
                format!(
                    "aws-secrets-manager backend {name:?}: no region: set `region`, AWS_REGION or a profile's region"
                ),
            ));
        };
        let recovery_window_days = config.recovery_window();
        Ok(AwsBackend {
            info: BackendInfo { kind: KIND, name: name.to_owned(), capabilities: capabilities() },
            client: Client::new(&sdk),
            prefix: config.prefix,
            region,
            endpoint: config.endpoint_override,
            recovery_window_days,
            force_delete: config.force_delete,
        })
    }

    /// Adds the backend, operation and AWS secret name to an error.
    fn context(&self, err: Error, operation: &'static str, aws_name: &str) -> Error {
        err.with_context("backend", &self.info.name)
            .with_context("operation", operation)
            .with_context("secret", aws_name)
    }

    /// The secret's tags, or `None` when it does not exist; `Some((tags, true))` when it is
    /// scheduled for deletion.
    async fn describe(&self, aws_name: &str, operation: &'static str) -> Result<Option<(Vec<Tag>, bool)>> {
        match self.client.describe_secret().secret_id(aws_name).send().await {
            Ok(described) => Ok(Some((described.tags().to_vec(), described.deleted_date().is_some()))),
            Err(e) if code_of(&e) == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(self.context(parse_error(&e), operation, aws_name)),
        }
    }

    /// Adds a version to an existing secret (restoring it first when it is scheduled for
    /// deletion) and makes its tags `tags`. Returns the new version id.
    async fn put_existing(
        &self,
        aws_name: &str,
        value: &SecretValue,
        tags: &Tags,
        current: Vec<Tag>,
        deleted: bool,
    ) -> Result<Option<String>> {
        if deleted {
            self.restore(aws_name).await?;
        }
        let request = self.client.put_secret_value().secret_id(aws_name);
        let request = match value.expose_str() {
            Some(text) => request.secret_string(text),
            None => request.secret_binary(Blob::new(value.expose())),
        };
        let written = match request.send().await {
            Ok(written) => written,
            // Deleted between our look and the write: restore and write once more.
            Err(e) if !deleted && is_marked_for_deletion(&e) => {
                return Box::pin(self.put_existing(aws_name, value, tags, current, true)).await;
            }
            Err(e) => return Err(self.context(parse_error(&e), "put", aws_name)),
        };
        self.sync_tags(aws_name, tags, &current).await?;
        Ok(written.version_id)
    }

    /// `RestoreSecret`: cancels a scheduled deletion.
    async fn restore(&self, aws_name: &str) -> Result<()> {
        match self.client.restore_secret().secret_id(aws_name).send().await {
            Ok(_) => Ok(()),
            Err(e) if code_of(&e) == Some("ResourceNotFoundException") => Err(Error::new(
                ErrorKind::Conflict,
                "a secret of this name is still being deleted by AWS; write it again shortly",
            )
            .with_context("backend", &self.info.name)
            .with_context("secret", aws_name)),
            Err(e) => Err(self.context(parse_error(&e), "put (restore)", aws_name)),
        }
    }

    /// Makes the secret's AWS tags `wanted`: untags keys it no longer has, tags new or changed
    /// pairs. Tags under `aws:` belong to AWS and are left alone.
    async fn sync_tags(&self, aws_name: &str, wanted: &Tags, current: &[Tag]) -> Result<()> {
        let current: HashMap<&str, &str> = current
            .iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
            .filter(|(k, _)| !k.starts_with("aws:"))
            .collect();
        let stale: Vec<String> = current.keys().filter(|k| wanted.get(k).is_none()).map(|k| (*k).to_owned()).collect();
        let changed: Vec<Tag> =
            wanted.iter().filter(|(k, v)| current.get(k) != Some(v)).map(|(k, v)| aws_tag(k, v)).collect();
        if !stale.is_empty() {
            self.client
                .untag_resource()
                .secret_id(aws_name)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| self.context(parse_error(&e), "put (untag)", aws_name))?;
        }
        if !changed.is_empty() {
            self.client
                .tag_resource()
                .secret_id(aws_name)
                .set_tags(Some(changed))
                .send()
                .await
                .map_err(|e| self.context(parse_error(&e), "put (tag)", aws_name))?;
        }
        Ok(())
    }

    /// Every secret whose name starts with `name_prefix` and carries the first tag pair of
    /// `tags` (AWS's filters are prefix matches: callers check exactly).
    async fn list_names(&self, name_prefix: &str, tags: &Tags) -> Result<Vec<SecretListEntry>> {
        let mut filters = Vec::new();
        if !name_prefix.is_empty() {
            filters.push(filter(FilterNameStringType::Name, name_prefix));
        }
        if let Some((key, value)) = tags.iter().next() {
            filters.push(filter(FilterNameStringType::TagKey, key));
            if !value.is_empty() {
                filters.push(filter(FilterNameStringType::TagValue, value));
            }
        }
        let mut pages = self
            .client
            .list_secrets()
            .set_filters((!filters.is_empty()).then_some(filters))
            .max_results(LIST_PAGE)
            .into_paginator()
            .send();
        let mut entries = Vec::new();
        while let Some(page) = pages.try_next().await.map_err(|e| self.context(parse_error(&e), "list", name_prefix))? {
            entries.extend(page.secret_list.unwrap_or_default());
        }
        Ok(entries)
    }
}

impl fmt::Debug for AwsBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsBackend")
            .field("name", &self.info.name)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.prefix)
            .field("recovery_window_days", &self.recovery_window_days)
            .field("force_delete", &self.force_delete)
            .finish_non_exhaustive()
    }
}

/// One ListSecrets filter.
fn filter(key: FilterNameStringType, value: &str) -> Filter {
    Filter::builder().key(key).values(value).build()
}

/// An AWS tag.
fn aws_tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// hush tags from AWS tags, without AWS's own (`aws:`) and pairs hush could not hold.
fn tags_of(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
        .filter(|(k, _)| !k.starts_with("aws:"))
        .collect()
}

/// What a pinned hush version asks AWS for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pin<'a> {
    /// A staging label (`AWSCURRENT`, `AWSPREVIOUS`, `AWSPENDING`).
    Stage(&'a str),
    /// A `VersionId` (32 to 64 characters).
    Id(&'a str),
    /// Nothing AWS could hold: not found.
    Impossible,
}

fn pin_of(version: &VersionId) -> Pin<'_> {
    let text = version.as_str();
    if AWS_STAGES.contains(&text) {
        Pin::Stage(text)
    } else if (32..=64).contains(&text.len()) {
        Pin::Id(text)
    } else {
        Pin::Impossible
    }
}

/// The version id carrying `AWSCURRENT`, from a version-to-stages map.
fn current_version(stages: Option<&HashMap<String, Vec<String>>>) -> Option<VersionId> {
    let (id, _) = stages?.iter().find(|(_, labels)| labels.iter().any(|l| l == CURRENT_STAGE))?;
    VersionId::new(id.as_str()).ok()
}

#[async_trait]
impl SecretBackend for AwsBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        let missing = || Error::secret_not_found(scope, name, version);
        let aws_name = secret_name(&self.prefix, scope, name);
        let mut request = self.client.get_secret_value().secret_id(&aws_name);
        match version.map(pin_of) {
            None => {}
            Some(Pin::Stage(stage)) => request = request.version_stage(stage),
            Some(Pin::Id(id)) => request = request.version_id(id),
            Some(Pin::Impossible) => return Err(missing()),
        }
        let (read, described) = tokio::join!(request.send(), self.describe(&aws_name, "get"));
        let (tags, deleted) = described?.ok_or_else(missing)?;
        if deleted {
            return Err(missing());
        }
        let read = match read {
            Ok(read) => read,
            Err(e) if code_of(&e) == Some("ResourceNotFoundException") || is_marked_for_deletion(&e) => {
                return Err(missing());
            }
            Err(e) => return Err(self.context(parse_error(&e), "get", &aws_name)),
        };
        let value = match (read.secret_string, read.secret_binary) {
            (Some(text), _) => SecretValue::new(text.into_bytes()),
            (None, Some(blob)) => SecretValue::new(blob.into_inner()),
            (None, None) => return Err(missing()),
        };
        let version = read.version_id.as_deref().map(VersionId::new).transpose()?;
        Ok(Secret { value, version, tags: tags_of(&tags) })
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        // Recursive: every name starting `<prefix><tenant>/<namespace>` (its own folder and
        // `<namespace>.child/...`), then only namespaces of the subtree are kept.
        let name_prefix = if filter.recursive {
            format!("{}{}/{}", self.prefix, scope.tenant, scope.namespace)
        } else {
            namespace_folder(&self.prefix, scope)
        };
        let entries = self.list_names(&name_prefix, &filter.tags).await?;
        let mut listed: Vec<SecretMeta> = entries
            .iter()
            .filter(|entry| entry.deleted_date().is_none())
            .filter_map(|entry| {
                let (found, name) = parse_secret_name(&self.prefix, entry.name()?)?;
                let inside = found.tenant == scope.tenant
                    && if filter.recursive {
                        scope.namespace.is_self_or_ancestor_of(&found.namespace)
                    } else {
                        found.namespace == scope.namespace
                    };
                let tags = tags_of(entry.tags());
                (inside && tags.contains_all(&filter.tags)).then(|| SecretMeta {
                    namespace: found.namespace,
                    name,
                    version: current_version(entry.secret_versions_to_stages()),
                    tags,
                    updated_at: entry.last_changed_date().map(|d| d.secs()),
                })
            })
            .collect();
        listed.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Ok(listed)
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        let aws_name = secret_name(&self.prefix, scope, name);
        if value.len() > MAX_VALUE_BYTES {
            return Err(Error::invalid_input(format!(
                "the value is {} bytes; AWS Secrets Manager stores at most {MAX_VALUE_BYTES} bytes (64 KiB)",
                value.len()
            ))
            .with_context("backend", &self.info.name)
            .with_context("secret", &aws_name));
        }
        let version = match self.describe(&aws_name, "put").await? {
            Some((current, deleted)) => self.put_existing(&aws_name, &value, &tags, current, deleted).await?,
            None => {
                let request = self
                    .client
                    .create_secret()
                    .name(&aws_name)
                    .set_tags((!tags.is_empty()).then(|| tags.iter().map(|(k, v)| aws_tag(k, v)).collect()));
                let request = match value.expose_str() {
                    Some(text) => request.secret_string(text),
                    None => request.secret_binary(Blob::new(value.expose())),
                };
                match request.send().await {
                    Ok(created) => created.version_id,
                    // Created by a concurrent writer, or still being deleted: write a version.
                    Err(e) if code_of(&e) == Some("ResourceExistsException") || is_marked_for_deletion(&e) => {
                        let (current, deleted) = self.describe(&aws_name, "put").await?.ok_or_else(|| {
                            Error::new(ErrorKind::Conflict, "the secret was deleted while hush wrote it")
                                .with_context("secret", &aws_name)
                        })?;
                        self.put_existing(&aws_name, &value, &tags, current, deleted).await?
                    }
                    Err(e) => return Err(self.context(parse_error(&e), "put (create)", &aws_name)),
                }
            }
        };
        drop(value);
        Ok(SecretMeta {
            namespace: scope.namespace.clone(),
            name: name.clone(),
            version: version.as_deref().map(VersionId::new).transpose()?,
            tags,
            updated_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .and_then(|d| i64::try_from(d.as_secs()).ok()),
        })
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        let aws_name = secret_name(&self.prefix, scope, name);
        // AWS answers success for a forced delete of a missing secret: look first.
        match self.describe(&aws_name, "delete").await? {
            Some((_, false)) => {}
            None | Some((_, true)) => return Err(Error::not_found(format!("secret {name} not found in {scope}"))),
        }
        let request = self.client.delete_secret().secret_id(&aws_name);
        let request = if self.force_delete {
            request.force_delete_without_recovery(true)
        } else {
            request.recovery_window_in_days(i64::from(self.recovery_window_days))
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) if code_of(&e) == Some("ResourceNotFoundException") || is_marked_for_deletion(&e) => {
                Err(Error::not_found(format!("secret {name} not found in {scope}")))
            }
            Err(e) => Err(self.context(parse_error(&e), "delete", &aws_name)),
        }
    }

    async fn check(&self) -> Result<()> {
        let mut request = self.client.list_secrets().max_results(1);
        if !self.prefix.is_empty() {
            request = request.filters(filter(FilterNameStringType::Name, &self.prefix));
        }
        request.send().await.map(drop).map_err(|e| {
            parse_error(&e).with_context("backend", &self.info.name).with_context("operation", "list (check)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_ids_or_aws_stages() {
        let v = |s: &str| VersionId::new(s).unwrap();
        let id = v("EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE");
        assert_eq!(pin_of(&id), Pin::Id("EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"));
        let current = v("AWSCURRENT");
        assert_eq!(pin_of(&current), Pin::Stage("AWSCURRENT"));
        let previous = v("AWSPREVIOUS");
        assert_eq!(pin_of(&previous), Pin::Stage("AWSPREVIOUS"));
        assert_eq!(pin_of(&v("999999999")), Pin::Impossible);
        assert_eq!(pin_of(&v("awscurrent")), Pin::Impossible);
    }

    #[test]
    fn the_current_version_is_the_one_labelled_awscurrent() {
        let stages: HashMap<String, Vec<String>> = [
            ("old".to_owned(), vec!["AWSPREVIOUS".to_owned()]),
            ("new".to_owned(), vec!["AWSCURRENT".to_owned(), "x".to_owned()]),
        ]
        .into_iter()
        .collect();
        assert_eq!(current_version(Some(&stages)), Some(VersionId::new("new").unwrap()));
        assert_eq!(current_version(None), None);
    }

    #[test]
    fn aws_owned_tags_are_left_out() {
        let tags = [aws_tag("team", "payments"), aws_tag("aws:cloudformation:stack-name", "s")];
        let tags = tags_of(&tags);
        assert_eq!(tags.len(), 1);
        assert_eq!(tags.get("team"), Some("payments"));
    }
}
