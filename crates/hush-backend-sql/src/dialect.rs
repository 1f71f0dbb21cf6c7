//! The few places SQLite, PostgreSQL and MySQL differ: the URL scheme, placeholders,
//! descendant-namespace matching, and the lock that serialises migrations.
//!
//! Everything else (queries, schema shape, transactions) is one code path over
//! `sqlx::Any`.

use hush_core::{Error, ErrorKind, Namespace, Result};

/// A database family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
    MySql,
}

impl Dialect {
    /// The dialect of a database URL, by its scheme.
    pub(crate) fn from_url(url: &str) -> Result<Self> {
        let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase()).unwrap_or_default();
        match scheme.as_str() {
            "sqlite" => Ok(Dialect::Sqlite),
            "postgres" | "postgresql" => Ok(Dialect::Postgres),
            "mysql" | "mariadb" => Ok(Dialect::MySql),
            _ => Err(Error::new(
                ErrorKind::ConfigInvalid,
                format!("database URL scheme {scheme:?} is not one of sqlite, postgres, postgresql, mysql, mariadb"),
            )),
        }
    }

    /// The dialect's name, for messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::MySql => "mysql",
        }
    }

    /// The URL sqlx is given: `mariadb:` becomes `mysql:`, and a SQLite file is created
    /// when missing (`mode=rwc`) unless the URL says otherwise.
    pub(crate) fn driver_url(self, url: &str) -> String {
        match self {
            Dialect::MySql => match url.split_once(':') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => format!("mysql:{rest}"),
                _ => url.to_owned(),
            },
            Dialect::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        }
    }

    /// Whether `url` names a SQLite database that lives in memory only.
    pub(crate) fn is_memory(self, url: &str) -> bool {
        self == Dialect::Sqlite && (url.contains(":memory:") || url.contains("mode=memory"))
    }

    /// `sql` with its `?` placeholders in this dialect's form: `$1, $2, ...` for
    /// PostgreSQL, unchanged elsewhere. Queries hold no `?` inside string literals.
    pub(crate) fn placeholders(self, sql: &str) -> String {
        if self != Dialect::Postgres {
            return sql.to_owned();
        }
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// A condition on column `column` matching the descendants of a namespace by segment,
    /// with one placeholder for [`descendant_pattern`](Self::descendant_pattern).
    ///
    /// One statement that creates the head row of a secret at version 1, or bumps an existing
    /// one's version: it takes the row's lock at once, so concurrent writers of one name queue
    /// on it instead of racing to insert (no unique violation to retry). `?` placeholders:
    /// tenant, namespace, name, updated_at.
    pub(crate) fn upsert_head(self, heads: &str) -> String {
        let insert =
            format!("INSERT INTO {heads} (tenant, namespace, name, latest_version, updated_at) VALUES (?, ?, ?, 1, ?)");
        match self {
            Dialect::Sqlite | Dialect::Postgres => format!(
                "{insert} ON CONFLICT (tenant, namespace, name) DO UPDATE SET \
                 latest_version = {heads}.latest_version + 1, updated_at = excluded.updated_at"
            ),
            Dialect::MySql => format!(
                "{insert} ON DUPLICATE KEY UPDATE latest_version = latest_version + 1, updated_at = VALUES(updated_at)"
            ),
        }
    }

    /// SQLite's `LIKE` ignores ASCII case, so SQLite uses `GLOB` (case-sensitive); the
    /// others use `LIKE` with `!` as escape character, since `_` is a wildcard there.
    pub(crate) fn descendant_condition(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{column} GLOB ?"),
            Dialect::Postgres | Dialect::MySql => format!("{column} LIKE ? ESCAPE '!'"),
        }
    }

    /// The pattern matching every namespace below `namespace`: `a.b` gives `a.b.*` (or
    /// `a.b.%`), which `a.bc` does not match.
    pub(crate) fn descendant_pattern(self, namespace: &Namespace) -> String {
        match self {
            // Namespaces hold no GLOB metacharacter (`*`, `?`, `[`).
            Dialect::Sqlite => format!("{namespace}.*"),
            Dialect::Postgres | Dialect::MySql => {
                let mut pattern = String::with_capacity(namespace.as_str().len() + 4);
                for c in namespace.as_str().chars() {
                    if matches!(c, '!' | '%' | '_') {
                        pattern.push('!');
                    }
                    pattern.push(c);
                }
                pattern.push_str(".%");
                pattern
            }
        }
    }

    /// The statement that takes the migration lock (`None`: the migration transaction
    /// itself locks, as SQLite's `BEGIN IMMEDIATE` does), binding the lock key.
    pub(crate) fn lock_sql(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            // pg_advisory_lock returns void, which sqlx's Any driver cannot decode.
            Dialect::Postgres => Some("SELECT COUNT(*) FROM (SELECT pg_advisory_lock($1)) AS hush_lock"),
            Dialect::MySql => Some("SELECT GET_LOCK(?, 60)"),
        }
    }

    /// The statement that releases the migration lock.
    pub(crate) fn unlock_sql(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SELECT COUNT(*) FROM (SELECT pg_advisory_unlock($1)) AS hush_lock"),
            Dialect::MySql => Some("SELECT RELEASE_LOCK(?)"),
        }
    }

    /// The statement that opens a write transaction.
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            // Take SQLite's write lock at once, so two writers wait (busy timeout) instead
            // of failing when a reader upgrades.
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres | Dialect::MySql => "BEGIN",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(Dialect::from_url("sqlite://hush.db").unwrap(), Dialect::Sqlite);
        assert_eq!(Dialect::from_url("sqlite::memory:").unwrap(), Dialect::Sqlite);
        assert_eq!(Dialect::from_url("PostgreSQL://h/db").unwrap(), Dialect::Postgres);
        assert_eq!(Dialect::from_url("mariadb://h/db").unwrap(), Dialect::MySql);
        let err = Dialect::from_url("oracle://h/db").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
        assert!(Dialect::from_url("no scheme").is_err());
    }

    #[test]
    fn driver_urls() {
        assert_eq!(Dialect::Sqlite.driver_url("sqlite://hush.db"), "sqlite://hush.db?mode=rwc");
        assert_eq!(Dialect::Sqlite.driver_url("sqlite://h.db?cache=shared"), "sqlite://h.db?cache=shared&mode=rwc");
        assert_eq!(Dialect::Sqlite.driver_url("sqlite://h.db?mode=ro"), "sqlite://h.db?mode=ro");
        assert_eq!(Dialect::Sqlite.driver_url("sqlite::memory:"), "sqlite::memory:");
        assert!(Dialect::Sqlite.is_memory("sqlite::memory:"));
        assert!(!Dialect::Postgres.is_memory("postgres://h/:memory:"));
        assert_eq!(Dialect::MySql.driver_url("mariadb://u@h/db"), "mysql://u@h/db");
    }

    #[test]
    fn placeholders() {
        let sql = "SELECT a FROM t WHERE x = ? AND y = ? LIMIT ?";
        assert_eq!(Dialect::Postgres.placeholders(sql), "SELECT a FROM t WHERE x = $1 AND y = $2 LIMIT $3");
        assert_eq!(Dialect::MySql.placeholders(sql), sql);
        assert_eq!(Dialect::Sqlite.placeholders(sql), sql);
    }

    #[test]
    fn descendant_patterns_escape_wildcards() {
        let ns = Namespace::new("a_b.c-d").unwrap();
        assert_eq!(Dialect::Postgres.descendant_pattern(&ns), "a!_b.c-d.%");
        assert_eq!(Dialect::MySql.descendant_pattern(&ns), "a!_b.c-d.%");
        assert_eq!(Dialect::Sqlite.descendant_pattern(&ns), "a_b.c-d.*");
        assert_eq!(Dialect::Sqlite.descendant_condition("s.namespace"), "s.namespace GLOB ?");
    }
}
