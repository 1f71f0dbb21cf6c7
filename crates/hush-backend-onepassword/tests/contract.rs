//! The 1Password backend against the Connect contract server (`support/contract.rs`): the
//! full behaviour suite (over HTTP and HTTPS), keys, values, fields and tags on the wire,
//! vaults per tenant, items sharing a title, error kinds, and that neither the token nor a
//! value shows in an error. `official_client.rs` checks the server with the official Python SDK.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hush_backend_behavior::contract_server::test_ca_file;
use hush_backend_onepassword::{OnePasswordConfig, OnePasswordFactory};
use hush_core::{
    BackendFactory, BuildContext, ErrorKind, ListFilter, SecretBackend, SecretPath, SecretValue, Tags, TlsConfig,
    VersionId,
};
use serde_json::{Value, json};
use support::contract::{Contract, Fault, OTHER_VAULT, READ_ONLY_TOKEN, SCOPED_TOKEN, TOKEN, VAULT};
use support::{backend, config, name, scope};

/// Error text and debug text together, to check for the token and values.
fn shown(err: &hush_core::Error) -> String {
    format!("{err} {err:?}")
}

fn names(metas: Vec<hush_core::SecretMeta>) -> Vec<String> {
    metas.into_iter().map(|m| format!("{}/{}", m.namespace, m.name)).collect()
}

#[tokio::test]
async fn behaviour_suite() {
    let server = Contract::start();
    let report = hush_backend_behavior::run(Arc::new(backend(config(&server)))).await;
    report.assert_ok();
    for trial in ["put_then_get", "binary_value_round_trips", "name_at_length_limit", "namespace_at_depth_limit"] {
        assert!(report.passed.contains(&trial), "{trial} did not run");
    }
    assert!(report.passed.iter().any(|t| t.contains("tag")), "no tag trial ran: {:?}", report.passed);
}

#[tokio::test]
async fn behaviour_suite_with_a_tenant_in_its_own_vault() {
    let server = Contract::start();
    let b = backend(config(&server).with_tenant_vault("hush-behavior-other", OTHER_VAULT));
    let report = hush_backend_behavior::run(Arc::new(b)).await;
    report.assert_ok();
    assert!(report.passed.contains(&"tenants_are_isolated"), "{:?}", report.passed);
    // The second tenant's secrets went to its own vault, and were cleaned up there.
    assert!(server.count(&format!("POST /v1/vaults/{OTHER_VAULT}/items")) > 0);
    assert!(server.items(OTHER_VAULT).is_empty() && server.items(VAULT).is_empty());
}

#[tokio::test]
async fn behaviour_suite_over_https_with_the_test_ca() {
    let server = Contract::start_https();
    assert!(server.address.starts_with("https://"));
    let b = backend(config(&server).with_tls(TlsConfig::with_ca_file(test_ca_file())));
    b.check().await.unwrap();
    hush_backend_behavior::run(Arc::new(b)).await.assert_ok();
    // Without the CA the server's certificate is not trusted: unavailable, as for any TLS failure.
    let untrusting = backend(config(&server));
    assert_eq!(untrusting.check().await.unwrap_err().kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn items_fields_and_tags_on_the_wire() {
    let server = Contract::start();
    let b = backend(config(&server));
    let s = scope("acme", "company.team");
    let tags: Tags = [("team", "payments"), ("a=b", "c")].into_iter().collect();
    b.put(&s, &name("DB_PASSWORD"), SecretValue::from("hunter2"), tags.clone()).await.unwrap();
    let item = server.item(VAULT, "hush/acme/company.team/DB_PASSWORD");
    assert_eq!(item["category"], "API_CREDENTIAL");
    assert_eq!(item["tags"], json!(["a%3Db=c", "team=payments"]));
    let fields = item["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 1);
    assert_eq!(
        (&fields[0]["label"], &fields[0]["type"], &fields[0]["value"]),
        (&json!("value"), &json!("CONCEALED"), &json!("hunter2"))
    );
    // The requests: a title lookup with the SDKs' filter, then a create; every one with the token.
    let received = server.received();
    let lines: Vec<String> = received.iter().map(|r| r.line()).collect();
    assert_eq!(
        lines,
        [
            format!("GET /v1/vaults/{VAULT}/items?filter=title+eq+%22hush%2Facme%2Fcompany.team%2FDB_PASSWORD%22"),
            format!("POST /v1/vaults/{VAULT}/items"),
        ]
    );
    assert_eq!(received[0].query("filter"), Some("title eq \"hush/acme/company.team/DB_PASSWORD\""));
    assert!(received.iter().all(|r| r.header("authorization") == Some(format!("Bearer {TOKEN}").as_str())));
    assert_eq!(received[1].json()["vault"], json!({"id": VAULT}));

    let read = b.get(&s, &name("DB_PASSWORD"), None).await.unwrap();
    assert_eq!((read.value.expose(), &read.tags, read.version), (&b"hunter2"[..], &tags, None));

    // A second put replaces the item (same id, one item), keeping tags that are not hush's.
    let id = item["id"].as_str().unwrap().to_owned();
    let mut edited = item.clone();
    edited["tags"] = json!(["a%3Db=c", "team=payments", "production"]);
    server.edit(VAULT, &id, edited);
    server.clear_requests();
    b.put(&s, &name("DB_PASSWORD"), SecretValue::new(vec![0xff, 0]), Tags::new()).await.unwrap();
    assert_eq!(server.requests()[1], format!("PUT /v1/vaults/{VAULT}/items/{id}"));
    let replaced = server.item(VAULT, "hush/acme/company.team/DB_PASSWORD");
    assert_eq!((replaced["id"].as_str(), &replaced["version"]), (Some(id.as_str()), &json!(3)));
    assert_eq!(replaced["tags"], json!(["production"]));
    assert_eq!(replaced["fields"][0]["value"], "hush-base64:/wA=");
    let read = b.get(&s, &name("DB_PASSWORD"), None).await.unwrap();
    assert_eq!((read.value.expose(), read.tags.is_empty()), (&[0xff, 0][..], true));

    // A pinned version is unsupported; a missing secret is NotFound naming it; so is its delete.
    let v1 = VersionId::new("1").unwrap();
    assert_eq!(b.get(&s, &name("DB_PASSWORD"), Some(&v1)).await.unwrap_err().kind(), ErrorKind::Unsupported);
    let missing = b.get(&s, &name("NOPE"), None).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.to_string().contains("NOPE"), "{missing}");
    assert_eq!(missing.context_value("title"), Some("hush/acme/company.team/NOPE"));
    assert_eq!(b.delete(&s, &name("NOPE")).await.unwrap_err().kind(), ErrorKind::NotFound);
    b.delete(&s, &name("DB_PASSWORD")).await.unwrap();
    assert!(server.items(VAULT).is_empty());
}

#[tokio::test]
async fn a_login_item_reads_as_an_object_of_its_fields() {
    let server = Contract::start();
    let b = backend(config(&server));
    let s = scope("acme", "prod");
    server.insert(
        VAULT,
        json!({"title": "hush/acme/prod/DB", "category": "LOGIN", "tags": ["team=db", "production"], "fields": [
            {"id": "username", "type": "STRING", "purpose": "USERNAME", "label": "username", "value": "admin"},
            {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password", "value": "s3cret"},
            {"id": "notesPlain", "type": "STRING", "purpose": "NOTES", "label": "notesPlain"}
        ]}),
    );
    let read = b.get(&s, &name("DB"), None).await.unwrap();
    let object: Value = serde_json::from_slice(read.value.expose()).unwrap();
    assert_eq!(object, json!({"username": "admin", "password": "s3cret"}));
    assert_eq!(read.tags, [("team", "db")].into_iter().collect());
    // What the resolver does with secret("DB", "password").
    let password = SecretPath::parse("password").unwrap().extract(&read.value).unwrap();
    assert_eq!(password.expose(), b"s3cret");

    // Another label for the value field.
    server.insert(
        VAULT,
        json!({"title": "hush/acme/prod/KEY", "category": "PASSWORD", "fields": [
            {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password", "value": "k"}
        ]}),
    );
    let by_password = backend(config(&server).with_field("password"));
    assert_eq!(by_password.get(&s, &name("KEY"), None).await.unwrap().value.expose(), b"k");
    by_password.put(&s, &name("NEW"), SecretValue::from("n"), Tags::new()).await.unwrap();
    assert_eq!(server.item(VAULT, "hush/acme/prod/NEW")["fields"][0]["label"], "password");
}

#[tokio::test]
async fn lists_show_hush_items_of_the_tenant_and_namespace() {
    let server = Contract::start();
    let b = backend(config(&server));
    let s = scope("acme", "company.team");
    let team: Tags = [("team", "x")].into_iter().collect();
    b.put(&s, &name("A"), SecretValue::from("a"), team.clone()).await.unwrap();
    b.put(&s, &name("B"), SecretValue::from("b"), Tags::new()).await.unwrap();
    b.put(&scope("acme", "company"), &name("TOP"), SecretValue::from("t"), Tags::new()).await.unwrap();
    b.put(&scope("acme", "company.team.sub"), &name("DEEP"), SecretValue::from("d"), Tags::new()).await.unwrap();
    b.put(&scope("globex", "company.team"), &name("X"), SecretValue::from("x"), Tags::new()).await.unwrap();
    for foreign in ["Production database", "hush/acme/company.team", "other/acme/company.team/C"] {
        server.insert(VAULT, json!({"title": foreign, "category": "LOGIN", "fields": []}));
    }
    server.insert(VAULT, json!({"title": "hush/acme/company.team/OLD", "category": "LOGIN", "state": "ARCHIVED"}));

    let flat = b.list(&s, &ListFilter::default()).await.unwrap();
    assert!(flat.iter().all(|m| m.updated_at.is_some_and(|at| at > 1_500_000_000)));
    assert_eq!(flat[0].tags, team);
    assert_eq!(names(flat), ["company.team/A", "company.team/B"]);
    let deep = b.list(&scope("acme", "company"), &ListFilter { tags: Tags::new(), recursive: true }).await.unwrap();
    assert_eq!(names(deep), ["company/TOP", "company.team/A", "company.team/B", "company.team.sub/DEEP"]);
    let tagged = b.list(&s, &ListFilter { tags: team, recursive: false }).await.unwrap();
    assert_eq!(names(tagged), ["company.team/A"]);
    // An archived item is not the secret: reading it is NotFound.
    assert_eq!(b.get(&s, &name("OLD"), None).await.unwrap_err().kind(), ErrorKind::NotFound);
    // Every list is one request for the vault's items.
    server.clear_requests();
    b.list(&s, &ListFilter::default()).await.unwrap();
    assert_eq!(server.requests(), [format!("GET /v1/vaults/{VAULT}/items")]);
}

#[tokio::test]
async fn tenants_use_their_own_vaults_and_a_tenant_without_one_is_not_found() {
    let server = Contract::start();
    let per_tenant = OnePasswordConfig::new(&server.address, TOKEN, "").with_tenant_vault("globex", OTHER_VAULT);
    let b = backend(per_tenant);
    let globex = scope("globex", "n");
    b.put(&globex, &name("A"), SecretValue::from("g"), Tags::new()).await.unwrap();
    assert_eq!(server.items(OTHER_VAULT).len(), 1);
    assert!(server.items(VAULT).is_empty());
    assert_eq!(b.get(&globex, &name("A"), None).await.unwrap().value.expose(), b"g");

    server.clear_requests();
    let acme = scope("acme", "n");
    let errors = [
        b.get(&acme, &name("A"), None).await.unwrap_err(),
        b.put(&acme, &name("A"), SecretValue::from("a"), Tags::new()).await.unwrap_err(),
        b.delete(&acme, &name("A")).await.unwrap_err(),
        b.list(&acme, &ListFilter::default()).await.unwrap_err(),
    ];
    for err in errors {
        assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::NotFound, false), "{err}");
        assert!(
            err.to_string().contains("no 1Password vault for tenant acme: set vault_ids.acme or vault_id"),
            "{err}"
        );
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());

    // With a default vault, the other tenants use it.
    let defaulted =
        backend(OnePasswordConfig::new(&server.address, TOKEN, VAULT).with_tenant_vault("globex", OTHER_VAULT));
    defaulted.put(&acme, &name("A"), SecretValue::from("a"), Tags::new()).await.unwrap();
    assert_eq!(server.item(VAULT, "hush/acme/n/A")["fields"][0]["value"], "a");
    assert_eq!(defaulted.get(&globex, &name("A"), None).await.unwrap().value.expose(), b"g");
}

#[tokio::test]
async fn items_sharing_a_title_are_an_error_naming_it() {
    let server = Contract::start();
    let b = backend(config(&server));
    let s = scope("t", "n");
    for value in ["VALUE-ONE", "VALUE-TWO"] {
        server.insert(
            VAULT,
            json!({"title": "hush/t/n/TWICE", "category": "API_CREDENTIAL", "fields": [
                {"type": "CONCEALED", "label": "value", "value": value}
            ]}),
        );
    }
    let errors = [
        b.get(&s, &name("TWICE"), None).await.unwrap_err(),
        b.put(&s, &name("TWICE"), SecretValue::from("three"), Tags::new()).await.unwrap_err(),
        b.delete(&s, &name("TWICE")).await.unwrap_err(),
    ];
    for err in errors {
        assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Internal, false), "{err}");
        assert!(err.to_string().contains("2 items of vault"), "{err}");
        assert!(err.to_string().contains("are titled \"hush/t/n/TWICE\""), "{err}");
        assert!(!shown(&err).contains("VALUE-"), "{err:?}");
    }
    assert_eq!(server.items(VAULT).len(), 2, "nothing was written or deleted");
}

#[tokio::test]
async fn concurrent_first_writes_of_one_secret_create_one_item() {
    let server = Contract::start();
    let b = Arc::new(backend(config(&server)));
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..20 {
        let b = Arc::clone(&b);
        writers.spawn(async move {
            b.put(&scope("t", "n"), &name("NEW"), SecretValue::from(format!("v{i}").as_str()), Tags::new()).await
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap().unwrap();
    }
    assert_eq!(server.items(VAULT).len(), 1);
    assert_eq!(server.count(&format!("POST /v1/vaults/{VAULT}/items")), 1);
}

#[tokio::test]
async fn a_read_only_token_reads_and_its_writes_are_read_only() {
    let server = Contract::start();
    server.insert(
        VAULT,
        json!({"title": "hush/t/n/A", "category": "API_CREDENTIAL", "fields": [
            {"type": "CONCEALED", "label": "value", "value": "a"}
        ]}),
    );
    let b = backend(OnePasswordConfig::new(&server.address, READ_ONLY_TOKEN, VAULT));
    let s = scope("t", "n");
    assert_eq!(b.get(&s, &name("A"), None).await.unwrap().value.expose(), b"a");
    for err in [
        b.put(&s, &name("A"), SecretValue::from("b"), Tags::new()).await.unwrap_err(),
        b.put(&s, &name("NEW"), SecretValue::from("b"), Tags::new()).await.unwrap_err(),
        b.delete(&s, &name("A")).await.unwrap_err(),
    ] {
        assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::ReadOnly, false), "{err}");
        assert!(err.to_string().contains("may not write to vault"), "{err}");
        assert!(!shown(&err).contains(READ_ONLY_TOKEN), "{err:?}");
    }
}

#[tokio::test]
async fn statuses_map_to_error_kinds_without_the_token() {
    let server = Contract::start();
    let b = backend(config(&server));
    let s = scope("t", "n");
    for (status, kind, temporary) in [
        (401, ErrorKind::PermissionDenied, false),
        (403, ErrorKind::PermissionDenied, false),
        (404, ErrorKind::NotFound, false),
        (400, ErrorKind::InvalidInput, false),
        (429, ErrorKind::RateLimited, true),
        (500, ErrorKind::Unavailable, true),
        (503, ErrorKind::Unavailable, true),
    ] {
        server.fail(Fault::status("GET", "/items", status, &format!("token {TOKEN} says no")));
        let err = b.list(&s, &ListFilter::default()).await.unwrap_err();
        assert_eq!((err.kind(), err.is_temporary()), (kind, temporary), "{status}: {err}");
        assert!(!shown(&err).contains(TOKEN), "{err:?}");
        assert!(err.to_string().contains("token *** says no"), "{err}");
        server.heal();
    }
    // A wrong token, a vault Connect does not know, a vault out of the token's scope.
    let wrong = backend(OnePasswordConfig::new(&server.address, "eyJ.WRONG", VAULT));
    let err = wrong.check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains("Invalid token signature"), "{err}");
    let unknown = backend(OnePasswordConfig::new(&server.address, TOKEN, "zzzzzzzzzzzzzzzzzzzzzzzzzz"));
    assert_eq!(unknown.check().await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(unknown.get(&s, &name("A"), None).await.unwrap_err().kind(), ErrorKind::NotFound);
    let scoped =
        backend(OnePasswordConfig::new(&server.address, SCOPED_TOKEN, VAULT).with_tenant_vault("globex", OTHER_VAULT));
    let err = scoped.check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains(&format!("no access to vault {OTHER_VAULT}")), "{err}");
    assert!(!shown(&err).contains(SCOPED_TOKEN), "{err:?}");
}

#[tokio::test]
async fn a_vendor_message_repeating_the_value_is_withheld() {
    let server = Contract::start();
    let b = backend(config(&server));
    server.fail(Fault::status("POST", "/items", 400, "field value hunter2-VALUE is not allowed"));
    let err = b.put(&scope("t", "n"), &name("A"), SecretValue::from("hunter2-VALUE"), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(!shown(&err).contains("hunter2-VALUE"), "{err:?}");
    assert!(err.to_string().contains("withheld"), "{err}");
}

#[tokio::test]
async fn check_asks_the_heartbeat_then_each_vault() {
    let server = Contract::start();
    let b = backend(config(&server).with_tenant_vault("globex", OTHER_VAULT));
    b.check().await.unwrap();
    assert_eq!(
        server.requests(),
        ["GET /heartbeat".to_owned(), format!("GET /v1/vaults/{VAULT}"), format!("GET /v1/vaults/{OTHER_VAULT}")]
    );
    // The heartbeat carries no token.
    assert_eq!(server.received()[0].header("authorization"), None);
    server.fail(Fault::status("GET", "/heartbeat", 503, "starting"));
    let err = b.check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
    assert!(err.to_string().contains("heartbeat"), "{err}");
}

#[tokio::test]
async fn timeouts_and_dead_servers_are_unavailable() {
    let server = Contract::start();
    let b = backend(config(&server).with_request_timeout(Duration::from_millis(300)));
    server.fail(Fault::silent("GET", "/items?filter", Duration::from_secs(3)));
    let started = Instant::now();
    let err = b.get(&scope("t", "n"), &name("A"), None).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    let address = server.address.clone();
    drop(server);
    let dead = backend(OnePasswordConfig::new(address, TOKEN, VAULT));
    let err = dead.check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
}

#[tokio::test]
async fn the_factory_defaults_the_request_timeout_and_refuses_bad_configs() {
    let server = Contract::start();
    let context = BuildContext::new("op", Duration::from_secs(1));
    let built = OnePasswordFactory.build(config(&server), &context).await.unwrap();
    built.check().await.unwrap();
    assert_eq!(built.info().kind, "onepassword");
    let bad = OnePasswordConfig::new(&server.address, TOKEN, "not-a-vault-id");
    let err = match OnePasswordFactory.build(bad, &context).await {
        Ok(_) => panic!("a bad vault id builds"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.to_string().contains("vault_id"), "{err}");
}
