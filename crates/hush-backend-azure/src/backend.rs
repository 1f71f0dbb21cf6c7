//! The Azure Key Vault backend: Microsoft's `azure_security_keyvault_secrets` client over a
//! reqwest client hush builds (rustls with ring, the configured timeout and CA file).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret as CredentialSecret, TokenCredential};
use azure_core::http::{ClientOptions, RequestContent, RetryOptions, Transport};
use azure_identity::{
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use azure_security_keyvault_secrets::models::{
    Secret as VaultSecret, SecretClientGetSecretOptions, SecretClientListSecretPropertiesOptions, SetSecretParameters,
};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use base64::Engine as _;
use futures::stream::{self, StreamExt, TryStreamExt};
use hush_core::{
    BackendInfo, Capabilities, DEFAULT_CALL_TIMEOUT, Error, ErrorKind, KindConfig, ListFilter, Result, Scope, Secret,
    SecretBackend, SecretMeta, SecretName, SecretValue, Tags, VersionId,
};
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::KIND;
use crate::config::{AzureConfig, CredentialConfig};
use crate::error::{parse_error, status_of};
use crate::mapping::{parse_listed_name, secret_name};

/// The `contentType` hush writes on values that are not UTF-8 (stored as standard base64).
pub const BASE64_CONTENT_TYPE: &str = "application/octet-stream;base64";
/// Tag holding the secret's hush tenant.
pub const TENANT_TAG: &str = "hush-tenant";
/// Tag holding the secret's hush namespace.
pub const NAMESPACE_TAG: &str = "hush-namespace";
/// Tag holding the secret's hush name.
pub const NAME_TAG: &str = "hush-name";
/// Key Vault's limit on a stored value, in bytes (25 KiB). Values that are not UTF-8 are
/// stored in base64, so they may be at most 3/4 of this.
pub const MAX_STORED_VALUE: usize = 25 * 1024;
/// Key Vault's limit on tags per secret; hush uses three of them.
const MAX_TAGS: usize = 15;
/// Secrets per list page asked of Key Vault.
const PAGE_SIZE: i32 = 25;
/// Requests in flight at once while listing.
const LIST_CONCURRENCY: usize = 16;
/// How often and how long hush waits for Key Vault to finish a delete or a recover (both
/// are asynchronous in Key Vault).
const SETTLE_PAUSE: Duration = Duration::from_millis(250);

/// What an `azure-key-vault` backend can do: everything.
pub fn capabilities() -> Capabilities {
    Capabilities::full()
}

/// Secrets in an Azure Key Vault.
///
/// Key mapping ([`secret_name`](crate::secret_name)): `<prefix><tenant>-x<segments joined
/// by -s>-x<NAME>`, each part escaped into `[0-9a-z-]`. Tags `hush-tenant`, `hush-namespace`
/// and `hush-name` carry the original parts; the other tags are the secret's own.
pub struct AzureBackend {
    info: BackendInfo,
    client: SecretClient,
    prefix: String,
    purge_on_delete: bool,
    vault: String,
    credential: &'static str,
    /// How long a put or delete waits for Key Vault to finish a recovery or a deletion: the
    /// request timeout, so the wait never outlives the timeout layer (after it, a temporary
    /// error the retry layer retries).
    settle_within: Duration,
}

impl AzureBackend {
    /// Checks the configuration and builds the client. Does not talk to Key Vault: the
    /// first request (or [`check`](SecretBackend::check)) does, and gets the first token.
    ///
    /// A bad configuration is `ConfigInvalid`. Needs a tokio runtime for requests.
    pub async fn connect(name: &str, config: AzureConfig) -> Result<AzureBackend> {
        hush_core::refuse_problems(name, &config.problems())?;
        let invalid =
            |message: String| Error::new(ErrorKind::ConfigInvalid, message).with_context("backend", name.to_owned());
        let vault = config.vault_url().map_err(invalid)?;
        let http = http_client(&config).await.map_err(|e| e.with_context("backend", name.to_owned()))?;
        let transport = Transport::new(Arc::new(http));
        let mut cloud = CustomConfiguration::default();
        cloud.authority_host = config.authority_host.clone();
        let cloud = Arc::new(CloudConfiguration::from(cloud));
        let client_options = || {
            // hush's retry layer retries temporary errors; the SDK must not retry as well.
            ClientOptions {
                transport: Some(transport.clone()),
                retry: RetryOptions::none(),
                cloud: Some(Arc::clone(&cloud)),
                ..ClientOptions::default()
            }
        };
        let credential = credential(&config.credential, client_options()).map_err(|e| {
            invalid(format!(
                "cannot set up the {} credential: {}",
                config.credential.method(),
                parse_error(&e).message()
            ))
        })?;
        let options = SecretClientOptions {
            api_version: config.api_version.clone(),
            client_options: client_options(),
            verify_challenge_resource: Some(config.verify_challenge_resource),
        };
        let client = SecretClient::new(vault.as_str(), credential, Some(options))
            .map_err(|e| invalid(format!("cannot build the Key Vault client: {e}")))?;
        Ok(AzureBackend {
            info: BackendInfo { kind: KIND, name: name.to_owned(), capabilities: capabilities() },
            client,
            prefix: config.prefix,
            purge_on_delete: config.purge_on_delete,
            vault: vault.to_string(),
            credential: config.credential.method(),
            settle_within: config.request_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT),
        })
    }

    /// Adds the backend, operation and Key Vault secret name to an error.
    fn context(&self, err: Error, operation: &'static str, vault_name: &str) -> Error {
        err.with_context("backend", &self.info.name)
            .with_context("operation", operation)
            .with_context("secret", vault_name)
    }

    /// The latest version of `vault_name`, or the pinned `version`.
    async fn read(
        &self,
        vault_name: &str,
        version: Option<String>,
    ) -> std::result::Result<VaultSecret, azure_core::Error> {
        let options = SecretClientGetSecretOptions { secret_version: version, ..Default::default() };
        self.client.get_secret(vault_name, Some(options)).await?.into_model()
    }

    /// Writes a new version; `Conflict` (a soft-deleted name) is returned as the SDK error.
    async fn write(
        &self,
        vault_name: &str,
        stored: &Zeroizing<String>,
        content_type: Option<&str>,
        tags: &HashMap<String, String>,
    ) -> std::result::Result<VaultSecret, azure_core::Error> {
        let parameters = SetSecretParameters {
            value: Some(stored.as_str().to_owned()),
            content_type: content_type.map(str::to_owned),
            tags: Some(tags.clone()),
            ..Default::default()
        };
        let body: RequestContent<SetSecretParameters> = parameters.try_into()?;
        self.client.set_secret(vault_name, body, None).await?.into_model()
    }

    /// Recovers the soft-deleted `vault_name` and waits until it reads again, at most
    /// `settle_within`.
    async fn recover(&self, vault_name: &str) -> Result<()> {
        let deadline = Instant::now() + self.settle_within;
        loop {
            match self.client.recover_deleted_secret(vault_name, None).await {
                Ok(_) => break,
                // Key Vault is still deleting it: the deleted secret is not there yet.
                Err(e) if matches!(status_of(&e), Some(404 | 409)) => {
                    settle(deadline, || format!("Key Vault is still deleting secret {vault_name:?}")).await?;
                }
                Err(e) => {
                    let err = parse_error(&e);
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!(
                            "secret {vault_name:?} is deleted but recoverable in Key Vault (soft delete), so its name \
                             cannot be reused; recovering it failed ({}): recover or purge it, or grant the \
                             'recover' permission",
                            err.message()
                        ),
                    ));
                }
            }
        }
        loop {
            match self.read(vault_name, None).await {
                Ok(_) => return Ok(()),
                Err(e) if status_of(&e) == Some(404) => {
                    settle(deadline, || format!("Key Vault is still recovering secret {vault_name:?}")).await?;
                }
                Err(e) => return Err(parse_error(&e)),
            }
        }
    }

    /// Purges the deleted `vault_name`, waiting at most `settle_within` for Key Vault to
    /// finish deleting it first.
    async fn purge(&self, vault_name: &str) -> Result<()> {
        let deadline = Instant::now() + self.settle_within;
        loop {
            match self.client.purge_deleted_secret(vault_name, None).await {
                Ok(_) => return Ok(()),
                Err(e) if matches!(status_of(&e), Some(404 | 409)) => {
                    settle(deadline, || format!("Key Vault is still deleting secret {vault_name:?}")).await?;
                }
                Err(e) => return Err(parse_error(&e)),
            }
        }
    }
}

/// Waits a little for Key Vault to settle, or, past `deadline`, fails with a temporary
/// `Unavailable` (`why`) that the retry layer retries.
async fn settle(deadline: Instant, why: impl FnOnce() -> String) -> Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::unavailable(why()));
    }
    tokio::time::sleep(left.min(SETTLE_PAUSE)).await;
    Ok(())
}

impl fmt::Debug for AzureBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureBackend")
            .field("name", &self.info.name)
            .field("vault", &self.vault)
            .field("prefix", &self.prefix)
            .field("purge_on_delete", &self.purge_on_delete)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

/// reqwest over rustls with the process's crypto provider (ring, installed by the binary), the
/// request timeout, and the CA file's certificates besides the system's roots.
async fn http_client(config: &AzureConfig) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(config.request_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT))
        .connect_timeout(config.request_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT).min(Duration::from_secs(10)));
    if let Some(ca_file) = &config.ca_file {
        let pem = tokio::fs::read(ca_file).await.map_err(|e| {
            Error::new(ErrorKind::ConfigInvalid, format!("cannot read ca_file {}: {e}", ca_file.display()))
        })?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
            Error::new(ErrorKind::ConfigInvalid, format!("ca_file {} holds no PEM certificate", ca_file.display()))
        })?;
        if certificates.is_empty() {
            return Err(Error::new(
                ErrorKind::ConfigInvalid,
                format!("ca_file {} holds no PEM certificate", ca_file.display()),
            ));
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder.build().map_err(|e| Error::new(ErrorKind::ConfigInvalid, format!("cannot build the HTTP client: {e}")))
}

/// The token credential for `config`, its token requests sent through `client_options`.
fn credential(
    config: &CredentialConfig,
    client_options: ClientOptions,
) -> std::result::Result<Arc<dyn TokenCredential>, azure_core::Error> {
    let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
    Ok(match config {
        CredentialConfig::ClientSecret { tenant_id, client_id, client_secret } => {
            let options = ClientSecretCredentialOptions { client_options };
            ClientSecretCredential::new(
                tenant_id,
                client_id.clone(),
                CredentialSecret::new(client_secret.clone()),
                Some(options),
            )?
        }
        CredentialConfig::WorkloadIdentity { tenant_id, client_id, token_file } => {
            let mut options = WorkloadIdentityCredentialOptions::default();
            options.credential_options.client_options = client_options;
            options.tenant_id = tenant_id.clone();
            options.client_id = client_id.clone();
            options.token_file_path = token_file.clone();
            WorkloadIdentityCredential::new(Some(options))?
        }
        CredentialConfig::ManagedIdentity { client_id } => {
            let options = ManagedIdentityCredentialOptions {
                client_options,
                user_assigned_id: client_id.clone().map(UserAssignedId::ClientId),
            };
            ManagedIdentityCredential::new(Some(options))?
        }
        CredentialConfig::Default => {
            if let (Some(tenant_id), Some(client_id), Some(secret)) =
                (env("AZURE_TENANT_ID"), env("AZURE_CLIENT_ID"), env("AZURE_CLIENT_SECRET"))
            {
                let config = CredentialConfig::client_secret(tenant_id, client_id, secret);
                return credential(&config, client_options);
            }
            if env("AZURE_FEDERATED_TOKEN_FILE").is_some() {
                let config = CredentialConfig::WorkloadIdentity { tenant_id: None, client_id: None, token_file: None };
                return credential(&config, client_options);
            }
            let config = CredentialConfig::ManagedIdentity { client_id: env("AZURE_CLIENT_ID") };
            return credential(&config, client_options);
        }
    })
}

/// The version in a secret id `https://<vault>/secrets/<name>/<version>`.
fn version_of(id: Option<&str>) -> Option<VersionId> {
    let mut parts = id?.trim_end_matches('/').rsplit('/');
    let version = parts.next()?;
    let _name = parts.next()?;
    (parts.next()? == "secrets").then_some(())?;
    VersionId::new(version).ok()
}

/// The secret name in an id `https://<vault>/secrets/<name>[/<version>]`.
fn name_of(id: &str) -> Option<&str> {
    let path = id.split_once("://").map_or(id, |(_, rest)| rest);
    let mut parts = path.split('/').skip(1);
    (parts.next()? == "secrets").then_some(())?;
    parts.next().filter(|name| !name.is_empty())
}

/// A secret's own tags: its Key Vault tags without hush's three.
fn own_tags(tags: Option<HashMap<String, String>>) -> Tags {
    tags.unwrap_or_default()
        .into_iter()
        .filter(|(key, _)| !matches!(key.as_str(), TENANT_TAG | NAMESPACE_TAG | NAME_TAG))
        .collect()
}

/// The unix seconds of a Key Vault time.
fn unix_seconds(secret: &VaultSecret) -> Option<i64> {
    let attributes = secret.attributes.as_ref()?;
    attributes.updated.or(attributes.created).map(|t| t.unix_timestamp())
}

/// Whether a version id can be a Key Vault version (letters and digits; 32 hex digits in practice).
fn is_vault_version(version: &VersionId) -> bool {
    version.as_str().chars().all(|c| c.is_ascii_alphanumeric())
}

#[async_trait]
impl SecretBackend for AzureBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        let missing = || Error::secret_not_found(scope, name, version);
        let vault_name = secret_name(&self.prefix, scope, name)?;
        if version.is_some_and(|v| !is_vault_version(v)) {
            return Err(missing());
        }
        let secret = match self.read(&vault_name, version.map(ToString::to_string)).await {
            Ok(secret) => secret,
            Err(e) => {
                let err = parse_error(&e);
                return Err(if err.kind() == ErrorKind::NotFound {
                    missing()
                } else {
                    self.context(err, "get", &vault_name)
                });
            }
        };
        let text = Zeroizing::new(secret.value.clone().unwrap_or_default());
        let value = if secret.content_type.as_deref() == Some(BASE64_CONTENT_TYPE) {
            let bytes = base64::engine::general_purpose::STANDARD.decode(text.as_bytes()).map_err(|_| {
                self.context(
                    Error::new(ErrorKind::Internal, "the value is marked base64 but is not"),
                    "get",
                    &vault_name,
                )
            })?;
            SecretValue::new(bytes)
        } else {
            SecretValue::new(text.as_bytes().to_vec())
        };
        let mut secret = secret;
        if let Some(v) = secret.value.as_mut() {
            zeroize::Zeroize::zeroize(v);
        }
        Ok(Secret {
            value,
            version: version_of(secret.id.as_deref()).or_else(|| version.cloned()),
            tags: own_tags(secret.tags),
        })
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let options = SecretClientListSecretPropertiesOptions { maxresults: Some(PAGE_SIZE), ..Default::default() };
        let pager = self
            .client
            .list_secret_properties(Some(options))
            .map_err(|e| self.context(parse_error(&e), "list", "*"))?;
        let found: Vec<(Scope, SecretName, String)> = pager
            .map_err(|e| self.context(parse_error(&e), "list", "*"))
            .try_filter_map(|properties| async move {
                let Some(vault_name) = properties.id.as_deref().and_then(name_of) else {
                    return Ok(None);
                };
                let enabled = properties.attributes.as_ref().and_then(|a| a.enabled).unwrap_or(true);
                let tags = properties.tags.as_ref();
                let tag = |key: &str| tags.and_then(|t| t.get(key)).map(String::as_str);
                let parsed =
                    parse_listed_name(&self.prefix, vault_name, tag(TENANT_TAG), tag(NAMESPACE_TAG), tag(NAME_TAG));
                let Some((found, name)) = parsed else {
                    return Ok(None);
                };
                let inside = found.tenant == scope.tenant
                    && (found.namespace == scope.namespace
                        || (filter.recursive && scope.namespace.is_self_or_ancestor_of(&found.namespace)));
                Ok((enabled && inside).then(|| (found, name, vault_name.to_owned())))
            })
            .try_collect()
            .await?;
        // The list answer has no version: read each secret's latest version (its value is
        // dropped at once).
        let mut listed: Vec<SecretMeta> = stream::iter(found)
            .map(|(found, name, vault_name)| async move {
                match self.read(&vault_name, None).await {
                    Ok(mut secret) => {
                        if let Some(v) = secret.value.as_mut() {
                            zeroize::Zeroize::zeroize(v);
                        }
                        Ok(Some(SecretMeta {
                            namespace: found.namespace,
                            name,
                            version: version_of(secret.id.as_deref()),
                            updated_at: unix_seconds(&secret),
                            tags: own_tags(secret.tags),
                        }))
                    }
                    // Deleted (or disabled) since the list page was read.
                    Err(e) if matches!(status_of(&e), Some(404 | 403)) => Ok(None),
                    Err(e) => Err(self.context(parse_error(&e), "list", &vault_name)),
                }
            })
            .buffer_unordered(LIST_CONCURRENCY)
            .try_filter_map(|meta| async move { Ok(meta) })
            .try_collect()
            .await?;
        listed.retain(|meta| meta.tags.contains_all(&filter.tags));
        listed.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Ok(listed)
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        let vault_name = secret_name(&self.prefix, scope, name)?;
        let (stored, content_type) = match value.expose_str() {
            Some(text) => (Zeroizing::new(text.to_owned()), None),
            None => (
                Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(value.expose())),
                Some(BASE64_CONTENT_TYPE),
            ),
        };
        drop(value);
        if stored.len() > MAX_STORED_VALUE {
            return Err(Error::invalid_input(format!(
                "the value of {name} is too large for Key Vault: at most {MAX_STORED_VALUE} bytes (25 KiB) of UTF-8 \
                 text, or {} bytes of other data (stored in base64)",
                MAX_STORED_VALUE / 4 * 3
            )));
        }
        if let Some((key, _)) = tags.iter().find(|(key, _)| matches!(*key, TENANT_TAG | NAMESPACE_TAG | NAME_TAG)) {
            return Err(Error::invalid_input(format!("tag {key:?} is reserved by hush's Key Vault backend")));
        }
        if tags.len() > MAX_TAGS - 3 {
            return Err(Error::invalid_input(format!(
                "Key Vault keeps at most {MAX_TAGS} tags per secret, hush uses 3: at most {} tags",
                MAX_TAGS - 3
            )));
        }
        let mut all: HashMap<String, String> = tags.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        all.insert(TENANT_TAG.to_owned(), scope.tenant.to_string());
        all.insert(NAMESPACE_TAG.to_owned(), scope.namespace.to_string());
        all.insert(NAME_TAG.to_owned(), name.to_string());

        let written = match self.write(&vault_name, &stored, content_type, &all).await {
            Ok(written) => written,
            Err(e) if status_of(&e) == Some(409) => {
                // The name is soft-deleted: recover it, then write the new version over it.
                self.recover(&vault_name).await.map_err(|err| self.context(err, "put", &vault_name))?;
                self.write(&vault_name, &stored, content_type, &all)
                    .await
                    .map_err(|e| self.context(parse_error(&e), "put", &vault_name))?
            }
            Err(e) => return Err(self.context(parse_error(&e), "put", &vault_name)),
        };
        Ok(SecretMeta {
            namespace: scope.namespace.clone(),
            name: name.clone(),
            version: version_of(written.id.as_deref()),
            updated_at: unix_seconds(&written),
            tags,
        })
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        let vault_name = secret_name(&self.prefix, scope, name)?;
        match self.client.delete_secret(&vault_name, None).await {
            Ok(_) => {}
            Err(e) => {
                let err = parse_error(&e);
                return Err(if err.kind() == ErrorKind::NotFound {
                    Error::secret_not_found(scope, name, None)
                } else {
                    self.context(err, "delete", &vault_name)
                });
            }
        }
        if self.purge_on_delete {
            self.purge(&vault_name).await.map_err(|e| self.context(e, "purge", &vault_name))?;
        }
        Ok(())
    }

    async fn check(&self) -> Result<()> {
        let options = SecretClientListSecretPropertiesOptions { maxresults: Some(1), ..Default::default() };
        let mut pages = self
            .client
            .list_secret_properties(Some(options))
            .map_err(|e| self.context(parse_error(&e), "check", "*"))?
            .into_pages();
        match pages.next().await {
            Some(Err(e)) => Err(self.context(parse_error(&e), "check", "*")),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_give_names_and_versions() {
        let id = "https://v.vault.azure.net/secrets/t-xa-xn/0123456789abcdef0123456789abcdef";
        assert_eq!(name_of(id), Some("t-xa-xn"));
        assert_eq!(version_of(Some(id)).unwrap().as_str(), "0123456789abcdef0123456789abcdef");
        assert_eq!(name_of("https://v.vault.azure.net/secrets/t-xa-xn"), Some("t-xa-xn"));
        assert_eq!(version_of(Some("https://v.vault.azure.net/secrets/t-xa-xn")), None);
        assert_eq!(name_of("https://v.vault.azure.net/keys/k"), None);
        assert_eq!(version_of(None), None);
    }

    #[test]
    fn hush_tags_are_not_the_secrets_own() {
        let tags: HashMap<String, String> = [(TENANT_TAG, "t"), (NAME_TAG, "n"), ("team", "payments")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let own = own_tags(Some(tags));
        assert_eq!(own.len(), 1);
        assert_eq!(own.get("team"), Some("payments"));
    }

    #[test]
    fn versions_must_be_alphanumeric() {
        assert!(is_vault_version(&VersionId::new("0123abcd").unwrap()));
        assert!(!is_vault_version(&VersionId::new("1.0").unwrap()));
    }
}
