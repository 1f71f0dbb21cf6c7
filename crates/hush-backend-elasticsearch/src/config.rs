//! The Elasticsearch backend's configuration: cluster URL, index, credentials, TLS, prefix and
//! request timeout.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use hush_core::{ConfigProblem, KindConfig, Scope, SecretName, TlsConfig};
use serde::Deserialize;

/// The default `index`.
pub const DEFAULT_INDEX: &str = "hush-secrets";

/// The default `prefix`: every document id hush writes starts with `hush:`.
pub const DEFAULT_PREFIX: &str = "hush";

/// Longest `prefix`, so that every document id stays within Elasticsearch's 512 bytes.
const MAX_PREFIX_LEN: usize = 32;

/// Longest index name Elasticsearch and OpenSearch accept, in bytes.
const MAX_INDEX_LEN: usize = 255;

/// Configuration of an `elasticsearch` backend (Elasticsearch 8 or OpenSearch 2).
///
/// ```toml
/// [backends.search-main]
/// kind = "elasticsearch"
/// url = "https://search.internal:9200"
/// # index = "hush-secrets"            # the default; created with hush's mappings on first write
/// username = "hush"                    # with password (HUSH_BACKENDS__SEARCH_MAIN__PASSWORD)
/// # api_key = "..."                    # or an Elasticsearch API key (encoded), not both
/// tls = { ca = "search-ca.pem" }
/// # prefix = "hush"                    # document ids are hush:<tenant>:<namespace>:<name>
/// request_timeout = "2s"               # at most the backend's `timeout`
/// ```
///
/// `Debug` leaves out `password` and `api_key`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ElasticsearchConfig {
    /// The cluster's URL, `http(s)://host[:port][/path]`. Required.
    pub url: String,
    /// The index holding hush's documents. Default `hush-secrets`.
    pub index: String,
    /// User for HTTP basic authentication, with `password`.
    pub username: String,
    /// Password of `username`. Never shown in `Debug`, errors or logs.
    pub password: String,
    /// An Elasticsearch API key, the encoded form (`Authorization: ApiKey <key>`); instead of
    /// `username`/`password`. Never shown in `Debug`, errors or logs.
    pub api_key: String,
    /// How the cluster's certificate is trusted (`tls = { ca, skip_verify }`).
    pub tls: TlsConfig,
    /// The first part of every document id hush writes, `[A-Za-z0-9_-]`, at most 32
    /// characters, so hush deployments can share an index. Default `hush`.
    pub prefix: String,
    /// Bound on one HTTP request to the cluster, e.g. `"2s"`. Default: the backend's `timeout`.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
}

impl Default for ElasticsearchConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            index: DEFAULT_INDEX.to_owned(),
            username: String::new(),
            password: String::new(),
            api_key: String::new(),
            tls: TlsConfig::default(),
            prefix: DEFAULT_PREFIX.to_owned(),
            request_timeout: None,
        }
    }
}

impl ElasticsearchConfig {
    /// The defaults, for the cluster at `url`, without credentials.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), ..Self::default() }
    }

    /// With basic authentication as `username` / `password`.
    pub fn with_basic_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = username.into();
        self.password = password.into();
        self
    }

    /// With an API key (encoded form).
    pub fn with_api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = api_key.into();
        self
    }

    /// With `index`.
    pub fn with_index(mut self, index: impl Into<String>) -> Self {
        self.index = index.into();
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

/// What is wrong with `index` as an Elasticsearch / OpenSearch index name, if anything: lowercase,
/// none of `\ / * ? " < > | , # :` or spaces, not starting with `-`, `_`, `+` or `.`, not `.` or
/// `..`, at most 255 bytes.
fn index_name_problem(index: &str) -> Option<String> {
    if index.is_empty() {
        return Some("is empty".to_owned());
    }
    if index.len() > MAX_INDEX_LEN {
        return Some(format!("is {} bytes long, more than {MAX_INDEX_LEN}", index.len()));
    }
    if index.chars().any(|c| c.is_uppercase()) {
        return Some(format!("{index:?} must be lowercase"));
    }
    if let Some(c) = index.chars().find(|c| {
        matches!(c, '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ',' | '#' | ':')
            || c.is_whitespace()
            || c.is_control()
    }) {
        return Some(format!("{index:?} holds {c:?}; index names hold none of \\ / * ? \" < > | , # : or spaces"));
    }
    if index.starts_with(['-', '_', '+']) {
        return Some(format!("{index:?} must not start with '-', '_' or '+'"));
    }
    if index.starts_with('.') {
        return Some(format!("{index:?} must not start with '.' (hidden and system indices)"));
    }
    None
}

/// Whether `prefix` is `[A-Za-z0-9_-]{1,32}`.
fn is_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_LEN
        && prefix.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

/// Whether `credential` holds what no HTTP header can carry.
fn unusable_in_header(credential: &str) -> bool {
    credential.chars().any(|c| c.is_control())
}

impl KindConfig for ElasticsearchConfig {
    /// Every problem of this configuration, with the key it is at. Empty when it is usable.
    /// Never quotes `password` or `api_key`.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut add = |key: &'static str, message: String| problems.push(ConfigProblem::new(&[key], message));
        if let Some(problem) = hush_rest::base_url_problem(&self.url, "https://search.internal:9200") {
            add("url", problem);
        }
        if let Some(problem) = index_name_problem(&self.index) {
            add("index", problem);
        }
        let basic = !self.username.is_empty() || !self.password.is_empty();
        if !self.api_key.is_empty() && basic {
            add("api_key", "is set next to username/password; set one of them".to_owned());
        }
        if !self.username.is_empty() && self.password.is_empty() {
            add("password", "is required with username".to_owned());
        }
        if self.username.is_empty() && !self.password.is_empty() {
            add("username", "is required with password".to_owned());
        }
        if self.username.contains(':') || unusable_in_header(&self.username) {
            add("username", "must hold no ':' and no control characters".to_owned());
        }
        if unusable_in_header(&self.password) {
            add("password", "holds control characters".to_owned());
        }
        if unusable_in_header(&self.api_key) || self.api_key.contains(' ') {
            add("api_key", "holds spaces or control characters".to_owned());
        }
        if !is_prefix(&self.prefix) {
            add("prefix", format!("{:?} must be [A-Za-z0-9_-], 1 to {MAX_PREFIX_LEN} characters", self.prefix));
        }
        if self.request_timeout.is_some_and(|t| t.is_zero()) {
            add("request_timeout", "must be longer than 0s".to_owned());
        }
        problems.extend(self.tls.problems().into_iter().map(|p| p.under(&["tls"])));
        problems
    }

    fn resolve_paths(&mut self, config_dir: &Path) {
        self.tls.resolve_paths(config_dir);
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The latest document ([`latest_id`](crate::latest_id)) and its versions'
    /// ([`version_id`](crate::version_id)) in the index.
    fn key_for(&self, scope: &Scope, name: &SecretName) -> Option<String> {
        let latest = crate::latest_id(&self.prefix, scope, name);
        Some(format!("document {latest:?} (versions {latest}:v<N>) in index {:?}", self.index))
    }
}

impl fmt::Debug for ElasticsearchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |secret: &str| if secret.is_empty() { "" } else { "***" };
        f.debug_struct("ElasticsearchConfig")
            .field("url", &self.url)
            .field("index", &self.index)
            .field("username", &self.username)
            .field("password", &hidden(&self.password))
            .field("api_key", &hidden(&self.api_key))
            .field("tls", &self.tls)
            .field("prefix", &self.prefix)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_for_names_the_documents_the_calls_use() {
        let scope = Scope::new("acme".parse().unwrap(), "company.team".parse().unwrap());
        let name: SecretName = "DB_PASSWORD".parse().unwrap();
        let config = ElasticsearchConfig::default();
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            r#"document "hush:acme:company.team:DB_PASSWORD" (versions hush:acme:company.team:DB_PASSWORD:v<N>) in index "hush-secrets""#
        );
        let latest = crate::latest_id(DEFAULT_PREFIX, &scope, &name);
        assert_eq!(crate::version_id(DEFAULT_PREFIX, &scope, &name, 3), format!("{latest}:v3"));
        assert!(config.key_for(&scope, &name).unwrap().starts_with(&format!("document {latest:?} ")));
    }

    fn keys(config: &ElasticsearchConfig) -> Vec<String> {
        config.problems().into_iter().map(|p| p.path).collect()
    }

    const URL: &str = "https://search.internal:9200";

    #[test]
    fn a_url_is_enough() {
        let config = ElasticsearchConfig::new(URL);
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert_eq!((config.index.as_str(), config.prefix.as_str()), (DEFAULT_INDEX, DEFAULT_PREFIX));
        assert_eq!(keys(&ElasticsearchConfig::default()), ["url"]);
        assert!(ElasticsearchConfig::new("http://127.0.0.1:9200/es").problems().is_empty());
        for bad in ["search:9200", "ftp://h", "http://", "http:///x", "https://elastic:SECRET@h:9200"] {
            let config = ElasticsearchConfig::new(bad);
            assert_eq!(keys(&config), ["url"], "{bad}");
            assert!(config.problems().iter().all(|p| !p.message.contains("SECRET")));
        }
    }

    #[test]
    fn index_names_follow_elasticsearch_rules() {
        for good in ["hush-secrets", "hush_secrets.v1", "a", "secrets+2"] {
            assert!(ElasticsearchConfig::new(URL).with_index(good).problems().is_empty(), "{good}");
        }
        for bad in [
            "", "Hush", "a b", "a/b", "a\\b", "a*", "a?", "a\"b", "a<b", "a>b", "a|b", "a,b", "a#b", "a:b", "-a", "_a",
            "+a", ".", "..", ".hidden",
        ] {
            assert_eq!(keys(&ElasticsearchConfig::new(URL).with_index(bad)), ["index"], "{bad:?}");
        }
        assert_eq!(keys(&ElasticsearchConfig::new(URL).with_index("a".repeat(256))), ["index"]);
    }

    #[test]
    fn credentials_are_one_kind_and_never_quoted() {
        let basic = ElasticsearchConfig::new(URL).with_basic_auth("hush", "pw-SECRET");
        assert!(basic.problems().is_empty());
        assert!(ElasticsearchConfig::new(URL).with_api_key("a2V5LVNFQ1JFVA==").problems().is_empty());
        assert_eq!(keys(&basic.clone().with_api_key("key-SECRET")), ["api_key"]);
        assert_eq!(keys(&ElasticsearchConfig::new(URL).with_basic_auth("hush", "")), ["password"]);
        assert_eq!(keys(&ElasticsearchConfig::new(URL).with_basic_auth("", "pw")), ["username"]);
        assert_eq!(keys(&ElasticsearchConfig::new(URL).with_basic_auth("a:b", "pw")), ["username"]);
        let bad = ElasticsearchConfig::new(URL).with_basic_auth("hush", "pw\nSECRET").with_api_key("key SECRET");
        assert_eq!(keys(&bad), ["api_key", "password", "api_key"]);
        assert!(bad.problems().iter().all(|p| !p.message.contains("SECRET")), "{:?}", bad.problems());
    }

    #[test]
    fn prefixes_timeouts_and_tls() {
        let ok = ElasticsearchConfig::new(URL);
        for bad in ["", "a:b", "a.b", "ä", &"p".repeat(33)] {
            assert_eq!(keys(&ok.clone().with_prefix(bad)), ["prefix"], "{bad}");
        }
        assert!(ok.clone().with_prefix("Team_1-a").problems().is_empty());
        assert_eq!(keys(&ok.clone().with_request_timeout(Duration::ZERO)), ["request_timeout"]);
        let mut both = TlsConfig::with_ca_file("ca.pem");
        both.skip_verify = true;
        assert_eq!(keys(&ok.clone().with_tls(both)), ["tls.skip_verify"]);
        let mut relative = ok.with_tls(TlsConfig::with_ca_file("ca.pem"));
        relative.resolve_paths(Path::new("/etc/hush"));
        assert_eq!(relative.tls.ca_file.as_deref(), Some(Path::new("/etc/hush/ca.pem")));
    }

    #[test]
    fn debug_hides_credentials_and_options_parse() {
        let config: ElasticsearchConfig = serde_json::from_value(serde_json::json!({
            "url": URL, "username": "hush", "password": "pw-SECRET", "request_timeout": "5s",
            "tls": {"ca": "ca.pem"}, "prefix": "team", "index": "secrets"
        }))
        .unwrap();
        assert_eq!(config.request_timeout, Some(Duration::from_secs(5)));
        assert_eq!(config.tls.ca_file.as_deref(), Some(Path::new("ca.pem")));
        let text = format!("{config:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("password: \"***\""), "{text}");
        let keyed = ElasticsearchConfig::new(URL).with_api_key("key-SECRET");
        assert!(!format!("{keyed:?}").contains("SECRET"));
        for unknown in [serde_json::json!({"url": URL, "default_tags": {}}), serde_json::json!({"hosts": [URL]})] {
            assert!(serde_json::from_value::<ElasticsearchConfig>(unknown).is_err());
        }
    }
}
