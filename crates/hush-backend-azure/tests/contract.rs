//! The Azure Key Vault backend against the Key Vault contract server (`support/`): the
//! behaviour suite, the auth handshake, paging, soft delete and error mapping.

mod support;

use std::sync::Arc;
use std::time::Duration;

use hush_backend_azure::{AzureBackend, AzureConfig, CredentialConfig, MAX_STORED_VALUE, secret_name};
use hush_backend_behavior::SuiteOptions;
use hush_core::{
    ErrorKind, KindConfig, ListFilter, Namespace, Scope, SecretBackend, SecretName, SecretValue, Tags, TenantId,
};
use hyper::Method;
use serde_json::json;
use support::{ASSERTION, CLIENT_ID, CLIENT_SECRET, Fault, KeyVaultStub, TENANT, ca_file};

fn config(stub: &KeyVaultStub) -> AzureConfig {
    AzureConfig::new(stub.url(), CredentialConfig::client_secret(TENANT, CLIENT_ID, CLIENT_SECRET))
        .with_authority_host(stub.url())
        .with_ca_file(ca_file())
        // The stub's challenge names https://vault.azure.net, not 127.0.0.1.
        .with_verify_challenge_resource(false)
        .with_request_timeout(Duration::from_secs(5))
}

async fn backend(_stub: &KeyVaultStub, config: AzureConfig) -> AzureBackend {
    AzureBackend::connect("azure-test", config).await.expect("connect")
}

fn scope(tenant: &str, namespace: &str) -> Scope {
    Scope::new(TenantId::new(tenant).unwrap(), Namespace::new(namespace).unwrap())
}

fn name(text: &str) -> SecretName {
    SecretName::new(text).unwrap()
}

fn value(text: &str) -> SecretValue {
    SecretValue::new(text.as_bytes().to_vec())
}

fn fault(method: Method, path_contains: &str, status: u16, body: serde_json::Value) -> Fault {
    Fault { method, path_contains: path_contains.to_owned(), status, body, retry_after: None, delay: Duration::ZERO }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_suite() {
    let stub = KeyVaultStub::start(5).await;
    let backend = Arc::new(backend(&stub, config(&stub).with_prefix("hush-")).await);
    // Key Vault stores at most 25 KiB; the suite's value is random bytes, stored in base64.
    let mut options = SuiteOptions::default();
    options.large_value_bytes = MAX_STORED_VALUE / 4 * 3;
    let report = hush_backend_behavior::run_with(backend, options).await;
    report.assert_ok();
    assert!(!report.passed.is_empty());
}

#[tokio::test]
async fn purge_on_delete_suite() {
    let stub = KeyVaultStub::start(25).await;
    let backend = Arc::new(backend(&stub, config(&stub).with_purge_on_delete(true)).await);
    let mut options = SuiteOptions::default();
    options.large_value_bytes = 1024;
    options.concurrency = 5;
    hush_backend_behavior::run_with(backend, options).await.assert_ok();
    assert!(stub.deleted_names().is_empty(), "purged: {:?}", stub.deleted_names());
}

#[tokio::test]
async fn the_first_request_is_challenged_then_a_client_secret_token_is_used() {
    let stub = KeyVaultStub::start(25).await;
    let backend = backend(&stub, config(&stub)).await;
    backend.check().await.expect("check");
    let seen = stub.seen();
    assert!(!seen[0].authorized, "the SDK first asks without a token to get the challenge");
    assert!(seen.iter().skip(1).all(|s| s.authorized));
    assert!(seen.iter().all(|s| s.query.contains("api-version=7.5")), "{seen:?}");
    let tokens = stub.token_requests();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].get("scope").map(String::as_str), Some("https://vault.azure.net/.default"));
    assert_eq!(tokens[0].get("client_id").map(String::as_str), Some(CLIENT_ID));
}

#[tokio::test]
async fn workload_identity_exchanges_the_federated_token() {
    let stub = KeyVaultStub::start(25).await;
    let dir = std::env::temp_dir().join(format!("hush-azure-wi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, ASSERTION).unwrap();
    let mut config = config(&stub);
    config.credential = CredentialConfig::workload_identity(TENANT, CLIENT_ID, &token_file);
    let backend = backend(&stub, config).await;
    let s = scope("acme", "wi");
    backend.put(&s, &name("X"), value("v"), Tags::new()).await.expect("put");
    assert_eq!(backend.get(&s, &name("X"), None).await.unwrap().value.expose(), b"v");
    let tokens = stub.token_requests();
    assert_eq!(tokens[0].get("client_assertion").map(String::as_str), Some(ASSERTION));
    assert!(!tokens[0].contains_key("client_secret"));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_missing_federated_token_file_is_config_invalid() {
    let stub = KeyVaultStub::start(25).await;
    let mut config = config(&stub);
    config.credential = CredentialConfig::workload_identity(TENANT, CLIENT_ID, "/nonexistent/hush/token");
    let err = AzureBackend::connect("azure-wi", config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
    assert!(err.message().contains("workload_identity"), "{err}");
}

#[tokio::test]
async fn a_wrong_client_secret_is_permission_denied_without_the_secret() {
    let stub = KeyVaultStub::start(25).await;
    let mut config = config(&stub);
    config.credential = CredentialConfig::client_secret(TENANT, CLIENT_ID, "wrong-secret-value");
    let backend = backend(&stub, config).await;
    let err = backend.get(&scope("acme", "a"), &name("X"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(!err.to_string().contains("wrong-secret-value"), "{err}");
    assert!(!format!("{backend:?}").contains("wrong-secret-value"));
}

#[tokio::test]
async fn lists_read_every_page_and_invert_the_mapping() {
    let stub = KeyVaultStub::start(3).await;
    let backend = backend(&stub, config(&stub)).await;
    let s = scope("acme", "team.etl");
    for i in 0..8 {
        backend.put(&s, &name(&format!("Key_{i}")), value("v"), Tags::new()).await.unwrap();
    }
    backend.put(&scope("acme", "team"), &name("PARENT"), value("v"), Tags::new()).await.unwrap();
    backend.put(&scope("other", "team.etl"), &name("Key_0"), value("v"), Tags::new()).await.unwrap();
    let listed = backend.list(&s, &ListFilter::default()).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["Key_0", "Key_1", "Key_2", "Key_3", "Key_4", "Key_5", "Key_6", "Key_7"]);
    assert!(listed.iter().all(|m| m.version.is_some() && m.updated_at.is_some()));
    let pages = stub.seen().iter().filter(|r| r.path == "/secrets" && r.authorized).count();
    assert!(pages >= 4, "10 secrets in pages of 3 take 4 requests, saw {pages}");
    assert!(stub.seen().iter().any(|r| r.query.contains("skiptoken=")), "{:?}", stub.seen());
    let recursive = ListFilter { recursive: true, ..ListFilter::default() };
    assert_eq!(backend.list(&scope("acme", "team"), &recursive).await.unwrap().len(), 9);
}

#[tokio::test]
async fn names_tags_and_binary_values_are_stored_as_documented() {
    let stub = KeyVaultStub::start(25).await;
    let backend = backend(&stub, config(&stub).with_prefix("hush-")).await;
    let s = scope("acme", "company.team");
    let mut tags = Tags::new();
    tags.insert("team", "payments").unwrap();
    backend.put(&s, &name("DB_PASSWORD"), SecretValue::new(vec![0xff, 0x00, 0x80]), tags.clone()).await.unwrap();
    let mapped = "hush-acme-xcompany-steam-x-cdb-upassword-c";
    assert_eq!(secret_name("hush-", &s, &name("DB_PASSWORD")).unwrap(), mapped);
    assert_eq!(stub.names(), [mapped]);
    // What `hush explain` names is the secret the put stored.
    let explained = config(&stub).with_prefix("hush-");
    let vault = explained.vault_url().unwrap();
    assert_eq!(explained.key_for(&s, &name("DB_PASSWORD")).unwrap(), format!("secret {mapped:?} in vault {vault}"));
    let stored_tags = stub.tags_of(mapped).unwrap();
    assert_eq!(stored_tags.get("hush-tenant").map(String::as_str), Some("acme"));
    assert_eq!(stored_tags.get("hush-namespace").map(String::as_str), Some("company.team"));
    assert_eq!(stored_tags.get("hush-name").map(String::as_str), Some("DB_PASSWORD"));
    assert_eq!(stub.stored(mapped), Some(("/wCA".to_owned(), Some("application/octet-stream;base64".to_owned()))));
    let got = backend.get(&s, &name("DB_PASSWORD"), None).await.unwrap();
    assert_eq!(got.value.expose(), [0xff, 0x00, 0x80]);
    assert_eq!(got.tags, tags);
    // Differing only in case: two secrets, although Key Vault ignores case.
    backend.put(&s, &name("db_password"), value("lower"), Tags::new()).await.unwrap();
    assert_eq!(stub.names().len(), 2);
    assert_eq!(backend.get(&s, &name("DB_PASSWORD"), None).await.unwrap().value.expose(), [0xff, 0x00, 0x80]);
}

#[tokio::test]
async fn limits_are_invalid_input() {
    let stub = KeyVaultStub::start(25).await;
    let backend = backend(&stub, config(&stub)).await;
    let s = scope("acme", "a");
    let big = SecretValue::new(vec![b'x'; MAX_STORED_VALUE + 1]);
    let err = backend.put(&s, &name("BIG"), big, Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("25 KiB"), "{err}");
    let mut reserved = Tags::new();
    reserved.insert("hush-name", "x").unwrap();
    let err = backend.put(&s, &name("T"), value("v"), reserved).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(stub.names().is_empty());
}

#[tokio::test]
async fn soft_deleted_names_are_recovered_on_put_or_reported_as_conflict() {
    let stub = KeyVaultStub::start(25).await;
    let backend = backend(&stub, config(&stub)).await;
    let s = scope("acme", "a");
    backend.put(&s, &name("X"), value("one"), Tags::new()).await.unwrap();
    backend.delete(&s, &name("X")).await.unwrap();
    assert_eq!(stub.deleted_names().len(), 1, "soft-deleted, not purged");
    assert_eq!(backend.get(&s, &name("X"), None).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(backend.delete(&s, &name("X")).await.unwrap_err().kind(), ErrorKind::NotFound);

    backend.put(&s, &name("X"), value("two"), Tags::new()).await.expect("put recovers, then writes");
    assert!(stub.deleted_names().is_empty());
    assert_eq!(backend.get(&s, &name("X"), None).await.unwrap().value.expose(), b"two");
    assert!(stub.seen().iter().any(|r| r.method == Method::POST && r.path.ends_with("/recover")));

    backend.delete(&s, &name("X")).await.unwrap();
    stub.deny("recover");
    let err = backend.put(&s, &name("X"), value("three"), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.message().contains("deleted but recoverable"), "{err}");
    assert!(err.message().contains("recover"), "{err}");
}

#[tokio::test]
async fn waiting_for_key_vault_to_settle_ends_within_the_request_timeout() {
    let stub = KeyVaultStub::start(25).await;
    let timeout = Duration::from_secs(1);
    let backend = backend(&stub, config(&stub).with_request_timeout(timeout)).await;
    let s = scope("acme", "a");
    backend.put(&s, &name("X"), value("one"), Tags::new()).await.unwrap();
    backend.delete(&s, &name("X")).await.unwrap();

    // Key Vault is still deleting X: the put that would recover it waits at most the request
    // timeout, then gives up with a temporary error the retry layer retries.
    stub.deletion_in_progress(true);
    let started = std::time::Instant::now();
    let err = backend.put(&s, &name("X"), value("two"), Tags::new()).await.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_temporary(), "{err}");
    assert!(err.message().contains("still deleting"), "{err}");
    assert!(waited >= timeout && waited < timeout + Duration::from_millis(900), "waited {waited:?}");

    // Once Key Vault is done, the same put recovers and writes.
    stub.deletion_in_progress(false);
    backend.put(&s, &name("X"), value("two"), Tags::new()).await.unwrap();
    assert_eq!(backend.get(&s, &name("X"), None).await.unwrap().value.expose(), b"two");
}

#[tokio::test]
async fn errors_map_to_kinds() {
    let stub = KeyVaultStub::start(25).await;
    let backend = backend(&stub, config(&stub).with_request_timeout(Duration::from_secs(1))).await;
    let s = scope("acme", "a");
    backend.put(&s, &name("X"), value("v"), Tags::new()).await.unwrap();

    stub.deny("get");
    let err = backend.get(&s, &name("X"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.message().contains("missing permission: secrets/get"), "{err}");
    assert!(!err.is_temporary());
    stub.allow_all();

    let mut throttled = fault(
        Method::GET,
        "/secrets/",
        429,
        json!({"error": {"code": "Throttled", "message": "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached"}}),
    );
    throttled.retry_after = Some(2);
    stub.push_fault(throttled);
    let err = backend.get(&s, &name("X"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert!(err.is_temporary());
    assert!(err.message().contains("retry after 2 s"), "{err}");

    stub.push_fault(fault(
        Method::PUT,
        "/secrets/",
        503,
        json!({"error": {"code": "ServiceUnavailable", "message": "try later"}}),
    ));
    let err = backend.put(&s, &name("X"), value("w"), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_temporary());

    stub.push_fault(fault(Method::GET, "/secrets/", 400, json!({"error": {"code": "BadParameter", "message": "bad"}})));
    assert_eq!(backend.get(&s, &name("X"), None).await.unwrap_err().kind(), ErrorKind::InvalidInput);

    let mut slow = fault(Method::GET, "/secrets/", 200, json!({}));
    slow.delay = Duration::from_secs(3);
    stub.push_fault(slow);
    let err = backend.get(&s, &name("X"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_temporary());
}

#[tokio::test]
async fn an_unreachable_vault_is_unavailable() {
    let stub = KeyVaultStub::start(25).await;
    let mut config = config(&stub);
    config.vault_uri = Some("https://127.0.0.1:9".to_owned());
    let backend = backend(&stub, config).await;
    let err = backend.check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_temporary());
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_permanent_failure() {
    let stub = KeyVaultStub::start(25).await;
    let mut config = config(&stub);
    config.ca_file = None;
    let backend = backend(&stub, config).await;
    let err = backend.check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn bad_configuration_is_config_invalid() {
    let config = AzureConfig::new("not a url", CredentialConfig::client_secret(TENANT, CLIENT_ID, "s3cr3t"));
    let err = AzureBackend::connect("bad", config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.message().contains("vault_uri"), "{err}");
    assert!(!err.to_string().contains("s3cr3t"));
}
