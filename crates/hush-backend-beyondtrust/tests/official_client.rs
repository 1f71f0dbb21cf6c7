//! The contract server (`support/contract.rs`) driven by BeyondTrust's own Python client
//! (`beyondtrust-bips-library` 2.x, module `secrets_safe_library`): sign-in with the API key
//! (`PS-Auth key=...; runas=...;`) and with OAuth client credentials, reading a text secret
//! hush wrote (by path, as `get_secret` does, and by id through `/text`), creating a credential
//! secret that hush then reads with a path, listing folders and secrets, signing out, and a
//! refused key. So the server hush's tests use speaks the API the vendor's client speaks, and
//! each reads what the other wrote.

mod support;

use hush_core::{ListFilter, SecretBackend, SecretPath, SecretValue, Tags};
use support::contract::{API_KEY, CLIENT_ID, CLIENT_SECRET, Contract, PROD_FOLDER_ID, RUN_AS};
use support::{FOLDER, api_key_args, backend, config, name, python, python_client, python_client_version, scope};

/// The server with the client ready, or `None` (after printing the skip; a failure under
/// `CI=true`) when the client cannot be imported or installed.
fn server_with_client() -> Option<Contract> {
    if !python_client() {
        hush_backend_behavior::print_skip(
            "BeyondTrust's Python client is missing (pip install beyondtrust-bips-library failed)",
        );
        return None;
    }
    Some(Contract::start())
}

async fn run_python(server: &Contract, auth_args: String, snippet: String) -> Result<String, String> {
    let api_url = server.api_url.clone();
    tokio::task::spawn_blocking(move || python(&api_url, &auth_args, &snippet)).await.unwrap()
}

fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[tokio::test]
async fn the_client_and_the_backend_read_what_the_other_wrote() {
    let Some(server) = server_with_client() else { return };
    let version = python_client_version();
    eprintln!("beyondtrust-bips-library {version}");
    assert!(version.starts_with("2."), "the 2.x line is expected, found {version:?}");
    let b = backend(config(&server));
    let s = scope("acme", "company.team");
    b.put(&s, &name("DB_PASSWORD"), SecretValue::from("hunter2 ✓"), Tags::new()).await.unwrap();
    let text_id = server.secret("acme.company.team.DB_PASSWORD").unwrap().id;
    let snippet = format!(
        "print(json.dumps(secrets.get_secret('hush/prod/acme.company.team.DB_PASSWORD')))\n\
         print(json.dumps(secrets.get_text_secret_by_id({text_id:?})['Text']))\n\
         created = secrets.create_secret(title='acme.team.DB', folder_id={PROD_FOLDER_ID:?}, \
             username='admin', password='from the client', owners=[{{'user_id': 12}}])\n\
         print(json.dumps(created['Title']))\n\
         print(json.dumps(sorted(f['Name'] for f in folders.list_folders())))\n\
         print(json.dumps(sorted(s['Title'] for s in secrets.list_secrets(path='hush/prod'))))\n\
         print(json.dumps(sorted(secrets.get_all_secrets_by_folder_path('hush/prod'))))\n\
         print(json.dumps(auth.sign_app_out()))"
    );
    let out = run_python(&server, format!("{}, api_version='3.1'", api_key_args(RUN_AS)), snippet)
        .await
        .unwrap_or_else(|e| panic!("the client failed: {e}"));
    let lines = json_lines(&out);
    assert_eq!(lines[0], "hunter2 ✓");
    assert_eq!(lines[1], "hunter2 ✓");
    assert_eq!(lines[2], "acme.team.DB");
    assert_eq!(lines[3], serde_json::json!(["hush", "other", "prod"]));
    assert_eq!(lines[4], serde_json::json!(["acme.company.team.DB_PASSWORD", "acme.team.DB"]));
    assert_eq!(
        lines[5],
        serde_json::json!([
            "hush/prod/acme.company.team.DB_PASSWORD",
            "hush/prod/acme.company.team.DB_PASSWORD-metadata",
            "hush/prod/acme.team.DB",
            "hush/prod/acme.team.DB-metadata"
        ])
    );
    assert_eq!(lines[6], true);
    // The client signed in with the same header shape hush sends, and out again.
    let sign_ins: Vec<_> = server.received().into_iter().filter(|r| r.path.ends_with("/Auth/SignAppIn")).collect();
    assert_eq!(sign_ins.len(), 1, "the client's sign-in");
    assert_eq!(sign_ins[0].header("authorization"), Some(format!("PS-Auth key={API_KEY}; runas={RUN_AS};").as_str()));
    assert_eq!(server.count("POST", "/Auth/Signout"), 1);
    assert_eq!(server.sessions().len(), 1, "hush's session is still there");

    // hush reads the credential secret the client created, with a path.
    let credential = b.get(&scope("acme", "team"), &name("DB"), None).await.unwrap();
    let password = SecretPath::parse("password").unwrap().extract(&credential.value).unwrap();
    assert_eq!(password.expose(), b"from the client");
    let listed: Vec<String> = b
        .list(&scope("acme", "team"), &ListFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name.to_string())
        .collect();
    assert_eq!(listed, ["DB"]);
}

#[tokio::test]
async fn the_client_signs_in_with_oauth_and_reads_a_secret() {
    let Some(server) = server_with_client() else { return };
    server.add_text(FOLDER, "t.n.A", "a value");
    let out = run_python(
        &server,
        format!("client_id={CLIENT_ID:?}, client_secret={CLIENT_SECRET:?}"),
        "print(secrets.get_secret('hush/prod/t.n.A'))".to_owned(),
    )
    .await
    .unwrap_or_else(|e| panic!("the client failed: {e}"));
    assert_eq!(out.trim(), "a value");
    assert_eq!(server.count("POST", "/Auth/connect/token"), 1);
    // hush's OAuth sign-in is the same pair of calls.
    let b = backend(hush_backend_beyondtrust::BeyondTrustConfig::with_oauth(
        &server.address,
        CLIENT_ID,
        CLIENT_SECRET,
        FOLDER,
    ));
    assert_eq!(b.get(&scope("t", "n"), &name("A"), None).await.unwrap().value.expose(), b"a value");
    assert_eq!(server.count("POST", "/Auth/connect/token"), 2);
}

#[tokio::test]
async fn the_client_is_refused_a_wrong_key() {
    let Some(server) = server_with_client() else { return };
    let api_url = server.api_url.clone();
    let wrong = format!("{}; runas={RUN_AS};", "0".repeat(128));
    let script = format!(
        "import requests\n\
         from secrets_safe_library import authentication\n\
         auth = authentication.Authentication(req=requests.Session(), api_url={api_url:?}, api_key={wrong:?})\n\
         print(auth.get_api_access().status_code)"
    );
    let out = tokio::task::spawn_blocking(move || support::python_raw(&script))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the client failed: {e}"));
    assert_eq!(out.trim(), "401");
    assert!(server.sessions().is_empty());
}
