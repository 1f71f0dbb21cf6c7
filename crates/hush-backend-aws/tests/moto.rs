//! The AWS backend against a real moto server: the shared behaviour suite (with a recovery
//! window and with forced deletes), interoperability with boto3 at the documented names, tag
//! filters, pinned versions, deleting and writing again, and the 64 KiB limit. One server per
//! test binary; each test has its own prefix.

mod support;

use std::sync::Arc;

use hush_backend_aws::{AwsBackend, MAX_VALUE_BYTES, secret_name};
use hush_backend_behavior::SuiteOptions;
use hush_core::{
    ErrorKind, KindConfig, ListFilter, SecretBackend, SecretPath, SecretValue, SharedBackend, Tags, VersionId,
};
use hush_layers::{Layer, RetryLayer};
use support::{REGION, boto3_or_skip, name, scope, server_or_skip, unique};

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().copied().collect()
}

/// The backend as hushd runs it for the suite: behind the retry layer hushd puts over every
/// backend. moto's in-memory store is not thread-safe (getmoto/moto#372): under the suite's 50
/// concurrent writers it now and then answers one request with a 500, which the backend
/// rightly reports as a temporary `Unavailable`, and which hushd's retry layer retries.
fn as_hushd_runs_it(backend: AwsBackend) -> SharedBackend {
    RetryLayer::default().layer(Arc::new(backend))
}

fn suite_options() -> SuiteOptions {
    let mut options = SuiteOptions::default();
    options.large_value_bytes = MAX_VALUE_BYTES;
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_suite_with_a_recovery_window() {
    let Some(server) = server_or_skip() else { return };
    let backend = server.backend(&unique("suite-")).await;
    let report = hush_backend_behavior::run_with(as_hushd_runs_it(backend), suite_options()).await;
    report.assert_ok();
    assert!(
        report.skipped.iter().all(|s| s.reason.starts_with("backend has") || s.reason.starts_with("no seeded")),
        "a trial was skipped: {report}"
    );
    assert!(report.passed.len() >= 23, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_suite_with_forced_deletes() {
    let Some(server) = server_or_skip() else { return };
    let config = server.config(&unique("suite-force-")).with_force_delete(true);
    let backend = AwsBackend::connect("aws-force", config).await.expect("connect");
    let report = hush_backend_behavior::run_with(as_hushd_runs_it(backend), suite_options()).await;
    report.assert_ok();
    assert!(report.passed.len() >= 23, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_created_by_boto3_reads_through_hush() {
    let Some(server) = server_or_skip() else { return };
    if !boto3_or_skip() {
        return;
    }
    let prefix = unique("boto-");
    let backend = server.backend(&prefix).await;
    let (s, n) = (scope("acme", "company.team"), name("DB"));
    let aws_name = secret_name(&prefix, &s, &n);
    assert_eq!(aws_name, format!("{prefix}acme/company.team/DB"));
    // What `hush explain` names is the secret boto3 creates and hush reads below.
    assert_eq!(
        server.config(&prefix).key_for(&s, &n).unwrap(),
        format!("secret {aws_name:?} in region {REGION} at {}", server.endpoint)
    );
    let json = r#"{"username": "app", "password": "pa55 w0rd"}"#;
    server.boto3_ok(&format!(
        "sm.create_secret(Name={aws_name:?}, SecretString={json:?}, Tags=[{{'Key': 'team', 'Value': 'payments'}}])"
    ));
    let secret = backend.get(&s, &n, None).await.expect("get the boto3 secret");
    assert_eq!(secret.value.expose(), json.as_bytes());
    assert_eq!(secret.tags, tags(&[("team", "payments")]));
    let version = secret.version.expect("a version");
    let boto_version =
        server.boto3_ok(&format!("print(sm.describe_secret(SecretId={aws_name:?})['VersionIdsToStages'])"));
    assert!(boto_version.contains(version.as_str()), "{boto_version} does not name {version}");
    // What the resolver does with a path.
    let password = SecretPath::parse("password").unwrap().extract(&secret.value).expect("extract");
    assert_eq!(password.expose(), b"pa55 w0rd");

    // A SecretBinary written by boto3 reads as its bytes.
    let bin = name("BIN");
    let bin_name = secret_name(&prefix, &s, &bin);
    server.boto3_ok(&format!("sm.create_secret(Name={bin_name:?}, SecretBinary=bytes([0, 255, 1, 128]))"));
    let secret = backend.get(&s, &bin, None).await.expect("get the binary secret");
    assert_eq!(secret.value.expose(), [0, 255, 1, 128]);

    let listed = backend.list(&s, &ListFilter::default()).await.expect("list");
    let names: Vec<&str> = listed.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["BIN", "DB"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_written_by_hush_read_through_boto3() {
    let Some(server) = server_or_skip() else { return };
    if !boto3_or_skip() {
        return;
    }
    let prefix = unique("tob-");
    let backend = server.backend(&prefix).await;
    let s = scope("acme", "etl");
    let text = backend
        .put(&s, &name("TEXT"), SecretValue::from("héllo wörld"), tags(&[("team", "data"), ("env", "prod")]))
        .await
        .expect("put text");
    backend.put(&s, &name("BYTES"), SecretValue::new(vec![0xff, 0x00, 0xfe]), Tags::new()).await.expect("put bytes");
    let text_name = secret_name(&prefix, &s, &name("TEXT"));
    let bytes_name = secret_name(&prefix, &s, &name("BYTES"));
    let read = server.boto3_ok(&format!(
        "v = sm.get_secret_value(SecretId={text_name:?})\n\
         d = sm.describe_secret(SecretId={text_name:?})\n\
         b = sm.get_secret_value(SecretId={bytes_name:?})\n\
         print(json.dumps({{'text': v['SecretString'], 'version': v['VersionId'], \
         'tags': sorted((t['Key'], t['Value']) for t in d['Tags']), 'binary': list(b['SecretBinary']), \
         'has_string': 'SecretString' in b}}))"
    ));
    let read: serde_json::Value = serde_json::from_str(&read).expect("boto3 printed JSON");
    assert_eq!(read["text"], "héllo wörld");
    assert_eq!(read["version"].as_str(), text.version.as_ref().map(VersionId::as_str));
    assert_eq!(read["tags"], serde_json::json!([["env", "prod"], ["team", "data"]]));
    assert_eq!(read["binary"], serde_json::json!([255, 0, 254]));
    assert_eq!(read["has_string"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_by_tags_exactly() {
    let Some(server) = server_or_skip() else { return };
    let backend = server.backend(&unique("tags-")).await;
    let s = scope("acme", "pay");
    for (secret, pairs) in [
        ("EXACT", &[("team", "payments"), ("env", "prod")][..]),
        ("LONGER_VALUE", &[("team", "payments-eu")][..]),
        ("LONGER_KEY", &[("teamwork", "payments")][..]),
        ("OTHER", &[("team", "search")][..]),
        ("NONE", &[][..]),
    ] {
        backend.put(&s, &name(secret), SecretValue::from("v"), tags(pairs)).await.expect("put");
    }
    let filter = ListFilter { tags: tags(&[("team", "payments")]), recursive: false };
    let listed = backend.list(&s, &filter).await.expect("list");
    let names: Vec<&str> = listed.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["EXACT"]);
    let filter = ListFilter { tags: tags(&[("env", "prod"), ("team", "payments")]), recursive: false };
    assert_eq!(backend.list(&s, &filter).await.expect("list").len(), 1);
    let filter = ListFilter { tags: tags(&[("env", "prod"), ("team", "search")]), recursive: false };
    assert!(backend.list(&s, &filter).await.expect("list").is_empty());
    assert_eq!(backend.list(&s, &ListFilter::default()).await.expect("list").len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_versions_and_stages() {
    let Some(server) = server_or_skip() else { return };
    if !boto3_or_skip() {
        return;
    }
    let prefix = unique("ver-");
    let backend = server.backend(&prefix).await;
    let (s, n) = (scope("acme", "ver"), name("ROTATED"));
    let mut versions = Vec::new();
    for value in ["one", "two", "three"] {
        let meta = backend.put(&s, &n, SecretValue::from(value), Tags::new()).await.expect("put");
        versions.push(meta.version.expect("a version"));
    }
    for (value, version) in ["one", "two", "three"].iter().zip(&versions) {
        let secret = backend.get(&s, &n, Some(version)).await.expect("get a pinned version");
        assert_eq!(secret.value.expose(), value.as_bytes());
        assert_eq!(secret.version.as_ref(), Some(version));
    }
    let stage = |label: &str| VersionId::new(label).unwrap();
    let previous = backend.get(&s, &n, Some(&stage("AWSPREVIOUS"))).await.expect("AWSPREVIOUS");
    assert_eq!(previous.value.expose(), b"two");
    let current = backend.get(&s, &n, Some(&stage("AWSCURRENT"))).await.expect("AWSCURRENT");
    assert_eq!(current.value.expose(), b"three");
    let missing = VersionId::new("00000000-0000-0000-0000-000000000000").unwrap();
    assert_eq!(backend.get(&s, &n, Some(&missing)).await.unwrap_err().kind(), ErrorKind::NotFound);
    let listed = backend.list(&s, &ListFilter::default()).await.expect("list");
    assert_eq!(listed[0].version.as_ref(), Some(&versions[2]));
    let aws_name = secret_name(&prefix, &s, &n);
    let ids = server.boto3_ok(&format!(
        "print(' '.join(v['VersionId'] for v in sm.list_secret_version_ids(SecretId={aws_name:?})['Versions']))"
    ));
    for version in &versions {
        assert!(ids.contains(version.as_str()), "boto3 lists {ids}, not {version}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_with_a_recovery_window_then_put_again_restores() {
    let Some(server) = server_or_skip() else { return };
    if !boto3_or_skip() {
        return;
    }
    let prefix = unique("window-");
    let config = server.config(&prefix).with_recovery_window_days(7);
    let backend = AwsBackend::connect("aws-window", config).await.expect("connect");
    let (s, n) = (scope("acme", "del"), name("PHOENIX"));
    backend.put(&s, &n, SecretValue::from("first life"), tags(&[("life", "1"), ("old", "x")])).await.expect("put");
    backend.delete(&s, &n).await.expect("delete");
    let aws_name = secret_name(&prefix, &s, &n);
    let deleted = server.boto3_ok(&format!("print('DeletedDate' in sm.describe_secret(SecretId={aws_name:?}))"));
    assert_eq!(deleted, "True", "the secret is scheduled for deletion, not gone");
    assert_eq!(backend.get(&s, &n, None).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert!(backend.list(&s, &ListFilter::default()).await.expect("list").is_empty());
    assert_eq!(backend.delete(&s, &n).await.unwrap_err().kind(), ErrorKind::NotFound);

    let meta = backend.put(&s, &n, SecretValue::from("second life"), tags(&[("life", "2")])).await.expect("put again");
    let secret = backend.get(&s, &n, None).await.expect("get after the restore");
    assert_eq!(secret.value.expose(), b"second life");
    assert_eq!(secret.version, meta.version);
    assert_eq!(secret.tags, tags(&[("life", "2")]));
    let deleted = server.boto3_ok(&format!("print('DeletedDate' in sm.describe_secret(SecretId={aws_name:?}))"));
    assert_eq!(deleted, "False", "the put restored the secret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_delete_removes_the_secret_at_once() {
    let Some(server) = server_or_skip() else { return };
    if !boto3_or_skip() {
        return;
    }
    let prefix = unique("force-");
    let config = server.config(&prefix).with_force_delete(true);
    let backend = AwsBackend::connect("aws-force", config).await.expect("connect");
    let (s, n) = (scope("acme", "del"), name("GONE"));
    backend.put(&s, &n, SecretValue::from("brief"), Tags::new()).await.expect("put");
    backend.delete(&s, &n).await.expect("delete");
    let aws_name = secret_name(&prefix, &s, &n);
    let gone = server.boto3(&format!("sm.describe_secret(SecretId={aws_name:?})")).unwrap_err();
    assert!(gone.contains("ResourceNotFoundException"), "{gone}");
    backend.put(&s, &n, SecretValue::from("again"), Tags::new()).await.expect("put after a forced delete");
    assert_eq!(backend.get(&s, &n, None).await.expect("get").value.expose(), b"again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_over_64_kib_are_refused_naming_the_limit() {
    let Some(server) = server_or_skip() else { return };
    let backend = server.backend(&unique("large-")).await;
    let (s, n) = (scope("acme", "big"), name("BIG"));
    let err = backend.put(&s, &n, SecretValue::new(vec![b'x'; MAX_VALUE_BYTES + 1]), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("65536"), "{}", err.message());
    assert_eq!(backend.get(&s, &n, None).await.unwrap_err().kind(), ErrorKind::NotFound);
    backend.put(&s, &n, SecretValue::new(vec![b'x'; MAX_VALUE_BYTES]), Tags::new()).await.expect("64 KiB fits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_against_moto() {
    let Some(server) = server_or_skip() else { return };
    let backend = server.backend(&unique("check-")).await;
    backend.check().await.expect("check against moto");
    assert_eq!(backend.info().kind, "aws-secrets-manager");
    assert_eq!(backend.info().capabilities, hush_backend_aws::capabilities());
}
