//! The Conjur backend's configuration: address, account, identity (`login` with `api_key`, or
//! `authn_jwt`), variable prefix, TLS trust and request timeout.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hush_core::{ConfigProblem, KindConfig, Scope, SecretName, TlsConfig};
use serde::Deserialize;

/// The default `prefix`: every Conjur variable hush uses is `hush/<tenant>/...`, i.e. declared
/// in a policy branch `hush`.
pub const DEFAULT_PREFIX: &str = "hush";

/// Configuration of a `conjur` backend.
///
/// ```toml
/// [backends.conjur-main]
/// kind = "conjur"
/// address = "https://conjur.example.com"   # SaaS: https://<subdomain>.secretsmgr.cyberark.cloud/api
/// account = "myorg"                         # SaaS: conjur
/// login = "host/hush-resolver"
/// # api_key: from HUSH_BACKENDS__CONJUR_MAIN__API_KEY, else CONJUR_AUTHN_API_KEY
/// # authn_jwt = { service_id = "k8s", token_file = "/var/run/secrets/tokens/conjur" }  # instead of api_key
/// # prefix = "hush"                         # variables are hush/<tenant>/<namespace segments>/<NAME>
/// # tls = { ca_file = "conjur-ca.pem" }
/// request_timeout = "2s"                    # at most the backend's `timeout`
/// ```
///
/// `Debug` leaves out `api_key`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ConjurConfig {
    /// Conjur's base URL (`https://conjur.example.com`; SaaS
    /// `https://<subdomain>.secretsmgr.cyberark.cloud/api`). Required.
    pub address: String,
    /// The Conjur account (organisation); `conjur` on SaaS. Required.
    pub account: String,
    /// The identity hush authenticates as: `host/<id>` (or a user name). Required with an API
    /// key; with `authn_jwt` optional (when the JWT itself does not name the host).
    pub login: String,
    /// The identity's API key (authn); when empty and `authn_jwt` is not set,
    /// `CONJUR_AUTHN_API_KEY` at build. Never shown in `Debug`, errors or logs.
    pub api_key: String,
    /// Authenticate with a JWT (authn-jwt) instead of an API key.
    pub authn_jwt: Option<AuthnJwtConfig>,
    /// The policy branch hush's variables live in: `[A-Za-z0-9_-]` segments joined by `/`
    /// (`hush`, `data/hush` on SaaS). Default `hush`.
    pub prefix: String,
    /// Trust settings: `tls = { ca_file = "ca.pem" }` (alias `ca`), or `skip_verify = true`.
    pub tls: TlsConfig,
    /// Bound on one HTTP request to Conjur, e.g. `"2s"`. Default: the backend's `timeout`.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
}

/// `authn_jwt = { service_id, token_file }`: Conjur's JWT authenticator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AuthnJwtConfig {
    /// The authenticator's service id: `POST /authn-jwt/<service_id>/<account>/authenticate`.
    pub service_id: String,
    /// The file holding the JWT (a Kubernetes projected service account token, ...); read
    /// again at every authentication, so a rotated token is picked up. Relative to the
    /// config file's directory.
    pub token_file: PathBuf,
}

impl AuthnJwtConfig {
    /// Service `service_id`, JWT in `token_file`.
    pub fn new(service_id: impl Into<String>, token_file: impl Into<PathBuf>) -> Self {
        Self { service_id: service_id.into(), token_file: token_file.into() }
    }
}

impl Default for ConjurConfig {
    fn default() -> Self {
        Self {
            address: String::new(),
            account: String::new(),
            login: String::new(),
            api_key: String::new(),
            authn_jwt: None,
            prefix: DEFAULT_PREFIX.to_owned(),
            tls: TlsConfig::default(),
            request_timeout: None,
        }
    }
}

impl ConjurConfig {
    /// The defaults, for `login` with `api_key` in `account` at `address`.
    pub fn new(
        address: impl Into<String>,
        account: impl Into<String>,
        login: impl Into<String>,
        api_key: impl Into<String>,
    ) -> Self {
        Self {
            address: address.into(),
            account: account.into(),
            login: login.into(),
            api_key: api_key.into(),
            ..Self::default()
        }
    }

    /// The defaults, authenticating with authn-jwt `jwt` in `account` at `address`.
    pub fn with_jwt(address: impl Into<String>, account: impl Into<String>, jwt: AuthnJwtConfig) -> Self {
        Self { address: address.into(), account: account.into(), authn_jwt: Some(jwt), ..Self::default() }
    }

    /// With `login`.
    pub fn with_login(mut self, login: impl Into<String>) -> Self {
        self.login = login.into();
        self
    }

    /// With `prefix`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// With `tls`.
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = tls;
        self
    }

    /// With `request_timeout`.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }
}

/// Whether `prefix` is `[A-Za-z0-9_-]+` segments joined by `/`.
pub(crate) fn is_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= 255
        && prefix
            .split('/')
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')))
}

/// Whether `text` can be one part of a Conjur id or path (account, login, service id): not
/// empty, no spaces, control characters or `:` (Conjur's id separator).
fn is_id_part(text: &str) -> bool {
    !text.is_empty() && !text.chars().any(|c| c.is_control() || c.is_whitespace() || c == ':')
}

impl KindConfig for ConjurConfig {
    /// Every problem of this configuration, with the key it is at. Empty when it is usable.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut add = |path: &[&str], message: String| problems.push(ConfigProblem::new(path, message));
        if let Some(problem) = hush_rest::base_url_problem(&self.address, "https://conjur.example.com") {
            add(&["address"], problem);
        }
        if self.account.is_empty() {
            add(&["account"], "is required (the Conjur account; `conjur` on SaaS)".to_owned());
        } else if !is_id_part(&self.account) || self.account.contains('/') {
            add(&["account"], format!("{:?} is not a Conjur account name", self.account));
        }
        if !self.login.is_empty() && !is_id_part(&self.login) {
            add(&["login"], format!("{:?} is not a Conjur login (host/<id> or a user name)", self.login));
        }
        if let Some(problem) = hush_rest::credential::header_problem(&self.api_key) {
            add(&["api_key"], problem.to_owned());
        }
        match &self.authn_jwt {
            None if self.login.is_empty() => {
                add(&["login"], "is required with an API key (e.g. host/hush-resolver), or set authn_jwt".to_owned());
            }
            None => {}
            Some(jwt) => {
                if !self.api_key.is_empty() {
                    add(&["api_key"], "is set next to authn_jwt: keep one way to authenticate".to_owned());
                }
                if jwt.service_id.is_empty() {
                    add(&["authn_jwt", "service_id"], "is required (the authn-jwt service id)".to_owned());
                } else if !is_id_part(&jwt.service_id) || jwt.service_id.contains('/') {
                    add(
                        &["authn_jwt", "service_id"],
                        format!("{:?} is not an authenticator service id", jwt.service_id),
                    );
                }
                if jwt.token_file.as_os_str().is_empty() {
                    add(&["authn_jwt", "token_file"], "is required (the file holding the JWT)".to_owned());
                }
            }
        }
        if !is_prefix(&self.prefix) {
            add(&["prefix"], format!("{:?} must be [A-Za-z0-9_-] segments joined by '/', e.g. hush", self.prefix));
        }
        if self.request_timeout.is_some_and(|t| t.is_zero()) {
            add(&["request_timeout"], "must be longer than 0s".to_owned());
        }
        problems.extend(self.tls.problems().into_iter().map(|p| p.under(&["tls"])));
        problems
    }

    fn resolve_paths(&mut self, config_dir: &Path) {
        self.tls.resolve_paths(config_dir);
        if let Some(jwt) = &mut self.authn_jwt
            && !jwt.token_file.as_os_str().is_empty()
        {
            jwt.token_file = config_dir.join(&jwt.token_file);
        }
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The variable ([`variable_id`](crate::variable_id)), and its fully qualified id
    /// ([`qualified_variable_id`](crate::qualified_variable_id)), as the batch read names it.
    fn key_for(&self, scope: &Scope, name: &SecretName) -> Option<String> {
        let id = crate::variable_id(&self.prefix, scope, name);
        Some(format!("variable {id:?} ({})", crate::qualified_variable_id(&self.account, &id)))
    }
}

impl fmt::Debug for ConjurConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConjurConfig")
            .field("address", &self.address)
            .field("account", &self.account)
            .field("login", &self.login)
            .field("api_key", &"***")
            .field("authn_jwt", &self.authn_jwt)
            .field("prefix", &self.prefix)
            .field("tls", &self.tls)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_for_names_the_variable_the_calls_use() {
        let scope = Scope::new("acme".parse().unwrap(), "company.team".parse().unwrap());
        let name: SecretName = "DB_PASSWORD".parse().unwrap();
        let config = ConjurConfig { account: "myorg".into(), ..ConjurConfig::default() };
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            r#"variable "hush/acme/company/team/DB_PASSWORD" (myorg:variable:hush/acme/company/team/DB_PASSWORD)"#
        );
        let id = crate::variable_id(DEFAULT_PREFIX, &scope, &name);
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            format!("variable {id:?} ({})", crate::qualified_variable_id("myorg", &id))
        );
    }

    fn keys(config: &ConjurConfig) -> Vec<String> {
        config.problems().into_iter().map(|p| p.path).collect()
    }

    fn ok() -> ConjurConfig {
        ConjurConfig::new("https://conjur.example.com", "myorg", "host/hush", "key")
    }

    #[test]
    fn an_address_an_account_and_a_login_are_enough() {
        assert!(ok().problems().is_empty(), "{:?}", ok().problems());
        assert_eq!(ok().prefix, DEFAULT_PREFIX);
        assert_eq!(keys(&ConjurConfig::default()), ["address", "account", "login"]);
        // The API key may come from CONJUR_AUTHN_API_KEY.
        assert!(ConjurConfig::new("http://127.0.0.1:1", "a", "host/h", "").problems().is_empty());
    }

    #[test]
    fn addresses_accounts_prefixes_and_timeouts() {
        for bad in ["conjur.example.com", "ftp://h", "http://", "http://u:p@h", "https://h?x"] {
            let config = ConjurConfig { address: bad.into(), ..ok() };
            assert_eq!(keys(&config), ["address"], "{bad}");
        }
        assert!(
            ConjurConfig { address: "https://x.secretsmgr.cyberark.cloud/api".into(), ..ok() }.problems().is_empty()
        );
        for bad in ["my org", "a:b", "a/b"] {
            assert_eq!(keys(&ConjurConfig { account: bad.into(), ..ok() }), ["account"], "{bad}");
        }
        assert_eq!(keys(&ConjurConfig { login: "host/a b".into(), ..ok() }), ["login"]);
        for bad in ["", "/hush", "hush/", "a//b", "a.b", "hü"] {
            assert_eq!(keys(&ok().with_prefix(bad)), ["prefix"], "{bad}");
        }
        assert!(ok().with_prefix("data/hush-1").problems().is_empty());
        assert_eq!(keys(&ok().with_request_timeout(Duration::ZERO)), ["request_timeout"]);
        let mut tls = TlsConfig::with_ca_file("ca.pem");
        tls.skip_verify = true;
        let both = ok().with_tls(tls);
        assert_eq!(keys(&both), ["tls.skip_verify"]);
    }

    #[test]
    fn authn_jwt_needs_a_service_and_a_file_and_no_api_key() {
        let jwt = ConjurConfig::with_jwt("https://c", "myorg", AuthnJwtConfig::new("k8s", "/run/jwt"));
        assert!(jwt.problems().is_empty(), "{:?}", jwt.problems());
        let empty = ConjurConfig::with_jwt("https://c", "myorg", AuthnJwtConfig::default());
        assert_eq!(keys(&empty), ["authn_jwt.service_id", "authn_jwt.token_file"]);
        let slash = ConjurConfig::with_jwt("https://c", "myorg", AuthnJwtConfig::new("a/b", "f"));
        assert_eq!(keys(&slash), ["authn_jwt.service_id"]);
        let mixed = ConjurConfig { api_key: "SECRETKEY".into(), ..jwt };
        assert_eq!(keys(&mixed), ["api_key"]);
        assert!(mixed.problems().iter().all(|p| !p.message.contains("SECRET")));
    }

    #[test]
    fn a_bad_api_key_is_named_never_shown() {
        let spaced = ConjurConfig { api_key: "SECRET KEY".into(), ..ok() };
        assert_eq!(keys(&spaced), ["api_key"]);
        assert!(spaced.problems().iter().all(|p| !p.message.contains("SECRET")));
    }

    #[test]
    fn paths_resolve_against_the_config_directory() {
        let mut config = ConjurConfig::with_jwt("https://c", "o", AuthnJwtConfig::new("k8s", "jwt"))
            .with_tls(TlsConfig::with_ca_file("ca.pem"));
        config.resolve_paths(Path::new("/etc/hush"));
        assert_eq!(config.tls.ca_file.as_deref(), Some(Path::new("/etc/hush/ca.pem")));
        assert_eq!(config.authn_jwt.unwrap().token_file, Path::new("/etc/hush/jwt"));
        let mut absolute = ConjurConfig::with_jwt("https://c", "o", AuthnJwtConfig::new("k8s", "/run/jwt"));
        absolute.resolve_paths(Path::new("/etc/hush"));
        assert_eq!(absolute.authn_jwt.unwrap().token_file, Path::new("/run/jwt"));
    }

    #[test]
    fn debug_hides_the_api_key_and_options_parse() {
        let config: ConjurConfig = serde_json::from_value(serde_json::json!({
            "address": "https://c", "account": "o", "login": "host/h", "api_key": "SECRETKEY",
            "request_timeout": "5s", "prefix": "data/hush", "tls": {"ca": "ca.pem"},
            "authn_jwt": {"service_id": "k8s", "token_file": "t"}
        }))
        .unwrap();
        assert_eq!(config.request_timeout, Some(Duration::from_secs(5)));
        assert_eq!(config.tls.ca_file.as_deref(), Some(Path::new("ca.pem")));
        let text = format!("{config:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("api_key: \"***\""), "{text}");
        assert!(serde_json::from_value::<ConjurConfig>(serde_json::json!({"password": "p"})).is_err());
        assert!(serde_json::from_value::<ConjurConfig>(serde_json::json!({"authn_jwt": {"jwt": "x"}})).is_err());
    }
}
