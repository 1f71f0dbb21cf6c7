//! The three pieces of the README's "Kubernetes and ESO" section together: a Secret ESO synced
//! into a cluster (the Kubernetes API contract server of hush-backend-kubernetes), hushd reading
//! it with `kind = "kubernetes"` as the README configures it, a worker reading one of its keys,
//! and ESO's webhook provider reading it back through the gateway.

use hush_core::GrantScope;
use serde_json::json;

use crate::support::GatewayStack;
use crate::{readme_block, readme_store};

// The contract server is hush-backend-kubernetes' own (one contract, one place).
#[allow(dead_code, reason = "this test uses a part of the contract server's API")]
#[path = "../../../hush-backend-kubernetes/tests/support/contract.rs"]
mod contract;

/// What the contract server calls at start.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[tokio::test]
async fn hushd_serves_what_eso_synced_and_eso_reads_it_back_through_the_gateway() {
    let cluster = contract::Contract::start();
    // As ESO writes an ExternalSecret's target: several data keys, ESO's labels.
    cluster.insert(
        "payments",
        "acme.payments.db-creds",
        &[("username", b"app"), ("password", b"synced-pw-5d1e")],
        &[("reconcile.external-secrets.io/managed", "true")],
    );
    let kube_dir = tempfile::tempdir().unwrap();
    let kubeconfig = kube_dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: c\n  cluster:\n    server: {}\n\
             users:\n- name: hush\n  user:\n    token: {}\ncontexts:\n- name: test\n  context:\n    cluster: c\n    \
             user: hush\n    namespace: hush\n",
            cluster.url,
            contract::TOKEN
        ),
    )
    .unwrap();
    // The README's TOML, with a kubeconfig instead of the pod's service account.
    let readme_toml = readme_block("toml", "kind = \"kubernetes\"\nnamespaces");
    let body = "[backends.local]\nkind = \"sql\"\nurl = \"sqlite://{dir}/local.db\"\n".to_owned()
        + &readme_toml.replace(
            "kind = \"kubernetes\"\n",
            &format!("kind = \"kubernetes\"\nkubeconfig = \"{}\"\n", kubeconfig.display()),
        );
    let Some(gateway) = GatewayStack::start_with_or_skip(&body).await else { return };

    // A worker reads one data key of the synced Secret through hushd.
    let worker = gateway.stack.session("acme", "payments", GrantScope::Read).await;
    assert_eq!(worker.secret_at("db-creds", "password").await.unwrap().expose(), b"synced-pw-5d1e");
    let whole: serde_json::Value = serde_json::from_slice(worker.secret("db-creds").await.unwrap().expose()).unwrap();
    assert_eq!(whole, json!({"username": "app", "password": "synced-pw-5d1e"}));

    // ESO, through the README's SecretStore pointed at tenant acme / namespace payments.
    let grant = gateway.grant("acme", "payments", GrantScope::Read);
    let mut store = readme_store(&gateway, &grant);
    store.url = store.url.replace("/acme/prod/", "/acme/payments/");
    assert_eq!(store.get_secret("db-creds", "", "password").await.unwrap(), b"synced-pw-5d1e");
    let map = store.get_secret_map("db-creds").await.unwrap();
    assert_eq!((map["username"].as_slice(), map["password"].as_slice()), (&b"app"[..], &b"synced-pw-5d1e"[..]));
    // The binding is read-only: even with an admin grant a push is refused by hushd (403).
    let admin = gateway.grant("acme", "payments", GrantScope::Admin);
    let mut pushing = readme_store(&gateway, &admin);
    pushing.url = pushing.url.replace("/acme/prod/", "/acme/payments/");
    let refused = pushing.push_secret("db-creds", "password", b"x").await;
    assert_eq!(refused, Err(crate::eso::EsoError::Endpoint(403)));
    assert!(
        cluster
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /api/v1/namespaces/payments/secrets/acme.payments.db-creds"))
    );
}
