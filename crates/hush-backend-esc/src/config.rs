//! The Pulumi ESC backend's configuration: API URL, organization, project, environment,
//! access token, prefix, session length and request timeout.

use std::fmt;
use std::time::Duration;

use hush_core::{ConfigProblem, KindConfig, Scope, SecretName};
use serde::Deserialize;

/// Pulumi Cloud's ESC API, the default `api_url` (the official SDKs' default host).
pub const DEFAULT_API_URL: &str = "https://api.pulumi.com/api/esc";

/// How long an opened session is asked to last, when `session_duration` is not set (the
/// service's own default for an open without `duration`).
pub const DEFAULT_SESSION_DURATION: Duration = Duration::from_secs(3600);

/// Configuration of a `pulumi-esc` backend.
///
/// ```toml
/// [backends.esc-main]
/// kind = "pulumi-esc"
/// organization = "acme"
/// project = "payments"
/// environment = "prod"
/// # access_token: from HUSH_BACKENDS__ESC_MAIN__ACCESS_TOKEN, else PULUMI_ACCESS_TOKEN
/// # api_url = "https://api.pulumi.com/api/esc"   # the default; a self-hosted Pulumi Cloud's .../api/esc
/// # prefix = "HUSH_"                             # secret NAME reads property HUSH_NAME
/// # session_duration = "1h"                      # how long one opened session lasts
/// request_timeout = "2s"                         # at most the backend's `timeout`
/// ```
///
/// `Debug` leaves out `access_token`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct EscConfig {
    /// The ESC API's base URL, up to and including `/api/esc`. Default
    /// `https://api.pulumi.com/api/esc`.
    pub api_url: String,
    /// The Pulumi organization that owns the environment. Required.
    pub organization: String,
    /// The ESC project of the environment. Required.
    pub project: String,
    /// The environment whose values are the secrets. Required.
    pub environment: String,
    /// A Pulumi access token (personal, team or organization) that may open the environment;
    /// when empty, `PULUMI_ACCESS_TOKEN` at build (as the official SDKs do), and one of them
    /// is required. Never shown in `Debug`, errors or logs.
    pub access_token: String,
    /// Put in front of every secret name to make the property name; default empty.
    pub prefix: String,
    /// How long one opened session lasts (`?duration=` of the open); reopened shortly before
    /// it ends. Default 1 hour.
    #[serde(with = "humantime_serde")]
    pub session_duration: Option<Duration>,
    /// Bound on one HTTP request to ESC, e.g. `"2s"`. Default: the backend's `timeout` (the
    /// timeout layer's bound), and never longer.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
}

impl Default for EscConfig {
    fn default() -> Self {
        Self {
            api_url: DEFAULT_API_URL.to_owned(),
            organization: String::new(),
            project: String::new(),
            environment: String::new(),
            access_token: String::new(),
            prefix: String::new(),
            session_duration: None,
            request_timeout: None,
        }
    }
}

impl EscConfig {
    /// The defaults, for environment `organization/project/environment` with `access_token`.
    pub fn new(
        organization: impl Into<String>,
        project: impl Into<String>,
        environment: impl Into<String>,
        access_token: impl Into<String>,
    ) -> Self {
        Self {
            organization: organization.into(),
            project: project.into(),
            environment: environment.into(),
            access_token: access_token.into(),
            ..Self::default()
        }
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

    /// With `session_duration`.
    pub fn with_session_duration(mut self, duration: Duration) -> Self {
        self.session_duration = Some(duration);
        self
    }

    /// With `request_timeout`.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// `organization/project/environment`, as errors name the environment.
    pub fn environment_path(&self) -> String {
        format!("{}/{}/{}", self.organization, self.project, self.environment)
    }
}

/// Whether `part` is usable as one path segment: ESC names are `[A-Za-z0-9._-]`.
pub(crate) fn is_name(part: &str) -> bool {
    !part.is_empty()
        && part != "."
        && part != ".."
        && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl KindConfig for EscConfig {
    /// Every problem of this configuration, with the key it is at. Empty when it is usable.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut add = |key: &'static str, message: String| problems.push(ConfigProblem::new(&[key], message));
        if let Some(problem) = hush_rest::base_url_problem(&self.api_url, DEFAULT_API_URL) {
            add("api_url", problem);
        }
        for (key, value) in
            [("organization", &self.organization), ("project", &self.project), ("environment", &self.environment)]
        {
            if value.is_empty() {
                add(key, "is required".to_owned());
            } else if !is_name(value) {
                add(key, format!("{value:?} is not an ESC name ([A-Za-z0-9._-])"));
            }
        }
        if let Some(problem) = hush_rest::credential::header_problem(&self.access_token) {
            add("access_token", problem.to_owned());
        }
        if self.prefix.chars().any(|c| c.is_control()) {
            add("prefix", "holds control characters".to_owned());
        }
        if self.session_duration.is_some_and(|d| d < Duration::from_secs(1)) {
            add("session_duration", "must be at least 1s".to_owned());
        }
        if self.request_timeout.is_some_and(|t| t.is_zero()) {
            add("request_timeout", "must be longer than 0s".to_owned());
        }
        problems
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The top-level property ([`property_name`](crate::property_name)) of the environment,
    /// for every tenant and namespace alike.
    fn key_for(&self, _scope: &Scope, name: &SecretName) -> Option<String> {
        Some(format!(
            "top-level property {:?} of ESC environment \"{}/{}/{}\" (the same for every tenant and namespace)",
            crate::property_name(&self.prefix, name),
            self.organization,
            self.project,
            self.environment
        ))
    }
}

impl fmt::Debug for EscConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EscConfig")
            .field("api_url", &self.api_url)
            .field("organization", &self.organization)
            .field("project", &self.project)
            .field("environment", &self.environment)
            .field("access_token", &"***")
            .field("prefix", &self.prefix)
            .field("session_duration", &self.session_duration)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_for_names_the_property_the_calls_read() {
        let scope = Scope::new("acme".parse().unwrap(), "company.team".parse().unwrap());
        let name: SecretName = "DB_PASSWORD".parse().unwrap();
        let config = EscConfig {
            organization: "acme-org".into(),
            project: "hush".into(),
            environment: "prod".into(),
            prefix: "HUSH_".into(),
            ..EscConfig::default()
        };
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            r#"top-level property "HUSH_DB_PASSWORD" of ESC environment "acme-org/hush/prod" (the same for every tenant and namespace)"#
        );
        let property = crate::property_name("HUSH_", &name);
        assert!(config.key_for(&scope, &name).unwrap().starts_with(&format!("top-level property {property:?} ")));
    }

    fn keys(config: &EscConfig) -> Vec<String> {
        config.problems().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn an_environment_and_a_token_are_enough() {
        let config = EscConfig::new("acme", "payments", "prod", "pul-0123");
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert_eq!(config.api_url, DEFAULT_API_URL);
        assert_eq!(config.environment_path(), "acme/payments/prod");
        assert_eq!(keys(&EscConfig::default()), ["organization", "project", "environment"]);
        assert_eq!(keys(&EscConfig::new("a/b", "p", "..", "t")), ["organization", "environment"]);
    }

    #[test]
    fn urls_durations_and_tokens() {
        let ok = EscConfig::new("o", "p", "e", "t");
        assert!(ok.clone().with_api_url("http://127.0.0.1:8080/api/esc").problems().is_empty());
        for bad in ["api.pulumi.com/api/esc", "ftp://h", "http://", "http://u:p@h/api/esc"] {
            assert_eq!(keys(&ok.clone().with_api_url(bad)), ["api_url"], "{bad}");
        }
        assert_eq!(keys(&ok.clone().with_session_duration(Duration::from_millis(10))), ["session_duration"]);
        assert_eq!(keys(&ok.clone().with_request_timeout(Duration::ZERO)), ["request_timeout"]);
        let spaced = EscConfig::new("o", "p", "e", "pul-SECRET TOKEN");
        assert_eq!(keys(&spaced), ["access_token"]);
        assert!(spaced.problems().iter().all(|p| !p.message.contains("SECRET")));
    }

    #[test]
    fn debug_hides_the_token_and_options_parse() {
        let config: EscConfig = serde_json::from_value(serde_json::json!({
            "organization": "o", "project": "p", "environment": "e", "access_token": "pul-SECRET",
            "request_timeout": "5s", "session_duration": "30m", "prefix": "HUSH_"
        }))
        .unwrap();
        assert_eq!(config.request_timeout, Some(Duration::from_secs(5)));
        assert_eq!(config.session_duration, Some(Duration::from_secs(1800)));
        let text = format!("{config:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("access_token: \"***\""), "{text}");
        assert!(serde_json::from_value::<EscConfig>(serde_json::json!({"organisation": "o"})).is_err());
    }
}
