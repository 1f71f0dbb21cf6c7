//! The Delinea backend against the contract server (`support/contract.rs`): the behaviour
//! suite (writer and read-only), the key mapping and values on the wire (`secret("X",
//! "password")` on a secret of another template), exact names over a fuzzy search, duplicates,
//! writes to a secret of another template, the access token's life (one sign-in for concurrent
//! requests, the refresh grant before `expires_in`, a new sign-in on 401), Delinea Platform
//! (client credentials and vault discovery), error kinds, and that no credential shows
//! anywhere. `official_client.rs` checks the server with the official Python client.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hush_backend_delinea::{
    CAPABILITIES, DelineaBackend, DelineaConfig, DelineaFactory, READ_ONLY_CAPABILITIES, SEARCH_PAGE_SIZE,
};
use hush_core::{
    BackendFactory, BuildContext, ErrorKind, KindConfig, ListFilter, SecretBackend, SecretPath, SecretValue, Tags,
    TlsConfig, VersionId,
};
use support::contract::{
    CLIENT_ID, CLIENT_SECRET, Contract, DOMAIN, DOMAIN_PASSWORD, DOMAIN_USERNAME, FILE_TEMPLATE_ID, FOLDER_ID, Fault,
    HUSH_TEMPLATE_ID, OTHER_FOLDER_ID, PASSWORD, PASSWORD_TEMPLATE_ID, READER, READER_PASSWORD, USERNAME,
};
use support::{backend, config, name, platform_config, scope};

/// Error text and debug text together, to check for credentials.
fn shown(err: &hush_core::Error) -> String {
    format!("{err} {err:?}")
}

/// The credentials no message may hold.
fn assert_no_credentials(text: &str) {
    for secret in [PASSWORD, READER_PASSWORD, DOMAIN_PASSWORD, CLIENT_SECRET, "SECRET"] {
        assert!(!text.contains(secret), "a credential shows: {text}");
    }
}

#[tokio::test]
async fn behaviour_suite_with_writes() {
    let server = Contract::start();
    let b = backend(config(&server));
    assert_eq!(b.info().capabilities, CAPABILITIES);
    let mut options = hush_backend_behavior::SuiteOptions::default();
    options.concurrency = 20;
    let report = hush_backend_behavior::run_with(Arc::new(b), options).await;
    report.assert_ok();
    assert!(report.passed.len() >= 10, "{:?}", report.passed);
}

#[tokio::test]
async fn behaviour_suite_read_only_with_seeded_secrets() {
    let server = Contract::start();
    // Without folder_id and secret_template_id: read-only, every secret reads as its fields.
    server.add(
        FOLDER_ID,
        PASSWORD_TEMPLATE_ID,
        "acme.company.team.DB",
        &[("username", "admin"), ("password", "hunter2")],
    );
    server.add(OTHER_FOLDER_ID, HUSH_TEMPLATE_ID, "other.x.PORT", &[("password", "5432")]);
    let read_only = DelineaConfig::with_password(&server.address, USERNAME, PASSWORD);
    let b = backend(read_only);
    assert_eq!(b.info().capabilities, READ_ONLY_CAPABILITIES);
    // The object's keys are sorted by slug.
    let db = r#"{"notes":"","password":"hunter2","resource":"","username":"admin"}"#;
    let options = hush_backend_behavior::SuiteOptions::default()
        .with_seeded(scope("acme", "company.team"), name("DB"), SecretValue::from(db))
        .with_seeded(scope("other", "x"), name("PORT"), SecretValue::from(r#"{"notes":"","password":"5432"}"#));
    let report = hush_backend_behavior::run_with(Arc::new(b), options).await;
    report.assert_ok();
    for trial in ["writes_are_refused_without_write", "seeded_secrets_read_back", "seeded_secrets_are_listed"] {
        assert!(report.passed.contains(&trial), "{trial} did not run");
    }
}

#[tokio::test]
async fn keys_values_and_fields_on_the_wire() {
    let server = Contract::start();
    let b = backend(config(&server));
    let s = scope("acme", "company.team");
    assert_eq!(b.secret_name(&s, &name("DB_PASSWORD")), "acme.company.team.DB_PASSWORD");
    b.put(&s, &name("DB_PASSWORD"), SecretValue::from("hunter2 ✓"), Tags::new()).await.unwrap();
    let stored = server.named("acme.company.team.DB_PASSWORD");
    assert_eq!(stored.len(), 1);
    let (id, secret) = &stored[0];
    assert_eq!((secret.folder_id, secret.template_id, secret.site_id), (FOLDER_ID, HUSH_TEMPLATE_ID, 1));
    assert_eq!(secret.field("password"), Some("hunter2 ✓"));
    assert_eq!(b.get(&s, &name("DB_PASSWORD"), None).await.unwrap().value.expose(), "hunter2 ✓".as_bytes());
    // The second write updates the one field of the same secret.
    b.put(&s, &name("DB_PASSWORD"), SecretValue::new(vec![0xff, 0, 1]), Tags::new()).await.unwrap();
    assert_eq!(server.secret(*id).unwrap().field("password"), Some("hush-base64:/wAB"));
    assert_eq!(b.get(&s, &name("DB_PASSWORD"), None).await.unwrap().value.expose(), [0xff, 0, 1]);
    let requests = server.requests();
    for expected in [
        "GET /api/v1/secrets?filter.searchText=acme.company.team.DB_PASSWORD&filter.folderId=42&skip=0&take=500",
        "GET /api/v1/secret-templates/6001",
        "POST /api/v1/secrets",
        &format!("PUT /api/v1/secrets/{id}/fields/password"),
        &format!("GET /api/v1/secrets/{id}"),
    ] {
        assert!(requests.iter().any(|r| r == expected), "{expected} not in {requests:#?}");
    }
    let create = server.received().into_iter().find(|r| r.method == "POST" && r.path == "/api/v1/secrets").unwrap();
    assert_eq!(
        create.json(),
        serde_json::json!({"name": "acme.company.team.DB_PASSWORD", "secretTemplateId": 6001, "folderId": 42,
            "siteId": 1, "items": [{"fieldId": 501, "slug": "password", "itemValue": "hunter2 ✓"}]})
    );
    assert_eq!(server.count("GET /api/v1/secret-templates/"), 1, "the template is read once");

    // A secret of another template reads as its fields by slug: secret("X", "password").
    server.add(
        FOLDER_ID,
        PASSWORD_TEMPLATE_ID,
        "acme.company.team.ADMIN",
        &[("username", "root"), ("password", "pw1")],
    );
    let admin = b.get(&s, &name("ADMIN"), None).await.unwrap().value;
    let password = SecretPath::parse("password").unwrap().extract(&admin).unwrap();
    assert_eq!(password.expose(), b"pw1");
    let username = SecretPath::parse("username").unwrap().extract(&admin).unwrap();
    assert_eq!(username.expose(), b"root");
    // A file attachment is left out of the object.
    server.add(FOLDER_ID, FILE_TEMPLATE_ID, "acme.company.team.KEY", &[("password", "-----BEGIN"), ("notes", "n")]);
    assert_eq!(b.get(&s, &name("KEY"), None).await.unwrap().value.expose(), br#"{"notes":"n"}"#);

    // No versions, no tags.
    let pinned = b.get(&s, &name("ADMIN"), Some(&VersionId::new("1").unwrap())).await.unwrap_err();
    assert_eq!(pinned.kind(), ErrorKind::Unsupported);
    let tags: Tags = [("team", "x")].into_iter().collect();
    let tagged = b.put(&s, &name("ADMIN"), SecretValue::from("v"), tags).await.unwrap_err();
    assert_eq!(tagged.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn names_are_exact_over_a_fuzzy_search_and_duplicates_are_a_conflict() {
    let server = Contract::start();
    let a = server.add(FOLDER_ID, HUSH_TEMPLATE_ID, "t.n.A", &[("password", "a")]);
    server.add(FOLDER_ID, HUSH_TEMPLATE_ID, "t.n.AB", &[("password", "ab")]);
    server.add(FOLDER_ID, HUSH_TEMPLATE_ID, "T.N.A", &[("password", "upper")]);
    server.add(OTHER_FOLDER_ID, HUSH_TEMPLATE_ID, "t.n.B", &[("password", "elsewhere")]);
    server.add(FOLDER_ID, HUSH_TEMPLATE_ID, "Domain Admin", &[("password", "not hush's")]);
    let b = backend(config(&server));
    let s = scope("t", "n");
    assert_eq!(b.get(&s, &name("A"), None).await.unwrap().value.expose(), b"a");
    assert_eq!(b.get(&scope("T", "N"), &name("A"), None).await.unwrap().value.expose(), b"upper");
    // In another folder: not found, and a put creates it in hush's folder.
    let missing = b.get(&s, &name("B"), None).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.to_string().contains("secret B not found"), "{missing}");
    let listed: Vec<String> =
        b.list(&s, &ListFilter::default()).await.unwrap().into_iter().map(|m| m.name.to_string()).collect();
    assert_eq!(listed, ["A", "AB"]);

    // Two secrets of one exact name: Conflict naming both, for reads, writes and deletes.
    let twin = server.add(FOLDER_ID, HUSH_TEMPLATE_ID, "t.n.A", &[("password", "twin")]);
    let err = b.get(&s, &name("A"), None).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Conflict, false), "{err}");
    assert!(err.to_string().contains(&format!("(ids {a}, {twin})")), "{err}");
    assert!(!err.to_string().contains("twin"), "no value in {err}");
    assert_eq!(
        b.put(&s, &name("A"), SecretValue::from("x"), Tags::new()).await.unwrap_err().kind(),
        ErrorKind::Conflict
    );
    assert_eq!(b.delete(&s, &name("A")).await.unwrap_err().kind(), ErrorKind::Conflict);
    assert_eq!(server.secret(a).unwrap().field("password"), Some("a"));
    let listed: Vec<String> =
        b.list(&s, &ListFilter::default()).await.unwrap().into_iter().map(|m| m.name.to_string()).collect();
    assert_eq!(listed, ["A", "AB"]);
}

#[tokio::test]
async fn writes_touch_only_secrets_of_hushs_template() {
    let server = Contract::start();
    let admin = server.add(FOLDER_ID, PASSWORD_TEMPLATE_ID, "t.n.ADMIN", &[("password", "old")]);
    let b = backend(config(&server));
    let s = scope("t", "n");
    let err = b.put(&s, &name("ADMIN"), SecretValue::from("secret value 123"), Tags::new()).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::InvalidInput, false), "{err}");
    assert!(err.to_string().contains("of template 2, not hush's 6001"), "{err}");
    assert!(!shown(&err).contains("secret value 123"), "{err:?}");
    assert_eq!(server.secret(admin).unwrap().field("password"), Some("old"));
    // A value field the template lacks, or a file field: ConfigInvalid naming it.
    let wrong_field = backend(config(&server).with_value_field("api-key"));
    let err = wrong_field.put(&s, &name("NEW"), SecretValue::from("v"), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
    assert!(err.to_string().contains("no field with slug \"api-key\""), "{err}");
    let file_template = backend(
        DelineaConfig::with_password(&server.address, USERNAME, PASSWORD)
            .with_folder_and_template(FOLDER_ID, FILE_TEMPLATE_ID),
    );
    let err = file_template.put(&s, &name("NEW"), SecretValue::from("v"), Tags::new()).await.unwrap_err();
    assert!(err.to_string().contains("file attachment"), "{err}");
    assert!(server.named("t.n.NEW").is_empty());
    // Without a folder and a template: read-only, writes refused before anything is sent.
    let read_only = backend(DelineaConfig::with_password(&server.address, USERNAME, PASSWORD));
    let before = server.requests().len();
    let err = read_only.put(&s, &name("NEW"), SecretValue::from("v"), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("folder_id and secret_template_id"), "{err}");
    assert_eq!(read_only.delete(&s, &name("ADMIN")).await.unwrap_err().kind(), ErrorKind::Unsupported);
    assert_eq!(server.requests().len(), before);
    // Delete deactivates; a second delete is NotFound.
    let hush = backend(config(&server));
    hush.put(&s, &name("GONE"), SecretValue::from("v"), Tags::new()).await.unwrap();
    hush.delete(&s, &name("GONE")).await.unwrap();
    assert_eq!(hush.delete(&s, &name("GONE")).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(hush.get(&s, &name("GONE"), None).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn lists_page_through_the_search() {
    let server = Contract::start();
    let count = SEARCH_PAGE_SIZE + 3;
    for n in 0..count {
        server.add(FOLDER_ID, HUSH_TEMPLATE_ID, &format!("t.n.S{n:04}"), &[("password", "v")]);
    }
    server.add(FOLDER_ID, HUSH_TEMPLATE_ID, "t.n.deep.D", &[("password", "v")]);
    let b = backend(config(&server));
    let listed = b.list(&scope("t", "n"), &ListFilter::default()).await.unwrap();
    assert_eq!(listed.len(), count);
    assert_eq!(listed[0].name.as_str(), "S0000");
    let recursive = b.list(&scope("t", "n"), &ListFilter { recursive: true, ..Default::default() }).await.unwrap();
    assert_eq!(recursive.len(), count + 1);
    assert!(server.requests().iter().any(|r| r.ends_with("&skip=500&take=500")), "{:?}", server.requests());
}

#[tokio::test]
async fn one_sign_in_for_concurrent_requests_and_a_refresh_before_expiry() {
    let server = Contract::start();
    server.add(FOLDER_ID, HUSH_TEMPLATE_ID, "t.n.A", &[("password", "a")]);
    server.set_token_life(Duration::from_secs(2));
    let b = Arc::new(backend(config(&server)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let b = Arc::clone(&b);
        tasks.spawn(async move { b.get(&scope("t", "n"), &name("A"), None).await.map(|s| s.value.expose().to_vec()) });
    }
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.unwrap().unwrap(), b"a");
    }
    assert_eq!(server.grants(), ["password"]);
    let form = server.received().into_iter().find(|r| r.path == "/oauth2/token").unwrap();
    let pairs = hush_backend_behavior::contract_server::form_pairs(&form.body);
    assert_eq!(pairs.get("username").map(String::as_str), Some(USERNAME));
    assert_eq!(pairs.get("password").map(String::as_str), Some(PASSWORD));
    assert_eq!(pairs.get("domain"), None);
    // 1.5 s into its 2 s life the token is replaced with the refresh grant, once for ten
    // concurrent requests, and the refresh form carries no password.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let b = Arc::clone(&b);
        tasks.spawn(async move { b.get(&scope("t", "n"), &name("A"), None).await.map(|_| ()) });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(server.grants(), ["password", "refresh_token"]);
    let refresh = server.received().into_iter().filter(|r| r.path == "/oauth2/token").nth(1).unwrap();
    let pairs = hush_backend_behavior::contract_server::form_pairs(&refresh.body);
    assert!(pairs.contains_key("refresh_token") && !pairs.contains_key("password"), "{:?}", pairs.keys());
    // A refresh token Secret Server no longer takes: sign in with the password again.
    server.forget_refresh_tokens();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    b.get(&scope("t", "n"), &name("A"), None).await.unwrap();
    assert_eq!(server.grants(), ["password", "refresh_token", "refresh_token", "password"]);
}

#[tokio::test]
async fn a_refused_token_causes_one_sign_in_and_one_repeat() {
    let server = Contract::start();
    server.add(FOLDER_ID, HUSH_TEMPLATE_ID, "t.n.A", &[("password", "a")]);
    let b = Arc::new(backend(config(&server)));
    b.check().await.unwrap();
    server.expire_tokens();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let b = Arc::clone(&b);
        tasks.spawn(async move { b.get(&scope("t", "n"), &name("A"), None).await.map(|_| ()) });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(server.grants(), ["password", "password"], "one new sign-in for ten refused requests");
    // Refused again after the new sign-in: PermissionDenied, without a third sign-in.
    server.fail(Fault::status("GET", "/api/v1/secrets?", 401, "Authentication failed"));
    let err = b.get(&scope("t", "n"), &name("A"), None).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::PermissionDenied, false), "{err}");
    assert!(err.to_string().contains("refused a fresh access token of svc-hush"), "{err}");
    assert_eq!(server.grants().len(), 3);
}

#[tokio::test]
async fn domain_users_sign_in_with_their_domain() {
    let server = Contract::start();
    server.add(FOLDER_ID, HUSH_TEMPLATE_ID, "t.n.A", &[("password", "a")]);
    let config = DelineaConfig::with_password(&server.address, DOMAIN_USERNAME, DOMAIN_PASSWORD)
        .with_domain(DOMAIN)
        .with_folder_and_template(FOLDER_ID, HUSH_TEMPLATE_ID);
    assert_eq!(backend(config.clone()).get(&scope("t", "n"), &name("A"), None).await.unwrap().value.expose(), b"a");
    let form = server.received().into_iter().find(|r| r.path == "/oauth2/token").unwrap();
    assert_eq!(
        hush_backend_behavior::contract_server::form_pairs(&form.body).get("domain").map(String::as_str),
        Some(DOMAIN)
    );
    let mut other = config;
    other.domain = "OTHER".into();
    let err = backend(other).check().await.unwrap_err();
    assert!(err.to_string().contains("refused to sign in OTHER\\svc-ad"), "{err}");
}

#[tokio::test]
async fn platform_signs_in_with_client_credentials_and_finds_the_vault_once() {
    let server = Contract::start_platform();
    let b = backend(platform_config(&server));
    let s = scope("acme", "team");
    b.put(&s, &name("API_KEY"), SecretValue::from("k-1"), Tags::new()).await.unwrap();
    assert_eq!(b.get(&s, &name("API_KEY"), None).await.unwrap().value.expose(), b"k-1");
    assert_eq!(server.named("acme.team.API_KEY")[0].1.field("password"), Some("k-1"));
    assert_eq!(server.grants(), ["client_credentials"]);
    let form = server.received().into_iter().find(|r| r.path.ends_with("/xpmplatform")).unwrap();
    let pairs = hush_backend_behavior::contract_server::form_pairs(&form.body);
    assert_eq!(pairs.get("client_id").map(String::as_str), Some(CLIENT_ID));
    assert_eq!(pairs.get("client_secret").map(String::as_str), Some(CLIENT_SECRET));
    assert_eq!(pairs.get("scope").map(String::as_str), Some("xpmheadless"));
    assert_eq!(server.count("GET /vaultbroker/api/vaults"), 1);
    assert!(server.requests().iter().any(|r| r.starts_with("GET /vault/api/v1/secrets?")), "{:?}", server.requests());
    // A new sign-in after a refused token keeps the vault.
    server.expire_tokens();
    b.get(&s, &name("API_KEY"), None).await.unwrap();
    assert_eq!((server.grants().len(), server.count("GET /vaultbroker/api/vaults")), (2, 1));
    // Behaviour suite on the Platform too.
    let mut options = hush_backend_behavior::SuiteOptions::default();
    options.concurrency = 10;
    hush_backend_behavior::run_with(Arc::new(backend(platform_config(&server))), options).await.assert_ok();

    // No default vault: ConfigInvalid; a wrong secret: PermissionDenied without the secret.
    let no_vault = Contract::start_platform();
    no_vault.set_default_vault(false);
    let err = backend(platform_config(&no_vault)).check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::ConfigInvalid, false), "{err}");
    assert!(err.to_string().contains("no default, active vault"), "{err}");
    let wrong = DelineaConfig::with_client_credentials(&server.address, CLIENT_ID, "WRONGSECRET");
    let err = backend(wrong).check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::PermissionDenied, false), "{err}");
    assert!(err.to_string().contains("Delinea Platform refused to sign in hush-app@acme"), "{err}");
    assert_no_credentials(&shown(&err));
}

#[tokio::test]
async fn statuses_map_to_error_kinds_without_credentials() {
    let server = Contract::start();
    server.add(FOLDER_ID, HUSH_TEMPLATE_ID, "t.n.A", &[("password", "a")]);
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
        server.fail(Fault::status("GET", "/api/v1/secrets?", status, &format!("password {PASSWORD} says no")));
        let err = b.list(&s, &ListFilter::default()).await.unwrap_err();
        assert_eq!((err.kind(), err.is_temporary()), (kind, temporary), "{status}: {err}");
        assert_no_credentials(&shown(&err));
        server.heal();
    }
    // The vendor's words are kept, the password, the access and the refresh token cut out.
    let (access, refresh) = (server.tokens()[0].clone(), server.refresh_tokens()[0].clone());
    server.fail(Fault::status(
        "GET",
        "/api/v1/secrets/",
        500,
        &format!("{} token {access} and {refresh} broke", "x".repeat(150)),
    ));
    let err = b.get(&s, &name("A"), None).await.unwrap_err();
    assert!(err.to_string().contains("token *** and *** broke"), "{err}");
    assert!(!shown(&err).contains(&access[..10]) && !shown(&err).contains(&refresh[..10]), "{err:?}");
    server.heal();
    // A value never shows: not in a refused write either.
    server.fail(Fault::status("PUT", "/fields/", 400, "Invalid value"));
    b.put(&s, &name("B"), SecretValue::from("first"), Tags::new()).await.unwrap();
    let err = b.put(&s, &name("B"), SecretValue::from("value-XYZ-987"), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(!shown(&err).contains("value-XYZ-987"), "{err:?}");
    server.heal();
    // A reader may read but not write: PermissionDenied naming the permission.
    let mut reader = config(&server);
    (reader.username, reader.password) = (READER.into(), READER_PASSWORD.into());
    let reader = backend(reader);
    assert_eq!(reader.get(&s, &name("A"), None).await.unwrap().value.expose(), b"a");
    let err = reader.put(&s, &name("A"), SecretValue::from("x"), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains("svc-reader lacks Edit on the secret (403)"), "{err}");
    let err = reader.put(&s, &name("NEW"), SecretValue::from("x"), Tags::new()).await.unwrap_err();
    assert!(err.to_string().contains("lacks Add Secret on the folder"), "{err}");
    assert_no_credentials(&shown(&err));
    // A wrong password, an unknown user: PermissionDenied naming the user, never the password.
    for wrong in [
        DelineaConfig::with_password(&server.address, USERNAME, "WRONGSECRETPW"),
        DelineaConfig::with_password(&server.address, "nobody", PASSWORD),
    ] {
        let err = backend(wrong).check().await.unwrap_err();
        assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::PermissionDenied, false), "{err}");
        assert!(err.to_string().contains("Secret Server refused to sign in"), "{err}");
        assert!(err.to_string().contains("invalid_grant"), "{err}");
        assert_no_credentials(&shown(&err));
    }
    // A 200 with HTML instead of a grant (python-tss-sdk's note): Unavailable.
    server.fail(Fault::status("POST", "/oauth2/token", 200, "<html>login</html>"));
    let err = backend(config(&server)).check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn timeouts_and_dead_servers_are_unavailable() {
    let server = Contract::start();
    let b = backend(config(&server).with_request_timeout(Duration::from_millis(300)));
    server.fail(Fault::silent("GET", "/api/v1/secrets", Duration::from_secs(3)));
    let started = Instant::now();
    let err = b.get(&scope("t", "n"), &name("A"), None).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    server.heal();
    server.fail(Fault::silent("POST", "/oauth2/token", Duration::from_secs(3)));
    let fresh = backend(config(&server).with_request_timeout(Duration::from_millis(300)));
    let err = fresh.check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
    let address = server.address.clone();
    drop(server);
    let dead = backend(DelineaConfig::with_password(address, USERNAME, PASSWORD));
    let err = dead.check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
}

#[tokio::test]
async fn https_with_the_configured_ca() {
    support::install_tls_provider();
    let server = hush_backend_behavior::contract_server::ContractServer::start_https(|request| {
        let body = if request.path == "/oauth2/token" {
            r#"{"access_token":"t","token_type":"bearer","expires_in":1200}"#
        } else {
            r#"{"records":[],"hasNext":false}"#
        };
        hush_backend_behavior::contract_server::ContractReply::text(200, body)
    });
    let tls = TlsConfig::with_ca_file(hush_backend_behavior::contract_server::test_ca_file());
    let config = DelineaConfig::with_password(&server.url, USERNAME, PASSWORD).with_tls(tls);
    assert!(config.problems().is_empty());
    backend(config).check().await.unwrap();
    let untrusted = backend(DelineaConfig::with_password(&server.url, USERNAME, PASSWORD));
    assert_eq!(untrusted.check().await.unwrap_err().kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn the_factory_defaults_the_request_timeout_and_refuses_bad_configs() {
    let server = Contract::start();
    let context = BuildContext::new("dl", Duration::from_secs(1));
    assert_eq!(DelineaFactory.capabilities(&config(&server)), CAPABILITIES);
    let read_only = DelineaConfig::with_password(&server.address, USERNAME, PASSWORD);
    assert_eq!(DelineaFactory.capabilities(&read_only), READ_ONLY_CAPABILITIES);
    let built = DelineaFactory.build(config(&server), &context).await.unwrap();
    built.check().await.unwrap();
    assert_eq!(built.info().kind, "delinea");
    let mut bad = read_only;
    (bad.client_id, bad.client_secret) = (CLIENT_ID.into(), CLIENT_SECRET.into());
    let err = match DelineaFactory.build(bad, &context).await {
        Ok(_) => panic!("two credentials build"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.to_string().contains("client_id"), "{err}");
    assert_no_credentials(&shown(&err));
    let _: &DelineaBackend = &backend(config(&server));
}
