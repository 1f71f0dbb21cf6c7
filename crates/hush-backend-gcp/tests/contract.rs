//! The Secret Manager backend against a contract server written from Google's REST v1
//! reference (`support/stub.rs`), for what drongo lacks: PERMISSION_DENIED,
//! RESOURCE_EXHAUSTED, UNAVAILABLE and INVALID_ARGUMENT error bodies, slow answers, the list
//! `filter` and pagination, and the request sequence of a put. Google's Python client is
//! run against the same server, so the server speaks the API the real service speaks.

mod support;

use std::time::{Duration, Instant};

use hush_backend_behavior::contract_server::{ContractReply, HttpFault};
use hush_backend_gcp::{GcpBackend, GcpConfig, namespace_digest, secret_key, tenant_digest};
use hush_core::{ErrorKind, KindConfig, ListFilter, SecretBackend, SecretValue, Tags};
use serde_json::json;
use support::stub::{Fault, Stub};
use support::{name, python, python_client, scope};

const PROJECT: &str = "hush-test";

async fn backend(stub: &Stub, timeout: Duration) -> GcpBackend {
    let config = GcpConfig::new(PROJECT)
        .with_endpoint(&stub.endpoint)
        .anonymous()
        .with_prefix("hush_")
        .with_request_timeout(timeout);
    GcpBackend::connect("gcp-contract", config).await.unwrap()
}

/// How many requests the stub saw whose line contains `part`.
fn seen(stub: &Stub, part: &str) -> usize {
    stub.requests().iter().filter(|r| r.contains(part)).count()
}

#[tokio::test]
async fn permission_denied_names_the_missing_permission() {
    let stub = Stub::start();
    let backend = backend(&stub, Duration::from_secs(5)).await;
    let (s, n) = (scope("acme", "app"), name("DB"));
    backend.put(&s, &n, SecretValue::from("v"), Tags::new()).await.unwrap();
    let id = secret_key("hush_", &s, &n).id;
    // Google's message for a missing role on access.
    stub.fail(Fault::google(
        "GET",
        ":access",
        403,
        "PERMISSION_DENIED",
        &format!(
            "Permission 'secretmanager.versions.access' denied for resource \
             'projects/{PROJECT}/secrets/{id}/versions/latest' (or it may not exist)."
        ),
    ));
    let err = backend.get(&s, &n, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(!err.is_temporary());
    assert!(err.message().contains("permission secretmanager.versions.access is missing"), "{err}");
    // A terse message with the permission in a google.rpc.ErrorInfo detail.
    stub.fail(Fault::google_with_details(
        "POST",
        "/secrets?",
        403,
        "PERMISSION_DENIED",
        "Permission denied on resource project hush-test.",
        json!([{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "IAM_PERMISSION_DENIED",
            "domain": "secretmanager.googleapis.com",
            "metadata": {"permission": "secretmanager.secrets.create", "resource": "projects/hush-test"}
        }]),
    ));
    let err = backend.put(&s, &name("NEW"), SecretValue::from("v"), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.message().contains("permission secretmanager.secrets.create is missing"), "{err}");
}

#[tokio::test]
async fn throttling_and_outages_are_temporary_and_tried_once() {
    let stub = Stub::start();
    let backend = backend(&stub, Duration::from_secs(5)).await;
    let (s, n) = (scope("acme", "app"), name("DB"));
    let cases = [
        (429, "RESOURCE_EXHAUSTED", ErrorKind::RateLimited),
        (503, "UNAVAILABLE", ErrorKind::Unavailable),
        (500, "INTERNAL", ErrorKind::Unavailable),
        (504, "DEADLINE_EXCEEDED", ErrorKind::Unavailable),
    ];
    for (code, status, kind) in cases {
        stub.heal();
        stub.clear_requests();
        stub.fail(Fault::google("GET", ":access", code, status, "Quota exceeded or the service is busy."));
        let err = backend.get(&s, &n, None).await.unwrap_err();
        assert_eq!((err.kind(), err.is_temporary()), (kind, true), "{status}: {err}");
        assert!(err.message().contains(status), "{err}");
        // The SDK made one attempt: hush's retry layer does the retrying.
        assert_eq!(seen(&stub, ":access"), 1, "{status}: {:?}", stub.requests());
    }
    // A bare 429 / 502 without a Google body.
    for (code, kind) in [(429, ErrorKind::RateLimited), (502, ErrorKind::Unavailable)] {
        stub.heal();
        stub.fail(HttpFault::reply("GET", ":access", ContractReply::text(code, "<html>busy</html>")));
        let err = backend.get(&s, &n, None).await.unwrap_err();
        assert_eq!((err.kind(), err.is_temporary()), (kind, true), "{code}: {err}");
        assert!(!err.message().contains("html"), "{err}");
    }
}

#[tokio::test]
async fn invalid_argument_is_invalid_input() {
    let stub = Stub::start();
    let backend = backend(&stub, Duration::from_secs(5)).await;
    stub.fail(Fault::google("POST", ":addVersion", 400, "INVALID_ARGUMENT", "Secret Payload cannot be empty."));
    let err = backend.put(&scope("acme", "app"), &name("E"), SecretValue::from(""), Tags::new()).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::InvalidInput, false), "{err}");
    assert!(err.message().contains("INVALID_ARGUMENT"), "{err}");
}

#[tokio::test]
async fn slow_answers_time_out_as_unavailable() {
    let stub = Stub::start();
    let backend = backend(&stub, Duration::from_millis(300)).await;
    stub.fail(Fault::silent("GET", ":access", Duration::from_secs(5)));
    let started = Instant::now();
    let err = backend.get(&scope("acme", "app"), &name("SLOW"), None).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(seen(&stub, ":access"), 1);
}

#[tokio::test]
async fn a_put_creates_then_adds_and_an_existing_secret_gets_its_labels_replaced() {
    let stub = Stub::start();
    let backend = backend(&stub, Duration::from_secs(5)).await;
    let (s, n) = (scope("acme", "app"), name("DB"));
    let id = secret_key("hush_", &s, &n).id;
    let tags: Tags = [("team", "payments")].into_iter().collect();
    backend.put(&s, &n, SecretValue::from("one"), tags).await.unwrap();
    let first = stub.requests();
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(first[0].starts_with(&format!("POST /v1/projects/{PROJECT}/secrets?")) && first[0].contains(&id));
    assert!(first[1].starts_with(&format!("POST /v1/projects/{PROJECT}/secrets/{id}:addVersion")));
    // What `hush explain` names is the resource the calls used.
    let config = GcpConfig::new(PROJECT).with_endpoint(&stub.endpoint).with_prefix("hush_");
    let named = config.key_for(&s, &n).unwrap();
    assert_eq!(named, format!("secret projects/{PROJECT}/secrets/{id} at {}", stub.endpoint));
    let resource = named.strip_prefix("secret ").unwrap().split(' ').next().unwrap();
    assert!(first[1].starts_with(&format!("POST /v1/{resource}:addVersion")), "{first:?}");
    stub.clear_requests();
    let tags: Tags = [("team", "search")].into_iter().collect();
    let meta = backend.put(&s, &n, SecretValue::from("two"), tags.clone()).await.unwrap();
    assert_eq!(meta.version.unwrap().as_str(), "2");
    let second = stub.requests();
    // ALREADY_EXISTS on create: add the version, then replace the labels.
    assert_eq!(second.len(), 3, "{second:?}");
    assert!(second[1].contains(":addVersion"));
    assert!(second[2].starts_with(&format!("PATCH /v1/projects/{PROJECT}/secrets/{id}?")));
    assert!(second[2].contains("updateMask=labels"), "{second:?}");
    let read = backend.get(&s, &n, None).await.unwrap();
    assert_eq!((read.value.expose_str(), read.tags), (Some("two"), tags));
}

#[tokio::test]
async fn list_asks_for_the_labels_and_follows_pages() {
    let stub = Stub::start();
    let backend = backend(&stub, Duration::from_secs(5)).await;
    let (a, b) = (scope("acme", "company.team"), scope("acme", "company.other"));
    for n in ["A", "B", "C", "D", "E"] {
        backend.put(&a, &name(n), SecretValue::from(n), Tags::new()).await.unwrap();
    }
    backend.put(&b, &name("X"), SecretValue::from("x"), Tags::new()).await.unwrap();
    backend.put(&scope("globex", "company.team"), &name("Y"), SecretValue::from("y"), Tags::new()).await.unwrap();
    stub.clear_requests();

    let listed = backend.list(&a, &ListFilter::default()).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["A", "B", "C", "D", "E"]);
    let lists: Vec<String> =
        stub.requests().into_iter().filter(|r| r.starts_with("GET") && r.contains("/secrets?")).collect();
    let filter =
        format!("labels.hush_tenant={} AND labels.hush_namespace={}", tenant_digest(&a.tenant), namespace_digest(&a));
    assert!(lists.iter().all(|r| r.contains(&filter)), "{lists:?}");
    // Five secrets, two per page: three pages, the later ones with a page token.
    assert_eq!(lists.len(), 3, "{lists:?}");
    assert!(lists[1].contains("pageToken=2") && lists[2].contains("pageToken=4"), "{lists:?}");

    stub.clear_requests();
    let recursive = ListFilter { recursive: true, ..ListFilter::default() };
    let all = backend.list(&scope("acme", "company"), &recursive).await.unwrap();
    assert_eq!(all.len(), 6);
    assert!(stub.requests().iter().any(|r| r.contains("filter=labels.hush_tenant=") && !r.contains("hush_namespace")));
    let tagged = ListFilter { tags: [("team", "payments")].into_iter().collect(), recursive: true };
    stub.clear_requests();
    assert!(backend.list(&scope("acme", "company"), &tagged).await.unwrap().is_empty());
    assert!(stub.requests().iter().any(|r| r.contains("AND labels.team=payments")), "{:?}", stub.requests());
}

#[test]
fn google_python_client_agrees_with_the_contract_server() {
    if !python_client() {
        hush_backend_behavior::print_skip("google-cloud-secret-manager (Python) not installed");
        return;
    }
    let stub = Stub::start();
    let out = python(
        &stub.endpoint,
        r#"
s = client.create_secret(request={'parent': project, 'secret_id': 'hush_acme--app--PY',
    'secret': {'replication': {'automatic': {}}, 'labels': {'team': 'payments'}}})
client.add_secret_version(request={'parent': s.name, 'payload': {'data': b'one'}})
v = client.add_secret_version(request={'parent': s.name, 'payload': {'data': b'\x00\xfftwo'}})
print(v.name, v.state.name)
print(client.access_secret_version(request={'name': s.name + '/versions/latest'}).payload.data.hex())
print(client.access_secret_version(request={'name': s.name + '/versions/1'}).payload.data.decode())
print(client.get_secret_version(request={'name': s.name + '/versions/latest'}).name)
print(dict(client.get_secret(request={'name': s.name}).labels))
client.create_secret(request={'parent': project, 'secret_id': 'other', 'secret': {'replication': {'automatic': {}}}})
print([x.name for x in client.list_secrets(request={'parent': project, 'filter': 'labels.team=payments'})])
print(len(list(client.list_secrets(request={'parent': project}))))
from google.api_core import exceptions
try:
    client.create_secret(request={'parent': project, 'secret_id': 'other', 'secret': {'replication': {'automatic': {}}}})
except exceptions.Conflict as e:
    print(type(e).__name__, e.code)
client.delete_secret(request={'name': s.name})
try:
    client.access_secret_version(request={'name': s.name + '/versions/latest'}, retry=None)
except exceptions.NotFound as e:
    print('NotFound')
"#,
    )
    .unwrap();
    let prefix = format!("projects/{PROJECT}/secrets/hush_acme--app--PY");
    let expected = [
        format!("{prefix}/versions/2 ENABLED"),
        "00ff74776f".to_owned(),
        "one".to_owned(),
        format!("{prefix}/versions/2"),
        "{'team': 'payments'}".to_owned(),
        format!("['{prefix}']"),
        "2".to_owned(),
        "Conflict 409".to_owned(),
        "NotFound".to_owned(),
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), expected);

    // The error bodies the Rust tests use are what the Python client reads too (its REST
    // transport picks the exception by HTTP status and quotes the body's message).
    for (code, status, exception) in [
        (403, "PERMISSION_DENIED", "Forbidden"),
        (429, "RESOURCE_EXHAUSTED", "TooManyRequests"),
        (503, "UNAVAILABLE", "ServiceUnavailable"),
        (400, "INVALID_ARGUMENT", "BadRequest"),
    ] {
        stub.heal();
        stub.fail(Fault::google("GET", ":access", code, status, "Permission 'secretmanager.versions.access' denied."));
        let out = python(
            &stub.endpoint,
            r#"
from google.api_core import exceptions
try:
    client.access_secret_version(request={'name': project + '/secrets/x/versions/latest'}, retry=None)
except exceptions.GoogleAPICallError as e:
    print(type(e).__name__, e.code, e.message.split(': ', 1)[1])
"#,
        )
        .unwrap();
        assert_eq!(out.trim(), format!("{exception} {code} Permission 'secretmanager.versions.access' denied."));
    }
}

#[tokio::test]
async fn a_service_account_key_sends_a_signed_jwt_and_anonymous_sends_none() {
    let Some(key) = support::throwaway_service_account_key() else {
        hush_backend_behavior::print_skip("openssl not found (needed to make a throwaway service-account key)");
        return;
    };
    let stub = Stub::start();
    let config = GcpConfig::new(PROJECT).with_endpoint(&stub.endpoint).with_credentials_json(key);
    let signed = GcpBackend::connect("gcp-sa", config).await.unwrap();
    signed.put(&scope("acme", "app"), &name("S"), SecretValue::from("v"), Tags::new()).await.unwrap();
    let requests = stub.requests();
    assert!(!requests.is_empty() && requests.iter().all(|r| r.ends_with(" [bearer jwt]")), "{requests:?}");
    stub.clear_requests();
    let anonymous = backend(&stub, Duration::from_secs(5)).await;
    anonymous.check().await.unwrap();
    let requests = stub.requests();
    assert!(requests.len() == 1 && !requests[0].contains("[bearer"), "{requests:?}");
}

#[tokio::test]
async fn a_refused_list_filter_falls_back_to_listing_everything() {
    let stub = Stub::start();
    let backend = backend(&stub, Duration::from_secs(5)).await;
    let s = scope("acme", "app");
    backend.put(&s, &name("A"), SecretValue::from("a"), Tags::new()).await.unwrap();
    backend.put(&scope("acme", "other"), &name("B"), SecretValue::from("b"), Tags::new()).await.unwrap();
    stub.fail(Fault::google("GET", "filter=labels", 400, "INVALID_ARGUMENT", "Invalid filter."));
    let listed = backend.list(&s, &ListFilter::default()).await.unwrap();
    assert_eq!(listed.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["A"]);
    let lists: Vec<String> =
        stub.requests().into_iter().filter(|r| r.starts_with("GET") && r.contains("/secrets?")).collect();
    assert!(lists[0].contains("filter=labels") && !lists[1].contains("filter=labels"), "{lists:?}");
}
