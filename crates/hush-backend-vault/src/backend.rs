//! The Vault backend: KV v2 (or v1) through vaultrs, with the token kept alive by `auth.rs`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{self, StreamExt, TryStreamExt};
use hush_core::{
    BackendInfo, Capabilities, Error, ErrorKind, KindConfig, ListFilter, Namespace, Result, Scope, Secret,
    SecretBackend, SecretMeta, SecretName, SecretValue, Tags, VersionId,
};
use vaultrs::api::kv2::requests::{ReadSecretRequest, SetSecretMetadataRequest};

use crate::KIND;
use crate::auth::{Authenticator, Connection, keep_alive};
use crate::config::VaultConfig;
use crate::entry::{entry_for, value_of};
use crate::mapping::{api_path, namespace_folder, secret_path};
use crate::mount::{MountInfoRequest, mismatch};

/// Requests in flight at once while listing (folder listings and metadata reads).
const LIST_CONCURRENCY: usize = 16;

/// The KV engine's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kv {
    V1,
    V2,
}

/// What a `vault` backend can do with a KV engine of `engine_version`: everything with
/// KV v2; no tags and no versions with KV v1, which keeps neither.
pub fn capabilities(engine_version: u8) -> Capabilities {
    if engine_version == 1 { Capabilities::full().with_tags(false).with_versions(false) } else { Capabilities::full() }
}

/// Secrets in a KV mount of HashiCorp Vault or OpenBao.
///
/// Key mapping ([`secret_path`](crate::secret_path)): `<root_engine>/data/<prefix><tenant>/<namespace
/// segments joined by '/'>/<NAME>` (KV v1: without `data/`). An entry hush writes has one
/// field, `value` (UTF-8) or `value_base64` (anything else); tags are the secret's KV v2
/// `custom_metadata`. Entries written by others read as their whole JSON (see `docs.md`).
pub struct VaultBackend {
    info: BackendInfo,
    auth: Arc<Authenticator>,
    mount: String,
    prefix: String,
    kv: Kv,
    address: String,
    namespace: Option<String>,
    keep_alive: tokio::task::AbortHandle,
}

impl VaultBackend {
    /// Checks the configuration, logs in (or looks the configured token up), and starts the
    /// task that renews the token or logs in again before it expires.
    ///
    /// A bad configuration is `ConfigInvalid`, refused credentials `PermissionDenied`, an
    /// unreachable or sealed server `Unavailable`. Needs a tokio runtime: the renewal task
    /// is spawned on it, and stops when the backend is dropped.
    pub async fn connect(name: &str, config: VaultConfig) -> Result<VaultBackend> {
        hush_core::refuse_problems(name, &config.problems())?;
        let auth = Authenticator::start(name, Connection::from_config(&config), config.auth.clone())
            .await
            .map_err(|e| e.with_context("backend", name).with_context("address", &config.address))?;
        let keep_alive = tokio::spawn(keep_alive(Arc::downgrade(&auth))).abort_handle();
        let backend = VaultBackend {
            info: BackendInfo { kind: KIND, name: name.to_owned(), capabilities: capabilities(config.engine_version) },
            auth,
            mount: config.root_engine,
            prefix: config.prefix,
            kv: if config.engine_version == 1 { Kv::V1 } else { Kv::V2 },
            address: config.address,
            namespace: config.namespace,
            keep_alive,
        };
        backend.check_mount().await?;
        Ok(backend)
    }

    /// Fails with `ConfigInvalid` when `root_engine` is not a KV mount of the configured
    /// version; passes when the token may not ask (see `mount.rs`).
    async fn check_mount(&self) -> Result<()> {
        let path = self.mount.as_str();
        let asked = self
            .auth
            .call(|s| async move {
                vaultrs::api::exec_with_result(&s.client, MountInfoRequest { path: path.to_owned() }).await
            })
            .await;
        match asked {
            Ok(info) => match mismatch(&self.mount, self.engine_version(), &info) {
                Some(problem) => {
                    Err(Error::new(ErrorKind::ConfigInvalid, problem).with_context("backend", &self.info.name))
                }
                None => Ok(()),
            },
            Err(e) => {
                tracing::debug!(backend = %self.info.name, error = %e, "cannot look up the KV mount; its version is not checked");
                Ok(())
            }
        }
    }

    /// Adds the backend, operation and Vault path to an error.
    fn context(&self, err: Error, operation: &'static str, path: &str) -> Error {
        err.with_context("backend", &self.info.name)
            .with_context("operation", operation)
            .with_context("path", api_path(&self.mount, self.engine_version(), path))
    }

    fn engine_version(&self) -> u8 {
        match self.kv {
            Kv::V1 => 1,
            Kv::V2 => 2,
        }
    }

    /// The keys of the folder at `folder` (Vault answers 404 for an empty one).
    async fn list_folder(&self, folder: &str) -> Result<Vec<String>> {
        let mount = self.mount.as_str();
        let listed = match self.kv {
            Kv::V1 => {
                self.auth
                    .call(|s| async move { vaultrs::kv1::list(&s.client, mount, folder).await.map(|r| r.data.keys) })
                    .await
            }
            Kv::V2 => self.auth.call(|s| async move { vaultrs::kv2::list(&s.client, mount, folder).await }).await,
        };
        match listed {
            Ok(keys) => Ok(keys),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(self.context(e, "list", folder)),
        }
    }

    /// The list entry of a KV v2 secret, from its metadata; `None` when it is gone or its
    /// latest version is deleted.
    async fn meta_v2(&self, namespace: Namespace, name: SecretName, path: String) -> Result<Option<SecretMeta>> {
        let mount = self.mount.as_str();
        let read = self.auth.call(|s| {
            let path = path.as_str();
            async move { vaultrs::kv2::read_metadata(&s.client, mount, path).await }
        });
        let metadata = match read.await {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.context(e, "list", &path)),
        };
        let current = metadata.versions.get(&metadata.current_version.to_string());
        if current.is_none_or(|v| v.destroyed || !v.deletion_time.is_empty()) {
            return Ok(None);
        }
        Ok(Some(SecretMeta {
            namespace,
            name,
            version: Some(VersionId::new(metadata.current_version.to_string())?),
            tags: tags_of(metadata.custom_metadata),
            updated_at: unix_seconds(&metadata.updated_time),
        }))
    }

    /// Whether a secret exists at `path` (KV v2: it has metadata; KV v1: it has an entry).
    async fn exists(&self, path: &str) -> Result<bool> {
        let mount = self.mount.as_str();
        let found = match self.kv {
            Kv::V1 => {
                self.auth.call(|s| async move { vaultrs::kv1::get_raw(&s.client, mount, path).await.map(drop) }).await
            }
            Kv::V2 => {
                self.auth
                    .call(|s| async move { vaultrs::kv2::read_metadata(&s.client, mount, path).await.map(drop) })
                    .await
            }
        };
        match found {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.context(e, "delete", path)),
        }
    }
}

impl Drop for VaultBackend {
    fn drop(&mut self) {
        self.keep_alive.abort();
    }
}

impl fmt::Debug for VaultBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultBackend")
            .field("name", &self.info.name)
            .field("address", &self.address)
            .field("namespace", &self.namespace)
            .field("mount", &self.mount)
            .field("kv", &self.kv)
            .field("prefix", &self.prefix)
            .field("auth", &self.auth)
            .finish()
    }
}

/// Tags from KV v2 custom metadata; pairs hush could not have written (too long, control
/// characters) are left out.
fn tags_of(custom: Option<HashMap<String, String>>) -> Tags {
    custom.unwrap_or_default().into_iter().collect()
}

/// Custom metadata for `tags`.
fn custom_metadata(tags: &Tags) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// Unix seconds of an RFC 3339 time as Vault writes it (`2024-05-01T12:00:00.123456789Z`).
fn unix_seconds(time: &str) -> Option<i64> {
    let at = humantime::parse_rfc3339_weak(time.trim_end_matches('Z')).ok()?;
    at.duration_since(std::time::UNIX_EPOCH).ok().and_then(|d| i64::try_from(d.as_secs()).ok())
}

#[async_trait]
impl SecretBackend for VaultBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        let missing = || Error::secret_not_found(scope, name, version);
        let path = secret_path(&self.prefix, scope, name);
        let mount = self.mount.as_str();
        let not_found_or =
            |e: Error| if e.kind() == ErrorKind::NotFound { missing() } else { self.context(e, "get", &path) };
        match self.kv {
            Kv::V1 => {
                if version.is_some() {
                    return Err(self.unsupported("reading a pinned version (a KV v1 mount keeps no versions)"));
                }
                let path = path.as_str();
                let answer = self
                    .auth
                    .call(|s| async move { vaultrs::kv1::get_raw(&s.client, mount, path).await })
                    .await
                    .map_err(not_found_or)?;
                let value = value_of(answer.data).map_err(|e| self.context(e, "get", path))?.ok_or_else(missing)?;
                Ok(Secret { value, version: None, tags: Tags::new() })
            }
            Kv::V2 => {
                let number = match version {
                    None => None,
                    // Canonical and at least 1: Vault reads version 0 as the latest.
                    Some(v) => Some(v.number().ok_or_else(missing)?),
                };
                let answer = self
                    .auth
                    .call(|s| {
                        let request =
                            ReadSecretRequest { mount: mount.to_owned(), path: path.clone(), version: number };
                        async move { vaultrs::api::exec_with_result(&s.client, request).await }
                    })
                    .await
                    .map_err(not_found_or)?;
                let metadata = answer.metadata;
                if metadata.destroyed || !metadata.deletion_time.is_empty() {
                    return Err(missing());
                }
                let value = value_of(answer.data).map_err(|e| self.context(e, "get", &path))?.ok_or_else(missing)?;
                Ok(Secret {
                    value,
                    version: Some(VersionId::new(metadata.version.to_string())?),
                    tags: tags_of(metadata.custom_metadata),
                })
            }
        }
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        // Walk the namespace's folder (and, when recursive, its sub-folders) level by level.
        let mut secrets: Vec<(Namespace, SecretName)> = Vec::new();
        let mut level = vec![scope.namespace.clone()];
        while !level.is_empty() {
            let folders: Vec<(Namespace, Vec<String>)> = stream::iter(level)
                .map(|namespace| async move {
                    let folder = namespace_folder(&self.prefix, &Scope::new(scope.tenant.clone(), namespace.clone()));
                    Ok::<_, Error>((namespace, self.list_folder(&folder).await?))
                })
                .buffer_unordered(LIST_CONCURRENCY)
                .try_collect()
                .await?;
            level = Vec::new();
            for (namespace, keys) in folders {
                for key in keys {
                    match key.strip_suffix('/') {
                        Some(child) if filter.recursive => {
                            // Folders that are not one namespace segment were not written by hush.
                            if !child.contains('.')
                                && let Ok(child) = Namespace::new(format!("{namespace}.{child}"))
                            {
                                level.push(child);
                            }
                        }
                        Some(_) => {}
                        None => {
                            if let Ok(name) = SecretName::new(key) {
                                secrets.push((namespace.clone(), name));
                            }
                        }
                    }
                }
            }
        }

        let mut listed: Vec<SecretMeta> = match self.kv {
            // KV v1 keeps no metadata: a key is all there is to show.
            Kv::V1 => secrets
                .into_iter()
                .map(|(namespace, name)| SecretMeta {
                    namespace,
                    name,
                    version: None,
                    tags: Tags::new(),
                    updated_at: None,
                })
                .collect(),
            Kv::V2 => {
                stream::iter(secrets)
                    .map(|(namespace, name)| {
                        let path =
                            secret_path(&self.prefix, &Scope::new(scope.tenant.clone(), namespace.clone()), &name);
                        self.meta_v2(namespace, name, path)
                    })
                    .buffer_unordered(LIST_CONCURRENCY)
                    .try_filter_map(|meta| async move { Ok(meta) })
                    .try_collect()
                    .await?
            }
        };
        listed.retain(|meta| meta.tags.contains_all(&filter.tags));
        listed.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Ok(listed)
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        let path = secret_path(&self.prefix, scope, name);
        let mount = self.mount.as_str();
        let entry = entry_for(&value);
        drop(value);
        let entry = &entry;
        match self.kv {
            Kv::V1 => {
                let path = path.as_str();
                let fields: HashMap<&str, &serde_json::Value> = entry.iter().map(|(k, v)| (k.as_str(), v)).collect();
                let fields = &fields;
                self.auth
                    .call(|s| async move { vaultrs::kv1::set(&s.client, mount, path, fields).await })
                    .await
                    .map_err(|e| self.context(e, "put", path))?;
                // KV v1 keeps no tags: the metadata returned shows none were stored.
                Ok(SecretMeta::new(scope.namespace.clone(), name.clone()))
            }
            Kv::V2 => {
                let written = {
                    let path = path.as_str();
                    self.auth
                        .call(|s| async move { vaultrs::kv2::set(&s.client, mount, path, entry).await })
                        .await
                        .map_err(|e| self.context(e, "put", path))?
                };
                // Tags live in the secret's custom metadata; write them only when they change.
                let wanted = custom_metadata(&tags);
                let current: BTreeMap<String, String> =
                    written.custom_metadata.unwrap_or_default().into_iter().collect();
                if current != wanted.clone().into_iter().collect::<BTreeMap<_, _>>() {
                    self.auth
                        .call(|s| {
                            let request = SetSecretMetadataRequest {
                                mount: mount.to_owned(),
                                path: path.clone(),
                                custom_metadata: Some(wanted.clone()),
                                ..SetSecretMetadataRequest::default()
                            };
                            async move { vaultrs::api::exec_with_empty(&s.client, request).await }
                        })
                        .await
                        .map_err(|e| self.context(e, "put tags", &path))?;
                }
                Ok(SecretMeta {
                    namespace: scope.namespace.clone(),
                    name: name.clone(),
                    version: Some(VersionId::new(written.version.to_string())?),
                    tags,
                    updated_at: unix_seconds(&written.created_time),
                })
            }
        }
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        let path = secret_path(&self.prefix, scope, name);
        // Vault answers success for deleting a missing entry: look first.
        if !self.exists(&path).await? {
            return Err(Error::not_found(format!("secret {name} not found in {scope}")));
        }
        let (mount, path) = (self.mount.as_str(), path.as_str());
        match self.kv {
            Kv::V1 => self.auth.call(|s| async move { vaultrs::kv1::delete(&s.client, mount, path).await }).await,
            Kv::V2 => {
                self.auth.call(|s| async move { vaultrs::kv2::delete_metadata(&s.client, mount, path).await }).await
            }
        }
        .map_err(|e| self.context(e, "delete", path))
    }

    async fn check(&self) -> Result<()> {
        self.auth
            .call(|s| async move { vaultrs::token::lookup_self(&s.client).await.map(drop) })
            .await
            .map_err(|e| e.with_context("backend", &self.info.name).with_context("operation", "token lookup"))?;
        // The folder the prefix names (the mount's root for a prefix without '/'): proves the
        // mount exists and the token may list under it.
        let folder = self.prefix.rfind('/').map_or("", |i| &self.prefix[..=i]);
        self.list_folder(folder).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_times_are_unix_seconds() {
        assert_eq!(unix_seconds("2024-05-01T12:00:00.123456789Z"), Some(1_714_564_800));
        assert_eq!(unix_seconds("2024-05-01T12:00:00Z"), Some(1_714_564_800));
        assert_eq!(unix_seconds(""), None);
        assert_eq!(unix_seconds("yesterday"), None);
    }

    #[test]
    fn kv1_has_neither_tags_nor_versions() {
        let v1 = capabilities(1);
        assert!(v1.read && v1.write && v1.list && !v1.tags && !v1.versions);
        assert_eq!(capabilities(2), Capabilities::full());
    }

    #[test]
    fn foreign_tags_that_hush_cannot_hold_are_left_out() {
        let custom: HashMap<String, String> =
            [("team".to_owned(), "payments".to_owned()), ("long".to_owned(), "x".repeat(300))].into_iter().collect();
        let tags = tags_of(Some(custom));
        assert_eq!(tags.len(), 1);
        assert_eq!(tags.get("team"), Some("payments"));
    }
}
