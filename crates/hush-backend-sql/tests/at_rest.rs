//! Tags bound by the at-rest AAD, against real SQLite, PostgreSQL and MariaDB: a row retagged
//! in the database fails to open (also with its format marker flipped back), rows stored the
//! old way (format 1, schema version 1) stay readable until `rekey` migrates them, and
//! `key_usage` counts rows per key id.

mod support;

use std::sync::Arc;

use hush_core::{AtRestAad, SecretBackend, SecretValue, Tags};
use sqlx::{AnyPool, Executor, Row};
use support::{Engine, TestCipher, TestDb, name, scope};

on_every_engine!(
    retagged_rows_fail_to_open_whatever_their_format_marker,
    format_1_rows_stay_readable_until_rekey_migrates_them,
    key_usage_counts_rows_per_key_id,
);

fn tags(pairs: &[(&str, &str)]) -> Tags {
    let mut tags = Tags::new();
    for (k, v) in pairs {
        tags.insert(*k, *v).unwrap();
    }
    tags
}

/// Sets `column` of the version row (tenant acme, `secret`, version 1) with raw SQL.
async fn set_column(db: &TestDb, pool: &AnyPool, column: &str, value: SqlValue<'_>, secret: &str) {
    let sql = format!(
        "UPDATE hush_secret_versions SET {column} = {} WHERE tenant = {} AND name = {} AND version = 1",
        db.ph(1),
        db.ph(2),
        db.ph(3)
    );
    let query = match value {
        SqlValue::Text(text) => sqlx::query(&sql).bind(text),
        SqlValue::Int(number) => sqlx::query(&sql).bind(number),
    };
    let done = query.bind("acme").bind(secret).execute(pool).await.unwrap();
    assert_eq!(done.rows_affected(), 1, "{sql}");
}

/// What raw SQL writes into a column.
#[derive(Clone, Copy)]
enum SqlValue<'a> {
    Text(&'a str),
    Int(i64),
}

/// (key_id, aad_format) of the version row (tenant acme, `secret`, version 1).
async fn key_and_format(db: &TestDb, pool: &AnyPool, secret: &str) -> (i64, i64) {
    let sql = format!(
        "SELECT key_id, aad_format FROM hush_secret_versions WHERE tenant = {} AND name = {} AND version = 1",
        db.ph(1),
        db.ph(2)
    );
    let row = sqlx::query(&sql).bind("acme").bind(secret).fetch_one(pool).await.unwrap();
    (row.get(0), row.get(1))
}

async fn assert_does_not_open(backend: &dyn SecretBackend, secret: &str, plaintext: &str) {
    let err = backend.get(&scope("acme", "rest"), &name(secret), None).await.expect_err("a changed row must not open");
    let text = format!("{err} {err:?}");
    assert!(text.contains("does not open: its row was changed in the database"), "{text}");
    assert!(!text.contains(plaintext), "the value leaked into the error: {text}");
}

async fn retagged_rows_fail_to_open_whatever_their_format_marker(db: Arc<TestDb>) {
    let backend = db.backend(TestCipher::new(1)).await;
    let s = scope("acme", "rest");
    let stored = tags(&[("team", "payments"), ("env", "prod")]);
    backend.put(&s, &name("TAGGED"), SecretValue::from("tagged-plaintext"), stored.clone()).await.unwrap();
    backend.put(&s, &name("UNTAGGED"), SecretValue::from("untagged-plaintext"), Tags::new()).await.unwrap();
    let pool = db.raw().await;
    assert_eq!(key_and_format(&db, &pool, "TAGGED").await, (1, 2), "every write is format 2");
    let original = r#"{"env":"prod","team":"payments"}"#;

    // Retagged: a tag changed, one removed, all removed, one added; and a tag added to a
    // secret that had none.
    for retagged in [
        r#"{"env":"prod","team":"attacker"}"#,
        r#"{"team":"payments"}"#,
        r#"{}"#,
        r#"{"env":"prod","public":"yes","team":"payments"}"#,
    ] {
        set_column(&db, &pool, "tags", SqlValue::Text(retagged), "TAGGED").await;
        assert_does_not_open(&backend, "TAGGED", "tagged-plaintext").await;
    }
    set_column(&db, &pool, "tags", SqlValue::Text(r#"{"team":"payments"}"#), "UNTAGGED").await;
    assert_does_not_open(&backend, "UNTAGGED", "untagged-plaintext").await;

    // Downgrade: marking the row as format 1 (tags not bound) does not make it open, neither
    // retagged nor with its own tags: it was sealed with the format 2 AAD.
    set_column(&db, &pool, "aad_format", SqlValue::Int(1), "TAGGED").await;
    for tags_json in [r#"{"env":"prod","team":"attacker"}"#, original] {
        set_column(&db, &pool, "tags", SqlValue::Text(tags_json), "TAGGED").await;
        assert_does_not_open(&backend, "TAGGED", "tagged-plaintext").await;
    }
    // A marker naming no format is an error too.
    set_column(&db, &pool, "aad_format", SqlValue::Int(3), "TAGGED").await;
    let err = backend.get(&s, &name("TAGGED"), None).await.unwrap_err();
    assert!(err.to_string().contains("stored at-rest format 3 is not one this build knows"), "{err}");

    // Put back as it was, the row opens: the failures came from the changes alone.
    set_column(&db, &pool, "aad_format", SqlValue::Int(2), "TAGGED").await;
    let got = backend.get(&s, &name("TAGGED"), None).await.unwrap();
    assert_eq!((got.value.expose(), &got.tags), (&b"tagged-plaintext"[..], &stored));
    pool.close().await;
}

/// The statements of a migration file, as the backend splits them: `--` lines dropped,
/// statements ended by `;`, `{prefix}` replaced.
fn statements(sql: &str) -> Vec<String> {
    let kept: String = sql.lines().filter(|l| !l.trim_start().starts_with("--")).map(|l| format!("{l}\n")).collect();
    kept.split(';').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.replace("{prefix}", "hush_")).collect()
}

/// Creates the schema as a build before tags were bound left it (version 1, no `aad_format`)
/// and stores `rows` the way that build did: format 1 AAD, no marker column.
async fn store_the_old_way(db: &TestDb, cipher: &TestCipher, rows: &[(&str, &str, &Tags)]) {
    let schema = match db.engine {
        Engine::Sqlite => include_str!("../migrations/sqlite/0001_secrets.sql"),
        Engine::Postgres => include_str!("../migrations/postgres/0001_secrets.sql"),
        Engine::MySql => include_str!("../migrations/mysql/0001_secrets.sql"),
    };
    let pool = db.raw().await;
    for statement in statements(schema) {
        pool.execute(statement.as_str()).await.unwrap();
    }
    pool.execute(
        "CREATE TABLE hush_schema_migrations (version BIGINT NOT NULL PRIMARY KEY, description VARCHAR(255) NOT NULL, \
         applied_at BIGINT NOT NULL)",
    )
    .await
    .unwrap();
    pool.execute("INSERT INTO hush_schema_migrations (version, description, applied_at) VALUES (1, 'old build', 0)")
        .await
        .unwrap();
    let (p1, p2, p3, p4, p5, p6, p7, p8) =
        (db.ph(1), db.ph(2), db.ph(3), db.ph(4), db.ph(5), db.ph(6), db.ph(7), db.ph(8));
    let head = format!(
        "INSERT INTO hush_secrets (tenant, namespace, name, latest_version, updated_at) VALUES ({p1}, {p2}, {p3}, 1, 0)"
    );
    let version = format!(
        "INSERT INTO hush_secret_versions (tenant, namespace, name, version, key_id, nonce, ciphertext, tags, \
         created_at) VALUES ({p1}, {p2}, {p3}, 1, {p4}, {p5}, {p6}, {p7}, {p8})"
    );
    for (secret, value, tags) in rows {
        let aad = AtRestAad { tenant: "acme", namespace: "rest", name: secret, version: "1", tags };
        let record = cipher.seal_format_1(aad, &SecretValue::from(*value));
        sqlx::query(&head).bind("acme").bind("rest").bind(*secret).execute(&pool).await.unwrap();
        sqlx::query(&version)
            .bind("acme")
            .bind("rest")
            .bind(*secret)
            .bind(i64::from(record.key_id))
            .bind(&record.nonce[..])
            .bind(&record.ciphertext[..])
            .bind(serde_json::to_string(tags).unwrap())
            .bind(0i64)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}

async fn format_1_rows_stay_readable_until_rekey_migrates_them(db: Arc<TestDb>) {
    let cipher = TestCipher::new(1);
    let team = tags(&[("team", "payments")]);
    store_the_old_way(&db, &cipher, &[("OLD", "old-plaintext", &team), ("OLD_BARE", "bare-plaintext", &Tags::new())])
        .await;

    // Connecting migrates the schema: the old rows are format 1 and read as before.
    let backend = db.backend(cipher.clone()).await;
    let s = scope("acme", "rest");
    let got = backend.get(&s, &name("OLD"), None).await.unwrap();
    assert_eq!((got.value.expose(), &got.tags), (&b"old-plaintext"[..], &team));
    assert_eq!(backend.get(&s, &name("OLD_BARE"), None).await.unwrap().value.expose(), b"bare-plaintext");
    let pool = db.raw().await;
    assert_eq!(key_and_format(&db, &pool, "OLD").await, (1, 1));
    let applied: i64 =
        sqlx::query("SELECT MAX(version) FROM hush_schema_migrations").fetch_one(&pool).await.unwrap().get(0);
    assert_eq!(applied, 2);
    // A new write beside them is format 2 under the same key.
    backend.put(&s, &name("NEW"), SecretValue::from("new-plaintext"), team.clone()).await.unwrap();

    // Rekey migrates the format 1 rows although their key is the newest, and only them.
    let report = backend.rekey(1).await.unwrap();
    assert_eq!(
        (report.key_id, report.examined, report.resealed, report.migrated, report.skipped, report.failed),
        (1, 2, 2, 2, 0, 0),
        "{report:?}"
    );
    assert_eq!(key_and_format(&db, &pool, "OLD").await, (1, 2));
    assert_eq!(key_and_format(&db, &pool, "OLD_BARE").await, (1, 2));
    let got = backend.get(&s, &name("OLD"), None).await.unwrap();
    assert_eq!((got.value.expose(), &got.tags), (&b"old-plaintext"[..], &team));
    let again = backend.rekey(10).await.unwrap();
    assert_eq!((again.examined, again.migrated), (0, 0), "{again:?}");

    // Migrated, their tags are bound: retagging them now fails, and so does flipping the
    // marker back to format 1.
    set_column(&db, &pool, "tags", SqlValue::Text(r#"{"team":"attacker"}"#), "OLD").await;
    assert_does_not_open(&backend, "OLD", "old-plaintext").await;
    set_column(&db, &pool, "aad_format", SqlValue::Int(1), "OLD").await;
    assert_does_not_open(&backend, "OLD", "old-plaintext").await;
    set_column(&db, &pool, "tags", SqlValue::Text(r#"{"team":"payments"}"#), "OLD_BARE").await;
    assert_does_not_open(&backend, "OLD_BARE", "bare-plaintext").await;

    // A rotation afterwards re-seals format 2 rows without counting them as migrated; the
    // tampered OLD row does not open and is counted as failed.
    cipher.rotate();
    let rotated = backend.rekey(10).await.unwrap();
    assert_eq!(
        (rotated.key_id, rotated.examined, rotated.resealed, rotated.migrated, rotated.failed),
        (2, 3, 1, 0, 2),
        "{rotated:?}"
    );
    assert_eq!(backend.get(&s, &name("NEW"), None).await.unwrap().value.expose(), b"new-plaintext");
    pool.close().await;
}

async fn key_usage_counts_rows_per_key_id(db: Arc<TestDb>) {
    let cipher = TestCipher::new(1);
    let backend = db.backend(cipher.clone()).await;
    assert!(backend.key_usage().await.unwrap().is_empty(), "an empty store uses no key");
    let s = scope("acme", "usage");
    for (secret, rounds) in [("A", 2), ("B", 1)] {
        for round in 0..rounds {
            backend.put(&s, &name(secret), SecretValue::from(format!("{round}").as_str()), Tags::new()).await.unwrap();
        }
    }
    cipher.rotate();
    backend.put(&s, &name("C"), SecretValue::from("c"), Tags::new()).await.unwrap();
    let usage = backend.key_usage().await.unwrap();
    assert_eq!(usage.into_iter().collect::<Vec<_>>(), [(1, 3), (2, 1)]);
    backend.rekey(2).await.unwrap();
    assert_eq!(backend.key_usage().await.unwrap().into_iter().collect::<Vec<_>>(), [(2, 4)]);
}
