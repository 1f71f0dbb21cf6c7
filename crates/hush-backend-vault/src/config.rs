//! The Vault backend's configuration: server, KV mount, key prefix, TLS and auth method.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hush_core::{ConfigProblem, KindConfig, Scope, SecretName, TlsConfig};
use serde::Deserialize;

/// Where Kubernetes mounts a pod's service-account token.
pub const DEFAULT_KUBERNETES_JWT_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Configuration of a `vault` backend (HashiCorp Vault or OpenBao).
///
/// ```toml
/// [backends.vault-main]
/// kind = "vault"
/// address = "https://vault.internal:8200"
/// namespace = "team1"                  # Vault Enterprise / OpenBao namespace, optional
/// root_engine = "secret"               # the KV mount
/// engine_version = 2                   # 1 for a KV v1 mount
/// prefix = "hush/"                     # common backend key: see the key mapping
/// request_timeout = "2s"                # at most the backend's `timeout`
/// tls = { ca_file = "vault-ca.pem" }   # skip_verify = true only for throwaway servers
/// auth = { method = "approle", role_id = "...", secret_id = "..." }
/// ```
///
/// `Debug` leaves out the token, password and secret id.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct VaultConfig {
    /// The server's URL, `http://` or `https://`, without a path. Default `http://127.0.0.1:8200`.
    pub address: String,
    /// The Vault Enterprise / OpenBao namespace, sent as `X-Vault-Namespace`; none by default.
    pub namespace: Option<String>,
    /// The path the KV secrets engine is mounted at. Default `secret`.
    pub root_engine: String,
    /// The KV engine's version: 2 (versions, custom metadata) or 1. Default 2.
    pub engine_version: u8,
    /// Put in front of `<tenant>/...` in every path (see the key mapping). The common backend
    /// key `prefix`: `hush-backends` copies it here. Default empty.
    pub prefix: String,
    /// TLS settings for `https://` addresses.
    pub tls: TlsConfig,
    /// Bound on one HTTP request to Vault, login included, e.g. `"2s"`. Default: the
    /// backend's `timeout` (the timeout layer's bound on a whole call), and never longer.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
    /// How hush logs in.
    pub auth: AuthConfig,
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            address: "http://127.0.0.1:8200".to_owned(),
            namespace: None,
            root_engine: "secret".to_owned(),
            engine_version: 2,
            prefix: String::new(),
            tls: TlsConfig::default(),
            request_timeout: None,
            auth: AuthConfig::default(),
        }
    }
}

impl VaultConfig {
    /// The defaults, with `address` and `auth`.
    pub fn new(address: impl Into<String>, auth: AuthConfig) -> Self {
        Self { address: address.into(), auth, ..Self::default() }
    }

    /// With `root_engine` (the KV mount) and its `engine_version`.
    pub fn with_engine(mut self, root_engine: impl Into<String>, engine_version: u8) -> Self {
        self.root_engine = root_engine.into();
        self.engine_version = engine_version;
        self
    }

    /// With `prefix`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// With the Vault namespace `namespace`.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
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

impl KindConfig for VaultConfig {
    /// Every problem of this configuration, with the key it is at. Empty when it is usable.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut add = |key: &[&'static str], message: String| {
            problems.push(ConfigProblem::new(key, message));
        };
        if let Err(message) = check_address(&self.address) {
            add(&["address"], message);
        }
        if let Some(namespace) = &self.namespace
            && let Err(message) = check_header_text(namespace)
        {
            add(&["namespace"], message);
        }
        if let Err(message) = check_mount(&self.root_engine) {
            add(&["root_engine"], message);
        }
        if !matches!(self.engine_version, 1 | 2) {
            add(&["engine_version"], format!("must be 1 or 2, not {}", self.engine_version));
        }
        if let Err(message) = check_prefix(&self.prefix) {
            add(&["prefix"], message);
        }
        if self.request_timeout.is_some_and(|t| t.is_zero()) {
            add(&["request_timeout"], "must be longer than 0s".to_owned());
        }
        match &self.auth {
            AuthConfig::Token { token } => {
                if token.is_empty() {
                    add(&["auth", "token"], "is empty: set it, or HUSH_BACKENDS__<NAME>__AUTH__TOKEN".to_owned());
                } else if check_header_text(token).is_err() {
                    add(&["auth", "token"], "holds whitespace or characters a token never has".to_owned());
                }
            }
            AuthConfig::Userpass { username, password, mount } => {
                if let Err(message) = check_login_name(username) {
                    add(&["auth", "username"], message);
                }
                if password.is_empty() {
                    add(&["auth", "password"], "is empty".to_owned());
                }
                if let Err(message) = check_mount(mount) {
                    add(&["auth", "mount"], message);
                }
            }
            AuthConfig::Approle { role_id, mount, .. } => {
                if role_id.is_empty() {
                    add(&["auth", "role_id"], "is empty".to_owned());
                }
                if let Err(message) = check_mount(mount) {
                    add(&["auth", "mount"], message);
                }
            }
            AuthConfig::Kubernetes { role, mount, jwt_file } => {
                if role.is_empty() {
                    add(&["auth", "role"], "is empty".to_owned());
                }
                if let Err(message) = check_mount(mount) {
                    add(&["auth", "mount"], message);
                }
                if jwt_file.as_os_str().is_empty() {
                    add(&["auth", "jwt_file"], "is empty".to_owned());
                }
            }
        }
        problems.extend(self.tls.problems().into_iter().map(|p| p.under(&["tls"])));
        problems
    }

    fn resolve_paths(&mut self, config_dir: &Path) {
        self.tls.resolve_paths(config_dir);
        if let AuthConfig::Kubernetes { jwt_file, .. } = &mut self.auth {
            *jwt_file = config_dir.join(&*jwt_file);
        }
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The KV mount and the path in it ([`secret_path`](crate::secret_path)), as `vault kv get
    /// -mount=<mount> <path>` takes them, with the Vault namespace when one is set and the
    /// server (when `address` is a valid one: a URL with user info is left out).
    fn key_for(&self, scope: &Scope, name: &SecretName) -> Option<String> {
        let path = crate::secret_path(&self.prefix, scope, name);
        let mut key = format!("kv-v{} mount {:?}, path {path:?}", self.engine_version, self.root_engine);
        if let Some(namespace) = &self.namespace {
            key.push_str(&format!(" in Vault namespace {namespace:?}"));
        }
        if check_address(&self.address).is_ok() {
            key.push_str(&format!(" at {}", self.address));
        }
        Some(key)
    }
}

impl fmt::Debug for VaultConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultConfig")
            .field("address", &self.address)
            .field("namespace", &self.namespace)
            .field("root_engine", &self.root_engine)
            .field("engine_version", &self.engine_version)
            .field("prefix", &self.prefix)
            .field("tls", &self.tls)
            .field("request_timeout", &self.request_timeout)
            .field("auth", &self.auth)
            .finish()
    }
}

/// How hush logs in to Vault: `auth = { method = "...", ... }`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase", deny_unknown_fields)]
#[non_exhaustive]
pub enum AuthConfig {
    /// A token given in config (or `HUSH_BACKENDS__<NAME>__AUTH__TOKEN`). Renewed before
    /// its TTL runs out when it is renewable; there is no way to log in again.
    Token {
        /// The token.
        token: String,
    },
    /// The userpass auth method.
    Userpass {
        /// The user name.
        username: String,
        /// The password.
        password: String,
        /// Where the method is mounted. Default `userpass`.
        #[serde(default = "default_userpass_mount")]
        mount: String,
    },
    /// The AppRole auth method.
    Approle {
        /// The role id.
        role_id: String,
        /// The secret id; empty for roles created with `bind_secret_id=false`.
        #[serde(default)]
        secret_id: String,
        /// Where the method is mounted. Default `approle`.
        #[serde(default = "default_approle_mount")]
        mount: String,
    },
    /// The Kubernetes auth method, with the pod's service-account token.
    Kubernetes {
        /// The Vault role to log in as.
        role: String,
        /// Where the method is mounted. Default `kubernetes`.
        #[serde(default = "default_kubernetes_mount")]
        mount: String,
        /// The service-account token file, read at every login (Kubernetes rotates it).
        /// Default `/var/run/secrets/kubernetes.io/serviceaccount/token`.
        #[serde(default = "default_jwt_file")]
        jwt_file: PathBuf,
    },
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig::Token { token: String::new() }
    }
}

impl AuthConfig {
    /// The `token` method.
    pub fn token(token: impl Into<String>) -> Self {
        AuthConfig::Token { token: token.into() }
    }

    /// The `userpass` method at its default mount.
    pub fn userpass(username: impl Into<String>, password: impl Into<String>) -> Self {
        AuthConfig::Userpass { username: username.into(), password: password.into(), mount: default_userpass_mount() }
    }

    /// The `approle` method at its default mount.
    pub fn approle(role_id: impl Into<String>, secret_id: impl Into<String>) -> Self {
        AuthConfig::Approle { role_id: role_id.into(), secret_id: secret_id.into(), mount: default_approle_mount() }
    }

    /// The `kubernetes` method at its default mount, with the default token file.
    pub fn kubernetes(role: impl Into<String>) -> Self {
        AuthConfig::Kubernetes { role: role.into(), mount: default_kubernetes_mount(), jwt_file: default_jwt_file() }
    }

    /// With the method mounted at `mount` (no effect on `token`).
    pub fn at_mount(mut self, at: impl Into<String>) -> Self {
        match &mut self {
            AuthConfig::Token { .. } => {}
            AuthConfig::Userpass { mount, .. }
            | AuthConfig::Approle { mount, .. }
            | AuthConfig::Kubernetes { mount, .. } => *mount = at.into(),
        }
        self
    }

    /// With the service-account token read from `file` (only for `kubernetes`).
    pub fn with_jwt_file(mut self, file: impl Into<PathBuf>) -> Self {
        if let AuthConfig::Kubernetes { jwt_file, .. } = &mut self {
            *jwt_file = file.into();
        }
        self
    }

    /// The method's name, as written in config.
    pub fn method(&self) -> &'static str {
        match self {
            AuthConfig::Token { .. } => "token",
            AuthConfig::Userpass { .. } => "userpass",
            AuthConfig::Approle { .. } => "approle",
            AuthConfig::Kubernetes { .. } => "kubernetes",
        }
    }

    /// Whether hush can log in again by itself (every method but `token`).
    pub fn can_log_in(&self) -> bool {
        !matches!(self, AuthConfig::Token { .. })
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthConfig::Token { .. } => f.debug_struct("Token").field("token", &"***").finish(),
            AuthConfig::Userpass { username, mount, .. } => f
                .debug_struct("Userpass")
                .field("username", username)
                .field("password", &"***")
                .field("mount", mount)
                .finish(),
            AuthConfig::Approle { role_id, mount, .. } => f
                .debug_struct("Approle")
                .field("role_id", role_id)
                .field("secret_id", &"***")
                .field("mount", mount)
                .finish(),
            AuthConfig::Kubernetes { role, mount, jwt_file } => f
                .debug_struct("Kubernetes")
                .field("role", role)
                .field("mount", mount)
                .field("jwt_file", jwt_file)
                .finish(),
        }
    }
}

fn default_userpass_mount() -> String {
    "userpass".to_owned()
}

fn default_approle_mount() -> String {
    "approle".to_owned()
}

fn default_kubernetes_mount() -> String {
    "kubernetes".to_owned()
}

fn default_jwt_file() -> PathBuf {
    PathBuf::from(DEFAULT_KUBERNETES_JWT_FILE)
}

/// An `http(s)://host[:port]` URL without user info, path, query or fragment.
fn check_address(address: &str) -> Result<(), String> {
    let url = url::Url::parse(address).map_err(|e| format!("{address:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{address:?} must start with http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{address:?} names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold a user name or password: use auth".to_owned());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{address:?} must be scheme, host and port only (Vault's API is under /v1)"));
    }
    Ok(())
}

/// Text sent in a header: visible ASCII, no spaces.
fn check_header_text(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("is empty".to_owned());
    }
    if let Some(c) = text.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!("holds {c:?}; only visible ASCII characters are allowed"));
    }
    Ok(())
}

/// Characters of mount paths and prefixes: letters, digits, `_`, `-`, `.` and `/`.
fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// A mount path: `secret`, `kv/team1`; no leading or trailing `/`, no empty, `.` or `..` part.
fn check_mount(mount: &str) -> Result<(), String> {
    if mount.is_empty() {
        return Err("is empty".to_owned());
    }
    if let Some(c) = mount.chars().find(|c| !path_char(*c)) {
        return Err(format!("{mount:?} holds {c:?}; allowed are letters, digits, '_', '-', '.' and '/'"));
    }
    if mount.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
        return Err(format!("{mount:?} must be parts joined by single '/', without '.' or '..' parts"));
    }
    Ok(())
}

/// A key prefix: empty, or path characters without a leading `/`, `//`, `.` or `..` parts; it
/// may end with `/` (a folder) or not (glued to the tenant).
fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Ok(());
    }
    if let Some(c) = prefix.chars().find(|c| !path_char(*c)) {
        return Err(format!("{prefix:?} holds {c:?}; allowed are letters, digits, '_', '-', '.' and '/'"));
    }
    let parts: Vec<&str> = prefix.split('/').collect();
    let last = parts.len() - 1;
    if parts.iter().enumerate().any(|(i, part)| (part.is_empty() && i != last) || *part == "." || *part == "..") {
        return Err(format!("{prefix:?} must not start with '/', hold '//', or have '.' or '..' parts"));
    }
    Ok(())
}

/// A userpass user name, which goes into the login URL's path.
fn check_login_name(name: &str) -> Result<(), String> {
    check_header_text(name)?;
    if let Some(c) = name.chars().find(|c| matches!(c, '/' | '?' | '#' | '%' | '\\')) {
        return Err(format!("holds {c:?}, which cannot be part of the login path"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_for_names_the_mount_and_the_path_the_calls_use() {
        let scope = Scope::new("acme".parse().unwrap(), "company.team".parse().unwrap());
        let name: SecretName = "DB_PASSWORD".parse().unwrap();
        let config = VaultConfig::default().with_prefix("hush/");
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            r#"kv-v2 mount "secret", path "hush/acme/company/team/DB_PASSWORD" at http://127.0.0.1:8200"#
        );
        let path = crate::secret_path("hush/", &scope, &name);
        assert!(config.key_for(&scope, &name).unwrap().contains(&format!("path {path:?}")));
        let config = VaultConfig::new("https://u:pw@vault:8200", AuthConfig::default())
            .with_engine("kv", 1)
            .with_namespace("team1");
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            r#"kv-v1 mount "kv", path "acme/company/team/DB_PASSWORD" in Vault namespace "team1""#
        );
    }

    fn parse(json: &str) -> Result<VaultConfig, serde_json::Error> {
        serde_json::from_str(json)
    }

    fn keys(config: &VaultConfig) -> Vec<String> {
        config.problems().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn defaults() {
        let config = parse(r#"{"auth":{"method":"token","token":"t"}}"#).unwrap();
        assert_eq!(config.address, "http://127.0.0.1:8200");
        assert_eq!(config.root_engine, "secret");
        assert_eq!(config.engine_version, 2);
        assert_eq!(config.request_timeout, None);
        assert!(!config.tls.skip_verify);
        assert!(config.problems().is_empty(), "{:?}", config.problems());
    }

    #[test]
    fn every_auth_method_parses_with_its_defaults() {
        let c = parse(r#"{"auth":{"method":"userpass","username":"u","password":"p"}}"#).unwrap();
        assert_eq!(c.auth, AuthConfig::userpass("u", "p"));
        let c = parse(r#"{"auth":{"method":"approle","role_id":"r","secret_id":"s","mount":"ar"}}"#).unwrap();
        assert_eq!(c.auth, AuthConfig::approle("r", "s").at_mount("ar"));
        let c = parse(r#"{"auth":{"method":"kubernetes","role":"hush"}}"#).unwrap();
        assert_eq!(c.auth, AuthConfig::kubernetes("hush"));
        if let AuthConfig::Kubernetes { mount, jwt_file, .. } = &c.auth {
            assert_eq!(mount, "kubernetes");
            assert_eq!(jwt_file, &PathBuf::from(DEFAULT_KUBERNETES_JWT_FILE));
        }
        assert!(parse(r#"{"auth":{"method":"token","token":"t","password":"p"}}"#).is_err());
        assert!(parse(r#"{"auth":{"method":"ldap","username":"u"}}"#).is_err());
        assert!(parse(r#"{"adress":"http://x"}"#).is_err());
        let c = parse(r#"{"tls":{"ca_file":"ca.pem"},"request_timeout":"2s","engine_version":1}"#).unwrap();
        assert_eq!(c.tls, TlsConfig::with_ca_file("ca.pem"));
        assert_eq!(c.request_timeout, Some(Duration::from_secs(2)));
        assert_eq!(c.engine_version, 1);
    }

    #[test]
    fn debug_hides_credentials() {
        for auth in [
            AuthConfig::token("hvs.sekrit-token"),
            AuthConfig::userpass("alice", "sekrit-password"),
            AuthConfig::approle("role-1", "sekrit-secret-id"),
        ] {
            let text = format!("{:?}", VaultConfig::new("http://v:8200", auth));
            assert!(!text.contains("sekrit"), "{text}");
            assert!(text.contains("***"), "{text}");
        }
    }

    #[test]
    fn problems_name_their_keys() {
        let mut c = VaultConfig::default();
        assert_eq!(keys(&c), ["auth.token"]);
        c.auth = AuthConfig::token("t");
        c.address = "ftp://x".into();
        c.root_engine = "/secret/".into();
        c.engine_version = 3;
        c.prefix = "/abs".into();
        c.namespace = Some("team one".into());
        c.request_timeout = Some(Duration::ZERO);
        assert_eq!(keys(&c), ["address", "namespace", "root_engine", "engine_version", "prefix", "request_timeout"]);
        let c = VaultConfig::new("http://v:8200", AuthConfig::userpass("a/b", ""));
        assert_eq!(keys(&c), ["auth.username", "auth.password"]);
        let c = VaultConfig::new("http://v:8200", AuthConfig::kubernetes("").at_mount("k8s//x"));
        assert_eq!(keys(&c), ["auth.role", "auth.mount"]);
        let c = VaultConfig::new("http://v:8200", AuthConfig::token("two words"));
        assert_eq!(keys(&c), ["auth.token"]);
        assert!(!c.problems()[0].message.contains("two words"));
    }

    #[test]
    fn addresses() {
        assert!(check_address("http://127.0.0.1:8200").is_ok());
        assert!(check_address("https://vault.internal").is_ok());
        assert!(check_address("https://vault.internal/").is_ok());
        assert!(check_address("https://u:p@vault.internal").is_err());
        assert!(check_address("https://vault.internal/v1").is_err());
        assert!(check_address("vault.internal:8200").is_err());
        assert!(check_address("").is_err());
    }

    #[test]
    fn prefixes_and_mounts() {
        for ok in ["", "hush/", "hush-", "a/b/", "team.1/x"] {
            assert!(check_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["/hush", "a//b", "../x", "a/./b", "a b", "a%2f"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
        for ok in ["secret", "kv/team1", "kv-2"] {
            assert!(check_mount(ok).is_ok(), "{ok}");
        }
        for bad in ["", "secret/", "/secret", "a//b", "..", "a?b"] {
            assert!(check_mount(bad).is_err(), "{bad}");
        }
    }
}
