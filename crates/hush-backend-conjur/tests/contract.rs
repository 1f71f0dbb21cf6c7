//! The Conjur backend against the contract server (`support/contract.rs`): the behaviour suite
//! (read-only trials with seeded variables), the key mapping and values on the wire, versions,
//! writes to declared and undeclared variables, batches, paged lists, the access token's life
//! (one authentication for concurrent requests, a new one on 401 and when it is old, authn-jwt
//! reading its file each time), error kinds, and that no credential shows anywhere.
//! `official_client.rs` checks the server with the official Python client.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hush_backend_conjur::{AuthnJwtConfig, ConjurBackend, ConjurConfig, ConjurFactory, LIST_PAGE_SIZE};
use hush_core::{
    BackendFactory, BuildContext, ErrorKind, KindConfig, ListFilter, SecretBackend, SecretValue, Tags, TlsConfig,
    VersionId,
};
use support::contract::{ACCOUNT, API_KEY, Contract, Fault, JWT, JWT_SERVICE, LOGIN, READER_API_KEY, READER_LOGIN};
use support::{backend, config, name, scope};

/// Error text and debug text together, to check for credentials.
fn shown(err: &hush_core::Error) -> String {
    format!("{err} {err:?}")
}

/// The credentials and token fragments no message may hold.
fn assert_no_credentials(text: &str) {
    for secret in [API_KEY, READER_API_KEY, JWT, "SECRET"] {
        assert!(!text.contains(secret), "a credential shows: {text}");
    }
}

fn version(v: &str) -> VersionId {
    VersionId::new(v).unwrap()
}

#[tokio::test]
async fn behaviour_suite_with_seeded_variables() {
    let server = Contract::start();
    server.set("hush/acme/company/team/DB_PASSWORD", b"hunter2");
    server.set("hush/other/x/PORT", b"5432");
    server.set("hush/acme/company/team/RAW", &[0xff, 0, 1]);
    let b = backend(config(&server));
    let options = hush_backend_behavior::SuiteOptions::default()
        .with_seeded(scope("acme", "company.team"), name("DB_PASSWORD"), SecretValue::from("hunter2"))
        .with_seeded(scope("other", "x"), name("PORT"), SecretValue::from("5432"))
        .with_seeded(scope("acme", "company.team"), name("RAW"), SecretValue::new(vec![0xff, 0, 1]));
    let report = hush_backend_behavior::run_with(Arc::new(b), options).await;
    report.assert_ok();
    for trial in [
        "info_and_check_answer",
        "get_missing_is_not_found",
        "writes_are_refused_without_write",
        "seeded_secrets_read_back",
        "seeded_secrets_are_listed",
    ] {
        assert!(report.passed.contains(&trial), "{trial} did not run");
    }
}

#[tokio::test]
async fn keys_values_and_versions_on_the_wire() {
    let server = Contract::start();
    let id = "hush/acme/company/team/DB_PASSWORD";
    server.set(id, b"first");
    server.set(id, b"second");
    let b = backend(config(&server));
    let s = scope("acme", "company.team");
    assert_eq!(b.variable_id(&s, &name("DB_PASSWORD")), id);
    let latest = b.get(&s, &name("DB_PASSWORD"), None).await.unwrap();
    assert_eq!((latest.value.expose(), latest.version), (&b"second"[..], None));
    let first = b.get(&s, &name("DB_PASSWORD"), Some(&version("1"))).await.unwrap();
    assert_eq!((first.value.expose(), first.version), (&b"first"[..], Some(version("1"))));
    let missing = b.get(&s, &name("DB_PASSWORD"), Some(&version("3"))).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.to_string().contains("version 3 of secret DB_PASSWORD"), "{missing}");
    let bad = b.get(&s, &name("DB_PASSWORD"), Some(&version("v1"))).await.unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidInput);
    // The id is one percent-encoded path segment, as the Python client sends it.
    let requests = server.requests();
    assert!(
        requests
            .contains(&"GET /secrets/myorg/variable/hush%2Facme%2Fcompany%2Fteam%2FDB_PASSWORD?version=1".to_owned()),
        "{requests:?}"
    );
    // Declared without a value, and not declared at all: NotFound naming the secret.
    server.declare("hush/acme/company/team/EMPTY");
    for missing in ["EMPTY", "NOPE"] {
        let err = b.get(&s, &name(missing), None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains(missing), "{err}");
    }
}

#[tokio::test]
async fn put_sets_declared_variables_and_names_the_policy_for_others() {
    let server = Contract::start();
    server.declare("hush/acme/team/API_KEY");
    let b = backend(config(&server));
    let s = scope("acme", "team");
    b.put(&s, &name("API_KEY"), SecretValue::from("v1 ✓"), Tags::new()).await.unwrap();
    b.put(&s, &name("API_KEY"), SecretValue::new(vec![0, 0xff, 10]), Tags::new()).await.unwrap();
    assert_eq!(server.values("hush/acme/team/API_KEY").unwrap(), [b"v1 \xe2\x9c\x93".to_vec(), vec![0, 0xff, 10]]);
    assert_eq!(b.get(&s, &name("API_KEY"), None).await.unwrap().value.expose(), [0, 0xff, 10]);
    assert_eq!(b.get(&s, &name("API_KEY"), Some(&version("1"))).await.unwrap().value.expose(), "v1 ✓".as_bytes());

    let undeclared = b.put(&s, &name("NEW"), SecretValue::from("secret value 123"), Tags::new()).await.unwrap_err();
    assert_eq!((undeclared.kind(), undeclared.is_temporary()), (ErrorKind::Unsupported, false));
    let text = undeclared.to_string();
    assert!(text.contains("policy into branch hush declaring `- !variable acme/team/NEW`"), "{text}");
    assert!(!shown(&undeclared).contains("secret value 123"), "{undeclared:?}");
    assert_eq!(server.values("hush/acme/team/NEW"), None);

    let empty = b.put(&s, &name("API_KEY"), SecretValue::from(""), Tags::new()).await.unwrap_err();
    assert_eq!(empty.kind(), ErrorKind::InvalidInput, "{empty}");
    let tags: Tags = [("team", "x")].into_iter().collect();
    assert_eq!(
        b.put(&s, &name("API_KEY"), SecretValue::from("v"), tags).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    let delete = b.delete(&s, &name("API_KEY")).await.unwrap_err();
    assert_eq!(delete.kind(), ErrorKind::Unsupported);
    assert_eq!(server.values("hush/acme/team/API_KEY").unwrap().len(), 2);

    // A host without update: PermissionDenied naming the privilege.
    let reader = backend(ConjurConfig::new(&server.address, ACCOUNT, READER_LOGIN, READER_API_KEY));
    let denied = reader.put(&s, &name("API_KEY"), SecretValue::from("x"), Tags::new()).await.unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    assert!(denied.to_string().contains("host/reader lacks the update privilege (403)"), "{denied}");
    assert_no_credentials(&shown(&denied));
    assert_eq!(reader.get(&s, &name("API_KEY"), None).await.unwrap().value.expose(), [0, 0xff, 10]);
}

#[tokio::test]
async fn lists_follow_namespaces_and_pages() {
    let server = Contract::start();
    for id in [
        "hush/acme/company/TOP",
        "hush/acme/company/team/DB_PASSWORD",
        "hush/acme/company/team/RAW",
        "hush/acme/company/team/sub/DEEP",
        "hush/other/company/team/X",
        "prod/db/password",
        "hush/acme/company/team/a.b/NOT_OURS",
    ] {
        server.set(id, b"v");
    }
    server.set("hush/acme/company/team/RAW", b"v2");
    server.declare("hush/acme/company/team/NO_VALUE");
    let b = backend(config(&server));
    let names = |metas: Vec<hush_core::SecretMeta>| {
        metas
            .into_iter()
            .map(|m| format!("{}/{}@{}", m.namespace, m.name, m.version.map(|v| v.to_string()).unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    let s = scope("acme", "company.team");
    let flat = b.list(&s, &ListFilter::default()).await.unwrap();
    assert_eq!(names(flat), ["company.team/DB_PASSWORD@1", "company.team/RAW@2"]);
    let deep = b.list(&scope("acme", "company"), &ListFilter { tags: Tags::new(), recursive: true }).await.unwrap();
    assert_eq!(
        names(deep),
        ["company/TOP@1", "company.team/DB_PASSWORD@1", "company.team/RAW@2", "company.team.sub/DEEP@1"]
    );
    assert!(b.list(&scope("acme", "empty"), &ListFilter::default()).await.unwrap().is_empty());
    let tagged = ListFilter { tags: [("team", "x")].into_iter().collect(), recursive: false };
    assert!(b.list(&s, &tagged).await.unwrap().is_empty());
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /resources/myorg?kind=variable&search=hush&limit=1000&offset=0")),
        "{:?}",
        server.requests()
    );

    // More variables than one page: every page is read.
    let big = scope("acme", "big");
    for i in 0..(LIST_PAGE_SIZE + 5) {
        server.set(&format!("hush/acme/big/N{i:05}"), b"v");
    }
    let before = server.count("GET /resources/");
    let listed = b.list(&big, &ListFilter::default()).await.unwrap();
    assert_eq!(listed.len(), LIST_PAGE_SIZE + 5);
    assert_eq!(listed.first().map(|m| m.name.to_string()).as_deref(), Some("N00000"));
    assert_eq!(server.count("GET /resources/") - before, 2);
    assert!(server.requests().iter().any(|r| r.contains("&offset=1000")));
}

#[tokio::test]
async fn batches_read_many_variables_in_one_request() {
    let server = Contract::start();
    server.set("hush/acme/a/ONE", b"one");
    server.set("hush/acme/a/BIN", &[0xff, 0xfe]);
    server.set("hush/acme/b/TWO", b"two, with a comma");
    let b = backend(config(&server));
    let keys =
        [(scope("acme", "a"), name("ONE")), (scope("acme", "b"), name("TWO")), (scope("acme", "a"), name("BIN"))];
    let values = b.get_many(&keys).await.unwrap();
    let values: Vec<&[u8]> = values.iter().map(SecretValue::expose).collect();
    assert_eq!(values, [&b"one"[..], b"two, with a comma", &[0xff, 0xfe]]);
    assert_eq!(server.count("GET /secrets?variable_ids="), 1);
    assert!(b.get_many(&[]).await.unwrap().is_empty());
    let missing = b.get_many(&[(scope("acme", "a"), name("ONE")), (scope("acme", "a"), name("NOPE"))]).await;
    assert_eq!(missing.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn concurrent_reads_of_latest_values_go_in_one_batch_and_a_failed_batch_reads_each() {
    let server = Contract::start();
    let s = scope("acme", "company.team");
    let names: Vec<String> = (0..20).map(|i| format!("S{i:02}")).collect();
    for n in &names {
        server.set(&format!("hush/acme/company/team/{n}"), n.as_bytes());
    }
    let b = backend(config(&server));
    // What the resolver does for secrets([...]): every name read concurrently in one task.
    let reads = names.iter().map(|n| {
        let (b, s) = (&b, &s);
        async move { b.get(s, &name(n), None).await }
    });
    let results = futures::future::join_all(reads).await;
    for (n, result) in names.iter().zip(&results) {
        assert_eq!(result.as_ref().unwrap().value.expose(), n.as_bytes(), "{n}");
    }
    assert_eq!(server.count("GET /secrets?variable_ids="), 1, "{:#?}", server.requests());
    assert_eq!(server.count("GET /secrets/"), 0, "no single reads: {:#?}", server.requests());

    // One missing name fails Conjur's batch as a whole: each read then asks on its own, so the
    // others still get their values and the missing one is NotFound.
    let with_missing: Vec<String> = names.iter().take(4).cloned().chain(["MISSING".to_owned()]).collect();
    let reads = with_missing.iter().map(|n| {
        let (b, s) = (&b, &s);
        async move { b.get(s, &name(n), None).await }
    });
    let results = futures::future::join_all(reads).await;
    assert_eq!(server.count("GET /secrets?variable_ids="), 2);
    assert_eq!(server.count("GET /secrets/"), 5, "{:#?}", server.requests());
    for (n, result) in with_missing.iter().zip(&results) {
        match n.as_str() {
            "MISSING" => assert_eq!(result.as_ref().unwrap_err().kind(), ErrorKind::NotFound),
            _ => assert_eq!(result.as_ref().unwrap().value.expose(), n.as_bytes()),
        }
    }
    // A pinned version is never batched.
    b.get(&s, &name("S00"), Some(&VersionId::new("1").unwrap())).await.unwrap();
    assert_eq!(server.count("GET /secrets?variable_ids="), 2);
}

#[tokio::test]
async fn one_authentication_serves_concurrent_requests_and_a_401_renews_it_once() {
    let server = Contract::start();
    server.set("hush/t/n/A", b"a");
    let b = Arc::new(backend(config(&server)));
    let s = scope("t", "n");
    let reads: Vec<_> = (0..20)
        .map(|_| {
            let (b, s) = (Arc::clone(&b), s.clone());
            tokio::spawn(async move { b.get(&s, &name("A"), None).await.map(|x| x.value.expose().to_vec()) })
        })
        .collect();
    for read in reads {
        assert_eq!(read.await.unwrap().unwrap(), b"a");
    }
    assert_eq!(server.count("POST /authn/"), 1);
    // The token was asked for base64-encoded (and sent as `Token token="..."`, which the
    // server checks on every call).
    assert_eq!(server.base64_authentications(), 1);
    assert!(server.requests().contains(&"POST /authn/myorg/host%2Fhush-resolver/authenticate".to_owned()));

    // Expired (401): one new authentication, however many requests hit it, each repeated once.
    server.expire_tokens();
    let reads: Vec<_> = (0..10)
        .map(|_| {
            let (b, s) = (Arc::clone(&b), s.clone());
            tokio::spawn(async move { b.get(&s, &name("A"), None).await.map(|_| ()) })
        })
        .collect();
    for read in reads {
        read.await.unwrap().unwrap();
    }
    assert_eq!(server.count("POST /authn/"), 2);

    // A 401 that a new token does not cure: one new authentication, one repeat, then
    // PermissionDenied.
    server.fail(Fault::status("GET", "/secrets/myorg/variable/", 401, "Unauthorized"));
    let before = server.count("GET /secrets/");
    let err = b.get(&s, &name("A"), None).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::PermissionDenied, false), "{err}");
    assert_eq!(server.count("GET /secrets/") - before, 2);
    assert_eq!(server.count("POST /authn/"), 3);
    assert_no_credentials(&shown(&err));
}

#[tokio::test]
async fn an_old_token_is_replaced_before_it_is_used() {
    let server = Contract::start();
    server.set("hush/t/n/A", b"a");
    let b = backend(config(&server)).with_token_refresh_after(Duration::from_millis(200));
    let s = scope("t", "n");
    b.get(&s, &name("A"), None).await.unwrap();
    b.get(&s, &name("A"), None).await.unwrap();
    assert_eq!(server.count("POST /authn/"), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.get(&s, &name("A"), None).await.unwrap();
    assert_eq!(server.count("POST /authn/"), 2);
    assert_eq!(hush_backend_conjur::REFRESH_AFTER, Duration::from_secs(360));
    const { assert!(hush_backend_conjur::REFRESH_AFTER.as_secs() < hush_backend_conjur::TOKEN_LIFE.as_secs()) };
}

#[tokio::test]
async fn authn_jwt_reads_its_token_file_at_each_authentication() {
    let server = Contract::start();
    server.set("hush/t/n/A", b"a");
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("jwt");
    std::fs::write(&token_file, format!("{JWT}\n")).unwrap();
    let jwt = ConjurConfig::with_jwt(&server.address, ACCOUNT, AuthnJwtConfig::new(JWT_SERVICE, &token_file));
    let b = backend(jwt.clone());
    let s = scope("t", "n");
    assert_eq!(b.get(&s, &name("A"), None).await.unwrap().value.expose(), b"a");
    assert!(server.requests().contains(&"POST /authn-jwt/k8s/myorg/authenticate".to_owned()));
    // A rotated (here: wrong) token is read at the next authentication.
    std::fs::write(&token_file, "eyJ.rotated.SECRETJWT").unwrap();
    server.expire_tokens();
    let err = b.get(&s, &name("A"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains("refused to authenticate the JWT of authn-jwt/k8s"), "{err}");
    assert_no_credentials(&shown(&err));
    std::fs::write(&token_file, JWT).unwrap();
    b.get(&s, &name("A"), None).await.unwrap();
    // With the host named in config, it goes into the path.
    let named = backend(jwt.with_login(LOGIN));
    named.get(&s, &name("A"), None).await.unwrap();
    assert!(server.requests().contains(&"POST /authn-jwt/k8s/myorg/host%2Fhush-resolver/authenticate".to_owned()));
    // Conjur's message never shows the JWT, not even a part of it cut short.
    server.expire_tokens();
    server.fail(Fault::status("POST", "/authn-jwt/", 401, &format!("{} {JWT} rejected", "x".repeat(180))));
    let err = named.get(&s, &name("A"), None).await.unwrap_err();
    assert!(err.to_string().contains("xxx ***"), "{err}");
    assert!(!shown(&err).contains(&JWT[..20]), "{err:?}");
    server.heal();
    // No file: Unavailable, temporary.
    std::fs::remove_file(&token_file).unwrap();
    let gone = backend(ConjurConfig::with_jwt(&server.address, ACCOUNT, AuthnJwtConfig::new(JWT_SERVICE, &token_file)));
    let err = gone.check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
}

#[tokio::test]
async fn statuses_map_to_error_kinds_without_credentials() {
    let server = Contract::start();
    let b = backend(config(&server));
    let s = scope("t", "n");
    for (status, kind, temporary) in [
        (403, ErrorKind::PermissionDenied, false),
        (404, ErrorKind::NotFound, false),
        (422, ErrorKind::InvalidInput, false),
        (429, ErrorKind::RateLimited, true),
        (500, ErrorKind::Unavailable, true),
        (503, ErrorKind::Unavailable, true),
    ] {
        server.fail(Fault::status("GET", "/resources/", status, &format!("api key {API_KEY} says no")));
        let err = b.list(&s, &ListFilter::default()).await.unwrap_err();
        assert_eq!((err.kind(), err.is_temporary()), (kind, temporary), "{status}: {err}");
        assert_no_credentials(&shown(&err));
        server.heal();
    }
    // The vendor's words are kept, the API key cut out.
    server.fail(Fault::status("GET", "/resources/", 500, &format!("database down for {API_KEY}")));
    let err = b.check().await.unwrap_err();
    assert!(err.to_string().contains("database down for ***"), "{err}");
    server.heal();
    // Nor the access token hush obtained at run time.
    let tokens = server.tokens();
    assert_eq!(tokens.len(), 1);
    server.fail(Fault::status("GET", "/resources/", 503, &format!("token {} is busy", tokens[0])));
    let err = b.check().await.unwrap_err();
    assert!(err.to_string().contains("token *** is busy"), "{err}");
    assert!(!shown(&err).contains(&tokens[0]), "{err:?}");
    server.heal();
    // A wrong API key, an unknown login, another account: PermissionDenied naming the login.
    for wrong in [
        ConjurConfig::new(&server.address, ACCOUNT, LOGIN, "WRONGSECRETKEY"),
        ConjurConfig::new(&server.address, ACCOUNT, "host/nobody", API_KEY),
        ConjurConfig::new(&server.address, "elsewhere", LOGIN, API_KEY),
    ] {
        let err = backend(wrong).check().await.unwrap_err();
        assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::PermissionDenied, false), "{err}");
        assert!(err.to_string().contains("refused to authenticate host/"), "{err}");
        assert_no_credentials(&shown(&err));
    }
}

#[tokio::test]
async fn timeouts_and_dead_servers_are_unavailable() {
    let server = Contract::start();
    server.set("hush/t/n/A", b"a");
    let b = backend(config(&server).with_request_timeout(Duration::from_millis(300)));
    server.fail(Fault::silent("GET", "/secrets/", Duration::from_secs(3)));
    let started = Instant::now();
    let err = b.get(&scope("t", "n"), &name("A"), None).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    server.heal();
    server.fail(Fault::silent("POST", "/authn/", Duration::from_secs(3)));
    let fresh = backend(config(&server).with_request_timeout(Duration::from_millis(300)));
    let err = fresh.check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
    let address = server.address.clone();
    drop(server);
    let dead = backend(ConjurConfig::new(address, ACCOUNT, LOGIN, API_KEY));
    let err = dead.check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
}

#[tokio::test]
async fn https_with_the_configured_ca() {
    support::install_tls_provider();
    let server = hush_backend_behavior::contract_server::ContractServer::start_https(|request| {
        // A token for authentication, an empty list of resources for the check.
        let body = if request.path.starts_with("/authn/") { "dG9rZW4=" } else { "[]" };
        hush_backend_behavior::contract_server::ContractReply::text(200, body)
    });
    let tls = TlsConfig::with_ca_file(hush_backend_behavior::contract_server::test_ca_file());
    let config = ConjurConfig::new(&server.url, ACCOUNT, LOGIN, API_KEY).with_tls(tls);
    assert!(config.problems().is_empty());
    backend(config).check().await.unwrap();
    let untrusted = backend(ConjurConfig::new(&server.url, ACCOUNT, LOGIN, API_KEY));
    assert_eq!(untrusted.check().await.unwrap_err().kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn the_factory_defaults_the_request_timeout_and_refuses_bad_configs() {
    let server = Contract::start();
    let context = BuildContext::new("cj", Duration::from_secs(1));
    let built = ConjurFactory.build(config(&server), &context).await.unwrap();
    built.check().await.unwrap();
    assert_eq!(built.info().kind, "conjur");
    let bad = ConjurConfig::new(&server.address, ACCOUNT, LOGIN, API_KEY).with_prefix("/bad");
    let err = match ConjurFactory.build(bad, &context).await {
        Ok(_) => panic!("a bad prefix builds"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.to_string().contains("prefix"), "{err}");
    let _: &ConjurBackend = &backend(config(&server));
}
