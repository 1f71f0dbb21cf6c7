//! The Google Secret Manager backend's configuration: project, credentials, endpoint, prefix.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hush_core::{ConfigProblem, KindConfig, Scope, SecretName};
use serde::Deserialize;

use crate::mapping::MAX_PREFIX_LEN;

/// Google's public Secret Manager endpoint, used when `endpoint` is not set.
pub const DEFAULT_ENDPOINT: &str = "https://secretmanager.googleapis.com";

/// Configuration of a `gcp-secret-manager` backend.
///
/// ```toml
/// [backends.gcp]
/// kind = "gcp-secret-manager"
/// project = "my-project"                 # project id (or number) holding the secrets
/// prefix = "hush_"                       # common backend key: see the key mapping
/// credentials_file = "sa-hush.json"      # a service-account key file; or
/// # credentials_json = "{...}"           # the key inline (HUSH_BACKENDS__GCP__CREDENTIALS_JSON); or
/// # neither: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, metadata server)
/// # endpoint = "http://127.0.0.1:8095"   # another endpoint (an emulator, a regional or PSC endpoint)
/// # anonymous = true                     # send no credentials (emulators only)
/// request_timeout = "2s"                # at most the backend's `timeout`
/// ```
///
/// `Debug` leaves out `credentials_json`.
#[derive(Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct GcpConfig {
    /// The Google Cloud project id or number whose secrets hush uses. Required.
    pub project: String,
    /// Put in front of every secret id (see the key mapping): `[A-Za-z0-9_-]`, at most 64
    /// characters. The common backend key `prefix`: `hush-backends` copies it here.
    pub prefix: String,
    /// A service-account key file (JSON). Relative to the config file.
    pub credentials_file: Option<PathBuf>,
    /// A service-account key, inline (JSON text), e.g. from `HUSH_BACKENDS__<NAME>__CREDENTIALS_JSON`.
    pub credentials_json: Option<String>,
    /// Send no credentials at all: for emulators (drongo) and tests only.
    pub anonymous: bool,
    /// The service's base URL; default `https://secretmanager.googleapis.com`.
    pub endpoint: Option<String>,
    /// Bound on one HTTP request to Secret Manager, e.g. `"2s"`. Default: the backend's
    /// `timeout` (the timeout layer's bound), and never longer.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
}

/// Where the backend's credentials come from, as [`GcpConfig::credentials_source`] reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsSource {
    /// `credentials_json`.
    InlineJson,
    /// `credentials_file`.
    File,
    /// None: anonymous requests.
    Anonymous,
    /// Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's ADC file,
    /// the metadata server).
    ApplicationDefault,
}

impl GcpConfig {
    /// The defaults, with `project`.
    pub fn new(project: impl Into<String>) -> Self {
        Self { project: project.into(), ..Self::default() }
    }

    /// With `prefix`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// With `endpoint`.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Anonymous (no credentials): emulators and tests.
    pub fn anonymous(mut self) -> Self {
        self.anonymous = true;
        self
    }

    /// With a service-account key given inline.
    pub fn with_credentials_json(mut self, json: impl Into<String>) -> Self {
        self.credentials_json = Some(json.into());
        self
    }

    /// With a service-account key file.
    pub fn with_credentials_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.credentials_file = Some(file.into());
        self
    }

    /// With `request_timeout`.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Which credentials are used.
    pub fn credentials_source(&self) -> CredentialsSource {
        if self.anonymous {
            CredentialsSource::Anonymous
        } else if self.credentials_json.is_some() {
            CredentialsSource::InlineJson
        } else if self.credentials_file.is_some() {
            CredentialsSource::File
        } else {
            CredentialsSource::ApplicationDefault
        }
    }
}

impl KindConfig for GcpConfig {
    /// Every problem of this configuration, with the key it is at. Empty when it is usable.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut add = |key: &'static str, message: String| problems.push(ConfigProblem::new(&[key], message));
        if self.project.is_empty() {
            add("project", "is required: the project id or number that holds the secrets".to_owned());
        } else if !self.project.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':')) {
            add("project", format!("{:?} is not a project id or number", self.project));
        }
        if self.prefix.len() > MAX_PREFIX_LEN
            || !self.prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            add(
                "prefix",
                format!("must be [A-Za-z0-9_-], at most {MAX_PREFIX_LEN} characters (secret ids allow nothing else)"),
            );
        }
        let given = [self.credentials_json.is_some(), self.credentials_file.is_some(), self.anonymous];
        if given.iter().filter(|g| **g).count() > 1 {
            add("credentials_json", "set at most one of credentials_json, credentials_file and anonymous".to_owned());
        }
        if self.credentials_json.as_ref().is_some_and(|j| j.trim().is_empty()) {
            add("credentials_json", "is empty".to_owned());
        }
        if self.credentials_file.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            add("credentials_file", "is empty".to_owned());
        }
        if let Some(endpoint) = &self.endpoint {
            let scheme_ok = endpoint.starts_with("https://") || endpoint.starts_with("http://");
            let rest = endpoint.split_once("://").map_or("", |(_, r)| r).trim_end_matches('/');
            if !scheme_ok || rest.is_empty() || rest.contains(['/', '@', '?', '#', ' ']) {
                add("endpoint", format!("{endpoint:?} must be http(s)://host[:port] without a path"));
            }
        }
        if self.request_timeout.is_some_and(|t| t.is_zero()) {
            add("request_timeout", "must be longer than 0s".to_owned());
        }
        problems
    }

    fn resolve_paths(&mut self, config_dir: &Path) {
        if let Some(file) = &mut self.credentials_file {
            *file = config_dir.join(&*file);
        }
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The secret's resource name ([`secret_key`](crate::secret_key),
    /// [`secret_resource`](crate::secret_resource)), with the endpoint when one is set.
    fn key_for(&self, scope: &Scope, name: &SecretName) -> Option<String> {
        let key = crate::secret_key(&self.prefix, scope, name);
        let mut text = format!("secret {}", crate::secret_resource(&self.project, &key));
        if crate::is_hashed(&key) {
            text.push_str(" (a hashed id: its labels hush_key_00, hush_key_01, ... hold the key)");
        }
        if let Some(endpoint) = &self.endpoint
            && !endpoint.contains('@')
        {
            text.push_str(&format!(" at {endpoint}"));
        }
        Some(text)
    }
}

impl fmt::Debug for GcpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcpConfig")
            .field("project", &self.project)
            .field("prefix", &self.prefix)
            .field("credentials_file", &self.credentials_file)
            .field("credentials_json", &self.credentials_json.as_ref().map(|_| "***"))
            .field("anonymous", &self.anonymous)
            .field("endpoint", &self.endpoint)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_for_names_the_resource_the_calls_use() {
        let scope = Scope::new("acme".parse().unwrap(), "company.team".parse().unwrap());
        let name: SecretName = "DB_PASSWORD".parse().unwrap();
        let config = GcpConfig::new("my-project").with_prefix("hush_");
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            "secret projects/my-project/secrets/hush_acme--company--team--DB_PASSWORD"
        );
        let key = crate::secret_key("hush_", &scope, &name);
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            format!("secret {}", crate::secret_resource("my-project", &key))
        );
        let long: SecretName = "N".repeat(128).parse().unwrap();
        let deep = Scope::new("t".repeat(63).parse().unwrap(), vec!["n".repeat(63); 3].join(".").parse().unwrap());
        let named = config.with_endpoint("http://127.0.0.1:8085").key_for(&deep, &long).unwrap();
        assert!(named.starts_with("secret projects/my-project/secrets/hush_-h"), "{named}");
        assert!(named.ends_with("hold the key) at http://127.0.0.1:8085"), "{named}");
    }

    fn keys(config: &GcpConfig) -> Vec<String> {
        config.problems().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn a_project_is_enough() {
        assert!(GcpConfig::new("my-project").problems().is_empty());
        assert_eq!(GcpConfig::new("p").credentials_source(), CredentialsSource::ApplicationDefault);
        assert_eq!(keys(&GcpConfig::default()), ["project"]);
        assert_eq!(keys(&GcpConfig::new("a/b")), ["project"]);
    }

    #[test]
    fn prefixes_endpoints_and_credentials() {
        assert!(GcpConfig::new("p").with_prefix("hush_-x").problems().is_empty());
        assert_eq!(keys(&GcpConfig::new("p").with_prefix("hush/")), ["prefix"]);
        assert_eq!(keys(&GcpConfig::new("p").with_prefix("x".repeat(65))), ["prefix"]);
        assert!(GcpConfig::new("p").with_endpoint("http://127.0.0.1:8095").problems().is_empty());
        assert!(
            GcpConfig::new("p")
                .with_endpoint("https://secretmanager.me-central2.rep.googleapis.com/")
                .problems()
                .is_empty()
        );
        for bad in ["127.0.0.1:8095", "http://h/v1", "http://u:p@h", "ftp://h"] {
            assert_eq!(keys(&GcpConfig::new("p").with_endpoint(bad)), ["endpoint"], "{bad}");
        }
        let both = GcpConfig::new("p").with_credentials_json("{\"private_key\":\"SECRET\"}").anonymous();
        assert_eq!(keys(&both), ["credentials_json"]);
        assert!(!format!("{both:?}").contains("SECRET"));
        assert!(both.problems().iter().all(|p| !p.message.contains("SECRET")));
        assert_eq!(keys(&GcpConfig::new("p").with_request_timeout(Duration::ZERO)), ["request_timeout"]);
    }

    #[test]
    fn options_parse_from_toml_shaped_json() {
        let config: GcpConfig = serde_json::from_value(serde_json::json!({
            "project": "p", "credentials_file": "sa.json", "request_timeout": "5s", "endpoint": "http://127.0.0.1:1"
        }))
        .unwrap();
        assert_eq!(config.credentials_source(), CredentialsSource::File);
        assert_eq!(config.request_timeout, Some(Duration::from_secs(5)));
        assert!(serde_json::from_value::<GcpConfig>(serde_json::json!({"project": "p", "region": "x"})).is_err());
    }
}
