//! The BeyondTrust backend against the contract server (`support/contract.rs`): the behaviour
//! suite, the key mapping and values on the wire, credential and file secrets (read with a
//! path), lists, the session's life (one sign-in for concurrent requests, one new sign-in and
//! one repeat on 401, sign-out), API key with password and OAuth sign-ins, error kinds, and
//! that no credential, cookie or value shows anywhere. `official_client.rs` checks the server
//! with BeyondTrust's own Python client.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hush_backend_beyondtrust::{
    BeyondTrustBackend, BeyondTrustConfig, BeyondTrustFactory, HASHED_TITLE_PREFIX, MAX_TEXT_LEN,
};
use hush_core::{
    BackendFactory, BuildContext, ErrorKind, KindConfig, ListFilter, SecretBackend, SecretPath, SecretValue, Tags,
    TlsConfig, VersionId,
};
use support::contract::{
    API, API_KEY, CLIENT_ID, CLIENT_SECRET, Contract, Fault, PASSWORD, PROD_FOLDER_ID, PWD_RUN_AS, READER, RUN_AS,
};
use support::{FOLDER, backend, config, name, scope};

/// Error text and debug text together, to check for secrets.
fn shown(err: &hush_core::Error) -> String {
    format!("{err} {err:?}")
}

/// The credentials and cookie fragments no message may hold.
fn assert_no_secrets(text: &str) {
    for secret in [API_KEY, PASSWORD, CLIENT_SECRET, "SECRET"] {
        assert!(!text.contains(secret), "a credential shows: {text}");
    }
}

fn names(metas: Vec<hush_core::SecretMeta>) -> Vec<String> {
    metas.into_iter().map(|m| format!("{}/{}", m.namespace, m.name)).collect()
}

#[tokio::test]
async fn behaviour_suite() {
    let server = Contract::start();
    let b = backend(config(&server));
    let mut options = hush_backend_behavior::SuiteOptions::default();
    // The largest binary value a text secret holds as base64.
    options.large_value_bytes = (MAX_TEXT_LEN - hush_core::BASE64_TEXT_MARKER.len()) / 4 * 3;
    let report = hush_backend_behavior::run_with(Arc::new(b), options).await;
    report.assert_ok();
    for trial in ["put_then_get", "binary_value_round_trips", "name_at_length_limit", "namespace_at_depth_limit"] {
        assert!(report.passed.contains(&trial), "{trial} did not run");
    }
    // The suite cleaned up; its sign-in was one.
    assert!(server.secrets().is_empty(), "{:?}", server.secrets().iter().map(|s| &s.title).collect::<Vec<_>>());
    assert_eq!(server.count("POST", "/Auth/SignAppin"), 1);
}

#[tokio::test]
async fn keys_and_values_on_the_wire() {
    let server = Contract::start();
    let b = backend(config(&server).with_owner_id(12));
    let s = scope("acme", "company.team");
    assert_eq!(b.secret_title(&s, &name("DB_PASSWORD")), "acme.company.team.DB_PASSWORD");
    b.put(&s, &name("DB_PASSWORD"), SecretValue::from("hunter2 ✓"), Tags::new()).await.unwrap();
    let stored = server.secret("acme.company.team.DB_PASSWORD").unwrap();
    assert_eq!((stored.kind.as_str(), stored.text.as_str()), ("Text", "hunter2 ✓"));
    assert_eq!(stored.folder_id, PROD_FOLDER_ID);
    assert_eq!(stored.notes, "hush key: acme/company.team/DB_PASSWORD");
    assert_eq!(stored.description, "written by hush");
    assert_eq!(stored.owner_id, Some(12));
    let requests = server.requests();
    assert!(requests.contains(&format!("GET {API}/Secrets-Safe/Folders")), "{requests:?}");
    assert!(
        requests
            .contains(&format!("GET {API}/Secrets-Safe/Secrets?Path=hush%2Fprod&Title=acme.company.team.DB_PASSWORD")),
        "{requests:?}"
    );
    assert!(
        requests.contains(&format!("POST {API}/Secrets-Safe/Folders/{PROD_FOLDER_ID}/secrets/text")),
        "{requests:?}"
    );
    let create =
        server.received().into_iter().find(|r| r.method == "POST" && r.path.ends_with("/secrets/text")).unwrap();
    let body = create.json();
    assert_eq!(body["OwnerType"], "User");
    assert_eq!(body["Owners"], serde_json::json!([{"OwnerId": 12}]));
    assert_eq!(body["FolderId"], PROD_FOLDER_ID);

    // A second write updates the same secret; binary values go in as base64.
    b.put(&s, &name("DB_PASSWORD"), SecretValue::new(vec![0, 0xff, 10]), Tags::new()).await.unwrap();
    let stored = server.secret("acme.company.team.DB_PASSWORD").unwrap();
    assert_eq!((stored.text.as_str(), stored.writes), ("hush-base64:AP8K", 2));
    assert_eq!(server.secrets().len(), 1);
    assert!(server.requests().contains(&format!("PUT {API}/Secrets-Safe/Secrets/{}/text", stored.id)));
    let read = b.get(&s, &name("DB_PASSWORD"), None).await.unwrap();
    assert_eq!((read.value.expose(), read.version), (&[0, 0xff, 10][..], None));
    assert!(server.requests().contains(&format!("GET {API}/Secrets-Safe/Secrets/{}/text", stored.id)));
    // Mixed case keys, escaped (and distinct however the store compares case).
    b.put(&scope("Acme", "x"), &name("dbPass"), SecretValue::from("m"), Tags::new()).await.unwrap();
    b.put(&scope("acme", "x"), &name("DBPASS"), SecretValue::from("u"), Tags::new()).await.unwrap();
    assert!(server.secret("^Acme.x.^d^bP^a^s^s").is_some());
    assert_eq!(b.get(&scope("Acme", "x"), &name("dbPass"), None).await.unwrap().value.expose(), b"m");
    assert_eq!(b.get(&scope("acme", "x"), &name("DBPASS"), None).await.unwrap().value.expose(), b"u");

    // Missing secrets and versions.
    let missing = b.get(&s, &name("NOPE"), None).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
    assert!(missing.to_string().contains("NOPE"), "{missing}");
    let pinned = b.get(&s, &name("DB_PASSWORD"), Some(&VersionId::new("1").unwrap())).await.unwrap_err();
    assert_eq!(pinned.kind(), ErrorKind::Unsupported);
    let tags: Tags = [("team", "x")].into_iter().collect();
    assert_eq!(b.put(&s, &name("T"), SecretValue::from("v"), tags).await.unwrap_err().kind(), ErrorKind::Unsupported);

    // Too long for a text secret: refused before anything is sent, without the value.
    let before = server.requests().len();
    let long = SecretValue::from("SECRETVALUE".repeat(400).as_str());
    let err = b.put(&s, &name("LONG"), long, Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("4096"), "{err}");
    assert_no_secrets(&shown(&err));
    assert_eq!(server.requests().len(), before);

    // Delete removes it; again is NotFound.
    b.delete(&s, &name("DB_PASSWORD")).await.unwrap();
    assert!(server.secret("acme.company.team.DB_PASSWORD").is_none());
    assert_eq!(b.delete(&s, &name("DB_PASSWORD")).await.unwrap_err().kind(), ErrorKind::NotFound);

    // The folder by id works the same.
    let by_id = backend(config(&server).with_folder_id(PROD_FOLDER_ID.to_uppercase()));
    assert_eq!(by_id.get(&scope("acme", "x"), &name("DBPASS"), None).await.unwrap().value.expose(), b"u");
    let missing_folder = backend(config(&server).with_folder_id("00000000-0000-4000-8000-ffffffffffff"));
    let err = missing_folder.check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("no Secrets Safe folder"), "{err}");
    let mut nope = config(&server);
    nope.folder = "hush/nope".into();
    let err = backend(nope).check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn credential_and_file_secrets_read_with_a_path() {
    let server = Contract::start();
    server.add_credential(FOLDER, "acme.team.DB", "admin", "pa\"ss ✓");
    server.add_file(FOLDER, "acme.team.CERT", &[0x30, 0x82, 0xff, 0]);
    let b = backend(config(&server));
    let s = scope("acme", "team");
    let credential = b.get(&s, &name("DB"), None).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(credential.value.expose()).unwrap();
    assert_eq!(json, serde_json::json!({"username": "admin", "password": "pa\"ss ✓"}));
    // What `secret("DB", "password")` does in the resolver.
    let password = SecretPath::parse("password").unwrap().extract(&credential.value).unwrap();
    assert_eq!(password.expose(), "pa\"ss ✓".as_bytes());
    let username = SecretPath::parse("username").unwrap().extract(&credential.value).unwrap();
    assert_eq!(username.expose(), b"admin");
    let id = server.secret("acme.team.DB").unwrap().id;
    assert!(server.requests().contains(&format!("GET {API}/Secrets-Safe/Secrets/{id}")));

    let file = b.get(&s, &name("CERT"), None).await.unwrap();
    assert_eq!(file.value.expose(), [0x30, 0x82, 0xff, 0]);
    let id = server.secret("acme.team.CERT").unwrap().id;
    assert!(server.requests().contains(&format!("GET {API}/Secrets-Safe/Secrets/{id}/file/download")));

    // hush writes text secrets only: a credential secret of that title is left alone.
    let err = b.put(&s, &name("DB"), SecretValue::from("new SECRETVALUE"), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("Credential secret"), "{err}");
    assert!(!shown(&err).contains("SECRETVALUE"));
    assert_eq!(server.secret("acme.team.DB").unwrap().password, "pa\"ss ✓");
    let listed = b.list(&s, &ListFilter::default()).await.unwrap();
    assert_eq!(names(listed), ["team/CERT", "team/DB"]);
    b.delete(&s, &name("DB")).await.unwrap();
    assert!(server.secret("acme.team.DB").is_none());
}

#[tokio::test]
async fn lists_follow_namespaces_and_skip_foreign_secrets() {
    let server = Contract::start();
    let b = backend(config(&server));
    for (ns, n) in [("company", "TOP"), ("company.team", "B"), ("company.team", "A"), ("company.team.sub", "DEEP")] {
        b.put(&scope("acme", ns), &name(n), SecretValue::from("v"), Tags::new()).await.unwrap();
    }
    b.put(&scope("other", "company.team"), &name("X"), SecretValue::from("v"), Tags::new()).await.unwrap();
    // A key too long for a title: hashed, read back from its notes.
    let deep = ["a".repeat(60), "b".repeat(60), "c".repeat(60), "d".repeat(60)].join(".");
    b.put(&scope("acme", &format!("company.{deep}")), &name("LONG"), SecretValue::from("l"), Tags::new())
        .await
        .unwrap();
    assert!(server.secrets().iter().any(|s| s.title.starts_with(HASHED_TITLE_PREFIX)));
    // Secrets hush did not write: other titles, another folder.
    server.add_text(FOLDER, "Production database", "x");
    server.add_text(FOLDER, "acme.company.team x", "x");
    server.add_text("other", "acme.company.team.OTHER_FOLDER", "x");
    let s = scope("acme", "company.team");
    assert_eq!(names(b.list(&s, &ListFilter::default()).await.unwrap()), ["company.team/A", "company.team/B"]);
    let deep_list =
        b.list(&scope("acme", "company"), &ListFilter { tags: Tags::new(), recursive: true }).await.unwrap();
    let deep_names = names(deep_list);
    assert_eq!(deep_names.len(), 5, "{deep_names:?}");
    assert_eq!(&deep_names[..1], ["company/TOP"]);
    assert!(deep_names.iter().any(|n| n.ends_with("/LONG")), "{deep_names:?}");
    assert!(deep_names.contains(&"company.team.sub/DEEP".to_owned()));
    assert!(b.list(&scope("acme", "empty"), &ListFilter::default()).await.unwrap().is_empty());
    let tagged = ListFilter { tags: [("team", "x")].into_iter().collect(), recursive: false };
    assert!(b.list(&s, &tagged).await.unwrap().is_empty());
    assert!(server.requests().contains(&format!("GET {API}/Secrets-Safe/Secrets?Path=hush%2Fprod")));
}

#[tokio::test]
async fn one_sign_in_serves_concurrent_requests_and_a_401_renews_it_once() {
    let server = Contract::start();
    server.add_text(FOLDER, "t.n.A", "a");
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
    assert_eq!(server.count("POST", "/Auth/SignAppin"), 1);
    let sign_in = server.received().into_iter().find(|r| r.path.ends_with("/Auth/SignAppin")).unwrap();
    assert_eq!(sign_in.header("authorization"), Some(format!("PS-Auth key={API_KEY}; runas={RUN_AS};").as_str()));
    // Every later call carries the session cookie, and no credential.
    let session = server.sessions().pop().unwrap();
    for request in server.received().iter().filter(|r| r.path.contains("/Secrets-Safe/")) {
        assert_eq!(request.header("cookie"), Some(format!("ASP.NET_SessionId={session}").as_str()));
        assert!(request.header("authorization").is_none());
    }

    // Expired (401): one new sign-in, however many requests hit it, each repeated once.
    server.expire_sessions();
    let reads: Vec<_> = (0..10)
        .map(|_| {
            let (b, s) = (Arc::clone(&b), s.clone());
            tokio::spawn(async move { b.get(&s, &name("A"), None).await.map(|_| ()) })
        })
        .collect();
    for read in reads {
        read.await.unwrap().unwrap();
    }
    assert_eq!(server.count("POST", "/Auth/SignAppin"), 2);

    // A 401 a new session does not cure: one new sign-in, one repeat, then PermissionDenied.
    server.fail(Fault::status("GET", "/Secrets-Safe/Secrets?", 401, "User not authenticated"));
    let before = server.count("GET", "/Secrets-Safe/Secrets?");
    let err = b.get(&s, &name("A"), None).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::PermissionDenied, false), "{err}");
    assert!(err.to_string().contains("also after a new sign-in"), "{err}");
    assert_eq!(server.count("GET", "/Secrets-Safe/Secrets?") - before, 2);
    assert_eq!(server.count("POST", "/Auth/SignAppin"), 3);
    assert_no_secrets(&shown(&err));
    server.heal();

    // Password Safe's message never shows the session cookie.
    let session = server.sessions().pop().unwrap();
    server.fail(Fault::status("GET", "/Secrets-Safe/Secrets?", 500, &format!("session {session} broke")));
    let err = b.get(&s, &name("A"), None).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
    assert!(err.to_string().contains("session *** broke"), "{err}");
    assert_no_secrets(&shown(&err));
}

#[tokio::test]
async fn sign_out_ends_the_session_explicitly_and_on_drop() {
    let server = Contract::start();
    server.add_text(FOLDER, "t.n.A", "a");
    let b = backend(config(&server));
    b.get(&scope("t", "n"), &name("A"), None).await.unwrap();
    let session = server.sessions().pop().unwrap();
    b.sign_out().await.unwrap();
    assert!(server.sessions().is_empty());
    let sign_out = server.received().into_iter().find(|r| r.path.ends_with("/Auth/Signout")).unwrap();
    assert_eq!(sign_out.header("cookie"), Some(format!("ASP.NET_SessionId={session}").as_str()));
    // Signed out with no session: nothing to do. The next call signs in again.
    b.sign_out().await.unwrap();
    assert_eq!(server.count("POST", "/Auth/Signout"), 1);
    b.get(&scope("t", "n"), &name("A"), None).await.unwrap();
    assert_eq!((server.count("POST", "/Auth/SignAppin"), server.sessions().len()), (2, 1));
    // Dropped inside a runtime: a sign-out is spawned.
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.sessions().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.sessions().is_empty());
    assert_eq!(server.count("POST", "/Auth/Signout"), 2);
    // Never signed in: dropping sends nothing.
    drop(backend(config(&server)));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.count("POST", "/Auth/Signout"), 2);
}

#[tokio::test]
async fn passwords_and_oauth_sign_in_and_wrong_credentials_are_refused_unshown() {
    let server = Contract::start();
    server.add_text(FOLDER, "t.n.A", "a");
    let s = scope("t", "n");
    // The run-as user's password goes into the header as pwd=[...].
    let with_password =
        backend(BeyondTrustConfig::with_api_key(&server.address, API_KEY, PWD_RUN_AS, FOLDER).with_password(PASSWORD));
    with_password.get(&s, &name("A"), None).await.unwrap();
    let sign_in = server.received().into_iter().rfind(|r| r.path.ends_with("/Auth/SignAppin")).unwrap();
    assert_eq!(
        sign_in.header("authorization"),
        Some(format!("PS-Auth key={API_KEY}; runas={PWD_RUN_AS}; pwd=[{PASSWORD}];").as_str())
    );
    // OAuth: a token, then SignAppin with it.
    let oauth = backend(BeyondTrustConfig::with_oauth(&server.address, CLIENT_ID, CLIENT_SECRET, FOLDER));
    oauth.get(&s, &name("A"), None).await.unwrap();
    assert_eq!(server.count("POST", "/Auth/connect/token"), 1);
    let token = server.received().into_iter().find(|r| r.path.ends_with("/Auth/connect/token")).unwrap();
    let form = hush_backend_behavior::contract_server::form_pairs(&token.body);
    assert_eq!(form.get("grant_type").map(String::as_str), Some("client_credentials"));
    let sign_in = server.received().into_iter().rfind(|r| r.path.ends_with("/Auth/SignAppin")).unwrap();
    assert!(sign_in.header("authorization").is_some_and(|a| a.starts_with("Bearer eyJ.token-")));

    // Wrong credentials: PermissionDenied naming who signed in, never a credential.
    for wrong in [
        BeyondTrustConfig::with_api_key(&server.address, "WRONGSECRETKEY", RUN_AS, FOLDER),
        BeyondTrustConfig::with_api_key(&server.address, API_KEY, "nobody", FOLDER),
        BeyondTrustConfig::with_api_key(&server.address, API_KEY, PWD_RUN_AS, FOLDER).with_password("WRONGSECRET"),
        BeyondTrustConfig::with_oauth(&server.address, CLIENT_ID, "WRONGSECRETCLIENT-0000000000000000000000", FOLDER),
    ] {
        let err = backend(wrong).check().await.unwrap_err();
        assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::PermissionDenied, false), "{err}");
        assert!(err.to_string().contains("refused to sign in"), "{err}");
        assert_no_secrets(&shown(&err));
    }
    // A sign-in answer repeating the credentials or the access token: cut out.
    server.refuse_sign_ins_echoing_credentials();
    with_password.sign_out().await.unwrap();
    let err = with_password.check().await.unwrap_err();
    assert!(err.to_string().contains("refused: PS-Auth key=***; runas=svc-pwd; pwd=[***];"), "{err}");
    assert_no_secrets(&shown(&err));
    oauth.sign_out().await.unwrap();
    let err = oauth.check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains("refused: Bearer ***"), "{err}");
    assert!(!shown(&err).contains("eyJ.token-"), "{err}");
}

#[tokio::test]
async fn statuses_map_to_error_kinds_without_secrets() {
    let server = Contract::start();
    server.add_text(FOLDER, "t.n.A", "SECRETVALUE");
    let b = backend(config(&server));
    let s = scope("t", "n");
    for (status, kind, temporary) in [
        (400, ErrorKind::InvalidInput, false),
        (403, ErrorKind::PermissionDenied, false),
        (404, ErrorKind::NotFound, false),
        (429, ErrorKind::RateLimited, true),
        (500, ErrorKind::Unavailable, true),
        (503, ErrorKind::Unavailable, true),
    ] {
        server.fail(Fault::status(
            "GET",
            "/Secrets-Safe/Secrets?Path=hush%2Fprod",
            status,
            &format!("key {API_KEY} says no"),
        ));
        let err = b.list(&s, &ListFilter::default()).await.unwrap_err();
        assert_eq!((err.kind(), err.is_temporary()), (kind, temporary), "{status}: {err}");
        assert_no_secrets(&shown(&err));
        server.heal();
    }
    // A read-only user: PermissionDenied naming the permission; reads work.
    let reader = backend(BeyondTrustConfig::with_api_key(&server.address, API_KEY, READER, FOLDER));
    assert_eq!(reader.get(&s, &name("A"), None).await.unwrap().value.expose(), b"SECRETVALUE");
    let denied = reader.put(&s, &name("A"), SecretValue::from("SECRETNEW"), Tags::new()).await.unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied, "{denied}");
    assert!(denied.to_string().contains("user svc-reader may not do this (403) updating a text secret"), "{denied}");
    assert_no_secrets(&shown(&denied));
    let denied = reader.put(&s, &name("NEW"), SecretValue::from("x"), Tags::new()).await.unwrap_err();
    assert!(denied.to_string().contains("permission to create secrets"), "{denied}");
    let denied = reader.delete(&s, &name("A")).await.unwrap_err();
    assert!(denied.to_string().contains("permission to delete"), "{denied}");
    // A conflict on create (a secret of that title appeared meanwhile) is Conflict.
    server.fail(Fault::status("POST", "/secrets/text", 409, "A secret with this title already exists"));
    let err = b.put(&s, &name("RACE"), SecretValue::from("SECRETRACE"), Tags::new()).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Conflict, false), "{err}");
    assert_no_secrets(&shown(&err));
    server.heal();
    // An answer that is not Password Safe's: unavailable, temporary.
    server.fail(Fault::status("GET", "/Secrets-Safe/Folders", 200, "<html>proxy</html>"));
    let err = backend(config(&server)).check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
}

#[tokio::test]
async fn timeouts_and_dead_servers_are_unavailable() {
    let server = Contract::start();
    server.add_text(FOLDER, "t.n.A", "a");
    let b = backend(config(&server).with_request_timeout(Duration::from_millis(300)));
    b.check().await.unwrap();
    server.fail(Fault::silent("GET", "/Secrets-Safe/Secrets", Duration::from_secs(3)));
    let started = Instant::now();
    let err = b.get(&scope("t", "n"), &name("A"), None).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    server.heal();
    server.fail(Fault::silent("POST", "/Auth/SignAppin", Duration::from_secs(3)));
    let fresh = backend(config(&server).with_request_timeout(Duration::from_millis(300)));
    let err = fresh.check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
    let address = server.address.clone();
    drop(server);
    let dead = backend(BeyondTrustConfig::with_api_key(address, API_KEY, RUN_AS, FOLDER));
    let err = dead.check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
}

#[tokio::test]
async fn https_with_the_configured_ca() {
    support::install_tls_provider();
    let server = hush_backend_behavior::contract_server::ContractServer::start_https(|request| {
        use hush_backend_behavior::contract_server::ContractReply;
        if request.path.ends_with("/Auth/SignAppin") {
            ContractReply::json(200, &serde_json::json!({"UserId": 1}))
                .with_header("set-cookie", "ASP.NET_SessionId=s; path=/")
        } else {
            ContractReply::json(200, &serde_json::json!([{"Id": PROD_FOLDER_ID, "Name": "prod", "ParentId": null}]))
        }
    });
    let tls = TlsConfig::with_ca_file(hush_backend_behavior::contract_server::test_ca_file());
    let config = BeyondTrustConfig::with_api_key(&server.url, API_KEY, RUN_AS, "prod").with_tls(tls);
    assert!(config.problems().is_empty());
    backend(config).check().await.unwrap();
    let untrusted = backend(BeyondTrustConfig::with_api_key(&server.url, API_KEY, RUN_AS, "prod"));
    assert_eq!(untrusted.check().await.unwrap_err().kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn the_factory_defaults_the_request_timeout_and_refuses_bad_configs() {
    let server = Contract::start();
    let context = BuildContext::new("bt", Duration::from_secs(1));
    let built = BeyondTrustFactory.build(config(&server), &context).await.unwrap();
    built.check().await.unwrap();
    assert_eq!(built.info().kind, "beyondtrust");
    let mut bad = config(&server);
    bad.client_id = CLIENT_ID.into();
    let err = match BeyondTrustFactory.build(bad, &context).await {
        Ok(_) => panic!("a config with two ways to sign in builds"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.to_string().contains("client_id"), "{err}");
    assert_no_secrets(&shown(&err));
    let _: &BeyondTrustBackend = &backend(config(&server));
}
