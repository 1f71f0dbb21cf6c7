//! The contract server (`support/contract.rs`, over HTTPS with the test CA) driven by the
//! official Python client (`kubernetes`, `CoreV1Api` from a kubeconfig): read, list with a
//! label selector and `limit`/`_continue` paging, create with `string_data`, replace with a
//! stale `resourceVersion` (409), delete and a missing Secret (404). So the server hush's tests
//! use speaks the API the client speaks, and hush and the client read what the other wrote,
//! a multi-key Secret read with a path included.

mod support;

use std::path::PathBuf;

use hush_core::{ErrorKind, ListFilter, SecretBackend, SecretPath, SecretValue, Tags};
use support::contract::{Contract, TOKEN};
use support::{NAMESPACE, backend, kubeconfig, name, python, python_client, scope};

/// The HTTPS server and a kubeconfig for it, or `None` (after printing the skip; a failure
/// under `CI=true`) when the client cannot be imported or installed.
fn server_with_client() -> Option<(Contract, tempfile::TempDir, PathBuf)> {
    if !python_client() {
        hush_backend_behavior::print_skip("the official Python client is missing (pip install kubernetes failed)");
        return None;
    }
    let server = Contract::start_https();
    let dir = tempfile::tempdir().unwrap();
    let ca = hush_backend_behavior::contract_server::test_ca_file();
    let path = kubeconfig(dir.path(), &server.url, Some(&ca), TOKEN);
    Some((server, dir, path))
}

async fn run_python(path: &std::path::Path, snippet: &'static str) -> String {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || python(&path, snippet))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the Python client failed: {e}"))
}

#[tokio::test]
async fn the_client_and_the_backend_read_what_the_other_wrote() {
    let Some((server, _dir, path)) = server_with_client() else { return };
    let b = backend(hush_backend_kubernetes::KubernetesConfig::from_kubeconfig(&path));
    let s = scope("acme", "payments.prod");
    let tags: Tags = [("team", "payments")].into_iter().collect();
    b.put(&s, &name("db-creds"), SecretValue::from("hunter2 ✓"), tags).await.unwrap();
    b.put(&s, &name("API_KEY"), SecretValue::from("k"), Tags::new()).await.unwrap();

    let out = run_python(
        &path,
        "import kubernetes\n\
         print(kubernetes.__version__)\n\
         s = v1.read_namespaced_secret('acme.payments.prod.db-creds', NS)\n\
         print(json.dumps({'value': base64.b64decode(s.data['value']).decode(), 'labels': s.metadata.labels, \
             'annotations': s.metadata.annotations, 'type': s.type}))\n\
         tagged = v1.list_namespaced_secret(NS, label_selector='hush.tag/team=payments')\n\
         print(json.dumps([i.metadata.name for i in tagged.items]))\n\
         names, token = [], None\n\
         while True:\n\
         \x20   page = v1.list_namespaced_secret(NS, limit=1, _continue=token)\n\
         \x20   names += [i.metadata.name for i in page.items]\n\
         \x20   token = page.metadata._continue\n\
         \x20   if not token: break\n\
         print(json.dumps(names))\n\
         body = client.V1Secret(metadata=client.V1ObjectMeta(name='acme.payments.prod.db'), \
             string_data={'username': 'app', 'password': 's3cret ✓'})\n\
         created = v1.create_namespaced_secret(NS, body)\n\
         stale = v1.read_namespaced_secret('acme.payments.prod.db-creds', NS)\n\
         v1.replace_namespaced_secret('acme.payments.prod.db-creds', NS, stale)\n\
         try:\n\
         \x20   v1.replace_namespaced_secret('acme.payments.prod.db-creds', NS, stale)\n\
         \x20   print('replaced')\n\
         except ApiException as e:\n\
         \x20   print(e.status, json.loads(e.body)['reason'])\n\
         try:\n\
         \x20   v1.read_namespaced_secret('nope', NS)\n\
         except ApiException as e:\n\
         \x20   print(e.status, json.loads(e.body)['reason'])",
    )
    .await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    println!("checked with the Python kubernetes client {}", lines[0]);
    let read: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(
        read,
        serde_json::json!({"value": "hunter2 ✓", "type": "Opaque",
            "labels": {"app.kubernetes.io/managed-by": "hush", "hush.tag/team": "payments"},
            "annotations": {"hush/tenant": "acme", "hush/namespace": "payments.prod", "hush/name": "db-creds"}})
    );
    assert_eq!(lines[2], r#"["acme.payments.prod.db-creds"]"#);
    assert_eq!(lines[3], r#"["acme.payments.prod.0a0p0i010k0e0y", "acme.payments.prod.db-creds"]"#);
    assert_eq!(lines[4], "409 Conflict");
    assert_eq!(lines[5], "404 NotFound");

    // What the client created with string_data, read by hush as an object and with a path.
    let object = b.get(&s, &name("db"), None).await.unwrap().value;
    assert_eq!(SecretPath::parse("password").unwrap().extract(&object).unwrap().expose(), "s3cret ✓".as_bytes());
    assert_eq!(SecretPath::parse("username").unwrap().extract(&object).unwrap().expose(), b"app");
    assert_eq!(b.get(&s, &name("db-creds"), None).await.unwrap().value.expose(), "hunter2 ✓".as_bytes());
    let listed: Vec<String> =
        b.list(&s, &ListFilter::default()).await.unwrap().into_iter().map(|m| m.name.to_string()).collect();
    assert_eq!(listed, ["API_KEY", "db", "db-creds"]);

    run_python(&path, "v1.delete_namespaced_secret('acme.payments.prod.db', NS)").await;
    assert_eq!(b.get(&s, &name("db"), None).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(server.names(NAMESPACE).len(), 2);
}

#[tokio::test]
async fn the_client_is_refused_a_wrong_token() {
    let Some((server, dir, _path)) = server_with_client() else { return };
    let ca = hush_backend_behavior::contract_server::test_ca_file();
    let wrong = kubeconfig(dir.path(), &server.url, Some(&ca), "eyJ.WRONG");
    let out = run_python(
        &wrong,
        "try:\n    v1.list_namespaced_secret(NS)\n    print('accepted')\n\
         except ApiException as e:\n    print(e.status)",
    )
    .await;
    assert_eq!(out.trim(), "401");
}
