//! The `vault` kind as config sees it: its options are checked with key paths (credentials
//! never in messages), the common `prefix` reaches the backend, and a Vault that is down at
//! start is served as unavailable with the capabilities of its KV version.
#![cfg(feature = "vault")]

use crate::{full_toml, load};
use hush_backends::{BackendContext, build_bindings, problems};
use hush_core::{ErrorKind, Namespace, SecretName, TenantId};

#[test]
fn vault_options_are_checked_with_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        r#"
[backends.vault-main]
kind = "vault"
address = "vault.internal:8200"
engine_version = 3
prefix = "/abs"
auth = { method = "userpass", username = "hush", password = "" }

[backends.vault-typo]
kind = "vault"
adress = "http://127.0.0.1:8200"
auth = { method = "token", token = "s.sekrit-token-value" }
"#,
        &[],
    );
    let found: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
    let text = found.join("\n");
    for expected in [
        "backends.vault-main.address:",
        "backends.vault-main.engine_version:",
        "backends.vault-main.prefix:",
        "backends.vault-main.auth.password:",
        "backends.vault-typo.adress",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("sekrit"), "a credential reached a message:\n{text}");
}

#[test]
fn a_good_vault_config_has_no_problems_and_env_fills_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        r#"
[backends.vault-main]
kind = "vault"
address = "https://vault.internal:8200"
root_engine = "kv"
engine_version = 1
prefix = "hush/"
tls = { ca_file = "ca.pem" }
auth = { method = "token" }
"#,
        &[("HUSH_BACKENDS__VAULT_MAIN__AUTH__TOKEN", "s.from-env")],
    );
    let found = problems(&config);
    assert!(found.is_empty(), "{found:?}");
}

#[tokio::test]
async fn an_unreachable_vault_is_served_as_unavailable_with_its_capabilities() {
    hush_backends::install_tls_provider();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        &format!(
            r#"
[backends.vault-v1]
kind = "vault"
address = "{address}"
engine_version = 1
timeout = "2s"
retry = {{ max_attempts = 1 }}
auth = {{ method = "token", token = "s.whatever" }}

[tenants.acme]
backend = "vault-v1"
"#
        ),
        &[],
    );
    assert!(problems(&config).is_empty(), "{:?}", problems(&config));
    let tree = build_bindings(&config, &BackendContext::default()).await.unwrap();
    let tenant = TenantId::new("acme").unwrap();
    let backend = tree.effective(&tenant, &Namespace::new("team").unwrap()).unwrap();
    let caps = backend.info().capabilities;
    assert!(caps.read && caps.write && !caps.versions && !caps.tags, "{caps:?}");
    let scope = hush_core::Scope::new(tenant, Namespace::new("team").unwrap());
    let err = backend.get(&scope, &SecretName::new("X").unwrap(), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

#[test]
fn the_vault_example_of_full_toml_is_valid() {
    let config = full_toml();
    let vault = config.backends.get("vault-main").expect("config/full.toml has [backends.vault-main]");
    assert_eq!(vault.kind, "vault");
    assert_eq!(vault.options.get("prefix").and_then(|v| v.as_str()), Some("hush/"));
    let found: Vec<String> = problems(&config)
        .iter()
        .filter(|p| p.path.starts_with("backends.vault-main"))
        .map(ToString::to_string)
        .collect();
    assert!(found.is_empty(), "{found:?}");
}
