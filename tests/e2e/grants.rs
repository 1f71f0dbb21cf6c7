//! Every request's grant is checked: signature, expiry, tenant, namespace, scope, key binding.

use std::time::Duration;

use futures::StreamExt;
use hush_core::{Error, ErrorKind, GrantScope, SecretValue, Tags};
use hush_crypto::{ClientKeyPair, Direction, GrantIssuer, GrantRequest, SealAad, random_request_id};
use hush_e2e::{RawClient, Stack, now};
use hush_proto::message::{GetItem, GetRequest, PutRequest, RequestBody, ResponseEnvelope};

use crate::{CONFIG, put};

/// Sends a request by hand, authenticated with `client`'s key, as a hostile or buggy client could.
async fn raw(client: &RawClient, subject: &str, grant: &str, body: RequestBody) -> ResponseEnvelope {
    client.send(subject, &client.envelope(subject, grant, body)).await
}

/// A grant of the stack's issuer bound to `client`'s key.
fn bound(stack: &Stack, client: &RawClient, tenant: &str, namespace: &str, scope: GrantScope) -> String {
    stack.bound_grant(tenant, namespace, scope, client.keys.public())
}

fn get_body(name: &str) -> RequestBody {
    RequestBody::Get(GetRequest { items: vec![GetItem { name: name.into(), path: None, version: None }] })
}

fn refusal(response: ResponseEnvelope) -> Error {
    Error::from(response.body.expect_err("the request is refused"))
}

#[tokio::test]
async fn forged_expired_and_tampered_grants_are_refused() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    put(&stack, "acme", "company", "DB_PASSWORD", "s3cret").await;
    let subject = "hush.v1.get.acme.company";
    let client = stack.raw_client().await;

    let stranger = GrantIssuer::generate();
    let forged = stranger
        .issue(&GrantRequest {
            tenant: "acme".parse().unwrap(),
            namespace: "company".parse().unwrap(),
            scope: GrantScope::Admin,
            ttl: Duration::from_secs(600),
            execution_id: None,
            cnf: Some(client.keys.public()),
            now: now(),
        })
        .unwrap();
    let key = Some(client.keys.public());
    let expired = stack.grant_with("acme", "company", GrantScope::Read, Duration::from_secs(600), key, now() - 3600);
    let good = bound(&stack, &client, "acme", "company", GrantScope::Read);
    let mut tampered = good.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();

    for (what, grant) in [("forged", forged), ("expired", expired), ("tampered", tampered), ("empty", String::new())] {
        let err = refusal(raw(&client, subject, &grant, get_body("DB_PASSWORD")).await);
        assert_eq!(err.kind(), ErrorKind::Unauthorized, "{what}: {err}");
    }
    // The good grant works, so the refusals above are about the grants.
    let ok = raw(&client, subject, &good, get_body("DB_PASSWORD")).await;
    assert!(ok.body.is_ok());
}

#[tokio::test]
async fn grants_only_cover_their_own_tenant_and_namespace() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    put(&stack, "acme", "company.a", "X", "a").await;
    let client = stack.raw_client().await;
    let grant_a = bound(&stack, &client, "acme", "company.a", GrantScope::Read);
    let grant_parent = bound(&stack, &client, "acme", "company", GrantScope::Read);
    let grant_globex = bound(&stack, &client, "globex", "company.a", GrantScope::Read);
    for (what, subject, grant) in [
        ("sibling namespace", "hush.v1.get.acme.company.b", &grant_a),
        ("child namespace with a parent's grant", "hush.v1.get.acme.company.a", &grant_parent),
        ("other tenant", "hush.v1.get.acme.company.a", &grant_globex),
    ] {
        let err = refusal(raw(&client, subject, grant, get_body("X")).await);
        assert_eq!(err.kind(), ErrorKind::Unauthorized, "{what}: {err}");
    }
    // A refusal never says whether the secret exists.
    let missing = refusal(raw(&client, "hush.v1.get.acme.company.b", &grant_a, get_body("NOPE")).await);
    let present = refusal(raw(&client, "hush.v1.get.acme.company.b", &grant_a, get_body("X")).await);
    assert_eq!(missing.message(), present.message());
}

#[tokio::test]
async fn read_grants_cannot_write_and_bound_grants_need_their_key() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    let reader = stack.session("acme", "company", GrantScope::Read).await;
    let err = reader.put("X", &SecretValue::from("v"), &Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert_eq!(reader.delete("X").await.unwrap_err().kind(), ErrorKind::Unauthorized);

    // A grant bound to another client's key is useless to this one.
    let other = ClientKeyPair::generate();
    let bound = stack.bound_grant("acme", "company", GrantScope::Read, other.public());
    let client = stack.client().await;
    let err = client.session(bound).unwrap().secret("X").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
}

#[tokio::test]
async fn a_replayed_write_is_refused() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    let client = stack.raw_client().await;
    let subject = "hush.v1.admin.put.acme.company";
    let request_id = random_request_id();
    let aad = SealAad { direction: Direction::ToResolver, request_id: &request_id, subject, name: "X", version: "" };
    let body = RequestBody::Put(PutRequest {
        name: "X".into(),
        sealed_value: client.transport.seal(&aad, b"v1"),
        tags: Default::default(),
    });
    let grant = bound(&stack, &client, "acme", "company", GrantScope::Admin);
    let bytes = client.envelope_with_id(subject, &grant, request_id, body).encode().unwrap();
    let first = client.send_bytes(subject, bytes.clone()).await;
    assert!(first.body.is_ok(), "{:?}", first.body);
    let second = refusal(client.send_bytes(subject, bytes).await);
    assert_eq!(second.kind(), ErrorKind::Unauthorized);
    assert!(second.message().contains("replayed request id"), "{second}");
}

#[tokio::test]
async fn audit_events_name_secrets_but_never_values() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    let nats = async_nats::connect(&stack.nats.url).await.unwrap();
    let mut audit = crate::subscribed(&nats, "hush.v1.audit.acme").await;
    put(&stack, "acme", "company", "DB_PASSWORD", "value-that-must-not-leak").await;
    let reader = stack.session("acme", "company.etl", GrantScope::Read).await;
    reader.secret("DB_PASSWORD").await.unwrap();
    let _ = reader.secret("MISSING").await;

    // JSON Lines: a message holds one or more events, one per line.
    let mut events = Vec::new();
    while events.len() < 3 {
        let message = tokio::time::timeout(Duration::from_secs(5), audit.next()).await.expect("audit event").unwrap();
        assert!(!String::from_utf8_lossy(&message.payload).contains("value-that-must-not-leak"));
        for line in message.payload.split(|b| *b == b'\n') {
            events.push(serde_json::from_slice::<serde_json::Value>(line).unwrap());
        }
    }
    // Published by concurrent tasks: find each event by what it is about, not by position.
    let find = |operation: &str, name: &str| {
        events
            .iter()
            .find(|e| e["operation"] == operation && e["items"][0]["name"] == name)
            .unwrap_or_else(|| panic!("no {operation} event for {name} in {events:?}"))
    };
    assert_eq!(find("put", "DB_PASSWORD")["outcome"], "ok");
    let read = find("get", "DB_PASSWORD");
    assert_eq!(read["namespace"], "company.etl");
    assert_eq!(read["execution_id"], "e2e");
    assert_eq!(read["items"][0]["found_in"], "company");
    assert_eq!(find("get", "MISSING")["items"][0]["outcome"], "not_found");
}

#[tokio::test]
async fn debug_output_of_a_session_never_shows_its_grant() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let client = stack.client().await;
    let grant = stack.bound_grant("acme", "company", GrantScope::Read, client.public_key());
    let session = client.session(grant.clone()).unwrap();
    let shown = format!("{session:?} {client:?}");
    let (claims, signature) = grant.strip_prefix("hush1.").unwrap().split_once('.').unwrap();
    assert!(!shown.contains(claims) && !shown.contains(signature), "{shown}");
    // A session keeps only its grant sealed to the resolver, and shows only its length.
    assert!(shown.contains("grant: SealedGrant("), "{shown}");
    assert!(shown.contains(&format!("SealedGrant({} bytes)", 12 + grant.len() + 16)), "{shown}");
}
