//! The ESC backend against the contract server (`support/contract.rs`): the behaviour suite
//! with seeded secrets, the value mapping, error kinds, session reuse and expiry, and that the
//! token shows nowhere. `official_client.rs` checks the server with the official Python SDK.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hush_backend_esc::EscFactory;
use hush_core::{BackendFactory, BuildContext, ErrorKind, ListFilter, SecretBackend, SecretValue, Tags, VersionId};
use serde_json::json;
use support::contract::{Contract, Fault, TOKEN};
use support::{ENV, ORG, PROJECT, backend, config, name, scope};

fn seeded() -> Contract {
    let server = Contract::start();
    server.set(ORG, PROJECT, ENV, "DB_PASSWORD", json!("hunter2"), true);
    server.set(ORG, PROJECT, ENV, "PORT", json!(5432), false);
    server.set(
        ORG,
        PROJECT,
        ENV,
        "DB",
        json!({"host": "db.internal", "hosts": [{"name": "a"}, {"name": "b"}], "tls": true}),
        false,
    );
    server.set(ORG, PROJECT, ENV, "not.a.name", json!("x"), false);
    server
}

/// Error text and debug text together, to check for the token.
fn shown(err: &hush_core::Error) -> String {
    format!("{err} {err:?}")
}

#[tokio::test]
async fn behaviour_suite_read_only() {
    let server = seeded();
    let b = backend(config(&server));
    let options = hush_backend_behavior::SuiteOptions::default()
        .with_seeded(scope("acme", "company.team"), name("DB_PASSWORD"), SecretValue::from("hunter2"))
        .with_seeded(scope("other", "x"), name("PORT"), SecretValue::from("5432"));
    let report = hush_backend_behavior::run_with(Arc::new(b), options).await;
    report.assert_ok();
    for trial in ["writes_are_refused_without_write", "pinned_version_is_refused_without_versions"] {
        assert!(report.passed.contains(&trial), "{trial} did not run");
    }
    assert!(report.passed.contains(&"seeded_secrets_read_back"));
}

#[tokio::test]
async fn values_unwrap_to_strings_and_compact_json() {
    let server = seeded();
    let b = backend(config(&server));
    let s = scope("any", "where.ever");
    assert_eq!(b.get(&s, &name("DB_PASSWORD"), None).await.unwrap().value.expose(), b"hunter2");
    assert_eq!(b.get(&s, &name("PORT"), None).await.unwrap().value.expose(), b"5432");
    let db = b.get(&s, &name("DB"), None).await.unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(db.value.expose()).unwrap();
    assert_eq!(parsed, json!({"host": "db.internal", "hosts": [{"name": "a"}, {"name": "b"}], "tls": true}));
    assert!(!db.value.expose().contains(&b' '));
    let missing = b.get(&s, &name("NOPE"), None).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.to_string().contains("NOPE"), "{missing}");
    let names: Vec<String> =
        b.list(&s, &ListFilter::default()).await.unwrap().into_iter().map(|m| m.name.to_string()).collect();
    assert_eq!(names, ["DB", "DB_PASSWORD", "PORT"]);
    let tagged = ListFilter { tags: [("team", "x")].into_iter().collect(), recursive: false };
    assert!(b.list(&s, &tagged).await.unwrap().is_empty());
    let v1 = VersionId::new("1").unwrap();
    assert_eq!(b.get(&s, &name("PORT"), Some(&v1)).await.unwrap_err().kind(), ErrorKind::Unsupported);
    let put = b.put(&s, &name("PORT"), SecretValue::from("1"), Tags::new()).await.unwrap_err();
    assert_eq!(put.kind(), ErrorKind::Unsupported);
    assert_eq!(b.delete(&s, &name("PORT")).await.unwrap_err().kind(), ErrorKind::Unsupported);
    b.check().await.unwrap();
}

#[tokio::test]
async fn a_prefix_selects_and_strips_properties() {
    let server = seeded();
    server.set(ORG, PROJECT, ENV, "HUSH_API_KEY", json!("k"), true);
    let b = backend(config(&server).with_prefix("HUSH_"));
    let s = scope("t", "n");
    assert_eq!(b.get(&s, &name("API_KEY"), None).await.unwrap().value.expose(), b"k");
    assert_eq!(b.get(&s, &name("PORT"), None).await.unwrap_err().kind(), ErrorKind::NotFound);
    let listed = b.list(&s, &ListFilter::default()).await.unwrap();
    assert_eq!(listed.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["API_KEY"]);
}

#[tokio::test]
async fn an_unknown_value_is_refused() {
    let server = seeded();
    server.set_raw(ORG, PROJECT, ENV, "LATER", json!({"value": null, "unknown": true, "trace": {}}));
    let b = backend(config(&server));
    let err = b.get(&scope("t", "n"), &name("LATER"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(!err.is_temporary());
}

#[tokio::test]
async fn status_errors_map_to_kinds_without_the_token() {
    let server = seeded();
    let s = scope("t", "n");
    // A wrong token: 401 from the open.
    let wrong = backend(config(&server).with_api_url(&server.api_url));
    let mut wrong_config = config(&server);
    wrong_config.access_token = "pul-WRONGTOKEN".to_owned();
    let wrong_token = backend(wrong_config);
    let err = wrong_token.get(&s, &name("PORT"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(!err.is_temporary());
    assert!(!shown(&err).contains("WRONGTOKEN"), "{err:?}");
    assert!(!format!("{wrong_token:?}").contains("WRONGTOKEN"));
    assert!(!format!("{wrong:?}").contains(TOKEN));
    // A missing environment.
    let mut elsewhere = config(&server);
    elsewhere.environment = "staging".to_owned();
    let err = backend(elsewhere).get(&s, &name("PORT"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("acme/payments/staging"), "{err}");
    // Faults on the open, each on a fresh backend (no session yet). ESC's message quotes the
    // token here; it must be cut out.
    let echo = format!("token {TOKEN} rejected");
    for (status, kind, temporary) in [
        (403, ErrorKind::PermissionDenied, false),
        (429, ErrorKind::RateLimited, true),
        (500, ErrorKind::Unavailable, true),
        (503, ErrorKind::Unavailable, true),
    ] {
        server.heal();
        server.fail(Fault::status("POST", "/open", status, &echo));
        let err = backend(config(&server)).get(&s, &name("PORT"), None).await.unwrap_err();
        assert_eq!((err.kind(), err.is_temporary()), (kind, temporary), "{status}: {err}");
        assert!(!shown(&err).contains(TOKEN), "{err:?}");
        assert!(!shown(&err).contains("SECRETTOKEN"), "{err:?}");
    }
    // The same on the read of an open session.
    server.heal();
    let b = backend(config(&server));
    b.get(&s, &name("PORT"), None).await.unwrap();
    server.fail(Fault::status("GET", "/open/", 429, "slow down"));
    assert_eq!(b.get(&s, &name("PORT"), None).await.unwrap_err().kind(), ErrorKind::RateLimited);
    server.heal();
    server.fail(Fault::status("GET", "/open/", 401, &echo));
    let err = b.get(&s, &name("PORT"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(!shown(&err).contains(TOKEN), "{err:?}");
}

#[tokio::test]
async fn a_silent_or_absent_server_is_unavailable_within_the_timeout() {
    let server = seeded();
    server.fail(Fault::silent("POST", "/open", Duration::from_secs(30)));
    let b = backend(config(&server).with_request_timeout(Duration::from_millis(300)));
    let started = Instant::now();
    let err = b.get(&scope("t", "n"), &name("PORT"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_temporary());
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    // Nothing listens: connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nowhere = backend(config(&server).with_api_url(format!("http://127.0.0.1:{port}/api/esc")));
    let err = nowhere.get(&scope("t", "n"), &name("PORT"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_temporary());
    assert!(!shown(&err).contains(TOKEN));
}

#[tokio::test]
async fn one_open_serves_concurrent_reads() {
    let server = seeded();
    let b = Arc::new(backend(config(&server)));
    let reads: Vec<_> = (0..20)
        .map(|_| {
            let b = Arc::clone(&b);
            tokio::spawn(async move { b.get(&scope("t", "n"), &name("DB_PASSWORD"), None).await })
        })
        .collect();
    for read in reads {
        assert_eq!(read.await.unwrap().unwrap().value.expose(), b"hunter2");
    }
    assert_eq!(server.opens(), 1, "{:#?}", server.requests());
    assert_eq!(server.reads(), 20);
    assert!(server.requests()[0].ends_with("/api/esc/environments/acme/payments/prod/open?duration=3600s"));
}

#[tokio::test]
async fn sessions_are_reopened_before_they_end_and_when_lost() {
    let server = seeded();
    let b = backend(config(&server).with_session_duration(Duration::from_secs(1)));
    let s = scope("t", "n");
    b.get(&s, &name("PORT"), None).await.unwrap();
    b.get(&s, &name("PORT"), None).await.unwrap();
    assert_eq!(server.opens(), 1);
    // Renewed a tenth of the duration before the end: the server never sees an expired id.
    tokio::time::sleep(Duration::from_millis(950)).await;
    b.get(&s, &name("PORT"), None).await.unwrap();
    assert_eq!(server.opens(), 2, "{:#?}", server.requests());
    assert!(server.requests().iter().all(|r| !r.contains("duration=") || r.ends_with("duration=1s")));
    // The service lost the session: one temporary failure, then a new session.
    server.drop_sessions();
    let err = b.get(&s, &name("PORT"), None).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true));
    assert_eq!(b.get(&s, &name("PORT"), None).await.unwrap().value.expose(), b"5432");
    assert_eq!(server.opens(), 3);
}

#[tokio::test]
async fn the_factory_builds_with_the_backend_timeout() {
    let server = seeded();
    support::install_tls_provider();
    let context = BuildContext::new("esc-main", Duration::from_millis(300));
    let built = EscFactory.build(config(&server), &context).await.unwrap();
    assert_eq!(built.info().kind, "pulumi-esc");
    assert_eq!(built.info().name, "esc-main");
    assert_eq!(built.get(&scope("t", "n"), &name("PORT"), None).await.unwrap().value.expose(), b"5432");
    let mut no_timeout = config(&server);
    no_timeout.request_timeout = None;
    server.fail(Fault::silent("GET", "/open/", Duration::from_secs(30)));
    let built = EscFactory.build(no_timeout, &context).await.unwrap();
    let started = Instant::now();
    let err = built.get(&scope("t", "n"), &name("PORT"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}
