//! The AWS Secrets Manager backend's configuration: region, credentials, endpoint, prefix and deletion.

use std::fmt;
use std::time::Duration;

use hush_core::{ConfigProblem, KindConfig, Scope, SecretName};
use serde::Deserialize;

/// The shortest recovery window AWS accepts, in days.
pub const MIN_RECOVERY_WINDOW_DAYS: u8 = 7;
/// The longest recovery window AWS accepts, in days (also AWS's default).
pub const MAX_RECOVERY_WINDOW_DAYS: u8 = 30;

/// Configuration of an `aws-secrets-manager` backend.
///
/// ```toml
/// [backends.aws-main]
/// kind = "aws-secrets-manager"
/// region = "eu-west-1"
/// prefix = "hush/"                       # common backend key: see the key mapping
/// default_tags = { managed-by = "hush" } # common backend key: written as AWS tags
/// recovery_window_days = 7               # or force_delete = true
/// request_timeout = "2s"                # at most the backend's `timeout`
/// # static keys; leave them out for the default chain (env, profile, web identity, instance role)
/// access_key_id = "AKIA..."
/// secret_access_key = "..."
/// # endpoint_override = "http://127.0.0.1:5055"   # an AWS-compatible server
/// ```
///
/// `Debug` leaves out the secret access key and the session token.
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AwsConfig {
    /// The AWS region (`eu-west-1`). Default: the chain's (`AWS_REGION`, the profile).
    pub region: Option<String>,
    /// A static access key id; with `secret_access_key`. Default: the default credential chain.
    pub access_key_id: Option<String>,
    /// The static secret access key, with `access_key_id`.
    pub secret_access_key: Option<String>,
    /// A session token for temporary static credentials, with both keys.
    pub session_token: Option<String>,
    /// The shared-config profile the default chain reads (`AWS_PROFILE` otherwise).
    pub profile: Option<String>,
    /// The URL of an AWS-compatible server (`http://127.0.0.1:5055`) instead of AWS's endpoint.
    pub endpoint_override: Option<String>,
    /// Put in front of `<tenant>/...` in every secret name (see the key mapping). The common
    /// backend key `prefix`: `hush-backends` copies it here. Default empty.
    pub prefix: String,
    /// Days a deleted secret can still be restored (7 to 30). Default 30, AWS's default.
    pub recovery_window_days: Option<u8>,
    /// Delete at once, without a recovery window. Default `false`.
    pub force_delete: bool,
    /// Bound on one call to AWS (the SDK's operation and attempt timeouts), e.g. `"2s"`.
    /// Default: the backend's `timeout` (the timeout layer's bound), and never longer. The
    /// SDK itself makes one attempt: hush's retry layer retries.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
}

impl AwsConfig {
    /// The defaults, in `region`.
    pub fn new(region: impl Into<String>) -> Self {
        Self { region: Some(region.into()), ..Self::default() }
    }

    /// With static credentials (`session_token` for temporary ones).
    pub fn with_static_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        self.access_key_id = Some(access_key_id.into());
        self.secret_access_key = Some(secret_access_key.into());
        self.session_token = session_token;
        self
    }

    /// With `endpoint_override`.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint_override = Some(endpoint.into());
        self
    }

    /// With `prefix`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// With `recovery_window_days`.
    pub fn with_recovery_window_days(mut self, days: u8) -> Self {
        self.recovery_window_days = Some(days);
        self
    }

    /// With `force_delete`.
    pub fn with_force_delete(mut self, force: bool) -> Self {
        self.force_delete = force;
        self
    }

    /// With `request_timeout`.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// The recovery window deletes use: the configured one, else 30 days.
    pub fn recovery_window(&self) -> u8 {
        self.recovery_window_days.unwrap_or(MAX_RECOVERY_WINDOW_DAYS)
    }
}

impl KindConfig for AwsConfig {
    /// Every problem of this configuration, with the key it is at. Empty when it is usable.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut add = |key: &'static str, message: String| problems.push(ConfigProblem::new(&[key], message));
        if let Some(region) = &self.region
            && (region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            add("region", format!("{region:?} is not a region name (like eu-west-1)"));
        }
        match (&self.access_key_id, &self.secret_access_key) {
            (Some(_), None) => add("secret_access_key", "is missing: access_key_id needs it".to_owned()),
            (None, Some(_)) => add("access_key_id", "is missing: secret_access_key needs it".to_owned()),
            (Some(id), Some(secret)) => {
                if id.is_empty() || id.chars().any(|c| !c.is_ascii_alphanumeric()) {
                    add("access_key_id", "is empty or holds characters an access key id never has".to_owned());
                }
                if secret.is_empty() || secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    add("secret_access_key", "is empty or holds whitespace".to_owned());
                }
            }
            (None, None) => {
                if self.session_token.is_some() {
                    add("session_token", "needs access_key_id and secret_access_key".to_owned());
                }
            }
        }
        if self.session_token.as_ref().is_some_and(|t| t.is_empty() || t.chars().any(char::is_whitespace)) {
            add("session_token", "is empty or holds whitespace".to_owned());
        }
        if let Some(profile) = &self.profile
            && profile.is_empty()
        {
            add("profile", "is empty; leave it out for AWS_PROFILE or `default`".to_owned());
        }
        if let Some(endpoint) = &self.endpoint_override
            && let Err(message) = check_endpoint(endpoint)
        {
            add("endpoint_override", message);
        }
        if let Err(message) = check_prefix(&self.prefix) {
            add("prefix", message);
        }
        if let Some(days) = self.recovery_window_days {
            if !(MIN_RECOVERY_WINDOW_DAYS..=MAX_RECOVERY_WINDOW_DAYS).contains(&days) {
                add(
                    "recovery_window_days",
                    format!("must be {MIN_RECOVERY_WINDOW_DAYS} to {MAX_RECOVERY_WINDOW_DAYS}, not {days}"),
                );
            }
            if self.force_delete {
                add("force_delete", "deletes without a recovery window: leave out recovery_window_days".to_owned());
            }
        }
        if self.request_timeout.is_some_and(|t| t.is_zero()) {
            add("request_timeout", "must be longer than 0s".to_owned());
        }
        problems
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The secret's name ([`secret_name`](crate::secret_name)) and the region, with the
    /// endpoint when one overrides AWS's (and holds no credentials).
    fn key_for(&self, scope: &Scope, name: &SecretName) -> Option<String> {
        let mut key = format!("secret {:?}", crate::secret_name(&self.prefix, scope, name));
        match (&self.region, &self.profile) {
            (Some(region), _) => key.push_str(&format!(" in region {region}")),
            (None, Some(profile)) => key.push_str(&format!(" in the region of profile {profile:?} (or AWS_REGION)")),
            (None, None) => key.push_str(" in the default region (AWS_REGION or the profile's)"),
        }
        if let Some(endpoint) = &self.endpoint_override
            && check_endpoint(endpoint).is_ok()
        {
            key.push_str(&format!(" at {endpoint}"));
        }
        Some(key)
    }
}

impl fmt::Debug for AwsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsConfig")
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "***"))
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .field("profile", &self.profile)
            .field("endpoint_override", &self.endpoint_override)
            .field("prefix", &self.prefix)
            .field("recovery_window_days", &self.recovery_window_days)
            .field("force_delete", &self.force_delete)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// An `http://` or `https://` URL without credentials, query or fragment.
fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let rest = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))
        .ok_or_else(|| format!("{endpoint:?} must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err("has no host".to_owned());
    }
    if host.contains('@') {
        return Err("must not hold credentials: use access_key_id and secret_access_key".to_owned());
    }
    if rest.contains(['?', '#', ' ']) {
        return Err(format!("{endpoint:?} must not hold a query, fragment or spaces"));
    }
    Ok(())
}

/// A prefix of characters AWS allows in names (`[A-Za-z0-9/_+=.@-]`), at most 256 bytes.
fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.len() > 256 {
        return Err(format!("is {} bytes; at most 256", prefix.len()));
    }
    if let Some(bad) = prefix.chars().find(|c| !(c.is_ascii_alphanumeric() || "/_+=.@-".contains(*c))) {
        return Err(format!("holds {bad:?}: AWS secret names allow letters, digits and /_+=.@- only"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_for_names_the_secret_the_calls_use() {
        let scope = Scope::new("acme".parse().unwrap(), "company.team".parse().unwrap());
        let name: SecretName = "DB_PASSWORD".parse().unwrap();
        let config = AwsConfig::new("eu-west-1").with_prefix("hush/");
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            r#"secret "hush/acme/company.team/DB_PASSWORD" in region eu-west-1"#
        );
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            format!("secret {:?} in region eu-west-1", crate::secret_name("hush/", &scope, &name))
        );
        let config = AwsConfig::default().with_endpoint("http://localhost:4566");
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            r#"secret "acme/company.team/DB_PASSWORD" in the default region (AWS_REGION or the profile's) at http://localhost:4566"#
        );
        let config = AwsConfig::default().with_endpoint("http://key:secret@localhost:4566");
        assert!(!config.key_for(&scope, &name).unwrap().contains("secret@"));
    }

    fn keys(config: &AwsConfig) -> Vec<String> {
        config.problems().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn defaults_are_usable() {
        assert!(AwsConfig::default().problems().is_empty());
        assert!(AwsConfig::new("eu-west-1").with_prefix("hush/").problems().is_empty());
        assert_eq!(AwsConfig::default().recovery_window(), 30);
    }

    #[test]
    fn static_keys_come_in_pairs() {
        let mut c = AwsConfig::new("us-east-1");
        c.access_key_id = Some("AKIAEXAMPLE".into());
        assert_eq!(keys(&c), ["secret_access_key"]);
        let mut c = AwsConfig::new("us-east-1");
        c.session_token = Some("token".into());
        assert_eq!(keys(&c), ["session_token"]);
        let c = AwsConfig::new("us-east-1").with_static_credentials("AKIAEXAMPLE", "s3cr3t/key+x", Some("tok".into()));
        assert!(c.problems().is_empty());
    }

    #[test]
    fn deletion_options_are_checked() {
        assert_eq!(keys(&AwsConfig::new("r").with_recovery_window_days(6)), ["recovery_window_days"]);
        assert_eq!(keys(&AwsConfig::new("r").with_recovery_window_days(31)), ["recovery_window_days"]);
        assert!(AwsConfig::new("r").with_recovery_window_days(7).problems().is_empty());
        assert_eq!(keys(&AwsConfig::new("r").with_recovery_window_days(7).with_force_delete(true)), ["force_delete"]);
        assert!(AwsConfig::new("r").with_force_delete(true).problems().is_empty());
    }

    #[test]
    fn endpoints_prefixes_and_regions() {
        assert!(check_endpoint("http://127.0.0.1:5055").is_ok());
        assert!(check_endpoint("https://secretsmanager.eu-west-1.amazonaws.com/").is_ok());
        assert!(check_endpoint("127.0.0.1:5055").is_err());
        assert!(check_endpoint("http://k:s@host").is_err());
        assert!(check_endpoint("http://").is_err());
        for ok in ["", "hush/", "hush-", "a.b@c+d=e_f/"] {
            assert!(check_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["a b", "a%2f", "é/", "a!b"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
        assert_eq!(keys(&AwsConfig::new("eu west")), ["region"]);
    }

    #[test]
    fn debug_hides_the_secret_key_and_token() {
        let c =
            AwsConfig::new("r").with_static_credentials("AKIAEXAMPLE", "wJalrXUtnFEMI", Some("FwoGZXIvYXdz".into()));
        let text = format!("{c:?}");
        assert!(text.contains("AKIAEXAMPLE"));
        assert!(!text.contains("wJalrXUtnFEMI") && !text.contains("FwoGZXIvYXdz"));
    }

    #[test]
    fn problems_never_quote_credentials() {
        let c = AwsConfig::new("r").with_static_credentials("AKIA", "has space", Some("a b".into()));
        let text: Vec<String> = c.problems().iter().map(ToString::to_string).collect();
        assert!(!text.join(" ").contains("has space"));
        assert!(!text.join(" ").contains("a b"));
    }
}
