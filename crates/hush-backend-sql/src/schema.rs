//! The schema: embedded per-dialect migrations applied at connect, and the queries the
//! backend runs, rendered once for its dialect and table prefix.
//!
//! Migrations are hush's own rather than `sqlx::migrate!`, because table names carry the
//! configured prefix and sqlx keeps one fixed bookkeeping table per database: two stores
//! with different prefixes in one database would trip over each other's history.

use std::time::{SystemTime, UNIX_EPOCH};

use hush_core::{Error, ErrorKind, Result};
use sqlx::{AnyConnection, Connection, Executor, Row};

use crate::dialect::Dialect;
use crate::error::parse_error;

/// One schema change, in each dialect.
struct Migration {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    mysql: &'static str,
}

impl Migration {
    fn sql(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
            Dialect::MySql => self.mysql,
        }
    }
}

/// Every migration, oldest first. Append only.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "secrets and sealed versions",
        sqlite: include_str!("../migrations/sqlite/0001_secrets.sql"),
        postgres: include_str!("../migrations/postgres/0001_secrets.sql"),
        mysql: include_str!("../migrations/mysql/0001_secrets.sql"),
    },
    Migration {
        version: 2,
        description: "at-rest AAD format per version (1: no tags bound, 2: tags bound)",
        sqlite: include_str!("../migrations/sqlite/0002_aad_format.sql"),
        postgres: include_str!("../migrations/postgres/0002_aad_format.sql"),
        mysql: include_str!("../migrations/mysql/0002_aad_format.sql"),
    },
];

/// The schema version this build writes.
pub(crate) fn newest_schema_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The statements of a migration file, with `{prefix}` replaced: `--` comment lines are
/// dropped and statements end with `;`.
fn statements(sql: &str, prefix: &str) -> Vec<String> {
    let without_comments: String =
        sql.lines().filter(|l| !l.trim_start().starts_with("--")).map(|l| format!("{l}\n")).collect();
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.replace("{prefix}", prefix))
        .collect()
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The migration lock's key: a name for MySQL, a number for PostgreSQL (FNV-1a of it).
fn lock_name(prefix: &str) -> String {
    format!("hush-migrate:{prefix}")
}

fn lock_key(prefix: &str) -> i64 {
    let hash = lock_name(prefix)
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    hash as i64
}

async fn run_lock_sql(conn: &mut AnyConnection, dialect: Dialect, sql: &'static str, prefix: &str) -> Result<i64> {
    let query = sqlx::query(sql);
    let query = match dialect {
        Dialect::Postgres => query.bind(lock_key(prefix)),
        _ => query.bind(lock_name(prefix)),
    };
    let row = query.fetch_one(&mut *conn).await.map_err(|e| parse_error(&e))?;
    let got: Option<i64> = row.try_get(0).map_err(|e| parse_error(&e))?;
    Ok(got.unwrap_or(0))
}

/// Brings the schema up to date on `conn`, holding a lock so concurrent starts of several
/// processes apply each migration once.
pub(crate) async fn migrate(conn: &mut AnyConnection, dialect: Dialect, prefix: &str) -> Result<()> {
    if let Some(lock) = dialect.lock_sql() {
        let got = run_lock_sql(conn, dialect, lock, prefix).await?;
        if got != 1 {
            return Err(Error::unavailable("another process held the schema migration lock for 60 s"));
        }
    }
    let result = apply(conn, dialect, prefix).await;
    if let Some(unlock) = dialect.unlock_sql() {
        let unlocked = run_lock_sql(conn, dialect, unlock, prefix).await;
        result?;
        unlocked?;
        return Ok(());
    }
    result
}

async fn apply(conn: &mut AnyConnection, dialect: Dialect, prefix: &str) -> Result<()> {
    let table = format!("{prefix}schema_migrations");
    let create = format!(
        "CREATE TABLE IF NOT EXISTS {table} (version BIGINT NOT NULL PRIMARY KEY, description VARCHAR(255) NOT NULL, \
         applied_at BIGINT NOT NULL)"
    );
    conn.execute(create.as_str()).await.map_err(|e| parse_error(&e))?;
    let newest = newest_schema_version();
    let applied: Option<i64> = sqlx::query(&format!("SELECT MAX(version) FROM {table}"))
        .fetch_one(&mut *conn)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|e| parse_error(&e))?;
    if let Some(applied) = applied
        && applied > newest
    {
        return Err(Error::new(
            ErrorKind::ConfigInvalid,
            format!("the database schema is at version {applied}, newer than this build of hush knows ({newest})"),
        ));
    }
    let check = dialect.placeholders(&format!("SELECT COUNT(*) FROM {table} WHERE version = ?"));
    let record =
        dialect.placeholders(&format!("INSERT INTO {table} (version, description, applied_at) VALUES (?, ?, ?)"));
    for migration in MIGRATIONS.iter().filter(|m| m.version > applied.unwrap_or(0)) {
        let mut tx = conn.begin_with(dialect.begin_write()).await.map_err(|e| parse_error(&e))?;
        // Checked again inside the transaction: SQLite has no lock but the transaction's.
        let done: i64 = sqlx::query(&check)
            .bind(migration.version)
            .fetch_one(&mut *tx)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| parse_error(&e))?;
        if done > 0 {
            continue;
        }
        for statement in statements(migration.sql(dialect), prefix) {
            tx.execute(statement.as_str()).await.map_err(|e| {
                let e = parse_error(&e);
                Error::new(e.kind(), format!("schema migration {} failed: {}", migration.version, e.message()))
            })?;
        }
        sqlx::query(&record)
            .bind(migration.version)
            .bind(migration.description)
            .bind(unix_now())
            .execute(&mut *tx)
            .await
            .map_err(|e| parse_error(&e))?;
        tx.commit().await.map_err(|e| parse_error(&e))?;
    }
    Ok(())
}

/// Every statement the backend runs, rendered for one dialect and prefix.
#[derive(Debug)]
pub(crate) struct Queries {
    pub(crate) ping: String,
    pub(crate) get_latest: String,
    pub(crate) get_version: String,
    pub(crate) list_flat: String,
    pub(crate) list_recursive: String,
    pub(crate) upsert_head: String,
    pub(crate) read_head: String,
    pub(crate) insert_version: String,
    pub(crate) prune: String,
    pub(crate) delete_head: String,
    pub(crate) delete_versions: String,
    pub(crate) stale_batch: String,
    pub(crate) reseal: String,
    pub(crate) key_usage: String,
}

/// The tables of `prefix`: `<prefix>secrets` (one head row per secret) and
/// `<prefix>secret_versions` (one row per version), the tables every query names.
pub(crate) fn table_names(prefix: &str) -> [String; 2] {
    [format!("{prefix}secrets"), format!("{prefix}secret_versions")]
}

impl Queries {
    pub(crate) fn new(dialect: Dialect, prefix: &str) -> Self {
        let [heads, versions] = table_names(prefix);
        let key = "tenant = ? AND namespace = ? AND name = ?";
        let list = |condition: &str| {
            format!(
                "SELECT s.namespace, s.name, s.latest_version, s.updated_at, v.tags FROM {heads} s \
                 JOIN {versions} v ON v.tenant = s.tenant AND v.namespace = s.namespace AND v.name = s.name \
                 AND v.version = s.latest_version \
                 WHERE s.tenant = ? AND {condition} ORDER BY s.namespace, s.name"
            )
        };
        let recursive = format!("(s.namespace = ? OR {})", dialect.descendant_condition("s.namespace"));
        let render = |sql: String| dialect.placeholders(&sql);
        Self {
            ping: "SELECT 1".to_owned(),
            get_latest: render(format!(
                "SELECT version, key_id, nonce, ciphertext, tags, aad_format FROM {versions} WHERE {key} \
                 ORDER BY version DESC LIMIT 1"
            )),
            get_version: render(format!(
                "SELECT version, key_id, nonce, ciphertext, tags, aad_format FROM {versions} WHERE {key} AND version = ?"
            )),
            list_flat: render(list("s.namespace = ?")),
            list_recursive: render(list(&recursive)),
            upsert_head: render(dialect.upsert_head(&heads)),
            read_head: render(format!("SELECT latest_version FROM {heads} WHERE {key}")),
            insert_version: render(format!(
                "INSERT INTO {versions} \
                 (tenant, namespace, name, version, key_id, aad_format, nonce, ciphertext, tags, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            )),
            prune: render(format!("DELETE FROM {versions} WHERE {key} AND version <= ?")),
            delete_head: render(format!("DELETE FROM {heads} WHERE {key}")),
            delete_versions: render(format!("DELETE FROM {versions} WHERE {key}")),
            stale_batch: render(format!(
                "SELECT tenant, namespace, name, version, key_id, nonce, ciphertext, tags, aad_format FROM {versions} \
                 WHERE (key_id <> ? OR aad_format <> ?) AND (tenant, namespace, name, version) > (?, ?, ?, ?) \
                 ORDER BY tenant, namespace, name, version LIMIT ?"
            )),
            reseal: render(format!(
                "UPDATE {versions} SET key_id = ?, aad_format = ?, nonce = ?, ciphertext = ? \
                 WHERE {key} AND version = ? AND key_id = ? AND nonce = ?"
            )),
            key_usage: format!("SELECT key_id, COUNT(*) FROM {versions} GROUP BY key_id ORDER BY key_id"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_files_split_into_statements() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
            for migration in MIGRATIONS {
                let statements = statements(migration.sql(dialect), "p_");
                assert!(!statements.is_empty());
                assert!(statements.iter().all(|s| !s.contains("{prefix}") && !s.contains("--")));
            }
            let first = statements(MIGRATIONS[0].sql(dialect), "p_");
            assert!(first[0].starts_with("CREATE TABLE IF NOT EXISTS p_secrets"), "{}", first[0]);
            let second = statements(MIGRATIONS[1].sql(dialect), "p_");
            assert_eq!(second.len(), 1);
            assert!(second[0].starts_with("ALTER TABLE p_secret_versions ADD COLUMN aad_format"), "{}", second[0]);
            assert!(second[0].ends_with("NOT NULL DEFAULT 1"), "{}", second[0]);
        }
        assert!(MIGRATIONS.windows(2).all(|w| w[1].version == w[0].version + 1));
        assert_eq!(newest_schema_version(), 2);
    }

    #[test]
    fn queries_use_the_prefix_and_dialect() {
        let q = Queries::new(Dialect::Postgres, "x_");
        assert!(q.get_latest.contains("FROM x_secret_versions WHERE tenant = $1 AND namespace = $2 AND name = $3"));
        assert!(q.list_recursive.contains("s.namespace LIKE $3 ESCAPE '!'"), "{}", q.list_recursive);
        let q = Queries::new(Dialect::Sqlite, "");
        assert!(q.list_recursive.contains("s.namespace GLOB ?"));
        assert!(q.reseal.starts_with("UPDATE secret_versions SET"));
    }

    #[test]
    fn lock_keys_differ_by_prefix() {
        assert_ne!(lock_key("a_"), lock_key("b_"));
        assert_eq!(lock_key("hush_"), lock_key("hush_"));
    }
}
