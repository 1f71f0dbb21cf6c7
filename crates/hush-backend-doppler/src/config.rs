//! The Doppler backend's configuration: API URL, project, config, service token, prefix and
//! request timeout.

use std::fmt;
use std::time::Duration;

use hush_core::{ConfigProblem, KindConfig, Scope, SecretName};
use serde::Deserialize;

/// Doppler's API, the default `api_url` (the official SDKs' default host).
pub const DEFAULT_API_URL: &str = "https://api.doppler.com";

/// The default `prefix`: every Doppler name hush writes starts with `HUSH__`.
pub const DEFAULT_PREFIX: &str = "HUSH";

/// Configuration of a `doppler` backend.
///
/// ```toml
/// [backends.doppler-main]
/// kind = "doppler"
/// project = "payments"
/// config = "prd"
/// # token: from HUSH_BACKENDS__DOPPLER_MAIN__TOKEN, else DOPPLER_TOKEN
/// # api_url = "https://api.doppler.com"   # the default
/// # prefix = "HUSH"                       # Doppler names are HUSH__<tenant>__<namespace>__<name>
/// request_timeout = "2s"                  # at most the backend's `timeout`
/// ```
///
/// `Debug` leaves out `token`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DopplerConfig {
    /// Doppler's API base URL, without `/v3`. Default `https://api.doppler.com`.
    pub api_url: String,
    /// The Doppler project. Required.
    pub project: String,
    /// The config (environment branch) of the project whose secrets hush uses. Required.
    pub config: String,
    /// A Doppler service token of the config (read/write to put and delete); when empty,
    /// `DOPPLER_TOKEN` at build, and one of them is required. Never shown in `Debug`, errors
    /// or logs.
    pub token: String,
    /// The first part of every Doppler name hush uses: `[A-Z][A-Z0-9_]*`. Default `HUSH`.
    pub prefix: String,
    /// Bound on one HTTP request to Doppler, e.g. `"2s"`. Default: the backend's `timeout`.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
}

impl Default for DopplerConfig {
    fn default() -> Self {
        Self {
            api_url: DEFAULT_API_URL.to_owned(),
            project: String::new(),
            config: String::new(),
            token: String::new(),
            prefix: DEFAULT_PREFIX.to_owned(),
            request_timeout: None,
        }
    }
}

impl DopplerConfig {
    /// The defaults, for config `config` of project `project`, with service token `token`.
    pub fn new(project: impl Into<String>, config: impl Into<String>, token: impl Into<String>) -> Self {
        Self { project: project.into(), config: config.into(), token: token.into(), ..Self::default() }
    }

    /// With `api_url`.
    pub fn with_api_url(mut self, api_url: impl Into<String>) -> Self {
        self.api_url = api_url.into();
        self
    }

    /// With `prefix`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// With `request_timeout`.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// `project/config`, as errors name the config.
    pub fn config_path(&self) -> String {
        format!("{}/{}", self.project, self.config)
    }
}

/// Whether `part` is a Doppler project or config slug hush accepts: `[A-Za-z0-9_-]`.
fn is_slug(part: &str) -> bool {
    !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// Whether `prefix` starts Doppler names well: `[A-Z][A-Z0-9_]*`.
fn is_prefix(prefix: &str) -> bool {
    prefix.starts_with(|c: char| c.is_ascii_uppercase())
        && prefix.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && prefix.len() <= 64
}

impl KindConfig for DopplerConfig {
    /// Every problem of this configuration, with the key it is at. Empty when it is usable.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut add = |key: &'static str, message: String| problems.push(ConfigProblem::new(&[key], message));
        if let Some(problem) = hush_rest::base_url_problem(&self.api_url, DEFAULT_API_URL) {
            add("api_url", problem);
        }
        for (key, value) in [("project", &self.project), ("config", &self.config)] {
            if value.is_empty() {
                add(key, "is required".to_owned());
            } else if !is_slug(value) {
                add(key, format!("{value:?} is not a Doppler slug ([A-Za-z0-9_-])"));
            }
        }
        if let Some(problem) = hush_rest::credential::header_problem(&self.token) {
            add("token", problem.to_owned());
        }
        if !is_prefix(&self.prefix) {
            add("prefix", format!("{:?} must be [A-Z][A-Z0-9_]*, at most 64 characters", self.prefix));
        }
        if self.request_timeout.is_some_and(|t| t.is_zero()) {
            add("request_timeout", "must be longer than 0s".to_owned());
        }
        problems
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The Doppler secret ([`checked_secret_name`](crate::checked_secret_name)) in the
    /// project's config.
    fn key_for(&self, scope: &Scope, name: &SecretName) -> Option<String> {
        Some(match crate::checked_secret_name(&self.prefix, scope, name) {
            Ok(secret) => format!("secret {secret:?} in project {:?}, config {:?}", self.project, self.config),
            Err(e) => format!("no Doppler secret: {}", e.message()),
        })
    }
}

impl fmt::Debug for DopplerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DopplerConfig")
            .field("api_url", &self.api_url)
            .field("project", &self.project)
            .field("config", &self.config)
            .field("token", &"***")
            .field("prefix", &self.prefix)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_for_names_the_secret_the_calls_use() {
        let scope = Scope::new("acme".parse().unwrap(), "company.team".parse().unwrap());
        let name: SecretName = "DB_PASSWORD".parse().unwrap();
        let config = DopplerConfig::new("backend", "prd", "");
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            r#"secret "HUSH__ACME__COMPANY_2TEAM__DB_0PASSWORD" in project "backend", config "prd""#
        );
        let secret = crate::checked_secret_name(DEFAULT_PREFIX, &scope, &name).unwrap();
        assert!(config.key_for(&scope, &name).unwrap().starts_with(&format!("secret {secret:?} ")));
        let long = DopplerConfig { prefix: "P".repeat(1000), ..config };
        assert!(long.key_for(&scope, &name).unwrap().starts_with("no Doppler secret: "));
    }

    fn keys(config: &DopplerConfig) -> Vec<String> {
        config.problems().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn a_config_and_a_token_are_enough() {
        let config = DopplerConfig::new("payments", "prd", "dp.st.prd.0123");
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert_eq!(config.api_url, DEFAULT_API_URL);
        assert_eq!(config.prefix, DEFAULT_PREFIX);
        assert_eq!(config.config_path(), "payments/prd");
        assert_eq!(keys(&DopplerConfig::default()), ["project", "config"]);
        assert_eq!(keys(&DopplerConfig::new("a/b", "p.q", "t")), ["project", "config"]);
    }

    #[test]
    fn urls_prefixes_timeouts_and_tokens() {
        let ok = DopplerConfig::new("p", "c", "t");
        assert!(ok.clone().with_api_url("http://127.0.0.1:8080").problems().is_empty());
        for bad in ["api.doppler.com", "ftp://h", "http://", "http://u:p@h"] {
            assert_eq!(keys(&ok.clone().with_api_url(bad)), ["api_url"], "{bad}");
        }
        for bad in ["", "hush", "1X", "A-B", "_A"] {
            assert_eq!(keys(&ok.clone().with_prefix(bad)), ["prefix"], "{bad}");
        }
        assert!(ok.clone().with_prefix("APP_1").problems().is_empty());
        assert_eq!(keys(&ok.clone().with_request_timeout(Duration::ZERO)), ["request_timeout"]);
        let spaced = DopplerConfig::new("p", "c", "dp.st.SECRET TOKEN");
        assert_eq!(keys(&spaced), ["token"]);
        assert!(spaced.problems().iter().all(|p| !p.message.contains("SECRET")));
    }

    #[test]
    fn debug_hides_the_token_and_options_parse() {
        let config: DopplerConfig = serde_json::from_value(serde_json::json!({
            "project": "p", "config": "c", "token": "dp.st.SECRET", "request_timeout": "5s", "prefix": "APP"
        }))
        .unwrap();
        assert_eq!(config.request_timeout, Some(Duration::from_secs(5)));
        let text = format!("{config:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("token: \"***\""), "{text}");
        assert!(serde_json::from_value::<DopplerConfig>(serde_json::json!({"environment": "e"})).is_err());
    }
}
