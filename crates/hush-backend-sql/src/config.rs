//! The SQL store's configuration, and the URL redaction its `Debug` and errors use.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use hush_core::{ConfigProblem, KindConfig, Scope, SecretName};
use serde::Deserialize;

/// Longest `table_prefix`, in bytes: table and index names stay under every dialect's limit.
pub const MAX_TABLE_PREFIX_LEN: usize = 32;

/// Configuration of a `sql` backend.
///
/// ```toml
/// [backends.local]
/// kind = "sql"
/// url = "sqlite://hush.db"        # or postgres://user:pass@host/db, mysql://user:pass@host/db
/// max_connections = 2             # default: 2 for a SQLite file, 10 for a server
/// connect_timeout = "2s"        # default: the backend's timeout
/// table_prefix = "hush_"
/// max_versions = 10
/// ```
///
/// `Debug` shows the URL with its password replaced by `***`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SqlConfig {
    /// Database URL: `sqlite://PATH` (file created if missing, WAL journal),
    /// `sqlite::memory:`, `postgres://...` or `mysql://...` (MariaDB too).
    /// Default `sqlite://hush.db`.
    pub url: String,
    /// Most connections the pool opens. Default 10 for PostgreSQL and MySQL, 2 for a SQLite
    /// file (one writer at a time, so a second connection is for a read beside a write; each
    /// connection is a thread with its own page cache of up to 2 MiB, ~3 MiB of hushd's memory
    /// each after a large fill), 1 for `sqlite::memory:` (always).
    pub max_connections: Option<u32>,
    /// How long opening a connection, or waiting for a free pooled one, may take, e.g.
    /// `"2s"`. Default: the backend's `timeout` (the timeout layer's bound), and never longer.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Option<Duration>,
    /// Prepended to every table name, `[A-Za-z0-9_]`, at most 32 bytes. Default `hush_`.
    pub table_prefix: String,
    /// Versions kept per secret; older ones are deleted after a write. Default 10.
    pub max_versions: u32,
    /// Not a key of this kind: the store keeps tenants and namespaces apart by column and
    /// maps no key; tables are named with `table_prefix`. Present only to say so.
    #[serde(default)]
    pub prefix: Option<String>,
}

impl Default for SqlConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://hush.db".to_owned(),
            max_connections: None,
            connect_timeout: None,
            table_prefix: "hush_".to_owned(),
            max_versions: 10,
            prefix: None,
        }
    }
}

impl SqlConfig {
    /// The defaults, with `url`.
    pub fn for_url(url: impl Into<String>) -> Self {
        Self { url: url.into(), ..Self::default() }
    }
}

impl KindConfig for SqlConfig {
    /// Every problem a connect would trip over, with key paths relative to the backend's table.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut add = |key: &str, message: String| problems.push(ConfigProblem::new(&[key], message));
        if self.prefix.is_some() {
            add("prefix", "the sql store keeps tenants apart by column and has no key prefix; use table_prefix".into());
        }
        if self.max_connections == Some(0) {
            add("max_connections", "must be at least 1".to_owned());
        }
        if self.max_versions == 0 {
            add("max_versions", "must be at least 1".to_owned());
        }
        if self.connect_timeout.is_some_and(|t| t.is_zero()) {
            add("connect_timeout", "must be longer than 0s".to_owned());
        }
        let prefix = &self.table_prefix;
        if prefix.len() > MAX_TABLE_PREFIX_LEN {
            add("table_prefix", format!("is {} bytes, the limit is {MAX_TABLE_PREFIX_LEN}", prefix.len()));
        } else if let Some(bad) = prefix.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
            add("table_prefix", format!("{prefix:?} holds {bad:?}; allowed are letters, digits and '_'"));
        } else if prefix.starts_with(|c: char| c.is_ascii_digit()) {
            add("table_prefix", format!("{prefix:?} must not start with a digit"));
        }
        problems
    }

    /// Makes a relative SQLite file (`sqlite://hush.db`) relative to `config_dir`, like every
    /// other path in config.
    fn resolve_paths(&mut self, config_dir: &Path) {
        if let Some(rest) = self.url.strip_prefix("sqlite://")
            && !rest.is_empty()
            && !rest.starts_with('/')
            && !rest.starts_with(":memory:")
        {
            self.url = format!("sqlite://{}", config_dir.join(rest).display());
        }
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The rows the calls key by: the tables of `table_prefix` and the key columns, in the
    /// database at `url` with its password replaced by `***`.
    fn key_for(&self, scope: &Scope, name: &SecretName) -> Option<String> {
        let [heads, versions] = crate::schema::table_names(&self.table_prefix);
        let [tenant, namespace, name] = crate::backend::key_columns(scope, name);
        Some(format!(
            "rows of {heads} / {versions} where (tenant, namespace, name) = ({tenant:?}, {namespace:?}, {name:?}) in {}",
            redact_url(&self.url)
        ))
    }
}

impl fmt::Debug for SqlConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("connect_timeout", &self.connect_timeout)
            .field("table_prefix", &self.table_prefix)
            .field("max_versions", &self.max_versions)
            .finish()
    }
}

/// Query parameters that carry credentials in database URLs.
const SECRET_PARAMS: [&str; 4] = ["password", "pass", "sslpassword", "sslkey_password"];

/// Where the user-info part of `url` is: the byte range between `://` and the last `@`
/// of the authority.
fn userinfo_range(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://")? + 3;
    let authority_end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    let at = url[start..authority_end].rfind('@')? + start;
    Some((start, at))
}

/// The password of `url`, as written (percent-encoded) and decoded, for scrubbing
/// messages; empty passwords are `None`.
pub(crate) fn url_passwords(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some((start, at)) = userinfo_range(url)
        && let Some(colon) = url[start..at].find(':')
    {
        found.push(url[start + colon + 1..at].to_owned());
    }
    if let Some((_, query)) = url.split_once('?') {
        for pair in query.split('&') {
            if let Some((k, v)) = pair.split_once('=')
                && SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str())
            {
                found.push(v.to_owned());
            }
        }
    }
    let decoded: Vec<String> =
        found.iter().map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned()).collect();
    found.extend(decoded);
    found.retain(|p| !p.is_empty());
    found.sort();
    found.dedup();
    found
}

/// `url` with its password (in the user info or a `password=` parameter) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some((start, at)) = userinfo_range(url)
        && let Some(colon) = url[start..at].find(':')
    {
        out.replace_range(start + colon + 1..at, "***");
    }
    if let Some((base, query)) = out.clone().split_once('?') {
        let (query, fragment) = query.split_once('#').map_or((query, None), |(q, f)| (q, Some(f)));
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()) => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{base}?{}", pairs.join("&"));
        if let Some(fragment) = fragment {
            out.push('#');
            out.push_str(fragment);
        }
    }
    out
}

/// `text` with every password of `url` replaced by `***`.
pub(crate) fn scrub(text: &str, url: &str) -> String {
    let mut out = text.to_owned();
    for password in url_passwords(url) {
        out = out.replace(&password, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_humantime() {
        let config: SqlConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config, SqlConfig::default());
        assert_eq!(config.url, "sqlite://hush.db");
        assert_eq!(config.table_prefix, "hush_");
        let config: SqlConfig =
            serde_json::from_str(r#"{"url":"postgres://h/db","connect_timeout":"1m 30s","max_versions":3}"#).unwrap();
        assert_eq!(config.connect_timeout, Some(Duration::from_secs(90)));
        assert_eq!(config.max_versions, 3);
        assert!(serde_json::from_str::<SqlConfig>(r#"{"uri":"x"}"#).is_err());
        assert!(serde_json::from_str::<SqlConfig>(r#"{"connect_timeout":"soon"}"#).is_err());
    }

    #[test]
    fn debug_hides_passwords() {
        let config =
            SqlConfig::for_url("postgres://hush:s3cr%40t@db.internal:5432/hush?sslmode=require&password=other");
        let text = format!("{config:?}");
        assert!(!text.contains("s3cr"), "{text}");
        assert!(!text.contains("other"), "{text}");
        assert!(text.contains("postgres://hush:***@db.internal:5432/hush?sslmode=require&password=***"), "{text}");
    }

    #[test]
    fn redaction_edge_cases() {
        assert_eq!(redact_url("sqlite://hush.db"), "sqlite://hush.db");
        assert_eq!(redact_url("mysql://root@127.0.0.1/test"), "mysql://root@127.0.0.1/test");
        assert_eq!(redact_url("mysql://u:p@ss@h/db"), "mysql://u:***@h/db");
        assert_eq!(redact_url("postgres://u:pw@h/db?x=1#frag"), "postgres://u:***@h/db?x=1#frag");
        assert_eq!(url_passwords("postgres://u:a%2Fb@h/db"), ["a%2Fb", "a/b"]);
        assert!(url_passwords("postgres://u@h/db").is_empty());
        assert_eq!(scrub("failed for u:hunter2 and hunter2", "postgres://u:hunter2@h/db"), "failed for u:*** and ***");
    }

    fn keys(config: &SqlConfig) -> Vec<String> {
        config.problems().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn problems_name_their_keys() {
        assert!(SqlConfig::default().problems().is_empty());
        let mut c = SqlConfig { table_prefix: "drop table;".to_owned(), ..SqlConfig::default() };
        assert_eq!(keys(&c), ["table_prefix"]);
        c.table_prefix = "x".repeat(33);
        assert_eq!(keys(&c), ["table_prefix"]);
        c.table_prefix = "1x".to_owned();
        assert_eq!(keys(&c), ["table_prefix"]);
        c.table_prefix = String::new();
        assert!(c.problems().is_empty());
        let c = SqlConfig {
            max_versions: 0,
            max_connections: Some(0),
            connect_timeout: Some(Duration::ZERO),
            prefix: Some("hush/".into()),
            ..SqlConfig::default()
        };
        assert_eq!(keys(&c), ["prefix", "max_connections", "max_versions", "connect_timeout"]);
    }

    #[test]
    fn key_for_names_the_tables_and_columns_the_queries_use() {
        let scope = Scope::new("acme".parse().unwrap(), "company.team".parse().unwrap());
        let name: SecretName = "DB_PASSWORD".parse().unwrap();
        assert_eq!(
            SqlConfig::default().key_for(&scope, &name).unwrap(),
            r#"rows of hush_secrets / hush_secret_versions where (tenant, namespace, name) = ("acme", "company.team", "DB_PASSWORD") in sqlite://hush.db"#
        );
        let config = SqlConfig {
            table_prefix: "p_".to_owned(),
            ..SqlConfig::for_url("postgres://hush:hunter2@db/hush?password=hunter3")
        };
        let key = config.key_for(&scope, &name).unwrap();
        assert!(!key.contains("hunter"), "{key}");
        assert!(key.starts_with("rows of p_secrets / p_secret_versions where"), "{key}");
        assert!(key.ends_with(" in postgres://hush:***@db/hush?password=***"), "{key}");
        // The tables are those the queries name, the columns those they bind.
        let queries = crate::schema::Queries::new(crate::dialect::Dialect::Postgres, "p_");
        assert!(
            queries.get_latest.contains("FROM p_secret_versions WHERE tenant = $1 AND namespace = $2 AND name = $3")
        );
        assert!(queries.read_head.contains("FROM p_secrets WHERE tenant = $1 AND namespace = $2 AND name = $3"));
        assert_eq!(crate::backend::key_columns(&scope, &name), ["acme", "company.team", "DB_PASSWORD"]);
    }

    #[test]
    fn relative_sqlite_files_follow_the_config_file() {
        let dir = Path::new("/etc/hush");
        for (url, resolved) in [
            ("sqlite://hush.db", "sqlite:///etc/hush/hush.db"),
            ("sqlite:///var/lib/hush.db", "sqlite:///var/lib/hush.db"),
            ("sqlite://:memory:", "sqlite://:memory:"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("postgres://h/db", "postgres://h/db"),
        ] {
            let mut c = SqlConfig::for_url(url);
            c.resolve_paths(dir);
            assert_eq!(c.url, resolved);
        }
    }
}
