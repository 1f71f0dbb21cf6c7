//! Resolver key rotation as an operator runs it (`hush keys rotate-resolver`): hushd answers
//! with the new key and the previous ones, replicas on different key sets still invalidate
//! each other's caches, and retiring the old key refuses only the clients still pinned to it.

use hush_client::{ClientOptions, HushClient};
use hush_core::{ErrorKind, GrantScope, SecretValue, Tags};
use hush_crypto::ResolverKeyPair;
use hush_e2e::Stack;

use crate::CONFIG;

async fn pinned_to(stack: &Stack, key: [u8; 32]) -> HushClient {
    HushClient::connect(ClientOptions::new(stack.nats.url.clone(), vec![key])).await.expect("the client connects")
}

fn session(stack: &Stack, client: &HushClient, scope: GrantScope) -> hush_client::Session {
    let grant = stack.bound_grant("acme", "company", scope, client.public_key());
    client.session(grant).unwrap()
}

#[tokio::test]
async fn a_resolver_key_rotation_keeps_every_client_answered() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let keys = stack.path().join("keys");
    let new_key = ResolverKeyPair::generate();
    new_key.save_new(&keys.join("resolver-2.key"), &keys.join("resolver-2.pub")).unwrap();
    let mut rotated = stack.config();
    rotated.keys.previous_resolver_keys = vec![rotated.keys.resolver_key.clone().unwrap()];
    rotated.keys.resolver_key = Some(keys.join("resolver-2.key"));

    // Mid-rollout: one replica still on the old key alone, one with the new key and the old.
    let old_only = stack.replica().await;
    let both = stack.replica_with(rotated.clone()).await;
    let old_client = pinned_to(&stack, stack.resolver_public).await;
    let old_admin = session(&stack, &old_client, GrantScope::Admin);
    old_admin.put("ROTATING", &SecretValue::from("v1"), &Tags::new()).await.unwrap();
    let reader = session(&stack, &old_client, GrantScope::Read);
    for _ in 0..20 {
        assert_eq!(reader.secret("ROTATING").await.unwrap().expose(), b"v1");
    }
    // A write lands on either replica; its change event reaches the other whatever key set it
    // holds (one MAC per live key), so no replica serves the old value from its cache.
    old_admin.put("ROTATING", &SecretValue::from("v2"), &Tags::new()).await.unwrap();
    for _ in 0..20 {
        assert_eq!(reader.secret("ROTATING").await.unwrap().expose(), b"v2");
    }
    assert!(both.resolver.metrics().requests_with_previous_keys > 0, "old-pinned requests reached the rotated replica");
    assert_eq!(both.resolver.metrics().rejected_change_events, 0);
    assert_eq!(old_only.resolver.metrics().rejected_change_events, 0);

    // Every replica rotated: clients move to the new key, old-pinned ones still work.
    old_only.stop().await;
    let second = stack.replica_with(rotated.clone()).await;
    let new_client = pinned_to(&stack, new_key.public()).await;
    let new_admin = session(&stack, &new_client, GrantScope::Admin);
    new_admin.put("ROTATING", &SecretValue::from("v3"), &Tags::new()).await.unwrap();
    assert_eq!(session(&stack, &new_client, GrantScope::Read).secret("ROTATING").await.unwrap().expose(), b"v3");
    assert_eq!(reader.secret("ROTATING").await.unwrap().expose(), b"v3");

    // The old key retired: only clients still pinned to it are refused, and told why.
    both.stop().await;
    second.stop().await;
    let mut retired = rotated;
    retired.keys.previous_resolver_keys.clear();
    let _only_new = stack.replica_with(retired).await;
    let err = reader.secret("ROTATING").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(err.message().contains("resolver public key this resolver does not hold"), "{err}");
    assert_eq!(session(&stack, &new_client, GrantScope::Read).secret("ROTATING").await.unwrap().expose(), b"v3");
}
