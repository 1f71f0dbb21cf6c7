//! The Vault backend against a real OpenBao dev server: the shared behaviour suite on KV v2
//! and KV v1 mounts, interoperability with the `bao` command line at the documented paths,
//! foreign and binary entries, listing, error kinds, the documented policies, and Vault
//! namespaces. One server per test binary; each test has its own mounts and prefixes.

mod support;

use std::sync::Arc;

use base64::Engine as _;
use hush_backend_vault::{AuthConfig, VaultBackend, VaultConfig, api_path, secret_path};
use hush_core::{ErrorKind, KindConfig, ListFilter, SecretBackend, SecretPath, SecretValue, Tags, VersionId};
use serde_json::{Value, json};
use support::{BaoServer, ROOT_TOKEN, name, scope, server_or_skip, unique};

/// The read-only policy the README documents, for prefix `hush/` on mount `MOUNT`.
const READ_ONLY_POLICY: &str = r#"
path "MOUNT/data/hush/*" {
  capabilities = ["read"]
}
path "MOUNT/metadata/hush/*" {
  capabilities = ["read", "list"]
}
"#;

/// The read-write policy the README documents, for prefix `hush/` on mount `MOUNT`.
const READ_WRITE_POLICY: &str = r#"
path "MOUNT/data/hush/*" {
  capabilities = ["create", "read", "update"]
}
path "MOUNT/metadata/hush/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}
"#;

async fn root_backend(server: &BaoServer, mount: &str, version: u8, prefix: &str) -> VaultBackend {
    let config = server.config(AuthConfig::token(ROOT_TOKEN), mount, version, prefix);
    VaultBackend::connect("vault-test", config).await.expect("connect with the root token")
}

/// A fresh KV mount of `version`.
fn fresh_mount(server: &BaoServer, version: u8) -> String {
    let mount = unique(&format!("kv{version}-"));
    server.mount_kv(&mount, version);
    mount
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_suite_on_kv_v2() {
    let Some(server) = server_or_skip() else { return };
    let mount = fresh_mount(server, 2);
    let backend = root_backend(server, &mount, 2, "hush/").await;
    let report = hush_backend_behavior::run(Arc::new(backend)).await;
    report.assert_ok();
    assert!(
        report.skipped.iter().all(|s| s.reason.starts_with("backend has") || s.reason.starts_with("no seeded")),
        "a trial was skipped: {report}"
    );
    assert!(report.passed.len() >= 23, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_suite_on_kv_v1() {
    let Some(server) = server_or_skip() else { return };
    let mount = fresh_mount(server, 1);
    let backend = root_backend(server, &mount, 1, "").await;
    let caps = backend.info().capabilities;
    assert!(caps.read && caps.write && caps.list && !caps.tags && !caps.versions);
    let report = hush_backend_behavior::run(Arc::new(backend)).await;
    report.assert_ok();
    let skipped: Vec<&str> = report.skipped.iter().map(|s| s.trial).collect();
    for trial in ["pinned_versions_read_old_values", "tags_round_trip_and_are_replaced", "list_filters_by_tags"] {
        assert!(skipped.contains(&trial), "{trial} ran on KV v1: {report}");
    }
    assert!(report.passed.contains(&"pinned_version_is_refused_without_versions"), "{report}");
    assert!(report.passed.len() >= 18, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bao_and_hush_read_each_others_secrets_at_the_documented_path() {
    let Some(server) = server_or_skip() else { return };
    let mount = fresh_mount(server, 2);
    let backend = root_backend(server, &mount, 2, "hush/").await;
    let s = scope("acme", "company.team");

    // Written with the command line, read through hush.
    let path = secret_path("hush/", &s, &name("DB_PASSWORD"));
    assert_eq!(path, "hush/acme/company/team/DB_PASSWORD");
    // What `hush explain` names is where the command line finds it.
    let config = server.config(AuthConfig::token(ROOT_TOKEN), &mount, 2, "hush/");
    assert_eq!(
        config.key_for(&s, &name("DB_PASSWORD")).unwrap(),
        format!("kv-v2 mount {mount:?}, path {path:?} at {}", server.address)
    );
    server.bao(&["kv", "put", &format!("-mount={mount}"), &path, "value=s3cr3t from bao"]).unwrap();
    let got = backend.get(&s, &name("DB_PASSWORD"), None).await.unwrap();
    assert_eq!(got.value.expose(), b"s3cr3t from bao");
    assert_eq!(got.version, Some(VersionId::new("1").unwrap()));
    assert!(got.tags.is_empty());

    // Written through hush, read with the command line, tags in custom_metadata.
    let tags: Tags = [("team", "payments"), ("managed-by", "hush")].into_iter().collect();
    let meta = backend.put(&s, &name("API_KEY"), SecretValue::from("from hush ✓"), tags).await.unwrap();
    assert_eq!(meta.version, Some(VersionId::new("1").unwrap()));
    let api_key = secret_path("hush/", &s, &name("API_KEY"));
    let field = server.bao(&["kv", "get", &format!("-mount={mount}"), "-field=value", &api_key]).unwrap();
    assert_eq!(field, "from hush ✓");
    let metadata =
        server.bao(&["kv", "metadata", "get", "-format=json", &format!("-mount={mount}"), &api_key]).unwrap();
    let metadata: Value = serde_json::from_str(&metadata).unwrap();
    assert_eq!(metadata["data"]["custom_metadata"], json!({"team": "payments", "managed-by": "hush"}));
    // The raw API path is the documented one.
    let raw = server.api("GET", &api_path(&mount, 2, &api_key), Value::Null);
    assert_eq!(raw["data"]["data"], json!({"value": "from hush ✓"}));

    // A value that is not UTF-8 is stored in value_base64.
    let bytes = vec![0u8, 0xff, 0xfe, b'h', b'u', b's', b'h', 0x80];
    backend.put(&s, &name("BINARY"), SecretValue::new(bytes.clone()), Tags::new()).await.unwrap();
    let binary = secret_path("hush/", &s, &name("BINARY"));
    let encoded = server.bao(&["kv", "get", &format!("-mount={mount}"), "-field=value_base64", &binary]).unwrap();
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(encoded.trim()).unwrap(), bytes);
    assert_eq!(backend.get(&s, &name("BINARY"), None).await.unwrap().value.expose(), bytes);

    // A new version from the command line keeps hush's tags and is the latest.
    server.bao(&["kv", "put", &format!("-mount={mount}"), &api_key, "value=rotated by bao"]).unwrap();
    let latest = backend.get(&s, &name("API_KEY"), None).await.unwrap();
    assert_eq!(latest.value.expose(), b"rotated by bao");
    assert_eq!(latest.version, Some(VersionId::new("2").unwrap()));
    assert_eq!(latest.tags.get("team"), Some("payments"));
    let first = backend.get(&s, &name("API_KEY"), Some(&VersionId::new("1").unwrap())).await.unwrap();
    assert_eq!(first.value.expose_str(), Some("from hush ✓"));

    // Deleted through hush: gone for the command line too, every version.
    backend.delete(&s, &name("API_KEY")).await.unwrap();
    let gone = server.bao(&["kv", "metadata", "get", &format!("-mount={mount}"), &api_key]);
    assert!(gone.is_err(), "metadata still there after delete: {gone:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_v1_entries_are_shared_with_bao() {
    let Some(server) = server_or_skip() else { return };
    let mount = fresh_mount(server, 1);
    let backend = root_backend(server, &mount, 1, "team-").await;
    let s = scope("acme", "etl");
    let path = secret_path("team-", &s, &name("TOKEN"));
    assert_eq!(path, "team-acme/etl/TOKEN");
    server.bao(&["kv", "put", &format!("-mount={mount}"), &path, "value=v1 value"]).unwrap();
    let got = backend.get(&s, &name("TOKEN"), None).await.unwrap();
    assert_eq!(got.value.expose(), b"v1 value");
    assert_eq!(got.version, None);
    let pinned = backend.get(&s, &name("TOKEN"), Some(&VersionId::new("1").unwrap())).await.unwrap_err();
    assert_eq!(pinned.kind(), ErrorKind::Unsupported);

    let tags: Tags = [("team", "etl")].into_iter().collect();
    let meta = backend.put(&s, &name("OTHER"), SecretValue::from("from hush"), tags).await.unwrap();
    assert!(meta.tags.is_empty(), "KV v1 stores no tags, the metadata must not claim it did");
    let other = secret_path("team-", &s, &name("OTHER"));
    assert_eq!(server.bao(&["kv", "get", &format!("-mount={mount}"), "-field=value", &other]).unwrap(), "from hush");
    let raw = server.api("GET", &api_path(&mount, 1, &other), Value::Null);
    assert_eq!(raw["data"], json!({"value": "from hush"}));
    let listed = backend.list(&s, &ListFilter::default()).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["OTHER", "TOKEN"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_with_several_fields_read_as_json_for_paths() {
    let Some(server) = server_or_skip() else { return };
    let mount = fresh_mount(server, 2);
    let backend = root_backend(server, &mount, 2, "").await;
    let s = scope("acme", "apps");
    let db = secret_path("", &s, &name("DB"));
    server.bao(&["kv", "put", &format!("-mount={mount}"), &db, "username=app", "password=hunter2"]).unwrap();
    let value = backend.get(&s, &name("DB"), None).await.unwrap().value;
    let json: Value = serde_json::from_slice(value.expose()).unwrap();
    assert_eq!(json, json!({"username": "app", "password": "hunter2"}));
    let password = SecretPath::parse("password").unwrap().extract(&value).unwrap();
    assert_eq!(password.expose(), b"hunter2");

    // Nested data written through the API reads as its JSON too.
    let nested = secret_path("", &s, &name("CFG"));
    server.api(
        "POST",
        &api_path(&mount, 2, &nested),
        json!({"data": {"servers": [{"host name": "db1", "port": 5432}]}}),
    );
    let value = backend.get(&s, &name("CFG"), None).await.unwrap().value;
    let host = SecretPath::parse(r#"servers[0]["host name"]"#).unwrap().extract(&value).unwrap();
    assert_eq!(host.expose(), b"db1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_what_hush_can_name_and_hides_deleted_versions() {
    let Some(server) = server_or_skip() else { return };
    let mount = fresh_mount(server, 2);
    let backend = root_backend(server, &mount, 2, "p/").await;
    let s = scope("acme", "a");
    for (key, value) in
        [("p/acme/a/GOOD", "g"), ("p/acme/a/bad.name", "x"), ("p/acme/a/x.y/Z", "z"), ("p/acme/a/b/C", "c")]
    {
        server.bao(&["kv", "put", &format!("-mount={mount}"), key, &format!("value={value}")]).unwrap();
    }
    backend.put(&s, &name("SOFT"), SecretValue::from("one"), Tags::new()).await.unwrap();
    backend.put(&s, &name("SOFT"), SecretValue::from("two"), Tags::new()).await.unwrap();
    // `bao kv delete` soft-deletes the latest version.
    server.bao(&["kv", "delete", &format!("-mount={mount}"), "p/acme/a/SOFT"]).unwrap();

    let flat = backend.list(&s, &ListFilter::default()).await.unwrap();
    let flat: Vec<String> = flat.iter().map(|m| format!("{}/{}", m.namespace, m.name)).collect();
    assert_eq!(flat, ["a/GOOD"]);
    let deep = backend.list(&s, &ListFilter { recursive: true, ..ListFilter::default() }).await.unwrap();
    let deep: Vec<String> = deep.iter().map(|m| format!("{}/{}", m.namespace, m.name)).collect();
    assert_eq!(deep, ["a/GOOD", "a.b/C"]);

    assert_eq!(backend.get(&s, &name("SOFT"), None).await.unwrap_err().kind(), ErrorKind::NotFound);
    let v2 = VersionId::new("2").unwrap();
    assert_eq!(backend.get(&s, &name("SOFT"), Some(&v2)).await.unwrap_err().kind(), ErrorKind::NotFound);
    let v1 = VersionId::new("1").unwrap();
    assert_eq!(backend.get(&s, &name("SOFT"), Some(&v1)).await.unwrap().value.expose(), b"one");
    for odd in ["0", "01", "latest"] {
        let got = backend.get(&s, &name("GOOD"), Some(&VersionId::new(odd).unwrap())).await;
        assert_eq!(got.unwrap_err().kind(), ErrorKind::NotFound, "version {odd}");
    }
    // A soft-deleted secret still has metadata, so it can be deleted for good.
    backend.delete(&s, &name("SOFT")).await.unwrap();
    assert_eq!(backend.delete(&s, &name("SOFT")).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_policies_allow_what_they_say() {
    let Some(server) = server_or_skip() else { return };
    let mount = fresh_mount(server, 2);
    let (read_only, read_write) = (unique("hush-ro-"), unique("hush-rw-"));
    server.policy(&read_only, &READ_ONLY_POLICY.replace("MOUNT", &mount));
    server.policy(&read_write, &READ_WRITE_POLICY.replace("MOUNT", &mount));
    let s = scope("acme", "team");

    let writer_token = server.token(&["default", &read_write], "1h", true);
    let writer =
        VaultBackend::connect("rw", server.config(AuthConfig::token(writer_token), &mount, 2, "hush/")).await.unwrap();
    writer.check().await.unwrap();
    let tags: Tags = [("team", "payments")].into_iter().collect();
    writer.put(&s, &name("RW"), SecretValue::from("v1"), tags.clone()).await.unwrap();
    writer.put(&s, &name("RW"), SecretValue::from("v2"), Tags::new()).await.unwrap();
    assert!(writer.get(&s, &name("RW"), None).await.unwrap().tags.is_empty());
    writer.put(&s, &name("KEEP"), SecretValue::from("kept"), tags).await.unwrap();
    assert_eq!(writer.list(&s, &ListFilter::default()).await.unwrap().len(), 2);
    writer.delete(&s, &name("RW")).await.unwrap();

    let reader_token = server.token(&["default", &read_only], "1h", true);
    let reader =
        VaultBackend::connect("ro", server.config(AuthConfig::token(reader_token), &mount, 2, "hush/")).await.unwrap();
    reader.check().await.unwrap();
    assert_eq!(reader.get(&s, &name("KEEP"), None).await.unwrap().value.expose(), b"kept");
    let listed = reader.list(&s, &ListFilter { recursive: true, ..ListFilter::default() }).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].tags.get("team"), Some("payments"));
    let denied = reader.put(&s, &name("KEEP"), SecretValue::from("overwritten"), Tags::new()).await.unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    assert!(!denied.is_temporary());
    assert_eq!(reader.delete(&s, &name("KEEP")).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    // Outside the prefix the reader sees nothing, and is told so as a denial, not a miss.
    let outside = root_backend(server, &mount, 2, "other/").await;
    outside.put(&s, &name("ELSEWHERE"), SecretValue::from("x"), Tags::new()).await.unwrap();
    let other_reader = VaultBackend::connect(
        "ro-other",
        server.config(AuthConfig::token(server.token(&["default", &read_only], "1h", true)), &mount, 2, "other/"),
    )
    .await
    .unwrap();
    let err = other_reader.get(&s, &name("ELSEWHERE"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(other_reader.check().await.unwrap_err().kind(), ErrorKind::PermissionDenied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_map_to_kinds_without_credentials() {
    let Some(server) = server_or_skip() else { return };
    let s = scope("acme", "errors");

    // A wrong token is refused at connect; the message never holds it.
    let wrong = "s.wrong-token-hush-test";
    let err =
        VaultBackend::connect("bad-token", server.config(AuthConfig::token(wrong), "secret", 2, "")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(!err.to_string().contains(wrong) && !format!("{err:?}").contains(wrong), "{err}");

    // Nothing mounted at root_engine is a configuration problem, not a missing secret.
    let backend = root_backend(server, "no-such-mount", 2, "").await;
    let err = backend.get(&s, &name("X"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
    assert_eq!(backend.check().await.unwrap_err().kind(), ErrorKind::ConfigInvalid);

    // A mount of the other KV version, or a folder named as a mount, is refused at connect.
    let v1 = fresh_mount(server, 1);
    let config = server.config(AuthConfig::token(ROOT_TOKEN), &v1, 2, "");
    let err = VaultBackend::connect("v1-as-v2", config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
    assert!(err.to_string().contains("KV v1 mount"), "{err}");
    let err = VaultBackend::connect("v2-as-v1", server.config(AuthConfig::token(ROOT_TOKEN), "secret", 1, ""))
        .await
        .unwrap_err();
    assert!(err.kind() == ErrorKind::ConfigInvalid && err.to_string().contains("KV v2 mount"), "{err}");
    let err = VaultBackend::connect("folder", server.config(AuthConfig::token(ROOT_TOKEN), "secret/hush", 2, ""))
        .await
        .unwrap_err();
    assert!(err.kind() == ErrorKind::ConfigInvalid && err.to_string().contains("folder inside"), "{err}");

    // An unreachable server is unavailable, and worth retrying.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let err =
        VaultBackend::connect("down", VaultConfig::new(address, AuthConfig::token(ROOT_TOKEN))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_temporary());

    // A bad configuration is refused before any request, with every problem named.
    let mut config = VaultConfig::new("ftp://x", AuthConfig::token(""));
    config.engine_version = 3;
    let err = VaultBackend::connect("bad", config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    for key in ["address", "engine_version", "auth.token"] {
        assert!(err.to_string().contains(key), "{err}");
    }

    // Too many tags for custom_metadata is the caller's mistake.
    let mount = fresh_mount(server, 2);
    let backend = root_backend(server, &mount, 2, "").await;
    let tags: Tags = (0..70).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    let err = backend.put(&s, &name("TAGGY"), SecretValue::from("x"), tags).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_namespaces_are_sent_as_a_header() {
    let Some(server) = server_or_skip() else { return };
    let namespace = unique("team");
    server.api("POST", &format!("sys/namespaces/{namespace}"), Value::Null);
    server.api("POST", &format!("{namespace}/sys/mounts/kv"), json!({"type": "kv", "options": {"version": "2"}}));
    let config = server.config(AuthConfig::token(ROOT_TOKEN), "kv", 2, "").with_namespace(&namespace);
    let backend = VaultBackend::connect("namespaced", config).await.unwrap();
    backend.check().await.unwrap();
    let s = scope("acme", "ns");
    backend.put(&s, &name("IN_NAMESPACE"), SecretValue::from("inside"), Tags::new()).await.unwrap();
    let path = secret_path("", &s, &name("IN_NAMESPACE"));
    let field = server.bao(&["kv", "get", &format!("-namespace={namespace}"), "-mount=kv", "-field=value", &path]);
    assert_eq!(field.unwrap(), "inside");
    // Outside the namespace the mount does not exist.
    let outside = root_backend(server, "kv", 2, "").await;
    assert_eq!(outside.get(&s, &name("IN_NAMESPACE"), None).await.unwrap_err().kind(), ErrorKind::ConfigInvalid);
}
