//! The Azure Key Vault backend's configuration: which vault, which cloud, which credential.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hush_core::{ConfigProblem, KindConfig, Scope, SecretName};
use serde::Deserialize;

/// The public cloud's Entra ID authority.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";
/// The public cloud's Key Vault DNS suffix, for `vault_name`.
pub const DEFAULT_VAULT_DNS_SUFFIX: &str = "vault.azure.net";
/// The longest `prefix`: a hashed name (see the key mapping) must still fit 127 characters.
pub const MAX_PREFIX: usize = 48;
/// The Key Vault REST API version hush speaks.
pub const DEFAULT_API_VERSION: &str = "7.5";

/// Configuration of an `azure-key-vault` backend.
///
/// ```toml
/// [backends.azure-main]
/// kind = "azure-key-vault"
/// vault_name = "contoso-hush"            # or vault_uri = "https://contoso-hush.vault.azure.net"
/// prefix = "hush-"                       # common backend key: see the key mapping
/// purge_on_delete = false
/// request_timeout = "2s"                # at most the backend's `timeout`
/// credential = { method = "client_secret", tenant_id = "...", client_id = "...", client_secret = "..." }
/// ```
///
/// `Debug` leaves out the client secret.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AzureConfig {
    /// The vault's name: the URI is `https://<vault_name>.<vault_dns_suffix>`. Set this or `vault_uri`.
    pub vault_name: Option<String>,
    /// The vault's URI, `https://<name>.vault.azure.net` (or a sovereign cloud's). Set this or `vault_name`.
    pub vault_uri: Option<String>,
    /// DNS suffix for `vault_name`: `vault.azure.net` (default), `vault.azure.cn`, `vault.usgovcloudapi.net`.
    pub vault_dns_suffix: String,
    /// Entra ID authority for sovereign clouds, e.g. `https://login.chinacloudapi.cn`.
    /// Default `https://login.microsoftonline.com`.
    pub authority_host: String,
    /// Put in front of every mapped name; Key Vault characters only (`[0-9a-zA-Z-]`).
    /// The common backend key `prefix`: `hush-backends` copies it here. Default empty.
    pub prefix: String,
    /// Purge a secret after deleting it (needs the `purge` permission; refused by vaults with
    /// purge protection). Default `false`: deleted secrets stay recoverable for the vault's
    /// retention period.
    pub purge_on_delete: bool,
    /// Bound on one HTTP request (token requests included), e.g. `"2s"`. Default: the
    /// backend's `timeout` (the timeout layer's bound), and never longer.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
    /// The Key Vault REST API version sent as `api-version`. Default `7.5`.
    pub api_version: String,
    /// Check that the vault's authentication challenge names a resource of the vault's own
    /// domain (the SDK's protection against a spoofed vault). Default `true`; turn off only
    /// for private endpoints under another domain.
    pub verify_challenge_resource: bool,
    /// A PEM file of CA certificates trusted besides the system's roots (TLS-inspecting
    /// proxies, private endpoints, tests).
    pub ca_file: Option<PathBuf>,
    /// How hush gets tokens.
    pub credential: CredentialConfig,
}

impl Default for AzureConfig {
    fn default() -> Self {
        Self {
            vault_name: None,
            vault_uri: None,
            vault_dns_suffix: DEFAULT_VAULT_DNS_SUFFIX.to_owned(),
            authority_host: DEFAULT_AUTHORITY_HOST.to_owned(),
            prefix: String::new(),
            purge_on_delete: false,
            request_timeout: None,
            api_version: DEFAULT_API_VERSION.to_owned(),
            verify_challenge_resource: true,
            ca_file: None,
            credential: CredentialConfig::default(),
        }
    }
}

impl AzureConfig {
    /// The defaults, for the vault at `vault_uri`, with `credential`.
    pub fn new(vault_uri: impl Into<String>, credential: CredentialConfig) -> Self {
        Self { vault_uri: Some(vault_uri.into()), credential, ..Self::default() }
    }

    /// With `prefix`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// With `authority_host`.
    pub fn with_authority_host(mut self, authority_host: impl Into<String>) -> Self {
        self.authority_host = authority_host.into();
        self
    }

    /// With `ca_file`.
    pub fn with_ca_file(mut self, ca_file: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(ca_file.into());
        self
    }

    /// With `verify_challenge_resource`.
    pub fn with_verify_challenge_resource(mut self, verify: bool) -> Self {
        self.verify_challenge_resource = verify;
        self
    }

    /// With `purge_on_delete`.
    pub fn with_purge_on_delete(mut self, purge: bool) -> Self {
        self.purge_on_delete = purge;
        self
    }

    /// With `request_timeout`.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// The vault's URI, from `vault_uri` or `vault_name`, when exactly one is set and valid.
    pub fn vault_url(&self) -> Result<url::Url, String> {
        let text = match (&self.vault_uri, &self.vault_name) {
            (Some(uri), None) => uri.clone(),
            (None, Some(name)) => {
                check_vault_name(name)?;
                format!("https://{name}.{}", self.vault_dns_suffix)
            }
            (Some(_), Some(_)) => return Err("set vault_name or vault_uri, not both".to_owned()),
            (None, None) => return Err("set vault_name or vault_uri".to_owned()),
        };
        let url = url::Url::parse(&text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(format!("{text:?} must be an https:// URL"));
        }
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.path() != "/" {
            return Err(format!("{text:?} must be the vault's root URL, without a path"));
        }
        Ok(url)
    }
}

impl KindConfig for AzureConfig {
    /// Every problem of this configuration, with the key it is at. Empty when it is usable.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut add = |key: &[&'static str], message: String| {
            problems.push(ConfigProblem::new(key, message));
        };
        if let Err(message) = self.vault_url() {
            add(&[if self.vault_name.is_some() { "vault_name" } else { "vault_uri" }], message);
        }
        match url::Url::parse(&self.authority_host) {
            Ok(url) if url.scheme() == "https" || url.scheme() == "http" => {}
            _ => add(&["authority_host"], format!("{:?} is not an https:// URL", self.authority_host)),
        }
        if !self.prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            add(&["prefix"], "may hold only letters, digits and '-' (Key Vault secret names)".to_owned());
        } else if self.prefix.len() > MAX_PREFIX {
            add(&["prefix"], format!("is longer than {MAX_PREFIX} characters (Key Vault names hold 127)"));
        }
        if self.request_timeout.is_some_and(|t| t.is_zero()) {
            add(&["request_timeout"], "must be longer than 0s".to_owned());
        }
        if !matches!(self.api_version.as_str(), "7.4" | "7.5" | "7.6" | "2025-07-01") {
            add(
                &["api_version"],
                format!("{:?} is not a Key Vault API version hush knows (7.4, 7.5)", self.api_version),
            );
        }
        if self.ca_file.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            add(&["ca_file"], "is empty; leave it out to use the system's roots".to_owned());
        }
        match &self.credential {
            CredentialConfig::ClientSecret { tenant_id, client_id, client_secret } => {
                if tenant_id.is_empty() {
                    add(&["credential", "tenant_id"], "is empty".to_owned());
                }
                if client_id.is_empty() {
                    add(&["credential", "client_id"], "is empty".to_owned());
                }
                if client_secret.is_empty() {
                    add(
                        &["credential", "client_secret"],
                        "is empty: set it, or HUSH_BACKENDS__<NAME>__CREDENTIAL__CLIENT_SECRET".to_owned(),
                    );
                }
            }
            CredentialConfig::WorkloadIdentity { token_file, .. } => {
                if token_file.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
                    add(&["credential", "token_file"], "is empty".to_owned());
                }
            }
            CredentialConfig::ManagedIdentity { .. } | CredentialConfig::Default => {}
        }
        problems
    }

    fn resolve_paths(&mut self, config_dir: &Path) {
        if let Some(ca_file) = &mut self.ca_file {
            *ca_file = config_dir.join(&*ca_file);
        }
        if let CredentialConfig::WorkloadIdentity { token_file: Some(token_file), .. } = &mut self.credential {
            *token_file = config_dir.join(&*token_file);
        }
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The secret's name ([`secret_name`](crate::secret_name)) in the vault of
    /// [`vault_url`](Self::vault_url).
    fn key_for(&self, scope: &Scope, name: &SecretName) -> Option<String> {
        let secret = match crate::secret_name(&self.prefix, scope, name) {
            Ok(secret) => format!("secret {secret:?}"),
            Err(e) => return Some(format!("no Key Vault secret: {}", e.message())),
        };
        Some(match self.vault_url() {
            Ok(vault) => format!("{secret} in vault {vault}"),
            Err(_) => format!("{secret} in the vault of vault_name or vault_uri (not set right)"),
        })
    }
}

impl fmt::Debug for AzureConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureConfig")
            .field("vault_name", &self.vault_name)
            .field("vault_uri", &self.vault_uri)
            .field("authority_host", &self.authority_host)
            .field("prefix", &self.prefix)
            .field("purge_on_delete", &self.purge_on_delete)
            .field("request_timeout", &self.request_timeout)
            .field("api_version", &self.api_version)
            .field("ca_file", &self.ca_file)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

/// A vault name: 3-24 characters, letters, digits and `-`, starting with a letter.
fn check_vault_name(name: &str) -> Result<(), String> {
    let ok = (3..=24).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !name.ends_with('-')
        && !name.contains("--")
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok { Ok(()) } else { Err(format!("{name:?} is not a Key Vault name (3-24 letters, digits and '-')")) }
}

/// How hush gets Entra ID tokens: `credential = { method = "...", ... }`.
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum CredentialConfig {
    /// A service principal's client secret (client credentials grant).
    ClientSecret {
        /// The directory (tenant) id.
        tenant_id: String,
        /// The application (client) id.
        client_id: String,
        /// The client secret.
        client_secret: String,
    },
    /// Entra Workload ID (AKS): a federated service-account token exchanged for a token.
    /// Each field defaults to the variable the workload identity webhook sets.
    WorkloadIdentity {
        /// Default `AZURE_TENANT_ID`.
        #[serde(default)]
        tenant_id: Option<String>,
        /// Default `AZURE_CLIENT_ID`.
        #[serde(default)]
        client_id: Option<String>,
        /// Default `AZURE_FEDERATED_TOKEN_FILE`. Read at start (a missing file is
        /// `ConfigInvalid`), then again every 10 minutes, so Kubernetes' rotation is picked up.
        #[serde(default)]
        token_file: Option<PathBuf>,
    },
    /// The managed identity of the VM, App Service, Functions or Container Apps host.
    ManagedIdentity {
        /// The client id of a user-assigned identity; the system-assigned one when left out.
        #[serde(default)]
        client_id: Option<String>,
    },
    /// The default chain, decided at start from the environment: a client secret
    /// (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`), else workload identity
    /// (`AZURE_FEDERATED_TOKEN_FILE`), else the managed identity.
    #[default]
    Default,
}

impl CredentialConfig {
    /// The `client_secret` method.
    pub fn client_secret(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        CredentialConfig::ClientSecret {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    /// The `workload_identity` method with explicit values.
    pub fn workload_identity(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        token_file: impl Into<PathBuf>,
    ) -> Self {
        CredentialConfig::WorkloadIdentity {
            tenant_id: Some(tenant_id.into()),
            client_id: Some(client_id.into()),
            token_file: Some(token_file.into()),
        }
    }

    /// The method's name, as written in config.
    pub fn method(&self) -> &'static str {
        match self {
            CredentialConfig::ClientSecret { .. } => "client_secret",
            CredentialConfig::WorkloadIdentity { .. } => "workload_identity",
            CredentialConfig::ManagedIdentity { .. } => "managed_identity",
            CredentialConfig::Default => "default",
        }
    }
}

impl fmt::Debug for CredentialConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialConfig::ClientSecret { tenant_id, client_id, .. } => f
                .debug_struct("ClientSecret")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("client_secret", &"***")
                .finish(),
            CredentialConfig::WorkloadIdentity { tenant_id, client_id, token_file } => f
                .debug_struct("WorkloadIdentity")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("token_file", token_file)
                .finish(),
            CredentialConfig::ManagedIdentity { client_id } => {
                f.debug_struct("ManagedIdentity").field("client_id", client_id).finish()
            }
            CredentialConfig::Default => f.write_str("Default"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_for_names_the_secret_the_calls_use() {
        let scope = Scope::new("acme".parse().unwrap(), "company.team".parse().unwrap());
        let name: SecretName = "DB_PASSWORD".parse().unwrap();
        let config =
            AzureConfig { vault_name: Some("myvault".to_owned()), ..AzureConfig::default() }.with_prefix("hush-");
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            r#"secret "hush-acme-xcompany-steam-x-cdb-upassword-c" in vault https://myvault.vault.azure.net/"#
        );
        let mapped = crate::secret_name("hush-", &scope, &name).unwrap();
        assert!(config.key_for(&scope, &name).unwrap().starts_with(&format!("secret {mapped:?} in vault ")));
        let too_long = config.with_prefix("p".repeat(MAX_PREFIX + 80));
        assert!(too_long.key_for(&scope, &name).unwrap().starts_with("no Key Vault secret: "));
    }

    fn keys(config: &AzureConfig) -> Vec<String> {
        config.problems().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn parses_from_toml_and_hides_the_secret() {
        let config: AzureConfig = toml_like(
            r#"{"vault_name": "contoso-hush", "prefix": "hush-", "request_timeout": "5s",
                "credential": {"method": "client_secret", "tenant_id": "t", "client_id": "c", "client_secret": "s3cr3t"}}"#,
        );
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert_eq!(config.vault_url().unwrap().as_str(), "https://contoso-hush.vault.azure.net/");
        assert_eq!(config.request_timeout, Some(Duration::from_secs(5)));
        assert!(!format!("{config:?}").contains("s3cr3t"));
    }

    fn toml_like(json: &str) -> AzureConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn every_problem_is_reported() {
        let mut config =
            AzureConfig::new("https://v.vault.azure.net/secrets", CredentialConfig::client_secret("", "", ""))
                .with_prefix("hush_");
        config.api_version = "1.0".to_owned();
        config.request_timeout = Some(Duration::ZERO);
        assert_eq!(
            keys(&config),
            [
                "vault_uri",
                "prefix",
                "request_timeout",
                "api_version",
                "credential.tenant_id",
                "credential.client_id",
                "credential.client_secret"
            ]
        );
        let none = AzureConfig::default();
        assert_eq!(keys(&none), ["vault_uri"]);
        let bad_name = AzureConfig { vault_name: Some("a_b".to_owned()), ..AzureConfig::default() };
        assert_eq!(keys(&bad_name), ["vault_name"]);
    }

    #[test]
    fn credential_methods_parse() {
        let wi: CredentialConfig = serde_json::from_str(r#"{"method": "workload_identity"}"#).unwrap();
        assert_eq!(wi.method(), "workload_identity");
        let mi: CredentialConfig = serde_json::from_str(r#"{"method": "managed_identity", "client_id": "x"}"#).unwrap();
        assert_eq!(mi, CredentialConfig::ManagedIdentity { client_id: Some("x".to_owned()) });
        assert!(serde_json::from_str::<CredentialConfig>(r#"{"method": "password"}"#).is_err());
        assert_eq!(CredentialConfig::default().method(), "default");
    }
}
