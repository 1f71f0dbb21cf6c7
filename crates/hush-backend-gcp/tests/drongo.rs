//! The Secret Manager backend against a real drongo server (Secret Manager REST v1): the
//! shared behaviour suite, the 64 KiB limit, interoperability with Google's Python client at
//! the documented secret ids, pinned, disabled and destroyed versions, labels, listing next
//! to foreign secrets, and error kinds. One server per test binary; each test has its own
//! prefix.

mod support;

use std::sync::Arc;
use std::time::Duration;

use hush_backend_behavior::SuiteOptions;
use hush_backend_gcp::{
    GcpBackend, GcpConfig, MAX_VALUE_BYTES, NAMESPACE_LABEL, TENANT_LABEL, namespace_digest, secret_key, tenant_digest,
};
use hush_core::{ErrorKind, ListFilter, SecretBackend, SecretValue, Tags, VersionId};
use support::{PROJECT, name, python, python_client, scope, server_or_skip, unique};

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().copied().collect()
}

fn v(text: &str) -> VersionId {
    VersionId::new(text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_suite() {
    let Some(server) = server_or_skip() else { return };
    let backend = server.backend(&unique("suite")).await;
    let mut options = SuiteOptions::default();
    // Secret Manager's documented payload limit (drongo has none: the backend enforces it).
    options.large_value_bytes = MAX_VALUE_BYTES;
    let report = hush_backend_behavior::run_with(Arc::new(backend), options).await;
    report.assert_ok();
    assert!(report.skipped.iter().all(|s| s.reason.starts_with("backend has") || s.reason.starts_with("no seeded")));
    assert!(report.passed.len() >= 23, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_over_64_kib_are_refused_naming_the_limit() {
    let Some(server) = server_or_skip() else { return };
    let backend = server.backend(&unique("big")).await;
    let (s, n) = (scope("acme", "app"), name("BIG"));
    backend.put(&s, &n, SecretValue::new(vec![7u8; MAX_VALUE_BYTES]), Tags::new()).await.unwrap();
    let err = backend.put(&s, &n, SecretValue::new(vec![7u8; MAX_VALUE_BYTES + 1]), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("64 KiB"), "{err}");
    // The refused write left the earlier version in place.
    let read = backend.get(&s, &n, None).await.unwrap();
    assert_eq!(read.value.len(), MAX_VALUE_BYTES);
    assert_eq!(read.version, Some(v("1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_python_client_and_hush_read_each_others_secrets() {
    let Some(server) = server_or_skip() else { return };
    if !python_client() {
        hush_backend_behavior::print_skip("google-cloud-secret-manager (Python) not installed");
        return;
    }
    let prefix = unique("py");
    let backend = server.backend(&prefix).await;
    let s = scope("acme", "company.team");

    // Python writes at the documented id (with hush's labels and a tag); hush reads and lists it.
    let key = secret_key(&prefix, &s, &name("DB_PASSWORD"));
    assert_eq!(key.id, format!("{prefix}acme--company--team--DB_PASSWORD"));
    let labels: Vec<String> =
        key.labels.iter().map(|(k, v)| format!("'{k}': '{v}'")).chain(["'team': 'payments'".to_owned()]).collect();
    let snippet = format!(
        "s = client.create_secret(request={{'parent': project, 'secret_id': '{id}', \
         'secret': {{'replication': {{'automatic': {{}}}}, 'labels': {{{labels}}}}}}})\n\
         client.add_secret_version(request={{'parent': s.name, 'payload': {{'data': b'p\\xc3\\xa4ss from python'}}}})\n\
         v = client.add_secret_version(request={{'parent': s.name, 'payload': {{'data': b'second'}}}})\n\
         print(v.name)",
        id = key.id,
        labels = labels.join(", ")
    );
    let out = python(&server.endpoint, &snippet).unwrap();
    assert!(out.trim().ends_with("/versions/2"), "{out}");
    let read = backend.get(&s, &name("DB_PASSWORD"), None).await.unwrap();
    assert_eq!(read.value.expose(), b"second");
    assert_eq!(read.version, Some(v("2")));
    assert_eq!(read.tags, tags(&[("team", "payments")]));
    let first = backend.get(&s, &name("DB_PASSWORD"), Some(&v("1"))).await.unwrap();
    assert_eq!(first.value.expose_str(), Some("päss from python"));
    let listed = backend.list(&s, &ListFilter::default()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].name.as_str(), listed[0].version.clone()), ("DB_PASSWORD", Some(v("2"))));

    // hush writes bytes that are not UTF-8; Python reads them, pinned and latest, and its labels.
    let n = name("API-KEY");
    backend.put(&s, &n, SecretValue::new(vec![0u8, 0xff, 0x80, b'k']), tags(&[("env", "prod")])).await.unwrap();
    backend.put(&s, &n, SecretValue::from("two"), tags(&[("env", "prod")])).await.unwrap();
    let id = secret_key(&prefix, &s, &n).id;
    assert_eq!(id, format!("{prefix}acme--company--team--API-_KEY"));
    let snippet = format!(
        "name = project + '/secrets/{id}'\n\
         print(client.access_secret_version(request={{'name': name + '/versions/1'}}).payload.data.hex())\n\
         print(client.access_secret_version(request={{'name': name + '/versions/latest'}}).payload.data.decode())\n\
         print(dict(client.get_secret(request={{'name': name}}).labels)['env'])\n\
         client.delete_secret(request={{'name': name}})"
    );
    let out = python(&server.endpoint, &snippet).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["00ff806b", "two", "prod"]);
    // Deleted by Python: gone for hush too.
    assert_eq!(backend.get(&s, &n, None).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_disabled_and_destroyed_versions() {
    let Some(server) = server_or_skip() else { return };
    let prefix = unique("ver");
    let backend = server.backend(&prefix).await;
    let (s, n) = (scope("acme", "app"), name("ROTATED"));
    for (i, value) in ["one", "two", "three"].iter().enumerate() {
        let meta = backend.put(&s, &n, SecretValue::from(*value), Tags::new()).await.unwrap();
        assert_eq!(meta.version, Some(v(&(i + 1).to_string())));
    }
    for (version, value) in [("1", "one"), ("2", "two"), ("3", "three")] {
        let read = backend.get(&s, &n, Some(&v(version))).await.unwrap();
        assert_eq!((read.value.expose_str(), read.version), (Some(value), Some(v(version))));
    }
    for missing in ["4", "0", "01", "latest", "1.0"] {
        let err = backend.get(&s, &n, Some(&v(missing))).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{missing}");
    }
    let resource = format!("projects/{PROJECT}/secrets/{}", secret_key(&prefix, &s, &n).id);
    let (status, _) = server.http("POST", &format!("{resource}/versions/2:disable"), "{}").unwrap();
    assert_eq!(status, 200);
    let (status, _) = server.http("POST", &format!("{resource}/versions/1:destroy"), "{}").unwrap();
    assert_eq!(status, 200);
    for gone in ["1", "2"] {
        let err = backend.get(&s, &n, Some(&v(gone))).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "version {gone}: {err}");
        assert!(err.message().contains(&format!("version {gone}")), "{err}");
    }
    assert_eq!(backend.get(&s, &n, None).await.unwrap().value.expose_str(), Some("three"));
    let (status, _) = server.http("POST", &format!("{resource}/versions/3:disable"), "{}").unwrap();
    assert_eq!(status, 200);
    // The latest version is disabled: nothing to read, and list leaves it out.
    assert_eq!(backend.get(&s, &n, None).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert!(backend.list(&s, &ListFilter::default()).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_locate_secrets_and_list_ignores_foreign_ones() {
    let Some(server) = server_or_skip() else { return };
    let prefix = unique("lbl");
    let backend = server.backend(&prefix).await;
    let s = scope("Acme_Corp", "Company.Team");
    backend.put(&s, &name("A"), SecretValue::from("a"), tags(&[("team", "payments")])).await.unwrap();
    backend.put(&scope("other", "Company.Team"), &name("A"), SecretValue::from("b"), Tags::new()).await.unwrap();
    // Foreign secrets: no labels, another prefix, a look-alike id with the right prefix.
    for id in
        ["plain".to_owned(), format!("x{prefix}Acme_Corp--Company--Team--B"), format!("{prefix}Acme_Corp-Company")]
    {
        let (status, body) = server
            .http("POST", &format!("projects/{PROJECT}/secrets?secretId={id}"), r#"{"replication":{"automatic":{}}}"#)
            .unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let id = secret_key(&prefix, &s, &name("A")).id;
    let (status, body) = server.http("GET", &format!("projects/{PROJECT}/secrets/{id}"), "").unwrap();
    assert_eq!(status, 200);
    let secret: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(secret["labels"][TENANT_LABEL], tenant_digest(&s.tenant));
    assert_eq!(secret["labels"][NAMESPACE_LABEL], namespace_digest(&s));
    assert_eq!(secret["labels"]["team"], "payments");

    let listed = backend.list(&s, &ListFilter::default()).await.unwrap();
    assert_eq!(listed.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["A"]);
    assert_eq!(listed[0].tags, tags(&[("team", "payments")]));
    let recursive = ListFilter { recursive: true, ..ListFilter::default() };
    let parent = backend.list(&scope("Acme_Corp", "Company"), &recursive).await.unwrap();
    assert_eq!(parent.len(), 1);
    let filtered = ListFilter { tags: tags(&[("team", "search")]), recursive: false };
    assert!(backend.list(&s, &filtered).await.unwrap().is_empty());
    let unlabelable = ListFilter { tags: tags(&[("Team", "X")]), recursive: false };
    assert!(backend.list(&s, &unlabelable).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_that_are_not_labels_are_refused_naming_the_rule() {
    let Some(server) = server_or_skip() else { return };
    let backend = server.backend(&unique("tag")).await;
    let (s, n) = (scope("acme", "app"), name("T"));
    for (k, value) in [("Team", "x"), ("team", "Payments"), ("hush_tenant", "x"), ("team", "a.b")] {
        let err = backend.put(&s, &n, SecretValue::from("v"), tags(&[(k, value)])).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{k}={value}");
        assert!(err.message().contains("[a-z][a-z0-9_-]{0,62}"), "{err}");
    }
    // Nothing was created by the refused writes.
    assert_eq!(backend.get(&s, &n, None).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_secrets_and_unreachable_servers() {
    let Some(server) = server_or_skip() else { return };
    let backend = server.backend(&unique("err")).await;
    backend.check().await.unwrap();
    let (s, n) = (scope("acme", "app"), name("NOPE"));
    assert_eq!(backend.get(&s, &n, None).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(backend.delete(&s, &n).await.unwrap_err().kind(), ErrorKind::NotFound);

    let port = hush_backend_behavior::local_server::free_port();
    let config = GcpConfig::new(PROJECT)
        .with_endpoint(format!("http://127.0.0.1:{port}"))
        .anonymous()
        .with_request_timeout(Duration::from_secs(2));
    let down = GcpBackend::connect("down", config).await.unwrap();
    let started = std::time::Instant::now();
    let err = down.get(&s, &n, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_temporary());
    // One attempt: the SDK does not retry by itself.
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(down.check().await.unwrap_err().kind(), ErrorKind::Unavailable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_key_file_and_inline_json_sign_requests() {
    let Some(server) = server_or_skip() else { return };
    let Some(key) = support::throwaway_service_account_key() else {
        hush_backend_behavior::print_skip("openssl not found (needed to make a throwaway service-account key)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sa.json");
    std::fs::write(&file, &key).unwrap();
    let prefix = unique("sa");
    let (s, n) = (scope("acme", "app"), name("SIGNED"));
    for config in [
        GcpConfig::new(PROJECT).with_credentials_file(&file),
        GcpConfig::new(PROJECT).with_credentials_json(key.clone()),
    ] {
        let config = config.with_endpoint(&server.endpoint).with_prefix(&prefix);
        assert!(!format!("{config:?}").contains("PRIVATE KEY"));
        let backend = GcpBackend::connect("gcp-sa", config).await.unwrap();
        // The SDK signs a self-signed JWT with the key (through ring) and sends it; drongo
        // accepts any bearer token, so the round trip proves the signing path works.
        backend.put(&s, &n, SecretValue::from("signed"), Tags::new()).await.unwrap();
        assert_eq!(backend.get(&s, &n, None).await.unwrap().value.expose_str(), Some("signed"));
        assert!(!format!("{backend:?}").contains("PRIVATE KEY"));
    }
    let bad = GcpConfig::new(PROJECT).with_credentials_json(r#"{"type": "service_account", "private_key": "x"}"#);
    let err = GcpBackend::connect("gcp-bad", bad.with_endpoint(&server.endpoint)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
}
