//! The Doppler backend against the contract server (`support/contract.rs`): the full
//! behaviour suite, the key and value mapping on the wire, lists, error kinds and that the
//! token shows nowhere. `official_client.rs` checks the server with the official Python SDK.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hush_backend_doppler::{DopplerConfig, DopplerFactory};
use hush_core::{BackendFactory, BuildContext, ErrorKind, ListFilter, SecretBackend, SecretValue, Tags, VersionId};
use support::contract::{Contract, Fault, READ_ONLY_TOKEN, TOKEN};
use support::{CONFIG, PROJECT, backend, config, name, scope};

/// Error text and debug text together, to check for the token.
fn shown(err: &hush_core::Error) -> String {
    format!("{err} {err:?}")
}

#[tokio::test]
async fn behaviour_suite() {
    let server = Contract::start();
    let b = backend(config(&server));
    let report = hush_backend_behavior::run(Arc::new(b)).await;
    report.assert_ok();
    for trial in ["put_then_get", "binary_value_round_trips", "name_at_length_limit", "namespace_at_depth_limit"] {
        assert!(report.passed.contains(&trial), "{trial} did not run");
    }
}

#[tokio::test]
async fn keys_and_values_on_the_wire() {
    let server = Contract::start();
    let b = backend(config(&server));
    let s = scope("acme", "company.team");
    b.put(&s, &name("DB_PASSWORD"), SecretValue::from("hunter2"), Tags::new()).await.unwrap();
    b.put(&s, &name("RAW"), SecretValue::new(vec![0xff, 0]), Tags::new()).await.unwrap();
    let stored = server.secrets(PROJECT, CONFIG);
    assert_eq!(stored.get("HUSH__ACME__COMPANY_2TEAM__DB_0PASSWORD").map(String::as_str), Some("hunter2"));
    assert_eq!(stored.get("HUSH__ACME__COMPANY_2TEAM__RAW").map(String::as_str), Some("hush-base64:/wA="));
    assert_eq!(b.get(&s, &name("RAW"), None).await.unwrap().value.expose(), [0xff, 0]);
    // A secret of another application in the same config is left alone.
    server.set(PROJECT, CONFIG, "DATABASE_URL", "postgres://x");
    server.set(PROJECT, CONFIG, "HUSH__ACME__COMPANY__TOP", "t");
    server.set(PROJECT, CONFIG, "HUSH__ACME__COMPANY_2TEAM_2SUB__DEEP", "d");
    server.set(PROJECT, CONFIG, "HUSH__OTHER__COMPANY_2TEAM__X", "o");
    let names = |metas: Vec<hush_core::SecretMeta>| {
        metas.into_iter().map(|m| format!("{}/{}", m.namespace, m.name)).collect::<Vec<_>>()
    };
    let flat = b.list(&s, &ListFilter::default()).await.unwrap();
    assert_eq!(names(flat), ["company.team/DB_PASSWORD", "company.team/RAW"]);
    let deep = b.list(&scope("acme", "company"), &ListFilter { tags: Tags::new(), recursive: true }).await.unwrap();
    assert_eq!(names(deep), ["company/TOP", "company.team/DB_PASSWORD", "company.team/RAW", "company.team.sub/DEEP"]);
    let tagged = ListFilter { tags: [("team", "x")].into_iter().collect(), recursive: false };
    assert!(b.list(&s, &tagged).await.unwrap().is_empty());
    let missing = b.get(&s, &name("NOPE"), None).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.to_string().contains("NOPE"), "{missing}");
    assert_eq!(b.delete(&s, &name("NOPE")).await.unwrap_err().kind(), ErrorKind::NotFound);
    b.delete(&s, &name("RAW")).await.unwrap();
    assert_eq!(b.get(&s, &name("RAW"), None).await.unwrap_err().kind(), ErrorKind::NotFound);
    let v1 = VersionId::new("1").unwrap();
    assert_eq!(b.get(&s, &name("DB_PASSWORD"), Some(&v1)).await.unwrap_err().kind(), ErrorKind::Unsupported);
    let tags: Tags = [("team", "x")].into_iter().collect();
    assert_eq!(b.put(&s, &name("T"), SecretValue::from("v"), tags).await.unwrap_err().kind(), ErrorKind::Unsupported);
    b.check().await.unwrap();
    // Every request carried the project and config the SDK sends.
    assert!(server.requests().iter().all(|r| r.starts_with("POST ") || r.contains("project=payments&config=prd")));
}

#[tokio::test]
async fn a_read_only_token_reads_and_its_writes_are_read_only() {
    let server = Contract::start();
    server.set(PROJECT, CONFIG, "HUSH__T__N__A", "a");
    let b = backend(DopplerConfig::new(PROJECT, CONFIG, READ_ONLY_TOKEN).with_api_url(&server.api_url));
    let s = scope("t", "n");
    assert_eq!(b.get(&s, &name("A"), None).await.unwrap().value.expose(), b"a");
    for err in [
        b.put(&s, &name("A"), SecretValue::from("b"), Tags::new()).await.unwrap_err(),
        b.delete(&s, &name("A")).await.unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::ReadOnly, "{err}");
        assert!(!err.is_temporary());
        assert!(err.to_string().contains("service token is read-only"), "{err}");
        assert!(!shown(&err).contains(READ_ONLY_TOKEN), "{err:?}");
    }
}

#[tokio::test]
async fn statuses_map_to_error_kinds() {
    let server = Contract::start();
    let b = backend(config(&server));
    let s = scope("t", "n");
    for (status, kind, temporary) in [
        (401, ErrorKind::PermissionDenied, false),
        (403, ErrorKind::PermissionDenied, false),
        (404, ErrorKind::NotFound, false),
        (429, ErrorKind::RateLimited, true),
        (500, ErrorKind::Unavailable, true),
        (503, ErrorKind::Unavailable, true),
    ] {
        server.fail(Fault::status("GET", "/secrets/names", status, &format!("token {TOKEN} says no")));
        let err = b.list(&s, &ListFilter::default()).await.unwrap_err();
        assert_eq!((err.kind(), err.is_temporary()), (kind, temporary), "{status}: {err}");
        assert!(!shown(&err).contains(TOKEN), "{err:?}");
        server.heal();
    }
    // A wrong token, a missing config.
    let wrong = backend(DopplerConfig::new(PROJECT, CONFIG, "dp.st.WRONG").with_api_url(&server.api_url));
    assert_eq!(wrong.check().await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    let elsewhere = backend(DopplerConfig::new(PROJECT, "dev", TOKEN).with_api_url(&server.api_url));
    assert_eq!(elsewhere.check().await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn timeouts_and_dead_servers_are_unavailable() {
    let server = Contract::start();
    let b = backend(config(&server).with_request_timeout(Duration::from_millis(300)));
    server.fail(Fault::silent("GET", "/secret?", Duration::from_secs(3)));
    let started = Instant::now();
    let err = b.get(&scope("t", "n"), &name("A"), None).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    let api_url = server.api_url.clone();
    drop(server);
    let dead = backend(DopplerConfig::new(PROJECT, CONFIG, TOKEN).with_api_url(api_url));
    let err = dead.check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
}

#[tokio::test]
async fn the_factory_defaults_the_request_timeout_and_refuses_bad_configs() {
    let server = Contract::start();
    let context = BuildContext::new("dp", Duration::from_secs(1));
    let built = DopplerFactory.build(config(&server), &context).await.unwrap();
    built.check().await.unwrap();
    let err = match DopplerFactory.build(DopplerConfig::new(PROJECT, CONFIG, TOKEN).with_prefix("bad"), &context).await
    {
        Ok(_) => panic!("a bad prefix builds"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
}
