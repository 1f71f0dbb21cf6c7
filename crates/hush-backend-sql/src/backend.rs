//! The SQL store: one pool over `sqlx::Any`, values sealed by the at-rest cipher.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hush_core::{
    AtRestAad, AtRestCipher, AtRestFormat, BackendInfo, Capabilities, DEFAULT_CALL_TIMEOUT, Error, ErrorKind,
    KindConfig, ListFilter, Namespace, Result, Scope, SealedRecord, Secret, SecretBackend, SecretMeta, SecretName,
    SecretValue, Tags, VersionId, refuse_problems,
};
use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Row};

use crate::KIND;
use crate::config::{SqlConfig, redact_url, scrub};
use crate::dialect::Dialect;
use crate::error::parse_error;
use crate::schema::{Queries, migrate};

/// The encrypted SQL store: SQLite (the embedded default), PostgreSQL or MySQL/MariaDB.
///
/// Key mapping: (tenant, namespace, name) are three columns of `<prefix>secrets` (one row
/// per secret) and `<prefix>secret_versions` (one row per version); no string is joined,
/// so the mapping is injective by construction. Each version row holds the key id, AAD
/// format, nonce and ciphertext from the [`AtRestCipher`], sealed with AAD (tenant,
/// namespace, name, version, tags); no plaintext value reaches the database. Rows stored
/// before tags were bound (format 1) stay readable until [`SqlBackend::rekey`] migrates
/// them. Versions are decimal numbers from 1; the latest is the highest; at most
/// `max_versions` are kept.
pub struct SqlBackend {
    pub(crate) info: BackendInfo,
    pub(crate) pool: AnyPool,
    pub(crate) dialect: Dialect,
    pub(crate) queries: Arc<Queries>,
    pub(crate) cipher: Arc<dyn AtRestCipher>,
    max_versions: i64,
    /// SQLite's writers in this process, one at a time (see [`Writer`]); `None` elsewhere.
    sqlite_writer: Option<Arc<tokio::sync::Mutex<()>>>,
    shown_url: String,
    table_prefix: String,
}

/// Why a write stopped: a database error (mapped by `error.rs`; a lost race is a temporary
/// error the retry layer retries) or a hush error (returned as is).
pub(crate) enum Attempt {
    Db(sqlx::Error),
    Fail(Error),
}

impl From<sqlx::Error> for Attempt {
    fn from(e: sqlx::Error) -> Self {
        Attempt::Db(e)
    }
}

/// Readies the database on one pooled connection: SQLite's WAL journal, then the schema.
/// Connection errors go through `fail` (naming the database); migration errors name backend
/// `name` only.
async fn prepare(
    pool: &AnyPool,
    (name, dialect, table_prefix): (&str, Dialect, &str),
    fail: &(dyn Fn(Error) -> Error + Sync),
) -> Result<()> {
    let mut conn = pool.acquire().await.map_err(|e| fail(parse_error(&e)))?;
    if dialect == Dialect::Sqlite {
        // Switching to WAL needs the database to itself; once one start has done it (the
        // mode is kept in the file), the others only read it, so concurrent starts on one
        // file do not collide on the switch.
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| fail(parse_error(&e)))?;
        if !mode.eq_ignore_ascii_case("wal") {
            conn.execute("PRAGMA journal_mode = WAL").await.map_err(|e| fail(parse_error(&e)))?;
        }
    }
    migrate(&mut conn, dialect, table_prefix).await.map_err(|e| e.with_context("backend", name))
}

impl SqlBackend {
    /// Connects, creates the schema or brings it up to date, and returns the backend.
    ///
    /// A SQLite file is created when missing and switched to the WAL journal. An
    /// unreachable database is `Unavailable`, a wrong password `PermissionDenied`, a bad
    /// URL `ConfigInvalid`; messages name the database by its URL with the password
    /// replaced by `***`.
    pub async fn connect(name: &str, config: SqlConfig, cipher: Arc<dyn AtRestCipher>) -> Result<SqlBackend> {
        refuse_problems(name, &config.problems())?;
        let dialect = Dialect::from_url(&config.url).map_err(|e| e.with_context("backend", name))?;
        sqlx::any::install_default_drivers();
        let shown_url = redact_url(&config.url);
        let fail = |e: Error| {
            let message = format!("cannot connect to {} database {shown_url}: {}", dialect.name(), e.message());
            Error::new(e.kind(), scrub(&message, &config.url))
                .set_temporary(e.is_temporary())
                .with_context("backend", name)
        };
        let options =
            AnyConnectOptions::from_str(&dialect.driver_url(&config.url)).map_err(|e| fail(parse_error(&e)))?;

        // A direct first connection reports the real cause (refused, wrong password, no
        // such database); the pool retries refused connections and reports a timeout only.
        let connect_timeout = config.connect_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT);
        let probe = tokio::time::timeout(connect_timeout, AnyConnection::connect_with(&options))
            .await
            .map_err(|_| fail(Error::unavailable(format!("no answer within {connect_timeout:?}"))))?
            .map_err(|e| fail(parse_error(&e)))?;
        let _ = probe.close().await;

        let memory = dialect.is_memory(&config.url);
        let mut pool_options = AnyPoolOptions::new()
            .max_connections(match (memory, dialect) {
                (true, _) => 1,
                (false, Dialect::Sqlite) => config.max_connections.unwrap_or(2),
                (false, _) => config.max_connections.unwrap_or(10),
            })
            .acquire_timeout(connect_timeout);
        if memory {
            // One connection that never closes: it is the database.
            pool_options = pool_options.min_connections(1).idle_timeout(None).max_lifetime(None);
        }
        let pool = pool_options.connect_lazy_with(options);
        // Replicas starting together on one database race for SQLite's write lock (the WAL
        // switch, a migration): a lost race is temporary and tried again, with backoff,
        // until the connect timeout, so every start opens rather than one reporting "busy".
        let deadline = tokio::time::Instant::now() + connect_timeout;
        let mut backoff = std::time::Duration::from_millis(10);
        loop {
            match prepare(&pool, (name, dialect, &config.table_prefix), &fail).await {
                Ok(()) => break,
                Err(e) if e.is_temporary() && tokio::time::Instant::now() + backoff < deadline => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(std::time::Duration::from_millis(250));
                }
                Err(e) => return Err(e),
            }
        }

        Ok(SqlBackend {
            info: BackendInfo { kind: KIND, name: name.to_owned(), capabilities: Capabilities::full() },
            pool,
            dialect,
            queries: Arc::new(Queries::new(dialect, &config.table_prefix)),
            cipher,
            max_versions: i64::from(config.max_versions),
            sqlite_writer: (dialect == Dialect::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(()))),
            shown_url,
            table_prefix: config.table_prefix,
        })
    }

    /// Closes every pooled connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// What a write needs, owned, for the task it runs in.
    fn writer(&self) -> Writer {
        Writer {
            pool: self.pool.clone(),
            dialect: self.dialect,
            queries: Arc::clone(&self.queries),
            cipher: Arc::clone(&self.cipher),
            max_versions: self.max_versions,
            sqlite_writer: self.sqlite_writer.clone(),
        }
    }

    /// The hush error of a failed write.
    fn failed(&self, attempt: Attempt, operation: &'static str) -> Error {
        match attempt {
            Attempt::Db(e) => self.db_error(&e, operation),
            Attempt::Fail(e) => e,
        }
    }

    /// The hush error for a database error during `operation`.
    pub(crate) fn db_error(&self, err: &sqlx::Error, operation: &'static str) -> Error {
        parse_error(err).with_context("backend", &self.info.name).with_context("operation", operation)
    }

    fn meta_from_row(&self, row: &AnyRow) -> Result<SecretMeta, sqlx::Error> {
        let namespace = Namespace::new(text_column(row, 0)?).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let name = SecretName::new(text_column(row, 1)?).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let version: i64 = row.try_get(2)?;
        let updated_at: i64 = row.try_get(3)?;
        let tags = parse_tags(&text_column(row, 4)?)?;
        let version = VersionId::new(version.to_string()).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok(SecretMeta { namespace, name, version: Some(version), tags, updated_at: Some(updated_at) })
    }
}

/// The key of a secret: its (tenant, namespace, name) columns, in that order.
pub(crate) fn key_columns<'a>(scope: &'a Scope, name: &'a SecretName) -> [&'a str; 3] {
    [scope.tenant.as_str(), scope.namespace.as_str(), name.as_str()]
}

/// A query bound to (tenant, namespace, name), the key of a secret.
pub(crate) fn key_query<'q>(sql: &'q str, scope: &'q Scope, name: &'q SecretName) -> Query<'q, Any, AnyArguments<'q>> {
    let [tenant, namespace, name] = key_columns(scope, name);
    sqlx::query(sql).bind(tenant).bind(namespace).bind(name)
}

/// What a write needs, owned: each write runs in a task of its own, so a caller that gives up
/// (hush's timeout layer, a request timeout) cannot cancel it between `BEGIN` and `COMMIT`.
/// sqlx 0.8 leaves a connection whose transaction future was dropped at some of its awaits
/// inside that transaction (transact-rs/sqlx#3932 for SQLite, #4385 for PostgreSQL); the
/// pool hands it out again and every later write on it fails. A write its caller gave up on
/// still commits or rolls back, like one whose answer was lost.
///
/// SQLite has one writer at a time: writers of this process queue on `sqlite_writer` before
/// `BEGIN IMMEDIATE` rather than in SQLite's busy handler, whose sleeps (up to 100 ms each)
/// made 64 concurrent deletes miss a 2 s timeout although each takes about a millisecond.
struct Writer {
    pool: AnyPool,
    dialect: Dialect,
    queries: Arc<Queries>,
    cipher: Arc<dyn AtRestCipher>,
    max_versions: i64,
    sqlite_writer: Option<Arc<tokio::sync::Mutex<()>>>,
}

impl Writer {
    /// Waits for this process's other SQLite writers; nothing for the other databases.
    async fn one_writer(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.sqlite_writer {
            Some(lock) => Some(Arc::clone(lock).lock_owned().await),
            None => None,
        }
    }

    /// Writes the next version of a secret in one transaction: the head row is created or
    /// bumped first (its lock orders concurrent writers of one name), then the version row.
    /// One attempt: a lost race (deadlock, serialization failure, busy) is a temporary
    /// `Conflict` or `Unavailable`, which the retry layer retries.
    async fn write_version(
        &self,
        scope: &Scope,
        name: &SecretName,
        value: &SecretValue,
        tags: &Tags,
        tags_json: &str,
        now: i64,
    ) -> Result<i64, Attempt> {
        let q = &self.queries;
        let _one_writer = self.one_writer().await;
        let mut tx = self.pool.begin_with(self.dialect.begin_write()).await?;
        key_query(&q.upsert_head, scope, name).bind(now).execute(&mut *tx).await?;
        let version: i64 = key_query(&q.read_head, scope, name).fetch_one(&mut *tx).await?.try_get(0)?;
        let version_text = version.to_string();
        let sealed = self.cipher.seal(aad(scope, name, &version_text, tags), value).map_err(Attempt::Fail)?;
        let [tenant, namespace, key_name] = key_columns(scope, name);
        sqlx::query(&q.insert_version)
            .bind(tenant)
            .bind(namespace)
            .bind(key_name)
            .bind(version)
            .bind(i64::from(sealed.key_id))
            .bind(sealed.format.number())
            .bind(&sealed.nonce[..])
            .bind(&sealed.ciphertext[..])
            .bind(tags_json)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if version > self.max_versions {
            key_query(&q.prune, scope, name).bind(version - self.max_versions).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(version)
    }

    async fn delete_rows(&self, scope: &Scope, name: &SecretName) -> Result<bool, Attempt> {
        let _one_writer = self.one_writer().await;
        let mut tx = self.pool.begin_with(self.dialect.begin_write()).await?;
        let heads = key_query(&self.queries.delete_head, scope, name).execute(&mut *tx).await?.rows_affected();
        if heads == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        key_query(&self.queries.delete_versions, scope, name).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Runs a write in its own task (see [`Writer`]).
async fn detached<T: Send + 'static>(
    write: impl std::future::Future<Output = Result<T, Attempt>> + Send + 'static,
) -> Result<T, Attempt> {
    tokio::spawn(write).await.unwrap_or_else(|e| {
        Err(Attempt::Fail(Error::new(ErrorKind::Internal, format!("the write's task ended abnormally: {e}"))))
    })
}

/// What a sealed value of (scope, name, version) with `tags` is bound to.
pub(crate) fn aad<'a>(scope: &'a Scope, name: &'a SecretName, version: &'a str, tags: &'a Tags) -> AtRestAad<'a> {
    AtRestAad { tenant: scope.tenant.as_str(), namespace: scope.namespace.as_str(), name: name.as_str(), version, tags }
}

/// The format stored in a row's `aad_format` column.
pub(crate) fn stored_format(number: i64) -> Result<AtRestFormat> {
    AtRestFormat::from_number(number).ok_or_else(|| {
        Error::new(ErrorKind::Internal, format!("stored at-rest format {number} is not one this build knows (1 or 2)"))
            .set_temporary(false)
    })
}

/// The error of a stored value that did not open: the cipher's own error when its key is not
/// in the ring, else a message saying what can have changed. Never any value byte.
pub(crate) fn does_not_open(error: Error, backend: &str, scope: &Scope, name: &SecretName, version: &str) -> Error {
    let error = if error.kind() == ErrorKind::ConfigInvalid {
        error
    } else {
        Error::new(
            ErrorKind::Internal,
            format!(
                "the stored value of {name} version {version} in {scope} does not open: its row was changed in the \
                 database (tags, name, version or sealed bytes), or sealed by another key ring"
            ),
        )
        .set_temporary(false)
    };
    error.with_context("backend", backend).with_context("secret", format!("{scope}/{name}"))
}

/// A column holding text: MySQL reports `TEXT` columns as blobs, the others as text.
pub(crate) fn text_column(row: &AnyRow, index: usize) -> Result<String, sqlx::Error> {
    match row.try_get::<String, _>(index) {
        Ok(text) => Ok(text),
        Err(_) => {
            let bytes: Vec<u8> = row.try_get(index)?;
            String::from_utf8(bytes).map_err(|e| sqlx::Error::Decode(Box::new(e)))
        }
    }
}

pub(crate) fn parse_tags(json: &str) -> Result<Tags, sqlx::Error> {
    serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl fmt::Debug for SqlBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlBackend")
            .field("name", &self.info.name)
            .field("dialect", &self.dialect)
            .field("url", &self.shown_url)
            .field("table_prefix", &self.table_prefix)
            .field("max_versions", &self.max_versions)
            .finish()
    }
}

#[async_trait]
impl SecretBackend for SqlBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        let missing = || Error::secret_not_found(scope, name, version);
        let row = match version {
            None => key_query(&self.queries.get_latest, scope, name).fetch_optional(&self.pool).await,
            Some(v) => {
                let Some(number) = v.number().and_then(|n| i64::try_from(n).ok()) else { return Err(missing()) };
                key_query(&self.queries.get_version, scope, name).bind(number).fetch_optional(&self.pool).await
            }
        }
        .map_err(|e| self.db_error(&e, "get"))?;
        let row = row.ok_or_else(missing)?;
        let decode = |e: sqlx::Error| self.db_error(&e, "get");
        let number: i64 = row.try_get(0).map_err(decode)?;
        let key_id: i64 = row.try_get(1).map_err(decode)?;
        let format: i64 = row.try_get(5).map_err(decode)?;
        let record = SealedRecord {
            key_id: u32::try_from(key_id).map_err(|_| {
                Error::new(ErrorKind::Internal, format!("stored key id {key_id} of {name} in {scope} is out of range"))
            })?,
            format: stored_format(format)?,
            nonce: row.try_get(2).map_err(decode)?,
            ciphertext: row.try_get(3).map_err(decode)?,
        };
        let tags = text_column(&row, 4).and_then(|t| parse_tags(&t)).map_err(decode)?;
        let version_text = number.to_string();
        let value = self
            .cipher
            .open(aad(scope, name, &version_text, &tags), &record)
            .map_err(|e| does_not_open(e, &self.info.name, scope, name, &version_text))?;
        let version = VersionId::new(version_text)?;
        Ok(Secret { value, version: Some(version), tags })
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let (tenant, namespace) = (scope.tenant.as_str(), scope.namespace.as_str());
        let rows = if filter.recursive {
            sqlx::query(&self.queries.list_recursive)
                .bind(tenant)
                .bind(namespace)
                .bind(self.dialect.descendant_pattern(&scope.namespace))
                .fetch_all(&self.pool)
                .await
        } else {
            sqlx::query(&self.queries.list_flat).bind(tenant).bind(namespace).fetch_all(&self.pool).await
        }
        .map_err(|e| self.db_error(&e, "list"))?;
        let mut listed = Vec::with_capacity(rows.len());
        for row in &rows {
            let meta = self.meta_from_row(row).map_err(|e| self.db_error(&e, "list"))?;
            // The SQL already narrowed; this keeps the contract whatever a collation does.
            let inside = if filter.recursive {
                scope.namespace.is_self_or_ancestor_of(&meta.namespace)
            } else {
                meta.namespace == scope.namespace
            };
            if inside && meta.tags.contains_all(&filter.tags) {
                listed.push(meta);
            }
        }
        listed.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Ok(listed)
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        let tags_json = serde_json::to_string(&tags)
            .map_err(|e| Error::new(ErrorKind::Internal, format!("tags of {name} do not serialise: {e}")))?;
        let now = unix_now();
        let (writer, owned) = (self.writer(), (scope.clone(), name.clone(), tags.clone()));
        let write = async move {
            let (scope, name, tags) = owned;
            writer.write_version(&scope, &name, &value, &tags, &tags_json, now).await
        };
        let version = detached(write).await.map_err(|e| self.failed(e, "put"))?;
        Ok(SecretMeta {
            namespace: scope.namespace.clone(),
            name: name.clone(),
            version: Some(VersionId::new(version.to_string())?),
            tags,
            updated_at: Some(now),
        })
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        let (writer, scope_owned, name_owned) = (self.writer(), scope.clone(), name.clone());
        let delete = async move { writer.delete_rows(&scope_owned, &name_owned).await };
        if detached(delete).await.map_err(|e| self.failed(e, "delete"))? {
            Ok(())
        } else {
            Err(Error::not_found(format!("secret {name} not found in {scope}")))
        }
    }

    async fn check(&self) -> Result<()> {
        sqlx::query(&self.queries.ping).execute(&self.pool).await.map_err(|e| self.db_error(&e, "check"))?;
        Ok(())
    }
}
