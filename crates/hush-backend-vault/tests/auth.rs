//! Auth methods against a real OpenBao dev server: userpass and approle logins for real,
//! kubernetes through a TokenReview stand-in, token renewal past short TTLs, a fresh login
//! at the max TTL, and a fresh login (once, however many requests) after a revoke.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hush_backend_vault::{AuthConfig, VaultBackend};
use hush_core::{ErrorKind, SecretBackend, SecretValue, Tags};
use serde_json::{Value, json};
use support::token_review::{TokenReviewServer, service_account_jwt};
use support::{BaoServer, name, scope, server_or_skip, unique};

/// A fresh KV v2 mount and a policy named after it granting everything on it.
fn mount_with_policy(server: &BaoServer) -> String {
    let mount = unique("auth-kv-");
    server.mount_kv(&mount, 2);
    server.policy(
        &mount,
        &format!("path \"{mount}/*\" {{ capabilities = [\"create\", \"read\", \"update\", \"delete\", \"list\"] }}"),
    );
    mount
}

/// An AppRole role at a fresh mount with `role` settings (policies added); its role id and
/// a secret id.
fn approle(server: &BaoServer, policy: &str, role: Value) -> (String, String, String) {
    let mount = unique("approle-");
    server.enable_auth(&mount, "approle");
    let mut settings = role;
    settings["token_policies"] = json!(["default", policy]);
    server.api("POST", &format!("auth/{mount}/role/hush"), settings);
    let role_id = server.api("GET", &format!("auth/{mount}/role/hush/role-id"), Value::Null)["data"]["role_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret_id = server.api("POST", &format!("auth/{mount}/role/hush/secret-id"), Value::Null)["data"]["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (mount, role_id, secret_id)
}

/// Writes and reads one secret, failing with the error's text.
async fn round_trip(backend: &VaultBackend, label: &str) -> Result<(), String> {
    let s = scope("acme", "auth");
    let n = name("ROUND_TRIP");
    let value = SecretValue::from(label);
    backend.put(&s, &n, value.clone(), Tags::new()).await.map_err(|e| format!("put: {e}"))?;
    let got = backend.get(&s, &n, None).await.map_err(|e| format!("get: {e}"))?;
    if got.value != value {
        return Err("read back another value".to_owned());
    }
    Ok(())
}

/// Reads every 250 ms for `span`: each read must succeed.
async fn keeps_working_for(backend: &VaultBackend, span: Duration) {
    let start = Instant::now();
    let mut reads = 0;
    while start.elapsed() < span {
        round_trip(backend, &format!("read {reads}")).await.unwrap_or_else(|e| {
            panic!("failed after {:?} ({reads} good reads): {e}", start.elapsed());
        });
        reads += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userpass_logs_in_and_wrong_passwords_are_denied() {
    let Some(server) = server_or_skip() else { return };
    let kv = mount_with_policy(server);
    let mount = unique("userpass-");
    server.enable_auth(&mount, "userpass");
    let password = "correct horse battery staple";
    server.api(
        "POST",
        &format!("auth/{mount}/users/hush"),
        json!({"password": password, "token_policies": ["default", kv]}),
    );
    let auth = AuthConfig::userpass("hush", password).at_mount(&mount);
    let backend = VaultBackend::connect("userpass", server.config(auth, &kv, 2, "")).await.unwrap();
    round_trip(&backend, "userpass").await.unwrap();
    backend.check().await.unwrap();
    let shown = format!("{backend:?}");
    assert!(!shown.contains(password), "{shown}");

    let wrong = "wrong horse battery staple";
    let auth = AuthConfig::userpass("hush", wrong).at_mount(&mount);
    let err = VaultBackend::connect("userpass-wrong", server.config(auth, &kv, 2, "")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(!err.to_string().contains(wrong) && !format!("{err:?}").contains(wrong), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approle_logs_in() {
    let Some(server) = server_or_skip() else { return };
    let kv = mount_with_policy(server);
    let (mount, role_id, secret_id) = approle(server, &kv, json!({"token_ttl": "1h"}));
    let auth = AuthConfig::approle(&role_id, &secret_id).at_mount(&mount);
    let backend = VaultBackend::connect("approle", server.config(auth, &kv, 2, "")).await.unwrap();
    round_trip(&backend, "approle").await.unwrap();
    assert!(!format!("{backend:?}").contains(&secret_id));

    let auth = AuthConfig::approle(&role_id, "not-the-secret-id").at_mount(&mount);
    let err = VaultBackend::connect("approle-wrong", server.config(auth, &kv, 2, "")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(!err.to_string().contains("not-the-secret-id"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_logs_in_with_the_service_account_token_file() {
    let Some(server) = server_or_skip() else { return };
    let kv = mount_with_policy(server);
    let jwt = service_account_jwt("default", "hush");
    let review = TokenReviewServer::start(&jwt, "default", "hush");
    let mount = unique("kubernetes-");
    server.enable_auth(&mount, "kubernetes");
    // The CA is not used over http://, but the method wants one when not in a pod.
    let placeholder_ca = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    server.api(
        "POST",
        &format!("auth/{mount}/config"),
        json!({
            "kubernetes_host": review.url,
            "token_reviewer_jwt": "reviewer-jwt",
            "disable_local_ca_jwt": true,
            "kubernetes_ca_cert": placeholder_ca,
        }),
    );
    server.api(
        "POST",
        &format!("auth/{mount}/role/hush"),
        json!({
            "bound_service_account_names": ["hush"],
            "bound_service_account_namespaces": ["default"],
            "token_policies": ["default", kv],
            "token_ttl": "1h",
        }),
    );
    let jwt_file = server.dir().join(format!("{mount}-token"));
    std::fs::write(&jwt_file, format!("{jwt}\n")).unwrap();
    let auth = AuthConfig::kubernetes("hush").at_mount(&mount).with_jwt_file(&jwt_file);
    let backend = VaultBackend::connect("kubernetes", server.config(auth.clone(), &kv, 2, "")).await.unwrap();
    round_trip(&backend, "kubernetes").await.unwrap();
    {
        let seen = review.seen.lock().unwrap();
        let (path, authorization, reviewed) = seen.reviews.last().expect("OpenBao asked for a TokenReview");
        assert_eq!(path, "/apis/authentication.k8s.io/v1/tokenreviews");
        assert_eq!(authorization, "Bearer reviewer-jwt");
        assert_eq!(reviewed, &jwt, "OpenBao reviewed another token than the file's");
    }

    // Another service account's token is refused by the review, and never shown.
    let stranger = service_account_jwt("default", "stranger");
    std::fs::write(&jwt_file, &stranger).unwrap();
    let err = VaultBackend::connect("kubernetes-stranger", server.config(auth.clone(), &kv, 2, "")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(!err.to_string().contains(&stranger), "{err}");
    // A missing token file is a configuration problem naming the file.
    std::fs::remove_file(&jwt_file).unwrap();
    let err = VaultBackend::connect("kubernetes-nofile", server.config(auth, &kv, 2, "")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
    assert!(err.to_string().contains(&jwt_file.display().to_string()), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_ttl_tokens_are_renewed() {
    let Some(server) = server_or_skip() else { return };
    let kv = mount_with_policy(server);
    // One use of the secret id: a second login would fail, so only renewals keep this going.
    let role = json!({"token_ttl": "3s", "token_max_ttl": "1h", "secret_id_num_uses": 1});
    let (mount, role_id, secret_id) = approle(server, &kv, role);
    let auth = AuthConfig::approle(role_id, secret_id).at_mount(&mount);
    let backend = VaultBackend::connect("renewed", server.config(auth, &kv, 2, "")).await.unwrap();
    keeps_working_for(&backend, Duration::from_secs(7)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_at_their_max_ttl_are_replaced_by_a_login() {
    let Some(server) = server_or_skip() else { return };
    let kv = mount_with_policy(server);
    let role = json!({"token_ttl": "3s", "token_max_ttl": "5s"});
    let (mount, role_id, secret_id) = approle(server, &kv, role);
    let auth = AuthConfig::approle(role_id, secret_id).at_mount(&mount);
    let backend = VaultBackend::connect("max-ttl", server.config(auth, &kv, 2, "")).await.unwrap();
    keeps_working_for(&backend, Duration::from_secs(9)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_replaced_by_one_login_without_failing_requests() {
    let Some(server) = server_or_skip() else { return };
    let kv = mount_with_policy(server);
    // Two uses of the secret id: the first login and exactly one more.
    let role = json!({"token_ttl": "1h", "secret_id_num_uses": 2});
    let (mount, role_id, secret_id) = approle(server, &kv, role);
    let auth = AuthConfig::approle(role_id, secret_id).at_mount(&mount);
    let backend = Arc::new(VaultBackend::connect("revoked", server.config(auth, &kv, 2, "")).await.unwrap());
    round_trip(&backend, "before the revoke").await.unwrap();

    let revoke_every_token = || {
        server.bao(&["token", "revoke", "-mode=path", &format!("auth/{mount}/")]).expect("bao token revoke");
    };
    revoke_every_token();
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..20 {
        let backend = Arc::clone(&backend);
        requests.spawn(async move { backend.get(&scope("acme", "auth"), &name("ROUND_TRIP"), None).await.map(|_| i) });
    }
    while let Some(done) = requests.join_next().await {
        done.unwrap().expect("a request failed across the revoke");
    }
    round_trip(&backend, "after the revoke").await.unwrap();
    backend.check().await.unwrap();

    // The secret id is now used up: had the 20 requests logged in more than once, the first
    // re-login above would already have failed. A second revoke cannot be recovered from.
    revoke_every_token();
    let err = backend.get(&scope("acme", "auth"), &name("ROUND_TRIP"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewable_configured_token_is_renewed() {
    let Some(server) = server_or_skip() else { return };
    let kv = mount_with_policy(server);
    // A periodic token lives as long as it is renewed within its period.
    let token = server.token_with(json!({"policies": ["default", kv], "period": "3s"}));
    let backend =
        VaultBackend::connect("periodic", server.config(AuthConfig::token(&token), &kv, 2, "")).await.unwrap();
    assert!(!format!("{backend:?}").contains(&token));
    keeps_working_for(&backend, Duration::from_secs(7)).await;

    // Revoked, a configured token cannot come back: requests are denied.
    server.bao(&["token", "revoke", &token]).unwrap();
    let err = backend.get(&scope("acme", "auth"), &name("ROUND_TRIP"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
}
