//! What a worker gets: paths into JSON values, batches, masking, templates, versions.

use hush_client::SecretRequest;
use hush_core::{ErrorKind, GrantScope, SecretValue, Tags};
use hush_e2e::Stack;

use crate::{CONFIG, put};

const DB_JSON: &str = r#"{"credentials":{"user":"app","password":"p@ss/w0rd"},"servers":[{"host name":"db1"}]}"#;

#[tokio::test]
async fn paths_extract_parts_of_json_values() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    put(&stack, "acme", "company", "DB", DB_JSON).await;
    let session = stack.session("acme", "company.etl", GrantScope::Read).await;
    assert_eq!(session.secret_at("DB", "credentials.password").await.unwrap().expose(), b"p@ss/w0rd");
    assert_eq!(session.secret_at("DB", r#"servers[0]["host name"]"#).await.unwrap().expose(), b"db1");
    let missing = session.secret_at("DB", "credentials.token").await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.to_string().contains("credentials.token"), "{missing}");
    let bad = session.secret_at("DB", "credentials..x").await.unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidInput, "{bad}");
}

#[tokio::test]
async fn batches_answer_each_item_and_cap_at_64() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    let admin = stack.session("acme", "company", GrantScope::Admin).await;
    for i in 0..64 {
        admin.put(&format!("S{i}"), &SecretValue::from(format!("value-{i}").as_str()), &Tags::new()).await.unwrap();
    }
    let reader = stack.session("acme", "company.x", GrantScope::Read).await;
    let names: Vec<String> = (0..64).map(|i| format!("S{i}")).collect();
    let values = reader.secrets(names.iter().map(|n| n.as_str())).await.unwrap();
    assert_eq!(values.len(), 64);
    assert!(values.iter().enumerate().all(|(i, v)| v.expose() == format!("value-{i}").as_bytes()));

    // One missing or invalid item fails alone.
    let mixed = reader
        .fetch(&[SecretRequest::new("S1"), SecretRequest::new("NOPE"), SecretRequest::new("bad name")])
        .await
        .unwrap();
    assert_eq!(mixed[0].as_ref().unwrap().value.expose(), b"value-1");
    assert_eq!(mixed[0].as_ref().unwrap().namespace, "company");
    assert_eq!(mixed[1].as_ref().unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(mixed[2].as_ref().unwrap_err().kind(), ErrorKind::InvalidInput);

    // secrets() and secret() fail with the first failing item's error, naming that secret.
    let failed = reader.secrets(["S1", "NOPE", "bad name"]).await.unwrap_err();
    assert_eq!((failed.kind(), failed.context_value("secret")), (ErrorKind::NotFound, Some("NOPE")), "{failed}");
    let failed = reader.secret("bad name").await.unwrap_err();
    assert_eq!((failed.kind(), failed.context_value("secret")), (ErrorKind::InvalidInput, Some("bad name")));

    // More than 64 are split by the client into several requests...
    let many: Vec<SecretRequest> = (0..130).map(|i| SecretRequest::new(format!("S{}", i % 64))).collect();
    assert_eq!(reader.fetch(&many).await.unwrap().len(), 130);
    let names: Vec<String> = (0..130).map(|i| format!("S{}", i % 64)).collect();
    let values = reader.secrets(names.iter().map(String::as_str)).await.unwrap();
    assert!(values.iter().enumerate().all(|(i, v)| v.expose() == format!("value-{}", i % 64).as_bytes()));
}

#[tokio::test]
async fn the_masker_hides_every_resolved_value_and_its_encodings() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    put(&stack, "acme", "company", "DB_PASSWORD", "p@ss w/rd").await;
    let session = stack.session("acme", "company", GrantScope::Read).await;
    assert_eq!(session.masker().mask("p@ss w/rd"), "p@ss w/rd", "nothing is masked before it is resolved");
    session.secret("DB_PASSWORD").await.unwrap();
    let log = r#"connecting to postgres://app:p%40ss%20w%2Frd@db/app with {"password":"p@ss w/rd"}"#;
    assert_eq!(session.masker().mask(log), r#"connecting to postgres://app:******@db/app with {"password":"******"}"#);
}

#[tokio::test]
async fn templates_render_with_secret_calls() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let replica = stack.replica().await;
    put(&stack, "acme", "company", "DB_PASSWORD", "hunter2").await;
    put(&stack, "acme", "company", "DB", DB_JSON).await;
    let session = stack.session("acme", "company.etl", GrantScope::Read).await;
    let before = replica.resolver.metrics().requests;
    let rendered = session
        .render(r#"postgres://{{ secret("DB", "credentials.user") }}:{{ secret("DB_PASSWORD") }}@db/app"#)
        .await
        .unwrap();
    assert_eq!(rendered.expose_str().unwrap(), "postgres://app:hunter2@db/app");
    assert_eq!(replica.resolver.metrics().requests - before, 1, "a template costs one round trip");
    let missing = session.render(r#"{{ secret("NOPE") }}"#).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn versions_can_be_pinned_and_writes_keep_history() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    let admin = stack.session("acme", "company", GrantScope::Admin).await;
    let v1 = admin.put("ROTATING", &"one".into(), &Tags::new()).await.unwrap();
    let v2 = admin.put("ROTATING", &"two".into(), &Tags::new()).await.unwrap();
    assert_ne!(v1.version, v2.version);
    let pinned = SecretRequest::new("ROTATING").version(v1.version.unwrap().to_string());
    let values = admin.secrets([pinned, SecretRequest::new("ROTATING")]).await.unwrap();
    assert_eq!(values[0].expose(), b"one");
    assert_eq!(values[1].expose(), b"two");
    admin.delete("ROTATING").await.unwrap();
    assert_eq!(admin.secret("ROTATING").await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(admin.delete("ROTATING").await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn a_reply_over_the_servers_max_payload_is_refused_at_once_not_lost() {
    // A server that takes messages of at most 16 KiB: 32 values of 1 KiB make a reply over it.
    let Some(stack) = Stack::with_max_payload_or_skip(16 * 1024, CONFIG) else { return };
    let _replica = stack.replica().await;
    let admin = stack.session("acme", "company", GrantScope::Admin).await;
    let names: Vec<String> = (0..32).map(|i| format!("KEY_{i:02}")).collect();
    for name in &names {
        admin.put(name, &SecretValue::from(vec![b'k'; 1024]), &Tags::new()).await.unwrap();
    }
    let session = stack.session("acme", "company", GrantScope::Read).await;
    let fits = session.secrets(names[..8].iter().map(String::as_str)).await.expect("8 KiB of values fit");
    assert_eq!(fits.len(), 8);

    // Without the limit hushd's reply was refused by the server and never arrived: the read
    // waited out the request timeout (10 s here), was sent again, and failed `unavailable`.
    let refused = session.secrets(names.iter().map(String::as_str)).await.expect_err("the reply would not fit");
    assert_eq!(refused.kind(), ErrorKind::InvalidInput, "{refused}");
    assert!(refused.to_string().contains("max_payload"), "{refused}");
    assert!(refused.to_string().contains("read fewer secrets per request"), "{refused}");
    assert!(!refused.to_string().contains(&"k".repeat(16)), "no value in the error");
}
