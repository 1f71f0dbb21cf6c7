//! The contract server (`support/contract.rs`) driven by Doppler's official Python SDK
//! (`doppler-sdk`): `secrets.update`, `secrets.get`, `secrets.names`, `secrets.delete` and its
//! error on a wrong token. So the server hush's tests use speaks the API the SDK speaks, and
//! the backend and the SDK read what the other wrote.

mod support;

use hush_core::{ListFilter, SecretBackend, SecretValue, Tags};
use support::contract::{Contract, TOKEN};
use support::{backend, config, name, python, python_client, scope};

/// The server with the SDK ready, or `None` (after printing the skip; a failure under
/// `CI=true`) when the SDK cannot be imported or installed.
fn server_with_client() -> Option<Contract> {
    if !python_client() {
        hush_backend_behavior::print_skip("the official Python SDK is missing (pip install doppler-sdk failed)");
        return None;
    }
    Some(Contract::start())
}

async fn run_python(server: &Contract, token: &'static str, snippet: &'static str) -> Result<String, String> {
    let api_url = server.api_url.clone();
    tokio::task::spawn_blocking(move || python(&api_url, token, snippet)).await.unwrap()
}

#[tokio::test]
async fn the_sdk_and_the_backend_read_what_the_other_wrote() {
    let Some(server) = server_with_client() else { return };
    let b = backend(config(&server));
    let s = scope("acme", "company.team");
    b.put(&s, &name("DB_PASSWORD"), SecretValue::from("hunter2 ✓"), Tags::new()).await.unwrap();
    let out = run_python(
        &server,
        TOKEN,
        "from dopplersdk.models.SecretsUpdateRequest import SecretsUpdateRequest\n\
         got = sdk.secrets.get('HUSH__ACME__COMPANY_2TEAM__DB_0PASSWORD', CONFIG, PROJECT)\n\
         value = got.value if isinstance(got.value, dict) else got.value.__dict__\n\
         print(json.dumps({'name': got.name, 'raw': value['raw'], 'computed': value['computed']}))\n\
         sdk.secrets.update(SecretsUpdateRequest(project=PROJECT, config=CONFIG, \
             secrets={'HUSH__ACME__COMPANY_2TEAM__API_0KEY': 'from the sdk'}))\n\
         print(json.dumps(sorted(sdk.secrets.names(CONFIG, PROJECT).names)))",
    )
    .await
    .unwrap_or_else(|e| panic!("the SDK failed: {e}"));
    let mut lines = out.lines();
    let got: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(
        got,
        serde_json::json!({"name": "HUSH__ACME__COMPANY_2TEAM__DB_0PASSWORD", "raw": "hunter2 ✓", "computed": "hunter2 ✓"})
    );
    let names: Vec<String> = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(names, ["HUSH__ACME__COMPANY_2TEAM__API_0KEY", "HUSH__ACME__COMPANY_2TEAM__DB_0PASSWORD"]);
    assert_eq!(b.get(&s, &name("API_KEY"), None).await.unwrap().value.expose(), b"from the sdk");
    let listed: Vec<String> =
        b.list(&s, &ListFilter::default()).await.unwrap().into_iter().map(|m| m.name.to_string()).collect();
    assert_eq!(listed, ["API_KEY", "DB_PASSWORD"]);

    run_python(&server, TOKEN, "sdk.secrets.delete('HUSH__ACME__COMPANY_2TEAM__API_0KEY', CONFIG, PROJECT)")
        .await
        .unwrap_or_else(|e| panic!("the SDK failed: {e}"));
    assert_eq!(b.get(&s, &name("API_KEY"), None).await.unwrap_err().kind(), hush_core::ErrorKind::NotFound);
}

#[tokio::test]
async fn the_sdk_is_refused_a_wrong_token_and_a_missing_secret() {
    let Some(server) = server_with_client() else { return };
    let _ = config(&server);
    let out = run_python(
        &server,
        "dp.st.WRONG",
        "try:\n    sdk.secrets.names(CONFIG, PROJECT)\n    print('accepted')\n\
         except Exception as e:\n    print(getattr(e, 'status_code', type(e).__name__))",
    )
    .await
    .unwrap_or_else(|e| panic!("the SDK failed: {e}"));
    assert_eq!(out.trim(), "401");
    let out = run_python(
        &server,
        TOKEN,
        "try:\n    sdk.secrets.get('NOPE', CONFIG, PROJECT)\n    print('found')\n\
         except Exception as e:\n    print(getattr(e, 'status_code', type(e).__name__))",
    )
    .await
    .unwrap_or_else(|e| panic!("the SDK failed: {e}"));
    assert_eq!(out.trim(), "404");
}
