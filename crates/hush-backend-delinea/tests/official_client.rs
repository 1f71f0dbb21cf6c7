//! The contract server (`support/contract.rs`) driven by Delinea's official Python client
//! (`python-tss-sdk`, module `delinea.secrets.server`): server detection by health check,
//! `PasswordGrantAuthorizer` (the password grant on Secret Server, client credentials and
//! vault discovery on Delinea Platform), `SecretServer.get_secret`, `get_secret_by_path`,
//! `search_secrets`, `get_secret_ids_by_folderid`, and its error on a wrong password. So the
//! server hush's tests use speaks the API the client speaks, and the client reads what hush
//! wrote (the write path itself is not in the client: it comes from the REST reference and
//! tss-sdk-go).

mod support;

use hush_core::{SecretBackend, SecretValue, Tags};
use support::contract::{
    CLIENT_ID, CLIENT_SECRET, Contract, FOLDER_ID, FOLDER_NAME, PASSWORD, PASSWORD_TEMPLATE_ID, USERNAME,
};
use support::{backend, config, name, platform_config, python, python_client, scope};

/// The client is ready, or `false` (after printing the skip; a failure under `CI=true`) when
/// it cannot be imported or installed.
fn client_ready() -> bool {
    if !python_client() {
        hush_backend_behavior::print_skip("the official Python client is missing (pip install python-tss-sdk failed)");
        return false;
    }
    true
}

async fn run_python(address: &str, user: &str, password: &str, snippet: String) -> Result<String, String> {
    let (address, user, password) = (address.to_owned(), user.to_owned(), password.to_owned());
    tokio::task::spawn_blocking(move || python(&address, &user, &password, &snippet)).await.unwrap()
}

#[tokio::test]
async fn the_client_reads_what_hush_wrote() {
    if !client_ready() {
        return;
    }
    let server = Contract::start();
    let b = backend(config(&server));
    let s = scope("acme", "company.team");
    b.put(&s, &name("DB_PASSWORD"), SecretValue::from("hunter2 ✓"), Tags::new()).await.unwrap();
    b.put(&s, &name("API_KEY"), SecretValue::from("k-1"), Tags::new()).await.unwrap();
    b.put(&s, &name("RAW"), SecretValue::new(vec![0xff, 0, 1]), Tags::new()).await.unwrap();
    let id = server.named("acme.company.team.DB_PASSWORD")[0].0;
    let out = run_python(
        &server.address,
        USERNAME,
        PASSWORD,
        format!(
            "secret = server.get_secret({id})\n\
             print(json.dumps([secret['name'], secret['folderId'], {{i['slug']: i['itemValue'] for i in secret['items']}}]))\n\
             by_path = server.get_secret_by_path('/{FOLDER_NAME}/acme.company.team.API_KEY')\n\
             print(json.dumps({{i['slug']: i['itemValue'] for i in by_path['items']}}))\n\
             found = json.loads(server.search_secrets({{'filter.searchText': 'acme.company.team.', 'filter.folderId': {FOLDER_ID}}}))\n\
             print(json.dumps(sorted(r['name'] for r in found['records'])))\n\
             print(json.dumps(len(server.get_secret_ids_by_folderid({FOLDER_ID}))))\n\
             raw = server.get_secret_by_path('\\\\{FOLDER_NAME}\\\\acme.company.team.RAW')\n\
             print(json.dumps([i['itemValue'] for i in raw['items'] if i['slug'] == 'password']))"
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("the client failed: {e}"));
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        lines[0],
        serde_json::json!(["acme.company.team.DB_PASSWORD", 42, {"password": "hunter2 ✓", "notes": ""}])
    );
    assert_eq!(lines[1], serde_json::json!({"password": "k-1", "notes": ""}));
    assert_eq!(
        lines[2],
        serde_json::json!(["acme.company.team.API_KEY", "acme.company.team.DB_PASSWORD", "acme.company.team.RAW"])
    );
    assert_eq!(lines[3], 3);
    // Binary values are stored as hush-base64 text, which hush reads back exactly.
    assert_eq!(lines[4], serde_json::json!(["hush-base64:/wAB"]));
    assert_eq!(b.get(&s, &name("RAW"), None).await.unwrap().value.expose(), [0xff, 0, 1]);
    // The client signed in with the password grant, as hush did.
    assert_eq!(server.grants(), ["password", "password"]);
    assert!(server.count("GET /api/v1/healthcheck") >= 1, "the client detects Secret Server by its health check");
}

#[tokio::test]
async fn hush_reads_what_an_administrator_made_as_the_client_sees_it() {
    if !client_ready() {
        return;
    }
    let server = Contract::start();
    let id =
        server.add(FOLDER_ID, PASSWORD_TEMPLATE_ID, "acme.team.ADMIN", &[("username", "root"), ("password", "pw1")]);
    let out = run_python(
        &server.address,
        USERNAME,
        PASSWORD,
        format!(
            "secret = server.get_secret({id})\n\
             print(json.dumps({{i['slug']: i['itemValue'] for i in secret['items'] if not i['isFile']}}, sort_keys=True, separators=(',', ':')))"
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("the client failed: {e}"));
    // The object hush reads is the client's view of the fields, by slug.
    let b = backend(config(&server));
    let value = b.get(&scope("acme", "team"), &name("ADMIN"), None).await.unwrap().value;
    assert_eq!(value.expose_str(), Some(out.trim()));
    let password = hush_core::SecretPath::parse("password").unwrap().extract(&value).unwrap();
    assert_eq!(password.expose(), b"pw1");
}

#[tokio::test]
async fn the_client_signs_in_to_the_platform_and_finds_the_vault() {
    if !client_ready() {
        return;
    }
    let server = Contract::start_platform();
    let b = backend(platform_config(&server));
    b.put(&scope("acme", "team"), &name("API_KEY"), SecretValue::from("k-9"), Tags::new()).await.unwrap();
    let id = server.named("acme.team.API_KEY")[0].0;
    let out = run_python(
        &server.address,
        CLIENT_ID,
        CLIENT_SECRET,
        format!(
            "secret = server.get_secret({id})\n\
             print(json.dumps([i['itemValue'] for i in secret['items'] if i['slug'] == 'password']))\n\
             print(server.api_url)"
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("the client failed: {e}"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], r#"["k-9"]"#);
    assert_eq!(lines[1], format!("{}/vault/api/v1", server.address));
    assert_eq!(server.grants(), ["client_credentials", "client_credentials"]);
    assert_eq!(server.count("GET /vaultbroker/api/vaults"), 2, "hush and the client each discover once");
}

#[tokio::test]
async fn the_client_is_refused_a_wrong_password() {
    if !client_ready() {
        return;
    }
    let server = Contract::start();
    let out = run_python(
        &server.address,
        USERNAME,
        "WRONG",
        "try:\n    server.get_secret(1)\n    print('accepted')\n\
         except SecretServerError as e:\n    print(type(e).__name__, e.message)"
            .to_owned(),
    )
    .await
    .unwrap_or_else(|e| panic!("the client failed: {e}"));
    assert_eq!(out.trim(), "SecretServerClientError invalid_grant");
}
