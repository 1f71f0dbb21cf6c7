//! The contract server checked with Microsoft's own client: `tests/official/client.py`
//! (the `azure-keyvault-secrets` and `azure-identity` Python packages, installed by
//! `scripts/services.sh azure`) sets, gets, lists with paging, deletes, recovers and purges
//! through the stub, and reads what hush wrote, and hush reads what it wrote.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use hush_backend_azure::{AzureBackend, AzureConfig, CredentialConfig, secret_name};
use hush_core::{ListFilter, Namespace, Scope, SecretBackend, SecretName, SecretValue, Tags, TenantId};
use support::{CLIENT_ID, CLIENT_SECRET, KeyVaultStub, TENANT, ca_file};

/// The Python interpreter with the Azure packages, or why there is none.
async fn python() -> Result<String, String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = tokio::process::Command::new(&python)
        .args(["-c", "import azure.keyvault.secrets, azure.identity"])
        .output()
        .await
        .map_err(|e| format!("{python} cannot run: {e}"))?;
    if probe.status.success() {
        Ok(python)
    } else {
        Err(format!(
            "{python} lacks azure-keyvault-secrets / azure-identity (scripts/services.sh azure installs them): {}",
            String::from_utf8_lossy(&probe.stderr).lines().last().unwrap_or("")
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsofts_python_client_speaks_to_the_stub() {
    let python = match python().await {
        Ok(python) => python,
        Err(reason) => return hush_backend_behavior::print_skip(reason),
    };
    let stub = KeyVaultStub::start(3).await;
    let config = AzureConfig::new(stub.url(), CredentialConfig::client_secret(TENANT, CLIENT_ID, CLIENT_SECRET))
        .with_authority_host(stub.url())
        .with_ca_file(ca_file())
        .with_verify_challenge_resource(false)
        .with_request_timeout(Duration::from_secs(5));
    let backend = AzureBackend::connect("azure-official", config).await.expect("connect");
    let scope = Scope::new(TenantId::new("acme").unwrap(), Namespace::new("team").unwrap());
    let db = SecretName::new("DB_PASSWORD").unwrap();
    backend.put(&scope, &db, SecretValue::new(vec![0xff, 0x00, 0x80]), Tags::new()).await.expect("hush put");
    let from_py = SecretName::new("FROM_PY").unwrap();

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/official/client.py");
    let output = tokio::process::Command::new(&python)
        .arg(&script)
        .args([&stub.url(), ca_file().to_str().unwrap(), TENANT, CLIENT_ID, CLIENT_SECRET])
        .arg(secret_name("", &scope, &db).unwrap())
        .arg(secret_name("", &scope, &from_py).unwrap())
        .env("REQUESTS_CA_BUNDLE", ca_file())
        .env("SSL_CERT_FILE", ca_file())
        .env("AZURE_AUTHORITY_HOST", stub.url())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), output).await.expect("the script hung").expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the official client failed through the stub:\n{stdout}\n{stderr}");
    assert!(stdout.contains("official client: ok"), "{stdout}");

    // The official client went through the challenge and the token endpoint like hush.
    assert!(stub.token_requests().len() >= 2, "hush and the Python client each got a token");
    let listed = backend.list(&scope, &ListFilter::default()).await.expect("list");
    let names: Vec<&str> = listed.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["DB_PASSWORD", "FROM_PY"]);
    let got = backend.get(&scope, &from_py, None).await.expect("hush reads what Python wrote");
    assert_eq!(got.value.expose(), b"from-python");
    assert_eq!(got.tags.get("owner"), Some("py"));
}
