//! The Kubernetes backend against the contract server (`support/contract.rs`): the full
//! behaviour suite, the key and value mapping on the wire, multi-key Secrets read with a path,
//! tags as labels, the label selector, the namespace mapping, paging with continue tokens,
//! RBAC's 403, 409 conflicts, error kinds and that the token shows nowhere. In-cluster
//! credentials are checked against the HTTPS server. `official_client.rs` checks the server
//! with the official Python client.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hush_backend_kubernetes::{KubernetesBackend, KubernetesConfig, KubernetesFactory};
use hush_core::{
    BackendFactory, BuildContext, ErrorKind, KindConfig, ListFilter, SecretBackend, SecretPath, SecretValue, Tags,
    VersionId,
};
use serde_json::json;
use support::contract::{Contract, Fault, READ_ONLY_TOKEN, TOKEN};
use support::{NAMESPACE, backend, config, config_with, name, scope};

/// Error text and debug text together, to check for the token.
fn shown(err: &hush_core::Error) -> String {
    format!("{err} {err:?}")
}

fn names(metas: Vec<hush_core::SecretMeta>) -> Vec<String> {
    metas.into_iter().map(|m| format!("{}/{}", m.namespace, m.name)).collect()
}

#[tokio::test]
async fn behaviour_suite() {
    let server = Contract::start();
    let (_dir, config) = config(&server);
    let report = hush_backend_behavior::run(Arc::new(backend(config))).await;
    report.assert_ok();
    for trial in [
        "put_then_get",
        "binary_value_round_trips",
        "name_at_length_limit",
        "namespace_at_depth_limit",
        "list_filters_by_tags",
    ] {
        assert!(report.passed.contains(&trial), "{trial} did not run");
    }
}

#[tokio::test]
async fn keys_values_and_labels_on_the_wire() {
    let server = Contract::start();
    let (_dir, config) = config(&server);
    let b = backend(config);
    let s = scope("acme", "payments.prod");
    let tags: Tags = [("team", "payments")].into_iter().collect();
    b.put(&s, &name("db-creds"), SecretValue::from("hunter2"), tags.clone()).await.unwrap();
    b.put(&s, &name("RAW"), SecretValue::new(vec![0xff, 0]), Tags::new()).await.unwrap();
    let stored = server.secret(NAMESPACE, "acme.payments.prod.db-creds").expect("the readable name");
    assert_eq!(stored["data"], json!({"value": "aHVudGVyMg=="}));
    assert_eq!(stored["type"], "Opaque");
    assert_eq!(
        stored["metadata"]["labels"],
        json!({"app.kubernetes.io/managed-by": "hush", "hush.tag/team": "payments"})
    );
    assert_eq!(
        stored["metadata"]["annotations"],
        json!({"hush/tenant": "acme", "hush/namespace": "payments.prod", "hush/name": "db-creds"})
    );
    assert_eq!(server.secret(NAMESPACE, "acme.payments.prod.0r0a0w").unwrap()["data"], json!({"value": "/wA="}));
    let got = b.get(&s, &name("db-creds"), None).await.unwrap();
    assert_eq!((got.value.expose(), &got.tags), (&b"hunter2"[..], &tags));
    assert_eq!(b.get(&s, &name("RAW"), None).await.unwrap().value.expose(), [0xff, 0]);

    // A Secret another tool (ESO) synced, with several data keys: a JSON object, read with a path.
    server.insert(NAMESPACE, "acme.payments.prod.db", &[("username", b"app"), ("password", b"pw \xe2\x9c\x93")], &[]);
    let object = b.get(&s, &name("db"), None).await.unwrap().value;
    let parsed: serde_json::Value = serde_json::from_slice(object.expose()).unwrap();
    assert_eq!(parsed, json!({"password": "pw ✓", "username": "app"}));
    let password = SecretPath::parse("password").unwrap().extract(&object).unwrap();
    assert_eq!(password.expose(), "pw ✓".as_bytes());
    server.insert(NAMESPACE, "acme.payments.prod.bin", &[("k", b"\xff"), ("value", b"v")], &[]);
    let object = b.get(&s, &name("bin"), None).await.unwrap().value;
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(object.expose()).unwrap(),
        json!({"k": "hush-base64:/w==", "value": "v"})
    );

    // Foreign Secrets are not listed; tags filter on the server's label selector.
    server.insert(NAMESPACE, "postgres-credentials", &[("value", b"x")], &[]);
    server.insert(NAMESPACE, "other.payments.prod.x", &[("value", b"x")], &[]);
    server.insert(NAMESPACE, "acme.payments.prod.eu.deep", &[("value", b"x")], &[]);
    let flat = b.list(&s, &ListFilter::default()).await.unwrap();
    assert_eq!(names(flat), ["payments.prod/RAW", "payments.prod/bin", "payments.prod/db", "payments.prod/db-creds"]);
    let deep = b.list(&scope("acme", "payments"), &ListFilter { tags: Tags::new(), recursive: true }).await.unwrap();
    assert_eq!(deep.len(), 5);
    server.clear_requests();
    let tagged = b.list(&s, &ListFilter { tags: tags.clone(), recursive: false }).await.unwrap();
    assert_eq!(names(tagged), ["payments.prod/db-creds"]);
    assert!(
        server.requests().iter().any(|r| r.contains("labelSelector=hush%2Etag%2Fteam%3Dpayments")),
        "{:?}",
        server.requests()
    );
    let unlabelable: Tags = [("team", "not a label value")].into_iter().collect();
    assert!(b.list(&s, &ListFilter { tags: unlabelable.clone(), recursive: false }).await.unwrap().is_empty());
    let err = b.put(&s, &name("T"), SecretValue::from("v"), unlabelable).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    let missing = b.get(&s, &name("NOPE"), None).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.to_string().contains("NOPE"), "{missing}");
    assert_eq!(b.delete(&s, &name("NOPE")).await.unwrap_err().kind(), ErrorKind::NotFound);
    b.delete(&s, &name("RAW")).await.unwrap();
    assert!(server.secret(NAMESPACE, "acme.payments.prod.0r0a0w").is_none());
    let v1 = VersionId::new("1").unwrap();
    assert_eq!(b.get(&s, &name("db"), Some(&v1)).await.unwrap_err().kind(), ErrorKind::Unsupported);
    b.check().await.unwrap();
    // Every request carried the bearer token and went to the context's namespace.
    assert!(server.requests().iter().all(|r| r.contains(&format!("/api/v1/namespaces/{NAMESPACE}/secrets"))));
}

#[tokio::test]
async fn lists_page_with_continue_tokens() {
    let server = Contract::start();
    let (_dir, config) = config(&server);
    let b = backend(config);
    for i in 0..600 {
        // Letters for digits: a lone `0` is an escape in Secret names.
        let stem: String = format!("{i:03}").chars().map(|d| (b'a' + d as u8 - b'0') as char).collect();
        server.insert(NAMESPACE, &format!("t.n.s{stem}"), &[("value", b"v")], &[]);
    }
    server.clear_requests();
    let listed = b.list(&scope("t", "n"), &ListFilter::default()).await.unwrap();
    assert_eq!(listed.len(), 600);
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(requests[0].ends_with("?limit=250"), "{requests:?}");
    assert!(requests[1].contains("&continue="), "{requests:?}");
    // A continue token the server refuses is its 400, invalid input.
    server.fail(Fault::status("GET", "continue=", 400, "BadRequest", "continue key is not valid"));
    let err = b.list(&scope("t", "n"), &ListFilter::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn a_read_only_service_account_reads_and_its_writes_are_read_only() {
    let server = Contract::start();
    server.insert(NAMESPACE, "t.n.a", &[("value", b"a")], &[]);
    let (_dir, config) = config_with(&server, READ_ONLY_TOKEN);
    let b = backend(config);
    let s = scope("t", "n");
    assert_eq!(b.get(&s, &name("a"), None).await.unwrap().value.expose(), b"a");
    for (err, verb) in [
        (b.put(&s, &name("a"), SecretValue::from("b"), Tags::new()).await.unwrap_err(), "cannot update"),
        (b.put(&s, &name("new"), SecretValue::from("b"), Tags::new()).await.unwrap_err(), "cannot update"),
        (b.delete(&s, &name("a")).await.unwrap_err(), "cannot delete"),
    ] {
        assert_eq!(err.kind(), ErrorKind::ReadOnly, "{err}");
        assert!(!err.is_temporary());
        assert!(err.to_string().contains("RBAC forbids"), "{err}");
        assert!(err.to_string().contains(verb), "{err}");
        assert!(!shown(&err).contains(READ_ONLY_TOKEN), "{err:?}");
    }
}

#[tokio::test]
async fn statuses_map_to_error_kinds_without_the_token() {
    let server = Contract::start();
    let (_dir, config) = config(&server);
    let b = backend(config);
    let s = scope("t", "n");
    for (code, reason, kind, temporary) in [
        (401, "Unauthorized", ErrorKind::PermissionDenied, false),
        (403, "Forbidden", ErrorKind::PermissionDenied, false),
        (404, "NotFound", ErrorKind::NotFound, false),
        (429, "TooManyRequests", ErrorKind::RateLimited, true),
        (500, "InternalError", ErrorKind::Unavailable, true),
        (503, "ServiceUnavailable", ErrorKind::Unavailable, true),
    ] {
        server.fail(Fault::status("GET", "/secrets?", code, reason, &format!("token {TOKEN} says no")));
        let err = b.list(&s, &ListFilter::default()).await.unwrap_err();
        assert_eq!((err.kind(), err.is_temporary()), (kind, temporary), "{code}: {err}");
        assert!(!shown(&err).contains(TOKEN), "{err:?}");
        assert!(shown(&err).contains("says no"), "{err:?}");
        server.heal();
    }
    // A stale resourceVersion or a lost create race: 409, a temporary conflict; 422 invalid.
    b.put(&s, &name("a"), SecretValue::from("1"), Tags::new()).await.unwrap();
    server.fail(Fault::status(
        "PUT",
        "t.n.a",
        409,
        "Conflict",
        "Operation cannot be fulfilled on secrets \"t.n.a\": the object has been modified",
    ));
    let err = b.put(&s, &name("a"), SecretValue::from("2"), Tags::new()).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Conflict, true), "{err}");
    assert!(err.to_string().contains("the object has been modified"), "{err}");
    server.heal();
    server.fail(Fault::status("PUT", "t.n.b", 404, "NotFound", "secrets \"t.n.b\" not found"));
    server.fail(Fault::status("POST", "/secrets", 409, "AlreadyExists", "secrets \"t.n.b\" already exists"));
    let err = b.put(&s, &name("b"), SecretValue::from("2"), Tags::new()).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Conflict, true), "{err}");
    server.heal();
    server.fail(Fault::status("PUT", "t.n.a", 422, "Invalid", "Secret \"t.n.a\" is invalid"));
    let err = b.put(&s, &name("a"), SecretValue::from("2"), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    server.heal();
    // A wrong token.
    let (_dir2, wrong) = config_with(&server, "eyJ.WRONGSECRET");
    let err = backend(wrong).check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(!shown(&err).contains("WRONGSECRET"), "{err:?}");
}

#[tokio::test]
async fn the_label_selector_narrows_what_is_visible() {
    let server = Contract::start();
    let (_dir, config) = config(&server);
    let b = backend(config.with_label_selector("app.kubernetes.io/part-of=hush,!legacy"));
    let s = scope("t", "n");
    server.insert(NAMESPACE, "t.n.hidden", &[("value", b"h")], &[]);
    server.insert(
        NAMESPACE,
        "t.n.legacy",
        &[("value", b"l")],
        &[("app.kubernetes.io/part-of", "hush"), ("legacy", "1")],
    );
    server.insert(NAMESPACE, "t.n.shown", &[("value", b"s")], &[("app.kubernetes.io/part-of", "hush")]);
    assert_eq!(b.get(&s, &name("shown"), None).await.unwrap().value.expose(), b"s");
    for hidden in ["hidden", "legacy"] {
        assert_eq!(b.get(&s, &name(hidden), None).await.unwrap_err().kind(), ErrorKind::NotFound, "{hidden}");
        assert_eq!(b.delete(&s, &name(hidden)).await.unwrap_err().kind(), ErrorKind::NotFound, "{hidden}");
    }
    assert!(server.secret(NAMESPACE, "t.n.hidden").is_some());
    b.put(&s, &name("written"), SecretValue::from("w"), Tags::new()).await.unwrap();
    assert_eq!(
        server.secret(NAMESPACE, "t.n.written").unwrap()["metadata"]["labels"]["app.kubernetes.io/part-of"],
        "hush"
    );
    assert_eq!(names(b.list(&s, &ListFilter::default()).await.unwrap()), ["n/shown", "n/written"]);
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.contains("labelSelector=app%2Ekubernetes%2Eio%2Fpart%2Dof%3Dhush%2C%21legacy"))
    );
}

#[tokio::test]
async fn tenants_and_namespaces_map_onto_kubernetes_namespaces() {
    let server = Contract::start();
    let (_dir, config) = config(&server);
    let config = config.with_mapping("acme", "acme-secrets").with_mapping("acme/payments", "payments");
    let b = backend(config.clone());
    for (tenant, namespace) in [("acme", "payments.eu"), ("acme", "search"), ("other", "x"), ("acme", "payments")] {
        b.put(&scope(tenant, namespace), &name("k"), SecretValue::from(namespace), Tags::new()).await.unwrap();
    }
    // What `hush explain` names is where the puts stored them.
    let explained = |tenant, namespace| config.key_for(&scope(tenant, namespace), &name("k")).unwrap();
    assert_eq!(explained("acme", "payments.eu"), r#"Secret "acme.payments.eu.k" key "value" in namespace "payments""#);
    assert_eq!(explained("acme", "search"), r#"Secret "acme.search.k" key "value" in namespace "acme-secrets""#);
    assert!(explained("other", "x").starts_with(r#"Secret "other.x.k" key "value" in the kubeconfig context's"#));
    assert_eq!(server.names("payments"), ["acme.payments.eu.k", "acme.payments.k"]);
    assert_eq!(server.names("acme-secrets"), ["acme.search.k"]);
    assert_eq!(server.names(NAMESPACE), ["other.x.k"]);
    let deep = b.list(&scope("acme", "payments"), &ListFilter { tags: Tags::new(), recursive: true }).await.unwrap();
    assert_eq!(names(deep), ["payments/k", "payments.eu/k"]);
    // A Secret in a Kubernetes namespace its key does not map to is not there for hush.
    server.insert("acme-secrets", "acme.payments.stray", &[("value", b"x")], &[]);
    let err = b.get(&scope("acme", "payments"), &name("stray"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let all = b.list(&scope("acme", "search"), &ListFilter::default()).await.unwrap();
    assert_eq!(names(all), ["search/k"]);
}

#[tokio::test]
async fn in_cluster_credentials_over_https() {
    let server = Contract::start_https();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(hush_backend_behavior::contract_server::test_ca_file(), dir.path().join("ca.crt")).unwrap();
    std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(dir.path().join("namespace"), "in-pod").unwrap();
    let port = server.url.rsplit(':').next().unwrap().to_owned();
    let env = move |v: &str| match v {
        "KUBERNETES_SERVICE_HOST" => Some("127.0.0.1".to_owned()),
        "KUBERNETES_SERVICE_PORT" => Some(port.clone()),
        _ => None,
    };
    support::install_tls_provider();
    let b = KubernetesBackend::with_service_account("k8s", KubernetesConfig::in_cluster(), env, dir.path()).unwrap();
    b.put(&scope("t", "n"), &name("a"), SecretValue::from("x"), Tags::new()).await.unwrap();
    assert_eq!(server.names("in-pod"), ["t.n.a"]);
    assert_eq!(b.get(&scope("t", "n"), &name("a"), None).await.unwrap().value.expose(), b"x");
    assert!(!format!("{b:?}").contains(TOKEN));
}

#[tokio::test]
async fn timeouts_and_dead_servers_are_unavailable() {
    let server = Contract::start();
    let (_dir, config) = config(&server);
    let b = backend(config.clone().with_request_timeout(Duration::from_millis(300)));
    server.fail(hush_backend_behavior::contract_server::HttpFault::silent("GET", "/secrets/", Duration::from_secs(3)));
    let started = Instant::now();
    let err = b.get(&scope("t", "n"), &name("a"), None).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(server);
    let dead = backend(config);
    let err = dead.check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
}

#[tokio::test]
async fn the_factory_defaults_the_request_timeout_and_refuses_bad_configs() {
    let server = Contract::start();
    let (_dir, config) = config(&server);
    let context = BuildContext::new("k8s", Duration::from_secs(1));
    let built = KubernetesFactory.build(config.clone(), &context).await.unwrap();
    built.check().await.unwrap();
    let err = match KubernetesFactory.build(config.with_data_key("bad key"), &context).await {
        Ok(_) => panic!("a bad data key builds"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.to_string().contains("data_key"), "{err}");
}
