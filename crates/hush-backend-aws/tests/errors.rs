//! What moto does not check: the static credentials signing each request, and AWS's error
//! answers mapped onto hush's kinds. A stub HTTP server answers as AWS's JSON protocol does
//! (`x-amzn-ErrorType` header, `{"__type", "message"}` body); a closed port and a server that
//! never answers check unreachable servers and `request_timeout`.

mod support;

use std::time::{Duration, Instant};

use hush_backend_aws::{AwsBackend, AwsConfig};
use hush_backend_behavior::local_server::free_port;
use hush_core::{Error, ErrorKind, SecretBackend, SecretValue, Tags};
use support::{ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, StubServer, name, scope};

const JSON: &str = "application/x-amz-json-1.1";

fn config(endpoint: &str) -> AwsConfig {
    AwsConfig::new(REGION)
        .with_static_credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY, Some("hush-session-token".to_owned()))
        .with_endpoint(endpoint)
        .with_request_timeout(Duration::from_secs(2))
}

/// The error of a `get` against a stub answering `status` with AWS error `code` and `message`.
async fn get_error(status: u16, code: &str, message: &str) -> (Error, StubServer) {
    let body = format!(r#"{{"__type":"{code}","message":"{message}"}}"#);
    let stub = StubServer::start(status, &[("Content-Type", JSON), ("x-amzn-ErrorType", code)], &body, false);
    let backend = AwsBackend::connect("aws-stub", config(&stub.endpoint)).await.expect("connect");
    let err = backend.get(&scope("acme", "ns"), &name("X"), None).await.expect_err("the stub answers an error");
    (err, stub)
}

#[tokio::test]
async fn requests_are_signed_with_the_static_credentials() {
    let (_, stub) =
        get_error(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.").await;
    let heads = stub.heads.lock().unwrap().clone();
    assert!(!heads.is_empty());
    for head in &heads {
        let lower = head.to_ascii_lowercase();
        assert!(
            head.contains(&format!("Credential={ACCESS_KEY_ID}/"))
                && head.contains(&format!("/{REGION}/secretsmanager/")),
            "not signed with the static key: {head}"
        );
        assert!(lower.contains("x-amz-security-token: hush-session-token"), "no session token: {head}");
        assert!(!head.contains(SECRET_ACCESS_KEY), "the secret key was sent");
        assert!(lower.contains("x-amz-target: secretsmanager."), "{head}");
    }
}

#[tokio::test]
async fn aws_errors_map_onto_hush_kinds() {
    let (err, _) =
        get_error(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.").await;
    assert_eq!(err.kind(), ErrorKind::NotFound);

    let denied = "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: \
                  secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:x";
    let (err, _) = get_error(400, "AccessDeniedException", denied).await;
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.message().contains("secretsmanager:GetSecretValue"), "{}", err.message());
    let all = format!("{err} {:?}", err.context());
    assert!(!all.contains("123456789012") && !all.contains("bob"), "{all}");

    let (err, _) = get_error(400, "ThrottlingException", "Rate exceeded").await;
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::RateLimited, true));
    let (err, _) = get_error(429, "TooManyRequestsException", "slow down").await;
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::RateLimited, true));
    let (err, _) = get_error(500, "InternalServiceError", "oops").await;
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true));
    let (err, _) = get_error(400, "InvalidParameterException", "bad parameter").await;
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::InvalidInput, false));
    let (err, _) = get_error(400, "UnrecognizedClientException", "The security token included is invalid.").await;
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
}

#[tokio::test]
async fn one_attempt_per_call_the_retry_layer_retries() {
    let (err, stub) = get_error(500, "InternalServiceError", "oops").await;
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    // get reads the value and the metadata: two requests, none repeated by the SDK.
    assert_eq!(stub.heads.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_and_temporary() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let backend = AwsBackend::connect("aws-down", config(&endpoint)).await.expect("connect makes no call");
    let err = backend.check().await.expect_err("nothing listens");
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
    assert!(!format!("{err:?}").contains(SECRET_ACCESS_KEY));
}

#[tokio::test]
async fn a_silent_server_times_out_after_request_timeout() {
    let stub = StubServer::start(200, &[], "", true);
    let backend = AwsBackend::connect("aws-silent", config(&stub.endpoint)).await.expect("connect");
    let started = Instant::now();
    let err = backend
        .put(&scope("acme", "ns"), &name("X"), SecretValue::from("v"), Tags::new())
        .await
        .expect_err("no answer");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
}

#[tokio::test]
async fn bad_configuration_is_refused_at_connect() {
    let err = AwsBackend::connect("aws-bad", AwsConfig::new(REGION).with_recovery_window_days(3))
        .await
        .expect_err("3 days is too short");
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.message().contains("recovery_window_days"), "{}", err.message());
}
