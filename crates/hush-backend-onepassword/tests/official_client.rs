//! The contract server (`support/contract.rs`) driven by 1Password's official Python Connect
//! SDK (`onepasswordconnectsdk`): `get_item_by_title`, `get_item`, `get_items`, `create_item`,
//! `update_item`, `delete_item`, `get_vault`, and its errors on a wrong token and a missing
//! item. So the server hush's tests use speaks the API the SDK speaks, and the backend and the
//! SDK read what the other wrote, a Login item's fields included.

mod support;

use hush_core::{ErrorKind, ListFilter, SecretBackend, SecretPath, SecretValue, Tags};
use serde_json::{Value, json};
use support::contract::{Contract, TOKEN, VAULT};
use support::{backend, config, name, python, python_client, python_client_version, scope};

/// The server with the SDK ready, or `None` (after printing the skip; a failure under
/// `CI=true`) when the SDK cannot be imported or installed.
fn server_with_client() -> Option<Contract> {
    if !python_client() {
        hush_backend_behavior::print_skip(
            "the official Python SDK is missing (pip install onepasswordconnectsdk failed)",
        );
        return None;
    }
    eprintln!("onepasswordconnectsdk {}", python_client_version());
    Some(Contract::start())
}

async fn run_python(server: &Contract, token: &'static str, snippet: impl Into<String>) -> String {
    let (address, snippet) = (server.address.clone(), snippet.into());
    tokio::task::spawn_blocking(move || python(&address, token, &snippet))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the SDK failed: {e}"))
}

/// Prints an item as the SDK sees it: title, category, tags and (label, type, value) of its fields.
const SHOW_ITEM: &str = "def show(item):\n\
    \x20   fields = [[f.label, f.type, f.value] for f in (item.fields or [])]\n\
    \x20   print(json.dumps({'title': item.title, 'category': item.category, 'tags': item.tags, 'fields': fields}))\n";

#[tokio::test]
async fn the_sdk_and_the_backend_read_what_the_other_wrote() {
    let Some(server) = server_with_client() else { return };
    let b = backend(config(&server));
    let s = scope("acme", "company.team");
    let tags: Tags = [("team", "payments")].into_iter().collect();
    b.put(&s, &name("DB_PASSWORD"), SecretValue::from("hunter2 ✓"), tags.clone()).await.unwrap();

    let snippet = format!(
        "{SHOW_ITEM}\
             show(client.get_item_by_title('hush/acme/company.team/DB_PASSWORD', VAULT))\n\
             client.create_item(VAULT, Item(vault=ItemVault(id=VAULT), title='hush/acme/company.team/API_KEY', \
                 category='API_CREDENTIAL', tags=['team=search'], \
                 fields=[Field(label='value', type='CONCEALED', value='from the sdk')]))\n\
             client.create_item(VAULT, Item(vault=ItemVault(id=VAULT), title='hush/acme/company.team/DB', \
                 category='LOGIN', tags=['production'], \
                 fields=[Field(label='username', value='admin', purpose='USERNAME'), \
                         Field(label='password', type='CONCEALED', value='s3cret', purpose='PASSWORD')]))\n\
             print(json.dumps(sorted(i.title for i in client.get_items(VAULT))))\n\
             print(client.get_vault(VAULT).id)"
    );
    let out = run_python(&server, TOKEN, snippet).await;
    let mut lines = out.lines();
    let written: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(
        written,
        json!({"title": "hush/acme/company.team/DB_PASSWORD", "category": "API_CREDENTIAL", "tags": ["team=payments"],
               "fields": [["value", "CONCEALED", "hunter2 ✓"]]})
    );
    let titles: Vec<String> = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(
        titles,
        ["hush/acme/company.team/API_KEY", "hush/acme/company.team/DB", "hush/acme/company.team/DB_PASSWORD"]
    );
    assert_eq!(lines.next(), Some(VAULT));

    // The SDK's plain item reads as its value; its Login item as the object of its fields.
    let api_key = b.get(&s, &name("API_KEY"), None).await.unwrap();
    assert_eq!(api_key.value.expose(), b"from the sdk");
    assert_eq!(api_key.tags, [("team", "search")].into_iter().collect());
    let login = b.get(&s, &name("DB"), None).await.unwrap();
    let fields: Value = serde_json::from_slice(login.value.expose()).unwrap();
    assert_eq!(fields, json!({"username": "admin", "password": "s3cret"}));
    assert_eq!(SecretPath::parse("password").unwrap().extract(&login.value).unwrap().expose(), b"s3cret");
    assert!(login.tags.is_empty());
    let listed: Vec<String> =
        b.list(&s, &ListFilter::default()).await.unwrap().into_iter().map(|m| m.name.to_string()).collect();
    assert_eq!(listed, ["API_KEY", "DB", "DB_PASSWORD"]);

    // hush replaces the Login item with its value field; its other tag stays.
    b.put(&s, &name("DB"), SecretValue::from("rotated"), tags).await.unwrap();
    let snippet = format!(
        "{SHOW_ITEM}\
             show(client.get_item('hush/acme/company.team/DB', VAULT))\n\
             item = client.get_item_by_title('hush/acme/company.team/API_KEY', VAULT)\n\
             item.fields[0].value = 'updated by the sdk'\n\
             client.update_item(item.id, VAULT, item)\n"
    );
    let out = run_python(&server, TOKEN, snippet).await;
    let replaced: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(replaced["category"], "LOGIN");
    assert_eq!(replaced["tags"], json!(["production", "team=payments"]));
    assert_eq!(replaced["fields"], json!([["value", "CONCEALED", "rotated"]]));
    assert_eq!(b.get(&s, &name("API_KEY"), None).await.unwrap().value.expose(), b"updated by the sdk");

    run_python(
        &server,
        TOKEN,
        "client.delete_item(client.get_item_by_title('hush/acme/company.team/API_KEY', VAULT).id, VAULT)",
    )
    .await;
    assert_eq!(b.get(&s, &name("API_KEY"), None).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn the_sdk_like_hush_refuses_to_pick_one_of_two_items_with_a_title() {
    let Some(server) = server_with_client() else { return };
    let out = run_python(
        &server,
        TOKEN,
        "for value in ['one', 'two']:\n\
         \x20   client.create_item(VAULT, Item(vault=ItemVault(id=VAULT), title='hush/t/n/TWICE', \
                 category='API_CREDENTIAL', fields=[Field(label='value', type='CONCEALED', value=value)]))\n\
         try:\n\
         \x20   client.get_item_by_title('hush/t/n/TWICE', VAULT)\n\
         \x20   print('picked one')\n\
         except Exception as e:\n\
         \x20   print(type(e).__name__)",
    )
    .await;
    assert_eq!(out.trim(), "FailedToRetrieveItemException");
    let err = backend(config(&server)).get(&scope("t", "n"), &name("TWICE"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(err.to_string().contains("2 items of vault"), "{err}");
}

#[tokio::test]
async fn the_sdk_is_refused_a_wrong_token_and_a_missing_item() {
    let Some(server) = server_with_client() else { return };
    let out = run_python(
        &server,
        "eyJ.WRONG",
        "try:\n    client.get_items(VAULT)\n    print('accepted')\n\
         except Exception as e:\n    print('401' if '401' in str(e) else type(e).__name__)",
    )
    .await;
    assert_eq!(out.trim(), "401");
    let out = run_python(
        &server,
        TOKEN,
        "try:\n    client.get_item_by_id('item0000000000000000000099', VAULT)\n    print('found')\n\
         except Exception as e:\n    print(getattr(e, 'status_code', type(e).__name__))",
    )
    .await;
    assert_eq!(out.trim(), "404");
}
