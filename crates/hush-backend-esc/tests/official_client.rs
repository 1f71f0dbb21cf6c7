//! The contract server (`support/contract.rs`) driven by Pulumi's official Python SDK
//! (`pulumi-esc-sdk`): open, read, the SDK's unwrapped values, its property read (which
//! requests `open//{id}` with a double slash) and its error on a wrong token. So the server
//! hush's tests use speaks the API the SDK speaks, and the backend reads what the SDK reads.

mod support;

use hush_core::{SecretBackend, SecretValue};
use serde_json::{Value, json};
use support::contract::Contract;
use support::{ENV, ORG, PROJECT, backend, config, name, python, python_client, scope};

/// The server with the SDK ready, or `None` (after printing the skip; a failure under
/// `CI=true`) when the SDK cannot be imported or installed.
fn server_with_client() -> Option<Contract> {
    if !python_client() {
        hush_backend_behavior::print_skip("the official Python SDK is missing (pip install pulumi-esc-sdk failed)");
        return None;
    }
    let server = Contract::start();
    server.set(ORG, PROJECT, ENV, "DB_PASSWORD", json!("hunter2"), true);
    server.set(ORG, PROJECT, ENV, "DB", json!({"host": "db.internal", "ports": [5432, 5433], "tls": true}), false);
    server.set(ORG, PROJECT, ENV, "RETRIES", json!(3), false);
    Some(server)
}

#[tokio::test]
async fn the_sdk_reads_what_the_backend_reads() {
    let Some(server) = server_with_client() else { return };
    let endpoint = server.endpoint.clone();
    let out = tokio::task::spawn_blocking(move || {
        python(
            &endpoint,
            "env, values, raw = client.open_and_read_environment(ORG, PROJECT, ENV)\n\
             print(json.dumps(values, sort_keys=True))",
        )
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("the SDK failed: {e}"));
    let sdk_values: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        sdk_values,
        json!({"DB": {"host": "db.internal", "ports": [5432, 5433], "tls": true}, "DB_PASSWORD": "hunter2", "RETRIES": 3})
    );
    // hush reads every property as the SDK's value: strings as bytes, the rest as JSON.
    let b = backend(config(&server));
    let s = scope("acme", "any");
    for (property, plain) in sdk_values.as_object().unwrap() {
        let read = b.get(&s, &name(property), None).await.unwrap();
        let expected = match plain {
            Value::String(text) => SecretValue::from(text.as_str()),
            other => SecretValue::new(other.to_string().into_bytes()),
        };
        if plain.is_string() {
            assert_eq!(read.value.expose(), expected.expose(), "{property}");
        } else {
            assert_eq!(serde_json::from_slice::<Value>(read.value.expose()).unwrap(), *plain, "{property}");
        }
    }
    let requests = server.requests();
    assert!(requests.iter().any(|r| r == "POST /api/esc/environments/acme/payments/prod/open"), "{requests:#?}");
}

#[tokio::test]
async fn the_sdk_property_read_uses_the_double_slash_path() {
    let Some(server) = server_with_client() else { return };
    let endpoint = server.endpoint.clone();
    let out = tokio::task::spawn_blocking(move || {
        python(
            &endpoint,
            "opened = client.open_environment(ORG, PROJECT, ENV)\n\
             v, value = client.read_open_environment_property(ORG, PROJECT, ENV, opened.id, 'DB_PASSWORD')\n\
             print(json.dumps({'value': value, 'secret': v.secret}))",
        )
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("the SDK failed: {e}"));
    assert_eq!(serde_json::from_str::<Value>(out.trim()).unwrap(), json!({"value": "hunter2", "secret": true}));
    let requests = server.requests();
    assert!(
        requests.iter().any(|r| r.starts_with("GET /api/esc/environments/acme/payments/prod/open//")
            && r.ends_with("?property=DB_PASSWORD")),
        "{requests:#?}"
    );
}

#[tokio::test]
async fn the_sdk_sees_401_for_a_wrong_token() {
    let Some(server) = server_with_client() else { return };
    let endpoint = server.endpoint.clone();
    let out = tokio::task::spawn_blocking(move || {
        python(
            &endpoint,
            "client = esc.EscClient(esc.Configuration(host=client.esc_api.api_client.configuration.host, access_token='pul-wrong'))\n\
             try:\n    client.open_environment(ORG, PROJECT, ENV)\n    print('opened')\n\
             except esc.exceptions.ApiException as e:\n    print(e.status)",
        )
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("the SDK failed: {e}"));
    assert_eq!(out.trim(), "401");
}
