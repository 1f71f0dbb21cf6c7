//! The contract server (`support/contract.rs`) driven by Conjur's official Python client
//! (`conjur-api`): authentication (authn with an API key, whose token the client reads as JSON
//! and base64-encodes itself; authn-jwt), `set`, `get` (latest and `version=`), `get_many`
//! (the batch call), `list` of variables with `search`, `limit` and `offset`, and its errors on
//! a wrong API key and an undeclared variable. So the server hush's tests use speaks the API
//! the client speaks, and the backend and the client read what the other wrote.

mod support;

use hush_core::{ListFilter, SecretBackend, SecretValue, Tags};
use support::contract::{API_KEY, Contract, JWT, JWT_SERVICE, LOGIN};
use support::{authn, authn_jwt, backend, config, name, python, python_client, scope};

/// The server with the client ready, or `None` (after printing the skip; a failure under
/// `CI=true`) when the client cannot be imported or installed.
fn server_with_client() -> Option<Contract> {
    if !python_client() {
        hush_backend_behavior::print_skip("the official Python client is missing (pip install conjur-api failed)");
        return None;
    }
    Some(Contract::start())
}

async fn run_python(server: &Contract, auth: String, snippet: &'static str) -> Result<String, String> {
    let address = server.address.clone();
    tokio::task::spawn_blocking(move || python(&address, &auth, snippet)).await.unwrap()
}

#[tokio::test]
async fn the_client_and_the_backend_read_what_the_other_wrote() {
    let Some(server) = server_with_client() else { return };
    server.declare("hush/acme/company/team/DB_PASSWORD");
    server.declare("hush/acme/company/team/API_KEY");
    server.set("prod/db/password", b"not hush's");
    let b = backend(config(&server));
    let s = scope("acme", "company.team");
    b.put(&s, &name("DB_PASSWORD"), SecretValue::from("hunter2 ✓"), Tags::new()).await.unwrap();
    b.put(&s, &name("DB_PASSWORD"), SecretValue::from("hunter3"), Tags::new()).await.unwrap();
    let out = run_python(
        &server,
        authn(LOGIN, API_KEY),
        "DB = 'hush/acme/company/team/DB_PASSWORD'\n\
         print(json.dumps(client.get(DB).decode()))\n\
         print(json.dumps(client.get(DB, version='1').decode()))\n\
         client.set('hush/acme/company/team/API_KEY', 'from the client')\n\
         print(json.dumps(client.get_many(DB, 'hush/acme/company/team/API_KEY')))\n\
         print(json.dumps(client.list({'kind': 'variable', 'search': 'hush'})))\n\
         print(json.dumps(client.list({'kind': 'variable', 'limit': 1, 'offset': 1})))",
    )
    .await
    .unwrap_or_else(|e| panic!("the client failed: {e}"));
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0], "hunter3");
    assert_eq!(lines[1], "hunter2 ✓");
    assert_eq!(
        lines[2],
        serde_json::json!({"hush/acme/company/team/DB_PASSWORD": "hunter3", "hush/acme/company/team/API_KEY": "from the client"})
    );
    assert_eq!(
        lines[3],
        serde_json::json!([
            "myorg:variable:hush/acme/company/team/API_KEY",
            "myorg:variable:hush/acme/company/team/DB_PASSWORD"
        ])
    );
    assert_eq!(lines[4], serde_json::json!(["myorg:variable:hush/acme/company/team/DB_PASSWORD"]));
    // hush and the client authenticated once each (the client without Accept-Encoding:
    // base64: it encodes the JSON token itself), and both sent the id as one percent-encoded
    // segment.
    assert_eq!(server.count("POST /authn/myorg/host%2Fhush-resolver/authenticate"), 2);
    assert!(
        server.requests().contains(&"POST /secrets/myorg/variable/hush%2Facme%2Fcompany%2Fteam%2FAPI_KEY".to_owned())
    );

    assert_eq!(b.get(&s, &name("API_KEY"), None).await.unwrap().value.expose(), b"from the client");
    let listed: Vec<String> =
        b.list(&s, &ListFilter::default()).await.unwrap().into_iter().map(|m| m.name.to_string()).collect();
    assert_eq!(listed, ["API_KEY", "DB_PASSWORD"]);
    let many = b.get_many(&[(s.clone(), name("API_KEY")), (s.clone(), name("DB_PASSWORD"))]).await.unwrap();
    assert_eq!(many.iter().map(SecretValue::expose).collect::<Vec<_>>(), [&b"from the client"[..], b"hunter3"]);
}

#[tokio::test]
async fn the_client_authenticates_with_a_jwt() {
    let Some(server) = server_with_client() else { return };
    server.set("hush/t/n/A", b"a value");
    let out = run_python(&server, authn_jwt(JWT_SERVICE, JWT), "print(client.get('hush/t/n/A').decode())")
        .await
        .unwrap_or_else(|e| panic!("the client failed: {e}"));
    assert_eq!(out.trim(), "a value");
    assert_eq!(server.count("POST /authn-jwt/k8s/myorg/authenticate"), 1);
}

#[tokio::test]
async fn the_client_is_refused_a_wrong_key_and_an_undeclared_variable() {
    let Some(server) = server_with_client() else { return };
    let status = "except Exception as e:\n    print(getattr(e, 'status', type(e).__name__))";
    let wrong = format!("try:\n    client.get('hush/t/n/A')\n    print('accepted')\n{status}");
    let address = server.address.clone();
    let out = tokio::task::spawn_blocking(move || python(&address, &authn(LOGIN, "WRONG"), &wrong))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the client failed: {e}"));
    assert_eq!(out.trim(), "401");
    let out = run_python(
        &server,
        authn(LOGIN, API_KEY),
        "try:\n    client.set('hush/t/n/UNDECLARED', 'x')\n    print('stored')\n\
         except Exception as e:\n    print(getattr(e, 'status', type(e).__name__))\n\
         try:\n    client.get('hush/t/n/UNDECLARED')\n    print('found')\n\
         except Exception as e:\n    print(getattr(e, 'status', type(e).__name__))",
    )
    .await
    .unwrap_or_else(|e| panic!("the client failed: {e}"));
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["404", "404"]);
    assert_eq!(server.values("hush/t/n/UNDECLARED"), None);
}

#[tokio::test]
async fn the_clients_http_layer_takes_a_base64_token_as_hush_does() {
    let Some(server) = server_with_client() else { return };
    server.set("hush/t/n/A", b"a value");
    // The client's own endpoints and HTTP wrapper, asking for the token with
    // `Accept-Encoding: base64` and sending the answer as is (`decode_token=False`), as hush does.
    let out = run_python(
        &server,
        authn(LOGIN, API_KEY),
        "import asyncio\n\
         from conjur_api.http.endpoints import ConjurEndpoint\n\
         from conjur_api.wrappers.http_wrapper import HttpVerb, invoke_endpoint\n\
         from conjur_api.models import SslVerificationMetadata\n\
         ssl = SslVerificationMetadata(SslVerificationMode.INSECURE)\n\
         async def main():\n\
         \x20   creds = provider.load(URL)\n\
         \x20   params = {'url': URL, 'account': ACCOUNT, 'login': creds.username}\n\
         \x20   answer = await invoke_endpoint(HttpVerb.POST, ConjurEndpoint.AUTHENTICATE, params, \
                 creds.api_key, headers={'Accept-Encoding': 'base64'}, ssl_verification_metadata=ssl)\n\
         \x20   token = answer.text.strip()\n\
         \x20   params = {'url': URL, 'account': ACCOUNT, 'kind': 'variable', 'identifier': 'hush/t/n/A'}\n\
         \x20   value = await invoke_endpoint(HttpVerb.GET, ConjurEndpoint.SECRETS, params, api_token=token, \
                 decode_token=False, ssl_verification_metadata=ssl)\n\
         \x20   print(token.startswith('eyJ'), value.content.decode())\n\
         asyncio.run(main())",
    )
    .await
    .unwrap_or_else(|e| panic!("the client failed: {e}"));
    assert_eq!(out.trim(), "True a value");
    assert_eq!(server.base64_authentications(), 1);
}
