//! `RestClient` against a contract server on loopback: TLS trust, timeouts, redirects and
//! what a failure says.

use std::time::Duration;

use hush_backend_behavior::contract_server::{ContractReply, ContractServer, HttpFault, test_ca_file};
use hush_core::{ErrorKind, SecretValue, TlsConfig};
use hush_rest::RestClient;
use serde_json::json;

const TOKEN: &str = "tok-0123-SECRET";

fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn vendor() -> ContractServer {
    ContractServer::start_https(|request| match request.path.as_str() {
        "/ok" => ContractReply::json(200, &json!({"seen": request.header("x-test")})),
        "/moved" => ContractReply::empty(302).with_header("location", "/ok"),
        _ => ContractReply::json(401, &json!({"message": format!("token {TOKEN} is not valid")})),
    })
}

fn client(tls: &TlsConfig, timeout: Duration) -> RestClient {
    install_tls_provider();
    RestClient::new("Vendor", timeout, tls).expect("a client").redacting(&SecretValue::from(TOKEN))
}

#[tokio::test]
async fn trusts_the_configured_ca_and_refuses_an_unknown_one() {
    let server = vendor();
    let trusted = client(&TlsConfig::with_ca_file(test_ca_file()), Duration::from_secs(5));
    let answer = trusted.send(trusted.http().get(format!("{}/ok", server.url)).header("x-test", "1"), "testing").await;
    let answer = answer.expect("an answer over TLS");
    assert!(answer.is_success());
    assert_eq!(answer.json(), Some(json!({"seen": "1"})));

    let system_roots_only = client(&TlsConfig::default(), Duration::from_secs(5));
    let err = system_roots_only.send(system_roots_only.http().get(format!("{}/ok", server.url)), "testing").await;
    let err = err.expect_err("an unknown CA is refused");
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true));
    assert!(err.to_string().contains("Vendor could not be reached testing"), "{err}");

    let skipping = client(&TlsConfig::insecure_skip_verify(), Duration::from_secs(5));
    let answer = skipping.send(skipping.http().get(format!("{}/ok", server.url)), "testing").await;
    assert!(answer.expect("skip_verify accepts the certificate").is_success());
}

#[tokio::test]
async fn a_missing_or_empty_ca_file_is_a_config_error() {
    install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    let missing =
        RestClient::new("Vendor", Duration::from_secs(1), &TlsConfig::with_ca_file(dir.path().join("no.pem")));
    assert_eq!(missing.unwrap_err().kind(), ErrorKind::ConfigInvalid);
    std::fs::write(dir.path().join("empty.pem"), "not a certificate").unwrap();
    let empty =
        RestClient::new("Vendor", Duration::from_secs(1), &TlsConfig::with_ca_file(dir.path().join("empty.pem")));
    let err = empty.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.to_string().contains("holds no PEM certificate"), "{err}");
}

#[tokio::test]
async fn a_silent_server_times_out_as_unavailable() {
    let server = vendor();
    server.fail(HttpFault::silent("GET", "/ok", Duration::from_secs(3)));
    let client = client(&TlsConfig::with_ca_file(test_ca_file()), Duration::from_millis(300));
    let err = client.send(client.http().get(format!("{}/ok", server.url)), "reading x").await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true));
    assert!(err.to_string().contains("Vendor timed out reading x"), "{err}");
}

#[tokio::test]
async fn redirects_are_not_followed_and_failures_hide_the_token() {
    let server = vendor();
    let client = client(&TlsConfig::with_ca_file(test_ca_file()), Duration::from_secs(5));
    let moved = client.send(client.http().get(format!("{}/moved", server.url)), "reading x").await.unwrap();
    assert_eq!(moved.status, 302);
    assert_eq!(server.count("GET /ok"), 0, "the redirect was followed: {:?}", server.requests());

    let err = client.send_expecting_success(client.http().get(format!("{}/other", server.url)), "reading x").await;
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let text = format!("{err} {err:?}");
    assert!(!text.contains("SECRET"), "{text}");
    assert!(text.contains("token *** is not valid"), "{text}");
}
