//! Test databases: a fresh SQLite file, or a uniquely named PostgreSQL or MariaDB database
//! created for one test and dropped after it, so parallel runs never collide.

#![allow(dead_code, reason = "each test binary uses a different part of the support module")]

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hush_backend_sql::{SqlBackend, SqlConfig, redact_url};
use hush_core::{AtRestCipher, Namespace, Scope, SecretName, TenantId};
use sqlx::{AnyPool, Connection, Executor, Row};
use tempfile::TempDir;

pub use hush_backend_behavior::at_rest::TestCipher;

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
    MySql,
}

impl Engine {
    fn admin_url(self) -> String {
        let (var, default) = match self {
            Engine::Sqlite => return String::new(),
            Engine::Postgres => ("HUSH_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
            Engine::MySql => ("HUSH_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
        };
        std::env::var(var).unwrap_or_else(|_| default.to_owned())
    }
}

/// One database for one test.
#[derive(Debug)]
pub struct TestDb {
    pub engine: Engine,
    /// The URL the backend connects to.
    pub url: String,
    admin_url: String,
    db_name: String,
    /// The SQLite file.
    pub path: Option<PathBuf>,
    _dir: Option<TempDir>,
}

/// Prints `skipped: <reason>` and returns `None`; under `CI=true` fails the test instead
/// ([`hush_backend_behavior::print_skip`]).
fn skip(reason: String) -> Option<TestDb> {
    hush_backend_behavior::print_skip(reason);
    None
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 6];
    getrandom(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn getrandom(buf: &mut [u8]) {
    use aes_gcm::aead::rand_core::RngCore;
    aes_gcm::aead::OsRng.fill_bytes(buf);
}

/// `url` with its database (the path) replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base[start..].find('/') {
        Some(slash) => &base[..start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

impl TestDb {
    /// Creates the database, or prints `skipped: <reason>` and returns `None` when the
    /// server is unreachable; under `CI=true` an unreachable server fails the test instead.
    pub async fn create(engine: Engine) -> Option<TestDb> {
        if engine == Engine::Sqlite {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("nested").join("hush.db");
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            return Some(TestDb {
                engine,
                url: format!("sqlite://{}", path.display()),
                admin_url: String::new(),
                db_name: String::new(),
                path: Some(path),
                _dir: Some(dir),
            });
        }
        let admin_url = engine.admin_url();
        let db_name = format!("hush_test_{}", random_suffix());
        let created = tokio::time::timeout(
            Duration::from_secs(5),
            admin_execute(engine, &admin_url, &format!("CREATE DATABASE {db_name}")),
        )
        .await;
        match created {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return skip(format!("{engine:?} at {} unreachable: {e}", redact_url(&admin_url))),
            Err(_) => return skip(format!("{engine:?} at {} did not answer", redact_url(&admin_url))),
        }
        let url = with_database(&admin_url, &db_name);
        Some(TestDb { engine, url, admin_url, db_name, path: None, _dir: None })
    }

    /// Drops the database (SQLite: the temp dir goes with `self`).
    pub async fn drop_db(&self) {
        let sql = match self.engine {
            Engine::Sqlite => return,
            Engine::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db_name),
            Engine::MySql => format!("DROP DATABASE IF EXISTS {}", self.db_name),
        };
        if let Err(e) = admin_execute(self.engine, &self.admin_url, &sql).await {
            eprintln!("could not drop test database {}: {e}", self.db_name);
        }
    }

    /// The default config for this database.
    pub fn config(&self) -> SqlConfig {
        SqlConfig::for_url(&self.url)
    }

    /// A backend named `test` over this database.
    pub async fn backend(&self, cipher: Arc<dyn AtRestCipher>) -> SqlBackend {
        self.backend_with(self.config(), cipher).await
    }

    /// A backend with `config` (its URL should be this database's).
    pub async fn backend_with(&self, config: SqlConfig, cipher: Arc<dyn AtRestCipher>) -> SqlBackend {
        SqlBackend::connect("test", config, cipher).await.expect("connect to the test database")
    }

    /// A raw pool for inspecting and tampering with rows (a SQLite file is created when
    /// missing, so a test can lay out a schema before the backend connects).
    pub async fn raw(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        let url = match self.engine {
            Engine::Sqlite => format!("{}?mode=rwc", self.url),
            _ => self.url.clone(),
        };
        sqlx::pool::PoolOptions::new().max_connections(2).connect(&url).await.expect("raw pool")
    }

    /// Placeholder number `n` (from 1) in this database's syntax.
    pub fn ph(&self, n: usize) -> String {
        match self.engine {
            Engine::Postgres => format!("${n}"),
            _ => "?".to_owned(),
        }
    }

    /// Every byte of the database as stored or dumped: the SQLite files; for servers the
    /// dump tool's output when it is on PATH, plus every column of every table read back
    /// as text (blobs as hex).
    pub async fn dump(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.engine {
            Engine::Sqlite => {
                let path = self.path.as_ref().unwrap();
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let file = PathBuf::from(format!("{}{suffix}", path.display()));
                    if let Ok(bytes) = std::fs::read(&file) {
                        out.extend(bytes);
                    }
                }
            }
            Engine::Postgres => {
                out.extend(run_tool(&["pg_dump"], &["--dbname", &self.url]).await);
                out.extend(self.select_everything().await);
            }
            Engine::MySql => {
                let (user, host, port) = mysql_parts(&self.url);
                let args = ["--hex-blob", "-h", &host, "-P", &port, "-u", &user, &self.db_name];
                out.extend(run_tool(&["mariadb-dump", "mysqldump"], &args).await);
                out.extend(self.select_everything().await);
            }
        }
        out
    }

    async fn select_everything(&self) -> Vec<u8> {
        let pool = self.raw().await;
        let columns_sql = match self.engine {
            Engine::Postgres => {
                "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = 'public'"
            }
            _ => {
                "SELECT CAST(TABLE_NAME AS CHAR(255)), CAST(COLUMN_NAME AS CHAR(255)) FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE()"
            }
        };
        let columns = sqlx::query(columns_sql).fetch_all(&pool).await.expect("list columns");
        assert!(!columns.is_empty(), "no columns found to dump");
        let mut out = Vec::new();
        for row in columns {
            let table: String = row.get(0);
            let column: String = row.get(1);
            let select = match self.engine {
                Engine::Postgres => format!("SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\""),
                _ => format!("SELECT HEX(`{column}`) FROM `{table}`"),
            };
            for value in sqlx::query(&select).fetch_all(&pool).await.expect("select column") {
                // MySQL reports long text (HEX of a MEDIUMBLOB) as a blob.
                let bytes = match value.try_get::<Option<String>, _>(0) {
                    Ok(text) => text.map(String::into_bytes),
                    Err(_) => value.get::<Option<Vec<u8>>, _>(0),
                };
                out.extend(bytes.unwrap_or_default());
                out.push(b'\n');
            }
        }
        pool.close().await;
        out
    }
}

/// (user, host, port) of a MySQL URL, for the dump tool.
fn mysql_parts(url: &str) -> (String, String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let (user, hostport) = authority.rsplit_once('@').unwrap_or(("root", authority));
    let user = user.split(':').next().unwrap_or("root").to_owned();
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "3306"));
    (user, host.to_owned(), port.to_owned())
}

/// The stdout of the first of `tools` found on PATH, or nothing.
async fn run_tool(tools: &[&str], args: &[&str]) -> Vec<u8> {
    for tool in tools {
        match tokio::process::Command::new(tool).args(args).output().await {
            Ok(output) if output.status.success() => {
                assert!(!output.stdout.is_empty(), "{tool} printed nothing");
                return output.stdout;
            }
            Ok(output) => panic!("{tool} failed: {}", String::from_utf8_lossy(&output.stderr)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("{tool} did not run: {e}"),
        }
    }
    eprintln!("no dump tool among {tools:?} on PATH: checking by SELECT only");
    Vec::new()
}

async fn admin_execute(engine: Engine, url: &str, sql: &str) -> Result<(), sqlx::Error> {
    match engine {
        Engine::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            conn.execute(sql).await?;
            conn.close().await
        }
        Engine::MySql => {
            let mut conn = sqlx::MySqlConnection::connect(url).await?;
            conn.execute(sql).await?;
            conn.close().await
        }
        Engine::Sqlite => Ok(()),
    }
}

/// Runs `body` against a fresh database of `engine`, then drops it, also when `body`
/// panics (the panic is then resumed). Prints `skipped: <reason>` when the server is down.
pub async fn run_on<F, Fut>(engine: Engine, body: F)
where
    F: FnOnce(Arc<TestDb>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = TestDb::create(engine).await else { return };
    let db = Arc::new(db);
    let result = tokio::spawn(body(Arc::clone(&db))).await;
    db.drop_db().await;
    if let Err(e) = result {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

/// A scope from text.
pub fn scope(tenant: &str, namespace: &str) -> Scope {
    Scope::new(TenantId::new(tenant).unwrap(), Namespace::new(namespace).unwrap())
}

/// A name from text.
pub fn name(text: &str) -> SecretName {
    SecretName::new(text).unwrap()
}

/// Declares each listed test body (`async fn body(db: Arc<TestDb>)`) once per engine, as
/// `sqlite::body`, `postgres::body` and `mysql::body`.
#[macro_export]
macro_rules! on_every_engine {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::support::run_on($crate::support::Engine::Sqlite, super::$test).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::support::run_on($crate::support::Engine::Postgres, super::$test).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::support::run_on($crate::support::Engine::MySql, super::$test).await;
                }
            )*
        }
    };
}
