//! The Delinea backend's configuration: address, one way to authenticate (`username` and
//! `password`, optionally `domain`, for Secret Server; `client_id` and `client_secret` for
//! Delinea Platform), the folder and template hush writes with, the value field, TLS trust and
//! request timeout.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use hush_core::{ConfigProblem, KindConfig, Scope, SecretName, TlsConfig};
use serde::Deserialize;

/// The default `value_field`: the slug of the field hush writes a value into (the `password`
/// field of Secret Server's templates).
pub const DEFAULT_VALUE_FIELD: &str = "password";

/// The default `site_id` of the secrets hush creates: Secret Server's built-in `Local` site.
pub const DEFAULT_SITE_ID: u64 = 1;

/// Configuration of a `delinea` backend.
///
/// ```toml
/// [backends.delinea-main]
/// kind = "delinea"
/// address = "https://secretserver.example.com/SecretServer"   # Platform: https://<tenant>.delinea.app
/// username = "svc-hush"                                     # Platform: client_id = "..."
/// # password: from HUSH_BACKENDS__DELINEA_MAIN__PASSWORD   # Platform: client_secret
/// # domain = "CORP"                                         # an Active Directory account
/// folder_id = 42                                            # required to write
/// secret_template_id = 6001                                 # required to write
/// # value_field = "password"                                # the slug hush writes the value into
/// # site_id = 1
/// # tls = { ca_file = "delinea-ca.pem" }
/// request_timeout = "2s"                                    # at most the backend's `timeout`
/// ```
///
/// `Debug` leaves out `password` and `client_secret`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DelineaConfig {
    /// Secret Server's base URL (`https://ss.example.com/SecretServer`), or the Delinea
    /// Platform tenant's (`https://<tenant>.delinea.app`). Required.
    pub address: String,
    /// The Secret Server user hush signs in as (OAuth2 password grant).
    pub username: String,
    /// That user's password. Never shown in `Debug`, errors or logs.
    pub password: String,
    /// The Active Directory domain of `username`, when it is a domain account.
    pub domain: String,
    /// The Delinea Platform service user's client id (OAuth2 client credentials).
    pub client_id: String,
    /// Its client secret. Never shown in `Debug`, errors or logs.
    pub client_secret: String,
    /// The folder hush's secrets live in: names are looked up there and secrets are created
    /// there. Required to write; without it, reads look secrets up in every folder the user
    /// sees.
    pub folder_id: Option<u64>,
    /// The secret template hush creates secrets with. Required to write; secrets of this
    /// template read as their `value_field` (see `docs.md`).
    pub secret_template_id: Option<u64>,
    /// The slug of the template's field hush writes the value into. Default `password`.
    pub value_field: String,
    /// The site of the secrets hush creates. Default 1 (`Local`).
    pub site_id: u64,
    /// Trust settings: `tls = { ca_file = "ca.pem" }` (alias `ca`), or `skip_verify = true`.
    pub tls: TlsConfig,
    /// Bound on one HTTP request to Delinea, e.g. `"2s"`. Default: the backend's `timeout`.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
}

impl Default for DelineaConfig {
    fn default() -> Self {
        Self {
            address: String::new(),
            username: String::new(),
            password: String::new(),
            domain: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            folder_id: None,
            secret_template_id: None,
            value_field: DEFAULT_VALUE_FIELD.to_owned(),
            site_id: DEFAULT_SITE_ID,
            tls: TlsConfig::default(),
            request_timeout: None,
        }
    }
}

impl DelineaConfig {
    /// The defaults, signing in to Secret Server at `address` as `username` with `password`.
    pub fn with_password(address: impl Into<String>, username: impl Into<String>, password: impl Into<String>) -> Self {
        Self { address: address.into(), username: username.into(), password: password.into(), ..Self::default() }
    }

    /// The defaults, signing in to Delinea Platform at `address` as the service user
    /// `client_id` with `client_secret`.
    pub fn with_client_credentials(
        address: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            address: address.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            ..Self::default()
        }
    }

    /// With `domain`.
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = domain.into();
        self
    }

    /// With `folder_id` and `secret_template_id`, what writes need.
    pub fn with_folder_and_template(mut self, folder_id: u64, secret_template_id: u64) -> Self {
        self.folder_id = Some(folder_id);
        self.secret_template_id = Some(secret_template_id);
        self
    }

    /// With `value_field`.
    pub fn with_value_field(mut self, slug: impl Into<String>) -> Self {
        self.value_field = slug.into();
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

    /// Whether hush signs in to Delinea Platform (client credentials) rather than to Secret
    /// Server (password grant).
    pub fn is_platform(&self) -> bool {
        !self.client_id.is_empty() || !self.client_secret.is_empty()
    }
}

/// Whether `text` can be a field slug: `[A-Za-z0-9_-]+`.
fn is_slug(text: &str) -> bool {
    !text.is_empty() && text.len() <= 100 && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

/// Whether `text` holds a control character (a credential pasted with a newline).
fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

impl KindConfig for DelineaConfig {
    /// Every problem of this configuration, with the key it is at. Empty when it is usable
    /// for reading; [`write_problems`](Self::write_problems) adds what writes need.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut add = |path: &str, message: String| problems.push(ConfigProblem::new(&[path], message));
        if let Some(problem) = hush_rest::base_url_problem(
            &self.address,
            "https://secretserver.example.com/SecretServer or https://<tenant>.delinea.app",
        ) {
            add("address", problem);
        }
        let password_grant = !self.username.is_empty() || !self.password.is_empty();
        match (password_grant, self.is_platform()) {
            (false, false) => add(
                "username",
                "is required: set username and password (Secret Server), or client_id and client_secret \
                 (Delinea Platform)"
                    .to_owned(),
            ),
            (true, true) => add(
                "client_id",
                "is set next to username/password: keep one way to authenticate (username and password for \
                 Secret Server, client_id and client_secret for Delinea Platform)"
                    .to_owned(),
            ),
            (true, false) => {
                if self.username.is_empty() {
                    add("username", "is required with password".to_owned());
                } else if has_control(&self.username) {
                    add("username", "holds control characters".to_owned());
                }
                if self.password.is_empty() {
                    add("password", "is required with username (e.g. HUSH_BACKENDS__<NAME>__PASSWORD)".to_owned());
                } else if has_control(&self.password) {
                    // Never quote the password, not even a bad one.
                    add("password", "holds control characters".to_owned());
                }
            }
            (false, true) => {
                if self.client_id.is_empty() {
                    add("client_id", "is required with client_secret".to_owned());
                } else if has_control(&self.client_id) {
                    add("client_id", "holds control characters".to_owned());
                }
                if self.client_secret.is_empty() {
                    add(
                        "client_secret",
                        "is required with client_id (e.g. HUSH_BACKENDS__<NAME>__CLIENT_SECRET)".to_owned(),
                    );
                } else if has_control(&self.client_secret) {
                    add("client_secret", "holds control characters".to_owned());
                }
                if !self.domain.is_empty() {
                    add("domain", "applies to username and password only, not to client_id".to_owned());
                }
            }
        }
        if has_control(&self.domain) {
            add("domain", "holds control characters".to_owned());
        }
        if self.folder_id == Some(0) {
            add("folder_id", "must be a folder id, 1 or more".to_owned());
        }
        if self.secret_template_id == Some(0) {
            add("secret_template_id", "must be a secret template id, 1 or more".to_owned());
        }
        if self.site_id == 0 {
            add("site_id", "must be a site id, 1 or more (1 is the Local site)".to_owned());
        }
        if !is_slug(&self.value_field) {
            add("value_field", format!("{:?} is not a field slug, e.g. password", self.value_field));
        }
        if self.request_timeout.is_some_and(|t| t.is_zero()) {
            add("request_timeout", "must be longer than 0s".to_owned());
        }
        problems.extend(self.tls.problems().into_iter().map(|p| p.under(&["tls"])));
        problems
    }

    /// `folder_id` and `secret_template_id` when missing: hush creates secrets from that
    /// template in that folder.
    fn write_problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.folder_id.is_none() {
            problems.push(ConfigProblem::new(
                &["folder_id"],
                "is required to write (the id of the folder hush creates secrets in); or make every binding \
                 of this backend read_only",
            ));
        }
        if self.secret_template_id.is_none() {
            problems.push(ConfigProblem::new(
                &["secret_template_id"],
                "is required to write (the id of the secret template hush creates secrets with); or make every \
                 binding of this backend read_only",
            ));
        }
        problems
    }

    fn resolve_paths(&mut self, config_dir: &Path) {
        self.tls.resolve_paths(config_dir);
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The secret's name ([`secret_name`](crate::secret_name)) in the folder reads search,
    /// and the field its value is in; the secret's id is looked up by name at run time.
    fn key_for(&self, scope: &Scope, name: &SecretName) -> Option<String> {
        let secret = crate::secret_name(scope, name);
        let folder = match self.folder_id {
            Some(id) => format!("folder {id}"),
            None => "any folder the user sees".to_owned(),
        };
        Some(format!(
            "secret named {secret:?} in {folder}, field {:?} (secret id looked up at run time)",
            self.value_field
        ))
    }
}

impl fmt::Debug for DelineaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelineaConfig")
            .field("address", &self.address)
            .field("username", &self.username)
            .field("password", &"***")
            .field("domain", &self.domain)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("folder_id", &self.folder_id)
            .field("secret_template_id", &self.secret_template_id)
            .field("value_field", &self.value_field)
            .field("site_id", &self.site_id)
            .field("tls", &self.tls)
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
        let config = DelineaConfig { folder_id: Some(42), ..DelineaConfig::default() };
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            r#"secret named "acme.company.team.DB_PASSWORD" in folder 42, field "password" (secret id looked up at run time)"#
        );
        let secret = crate::secret_name(&scope, &name);
        assert!(config.key_for(&scope, &name).unwrap().starts_with(&format!("secret named {secret:?} ")));
        let anywhere = DelineaConfig::default().key_for(&scope, &name).unwrap();
        assert!(anywhere.contains(" in any folder the user sees, "), "{anywhere}");
    }

    fn keys(config: &DelineaConfig) -> Vec<String> {
        config.problems().into_iter().map(|p| p.path).collect()
    }

    fn write_keys(config: &DelineaConfig) -> Vec<String> {
        config.write_problems().into_iter().map(|p| p.path).collect()
    }

    fn ok() -> DelineaConfig {
        DelineaConfig::with_password("https://ss.example.com/SecretServer", "svc-hush", "pw")
    }

    #[test]
    fn an_address_and_one_credential_are_enough_to_read() {
        assert!(ok().problems().is_empty(), "{:?}", ok().problems());
        assert_eq!((ok().value_field.as_str(), ok().site_id), (DEFAULT_VALUE_FIELD, DEFAULT_SITE_ID));
        let platform = DelineaConfig::with_client_credentials("https://acme.delinea.app", "id", "secret");
        assert!(platform.problems().is_empty(), "{:?}", platform.problems());
        assert!(platform.is_platform() && !ok().is_platform());
        assert_eq!(keys(&DelineaConfig::default()), ["address", "username"]);
        assert!(ok().with_domain("CORP").problems().is_empty());
    }

    #[test]
    fn exactly_one_way_to_authenticate() {
        let both = DelineaConfig { client_id: "id".into(), client_secret: "SECRETC".into(), ..ok() };
        assert_eq!(keys(&both), ["client_id"]);
        let no_user = DelineaConfig { username: String::new(), ..ok() };
        assert_eq!(keys(&no_user), ["username"]);
        let no_password = DelineaConfig { password: String::new(), ..ok() };
        assert_eq!(keys(&no_password), ["password"]);
        let half = DelineaConfig::with_client_credentials("https://a.delinea.app", "", "s");
        assert_eq!(keys(&half), ["client_id"]);
        let half = DelineaConfig::with_client_credentials("https://a.delinea.app", "id", "");
        assert_eq!(keys(&half), ["client_secret"]);
        let domain = DelineaConfig::with_client_credentials("https://a.delinea.app", "id", "s").with_domain("CORP");
        assert_eq!(keys(&domain), ["domain"]);
    }

    #[test]
    fn addresses_ids_slugs_and_timeouts() {
        for bad in ["ss.example.com", "ftp://h", "http://", "http://u:p@h", "https://h?x", "https:///x"] {
            assert_eq!(keys(&DelineaConfig { address: bad.into(), ..ok() }), ["address"], "{bad}");
        }
        assert_eq!(keys(&DelineaConfig { folder_id: Some(0), ..ok() }), ["folder_id"]);
        assert_eq!(keys(&DelineaConfig { secret_template_id: Some(0), ..ok() }), ["secret_template_id"]);
        assert_eq!(keys(&DelineaConfig { site_id: 0, ..ok() }), ["site_id"]);
        for bad in ["", "pass word", "a.b", "pässword"] {
            assert_eq!(keys(&ok().with_value_field(bad)), ["value_field"], "{bad}");
        }
        assert!(ok().with_value_field("private-key").problems().is_empty());
        assert_eq!(keys(&ok().with_request_timeout(Duration::ZERO)), ["request_timeout"]);
        let mut tls = TlsConfig::with_ca_file("ca.pem");
        tls.skip_verify = true;
        assert_eq!(keys(&ok().with_tls(tls)), ["tls.skip_verify"]);
    }

    #[test]
    fn writes_need_a_folder_and_a_template() {
        assert_eq!(write_keys(&ok()), ["folder_id", "secret_template_id"]);
        assert_eq!(write_keys(&DelineaConfig { folder_id: Some(3), ..ok() }), ["secret_template_id"]);
        assert!(write_keys(&ok().with_folder_and_template(3, 6001)).is_empty());
        assert!(ok().write_problems()[0].message.contains("read_only"));
    }

    #[test]
    fn bad_credentials_are_named_never_shown() {
        let config = DelineaConfig { password: "SECRET\npw".into(), ..ok() };
        assert_eq!(keys(&config), ["password"]);
        let platform = DelineaConfig::with_client_credentials("https://a.delinea.app", "id", "SECRET\n");
        assert_eq!(keys(&platform), ["client_secret"]);
        for problems in [config.problems(), platform.problems()] {
            assert!(problems.iter().all(|p| !p.message.contains("SECRET")));
        }
    }

    #[test]
    fn paths_resolve_and_debug_hides_credentials() {
        let mut config = ok().with_tls(TlsConfig::with_ca_file("ca.pem"));
        config.resolve_paths(Path::new("/etc/hush"));
        assert_eq!(config.tls.ca_file.as_deref(), Some(Path::new("/etc/hush/ca.pem")));
        let config: DelineaConfig = serde_json::from_value(serde_json::json!({
            "address": "https://ss", "username": "u", "password": "SECRETPW", "domain": "CORP",
            "folder_id": 42, "secret_template_id": 6001, "value_field": "value", "site_id": 2,
            "request_timeout": "5s", "tls": {"ca": "ca.pem"}
        }))
        .unwrap();
        assert_eq!((config.folder_id, config.secret_template_id, config.site_id), (Some(42), Some(6001), 2));
        assert_eq!(config.request_timeout, Some(Duration::from_secs(5)));
        let platform = DelineaConfig::with_client_credentials("https://a", "id", "SECRETCS");
        for text in [format!("{config:?}"), format!("{platform:?}")] {
            assert!(!text.contains("SECRET"), "{text}");
            assert!(text.contains("password: \"***\""), "{text}");
        }
        assert!(serde_json::from_value::<DelineaConfig>(serde_json::json!({"token": "t"})).is_err());
    }
}
