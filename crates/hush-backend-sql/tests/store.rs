//! The SQL store against real SQLite, PostgreSQL and MariaDB: the shared behaviour suite,
//! no plaintext at rest, AAD binding, rekey, failed writes, pruning, migrations.

mod support;

use std::sync::Arc;

use hush_backend_sql::{SqlBackend, SqlConfig};
use hush_core::{ErrorKind, ListFilter, SecretBackend, SecretValue, Tags, VersionId};
use sqlx::Row;
use support::{Engine, TestCipher, TestDb, name, scope};

on_every_engine!(
    behaviour_suite,
    no_plaintext_anywhere_in_the_database,
    sealed_columns_moved_to_another_secret_fail_to_open,
    rekey_reseals_every_row_under_the_newest_key,
    failed_write_leaves_the_old_value,
    old_versions_are_pruned,
    reconnects_and_concurrent_starts_share_the_schema,
    table_prefixes_keep_stores_apart,
    concurrent_first_writes_get_every_version_once,
    writes_cancelled_at_any_point_leave_no_connection_in_a_transaction,
);

async fn behaviour_suite(db: Arc<TestDb>) {
    let backend = db.backend(TestCipher::new(1)).await;
    let report = hush_backend_behavior::run(Arc::new(backend)).await;
    report.assert_ok();
    // A full backend skips only the trials for missing capabilities and for seeded secrets.
    assert!(
        report.skipped.iter().all(|s| s.reason.starts_with("backend has") || s.reason.starts_with("no seeded")),
        "a trial was skipped: {report}"
    );
    assert!(report.passed.len() >= 23, "{report}");
}

fn hex(bytes: &[u8], upper: bool) -> Vec<u8> {
    bytes.iter().flat_map(|b| if upper { format!("{b:02X}") } else { format!("{b:02x}") }.into_bytes()).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn no_plaintext_anywhere_in_the_database(db: Arc<TestDb>) {
    let cipher = TestCipher::new(1);
    let backend = db.backend(cipher.clone()).await;
    let canary = format!("hush-canary-plaintext-{:?}", std::time::SystemTime::now());
    let s = scope("acme", "company.team");
    let n = name("CANARY_SECRET");
    let tags: Tags = [("team", "payments")].into_iter().collect();
    backend.put(&s, &n, SecretValue::from(format!("{canary} v1").as_str()), tags.clone()).await.unwrap();
    backend.put(&s, &n, SecretValue::from(format!("{canary} v2").as_str()), tags).await.unwrap();
    cipher.rotate();
    backend.rekey(1).await.unwrap();
    let got = backend.get(&s, &n, None).await.unwrap();
    assert_eq!(got.value.expose_str().unwrap(), format!("{canary} v2"));
    backend.close().await;

    let dump = db.dump().await;
    assert!(
        contains(&dump, b"CANARY_SECRET") || contains(&dump, &hex(b"CANARY_SECRET", true)),
        "the dump misses the data"
    );
    for needle in [canary.as_bytes().to_vec(), hex(canary.as_bytes(), false), hex(canary.as_bytes(), true)] {
        assert!(!contains(&dump, &needle), "plaintext found in a dump of the {:?} database", db.engine);
    }
}

async fn sealed_columns_moved_to_another_secret_fail_to_open(db: Arc<TestDb>) {
    let backend = db.backend(TestCipher::new(1)).await;
    let s = scope("acme", "aad");
    let (alpha, beta) = (name("ALPHA"), name("BETA"));
    backend.put(&s, &alpha, SecretValue::from("alpha-plaintext"), Tags::new()).await.unwrap();
    backend.put(&s, &alpha, SecretValue::from("alpha-plaintext-2"), Tags::new()).await.unwrap();
    backend.put(&s, &beta, SecretValue::from("beta-plaintext"), Tags::new()).await.unwrap();
    let other_tenant = scope("globex", "aad");
    backend.put(&other_tenant, &alpha, SecretValue::from("globex-plaintext"), Tags::new()).await.unwrap();

    let pool = db.raw().await;
    let select = format!(
        "SELECT key_id, nonce, ciphertext FROM hush_secret_versions WHERE tenant = {} AND name = {} AND version = {}",
        db.ph(1),
        db.ph(2),
        db.ph(3)
    );
    let row = sqlx::query(&select).bind("acme").bind("ALPHA").bind(1i64).fetch_one(&pool).await.unwrap();
    let (key_id, nonce, ciphertext): (i64, Vec<u8>, Vec<u8>) = (row.get(0), row.get(1), row.get(2));
    let update = format!(
        "UPDATE hush_secret_versions SET key_id = {}, nonce = {}, ciphertext = {} \
         WHERE tenant = {} AND name = {} AND version = {}",
        db.ph(1),
        db.ph(2),
        db.ph(3),
        db.ph(4),
        db.ph(5),
        db.ph(6)
    );
    // ALPHA v1 copied onto BETA v1 (another name), ALPHA v2 (another version), and
    // globex's ALPHA v1 (another tenant).
    for (tenant, target, version) in [("acme", "BETA", 1i64), ("acme", "ALPHA", 2), ("globex", "ALPHA", 1)] {
        let done = sqlx::query(&update)
            .bind(key_id)
            .bind(&nonce[..])
            .bind(&ciphertext[..])
            .bind(tenant)
            .bind(target)
            .bind(version)
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
    }
    pool.close().await;

    for (sc, n) in [(&s, &beta), (&s, &alpha), (&other_tenant, &alpha)] {
        let err = backend.get(sc, n, None).await.expect_err("a moved row must not open");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("plaintext"), "{text}");
    }
    let v1 = VersionId::new("1").unwrap();
    let original = backend.get(&s, &alpha, Some(&v1)).await.unwrap();
    assert_eq!(original.value.expose(), b"alpha-plaintext");
}

async fn rekey_reseals_every_row_under_the_newest_key(db: Arc<TestDb>) {
    let cipher = TestCipher::new(1);
    let backend = db.backend(cipher.clone()).await;
    let mut expected = Vec::new();
    for (tenant, namespace) in [("acme", "a"), ("acme", "a.b"), ("globex", "a")] {
        for secret in ["ONE", "TWO"] {
            for round in 1..=3 {
                let value = format!("{tenant}/{namespace}/{secret} round {round}");
                let s = scope(tenant, namespace);
                let meta =
                    backend.put(&s, &name(secret), SecretValue::from(value.as_str()), Tags::new()).await.unwrap();
                expected.push((s, name(secret), meta.version.unwrap(), value));
            }
        }
    }
    assert_eq!(expected.len(), 18);
    let newest = cipher.rotate();
    assert_eq!(newest, 2);
    // A row sealed after rotation is already under the newest key.
    let fresh = scope("acme", "fresh");
    backend.put(&fresh, &name("NEW"), SecretValue::from("new"), Tags::new()).await.unwrap();

    let report = backend.rekey(4).await.unwrap();
    assert_eq!((report.key_id, report.examined, report.resealed, report.failed), (2, 18, 18, 0), "{report:?}");

    let pool = db.raw().await;
    let rows = sqlx::query("SELECT key_id FROM hush_secret_versions").fetch_all(&pool).await.unwrap();
    assert_eq!(rows.len(), 19);
    assert!(rows.iter().all(|r| r.get::<i64, _>(0) == 2), "a row kept its old key");
    pool.close().await;

    // Without key 1 every version still opens: all were re-sealed.
    cipher.forget(1);
    for (s, n, version, value) in &expected {
        let got = backend.get(s, n, Some(version)).await.unwrap();
        assert_eq!(got.value.expose_str(), Some(value.as_str()));
    }
    let again = backend.rekey(100).await.unwrap();
    assert_eq!((again.examined, again.resealed), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekey_counts_rows_that_do_not_open_and_goes_on() {
    support::run_on(Engine::Sqlite, |db: Arc<TestDb>| async move {
        let cipher = TestCipher::new(7);
        let backend = db.backend(cipher.clone()).await;
        let s = scope("acme", "rekey");
        for n in ["A", "B", "C"] {
            backend.put(&s, &name(n), SecretValue::from(n), Tags::new()).await.unwrap();
        }
        let pool = db.raw().await;
        sqlx::query(
            "UPDATE hush_secret_versions SET ciphertext = X'00112233445566778899AABBCCDDEEFF00' WHERE name = 'B'",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
        cipher.rotate();
        let report = backend.rekey(1).await.unwrap();
        assert_eq!((report.examined, report.resealed, report.failed), (3, 2, 1), "{report:?}");
        assert_eq!(backend.get(&s, &name("C"), None).await.unwrap().value.expose(), b"C");
        assert!(backend.get(&s, &name("B"), None).await.is_err());
    })
    .await;
}

async fn failed_write_leaves_the_old_value(db: Arc<TestDb>) {
    let cipher = TestCipher::new(1);
    let backend = db.backend(cipher.clone()).await;
    let s = scope("acme", "failing");
    let n = name("STEADY");
    let tags: Tags = [("team", "a")].into_iter().collect();
    backend.put(&s, &n, SecretValue::from("old value"), tags.clone()).await.unwrap();
    cipher.set_fail_seal(true);
    let err = backend.put(&s, &n, SecretValue::from("new value"), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    let fresh = backend.put(&s, &name("NEVER"), SecretValue::from("x"), Tags::new()).await;
    assert!(fresh.is_err());
    cipher.set_fail_seal(false);

    let got = backend.get(&s, &n, None).await.unwrap();
    assert_eq!(got.value.expose(), b"old value");
    assert_eq!(got.version.unwrap().as_str(), "1");
    assert_eq!(got.tags, tags);
    let listed = backend.list(&s, &ListFilter::default()).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["STEADY"], "a failed first write left a secret behind");
    assert_eq!(listed[0].version.as_ref().unwrap().as_str(), "1");
    // The failed write's version number was rolled back with it.
    let next = backend.put(&s, &n, SecretValue::from("newer"), Tags::new()).await.unwrap();
    assert_eq!(next.version.unwrap().as_str(), "2");
}

async fn old_versions_are_pruned(db: Arc<TestDb>) {
    let mut config = db.config();
    config.max_versions = 3;
    let backend = db.backend_with(config, TestCipher::new(1)).await;
    let s = scope("acme", "prune");
    let n = name("ROTATED");
    for round in 1..=5 {
        let meta =
            backend.put(&s, &n, SecretValue::from(format!("round {round}").as_str()), Tags::new()).await.unwrap();
        assert_eq!(meta.version.unwrap().as_str(), round.to_string());
    }
    for (version, kept) in [("1", false), ("2", false), ("3", true), ("4", true), ("5", true)] {
        let v = VersionId::new(version).unwrap();
        match backend.get(&s, &n, Some(&v)).await {
            Ok(secret) if kept => assert_eq!(secret.value.expose_str(), Some(format!("round {version}").as_str())),
            Err(e) if !kept => assert_eq!(e.kind(), ErrorKind::NotFound),
            other => panic!("version {version}: unexpected {:?}", other.map(|s| s.version)),
        }
    }
    let pool = db.raw().await;
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM hush_secret_versions").fetch_one(&pool).await.unwrap().get(0);
    assert_eq!(count, 3);
    pool.close().await;
}

async fn reconnects_and_concurrent_starts_share_the_schema(db: Arc<TestDb>) {
    let cipher = TestCipher::new(1);
    // As replicas start together on one database: each start that loses a lock race (the
    // WAL switch, which SQLite's busy timeout does not wait for; a migration) tries again
    // within its connect timeout, so every connect opens.
    let connects = (0..8).map(|_| {
        let (config, cipher) = (db.config(), cipher.clone());
        async move { SqlBackend::connect("test", config, cipher).await }
    });
    let backends: Vec<SqlBackend> =
        futures_join(connects).await.into_iter().map(|r| r.expect("concurrent connect")).collect();
    let s = scope("acme", "restart");
    backends[0].put(&s, &name("KEPT"), SecretValue::from("survives"), Tags::new()).await.unwrap();
    for backend in &backends {
        backend.close().await;
    }
    let again = db.backend(cipher).await;
    assert_eq!(again.get(&s, &name("KEPT"), None).await.unwrap().value.expose(), b"survives");
    again.check().await.unwrap();
    let pool = db.raw().await;
    let applied: i64 =
        sqlx::query("SELECT COUNT(*) FROM hush_schema_migrations").fetch_one(&pool).await.unwrap().get(0);
    assert_eq!(applied, 2);
    pool.close().await;
}

/// Awaits every future concurrently (tokio tasks, so connects really overlap).
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}

async fn concurrent_first_writes_get_every_version_once(db: Arc<TestDb>) {
    // Every writer finds the name missing and races to create it: unique violations and
    // (MySQL) gap-lock deadlocks are retried, and each writer gets its own version.
    let mut config = db.config();
    config.max_versions = 100;
    let backend = Arc::new(db.backend_with(config, TestCipher::new(1)).await);
    let s = scope("acme", "race");
    let writers =
        (0..30).map(|i| {
            let (backend, s) = (Arc::clone(&backend), s.clone());
            async move {
                backend.put(&s, &name("RACED"), SecretValue::from(format!("writer {i}").as_str()), Tags::new()).await
            }
        });
    let mut versions: Vec<u32> = futures_join(writers)
        .await
        .into_iter()
        .map(|r| r.expect("every concurrent writer succeeds").version.unwrap().as_str().parse().unwrap())
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=30).collect::<Vec<u32>>());
    for version in 1..=30 {
        let v = VersionId::new(version.to_string()).unwrap();
        let got = backend.get(&s, &name("RACED"), Some(&v)).await.unwrap();
        assert!(got.value.expose_str().unwrap().starts_with("writer "));
    }
}

async fn table_prefixes_keep_stores_apart(db: Arc<TestDb>) {
    let cipher = TestCipher::new(1);
    let mut a = db.config();
    a.table_prefix = "store_a_".to_owned();
    let mut b = db.config();
    b.table_prefix = "store_b_".to_owned();
    let (a, b) = (db.backend_with(a, cipher.clone()).await, db.backend_with(b, cipher).await);
    let s = scope("acme", "shared");
    a.put(&s, &name("ONLY_A"), SecretValue::from("a"), Tags::new()).await.unwrap();
    assert_eq!(b.get(&s, &name("ONLY_A"), None).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert!(b.list(&s, &ListFilter { recursive: true, ..ListFilter::default() }).await.unwrap().is_empty());
    assert_eq!(a.get(&s, &name("ONLY_A"), None).await.unwrap().value.expose(), b"a");
}

#[tokio::test]
async fn unreachable_database_is_unavailable_and_keeps_the_password_out() {
    for url in ["postgres://hush:hunter2-pw@127.0.0.1:1/hush", "mysql://hush:hunter2-pw@127.0.0.1:1/hush"] {
        let mut config = SqlConfig::for_url(url);
        config.connect_timeout = Some(std::time::Duration::from_secs(2));
        let err = SqlBackend::connect("remote", config, TestCipher::new(1)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.is_temporary());
        let text = format!("{err} {err:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("hush:***@127.0.0.1:1"), "{text}");
    }
}

#[tokio::test]
async fn bad_configs_are_refused_before_connecting() {
    let err = SqlBackend::connect("x", SqlConfig::for_url("oracle://db/x"), TestCipher::new(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    let mut config = SqlConfig::for_url("sqlite::memory:");
    config.table_prefix = "x; DROP TABLE y".to_owned();
    let err = SqlBackend::connect("x", config, TestCipher::new(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.to_string().contains("table_prefix"));
}

#[tokio::test]
async fn missing_postgres_database_is_config_invalid() {
    let Some(db) = TestDb::create(Engine::Postgres).await else { return };
    db.drop_db().await;
    let err = SqlBackend::connect("x", db.config(), TestCipher::new(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_is_created_in_wal_mode() {
    support::run_on(Engine::Sqlite, |db: Arc<TestDb>| async move {
        let path = db.path.clone().unwrap();
        assert!(!path.exists());
        let backend = db.backend(TestCipher::new(1)).await;
        assert!(path.exists());
        let pool = db.raw().await;
        let mode: String = sqlx::query("PRAGMA journal_mode").fetch_one(&pool).await.unwrap().get(0);
        assert_eq!(mode, "wal");
        pool.close().await;
        backend.check().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn sqlite_memory_database_works() {
    let backend = SqlBackend::connect("mem", SqlConfig::for_url("sqlite::memory:"), TestCipher::new(1)).await.unwrap();
    let s = scope("acme", "mem");
    backend.put(&s, &name("M"), SecretValue::from("in memory"), Tags::new()).await.unwrap();
    assert_eq!(backend.get(&s, &name("M"), None).await.unwrap().value.expose(), b"in memory");
    let text = format!("{backend:?}");
    assert!(text.contains("sqlite::memory:") && text.contains("Sqlite"), "{text}");
    backend.close().await;
    let err = backend.check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

async fn writes_cancelled_at_any_point_leave_no_connection_in_a_transaction(db: Arc<TestDb>) {
    // A write whose caller gives up (hush's timeout layer, a request timeout) is dropped at
    // whatever await it reached: inside BEGIN, between BEGIN and the first statement, before
    // COMMIT. None of that may leave a pooled connection inside a transaction: every later
    // write on every connection must work.
    let backend = Arc::new(db.backend(TestCipher::new(1)).await);
    let s = scope("acme", "cancelled");
    for round in 0..40u64 {
        let writers = (0..8u64).map(|i| {
            let (backend, s) = (Arc::clone(&backend), s.clone());
            async move {
                let give_up_after = std::time::Duration::from_micros((round * 37 + i * 101) % 1500);
                let n = name(&format!("W{i}"));
                let put = backend.put(&s, &n, SecretValue::from("v"), Tags::new());
                let _ = tokio::time::timeout(give_up_after, put).await;
            }
        });
        futures_join(writers).await;
    }
    // Enough writes, concurrent and sequential, to go through every pooled connection.
    let writers = (0..16).map(|i| {
        let (backend, s) = (Arc::clone(&backend), s.clone());
        async move { backend.put(&s, &name(&format!("AFTER{i}")), SecretValue::from("after"), Tags::new()).await }
    });
    for (i, written) in futures_join(writers).await.into_iter().enumerate() {
        written.unwrap_or_else(|e| panic!("write {i} after the cancelled ones failed: {e}"));
    }
    for i in 0..16 {
        backend
            .put(&s, &name(&format!("AFTER{i}")), SecretValue::from("again"), Tags::new())
            .await
            .unwrap_or_else(|e| panic!("sequential write {i} after the cancelled ones failed: {e}"));
    }
}
