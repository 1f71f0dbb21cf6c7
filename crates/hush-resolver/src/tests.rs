//! Unit tests of the request path, without NATS: bytes in, bytes out.

use std::time::Duration;

use hush_cache::{CacheSettings, SecretCache};
use hush_core::{BindingTree, Error, ErrorKind, GrantScope, Namespace, TenantId};
use hush_crypto::{
    ClientKeyPair, GrantIssuer, GrantNeed, GrantRequest, GrantVerifier, ResolverKeyPair, random_request_id,
    resolver_key_id,
};
use hush_proto::PROTOCOL_VERSION;
use hush_proto::message::{GetItem, GetRequest, RequestBody, RequestEnvelope, ResponseEnvelope};

use crate::authz::GrantGate;
use crate::{Resolver, ResolverSettings};

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

struct Fixture {
    resolver: Resolver,
    issuer: GrantIssuer,
    resolver_public: [u8; 32],
    client: ClientKeyPair,
}

fn fixture() -> Fixture {
    let issuer = GrantIssuer::generate();
    let key = ResolverKeyPair::generate();
    let resolver_public = key.public();
    let verifier = GrantVerifier::new(&[issuer.public()], Duration::from_secs(3600)).unwrap();
    // One tenant with no binding at all: every read is "not found", nothing touches a backend.
    let mut bindings = BindingTree::new();
    bindings.insert_tenant(TenantId::new("acme").unwrap(), hush_core::TenantBindings::default());
    let resolver =
        Resolver::new(bindings, SecretCache::new(CacheSettings::default()), verifier, key, ResolverSettings::default());
    Fixture { resolver, issuer, resolver_public, client: ClientKeyPair::generate() }
}

impl Fixture {
    fn grant(&self, tenant: &str, namespace: &str, ttl: u64, issued_at: i64) -> String {
        self.issuer
            .issue(&GrantRequest {
                tenant: TenantId::new(tenant).unwrap(),
                namespace: Namespace::new(namespace).unwrap(),
                scope: GrantScope::Read,
                ttl: Duration::from_secs(ttl),
                execution_id: None,
                cnf: Some(self.client.public()),
                now: issued_at,
            })
            .unwrap()
    }

    fn get(&self, grant: String) -> Vec<u8> {
        RequestEnvelope {
            version: PROTOCOL_VERSION,
            request_id: random_request_id(),
            client_key: self.client.public(),
            resolver_key_id: resolver_key_id(&self.resolver_public),
            grant,
            body: RequestBody::Get(GetRequest { items: vec![GetItem { name: "X".into(), path: None, version: None }] }),
        }
        .encode()
        .unwrap()
    }

    async fn refusal(&self, subject: &str, payload: &[u8]) -> Error {
        let handled = self.resolver.handle(subject, payload).await;
        Error::from(ResponseEnvelope::decode(&handled.reply).unwrap().body.expect_err("refused"))
    }
}

#[tokio::test]
async fn garbage_and_mismatched_bodies_are_invalid_input() {
    let f = fixture();
    assert_eq!(f.refusal("hush.v1.get.acme.a", b"garbage").await.kind(), ErrorKind::InvalidInput);
    let get = f.get(f.grant("acme", "a", 60, now()));
    let wrong_endpoint = f.refusal("hush.v1.admin.put.acme.a", &get).await;
    assert_eq!(wrong_endpoint.kind(), ErrorKind::InvalidInput);
    assert!(wrong_endpoint.message().contains("does not match"), "{wrong_endpoint}");
}

#[tokio::test]
async fn grants_are_checked_before_anything_else() {
    let f = fixture();
    let other_namespace = f.get(f.grant("acme", "b", 60, now()));
    assert_eq!(f.refusal("hush.v1.get.acme.a", &other_namespace).await.kind(), ErrorKind::Unauthorized);
    // An unknown tenant is "not found", but only for a valid grant of that tenant.
    let unknown = f.get(f.grant("initech", "a", 60, now()));
    assert_eq!(f.refusal("hush.v1.get.initech.a", &unknown).await.kind(), ErrorKind::NotFound);
    assert_eq!(f.refusal("hush.v1.get.initech.a", &other_namespace).await.kind(), ErrorKind::Unauthorized);
    assert_eq!(f.resolver.metrics().unauthorized, 2);
}

#[tokio::test]
async fn a_known_tenant_without_bindings_has_no_secrets() {
    let f = fixture();
    let get = f.get(f.grant("acme", "a.b", 60, now()));
    let handled = f.resolver.handle("hush.v1.get.acme.a.b", &get).await;
    let response = ResponseEnvelope::decode(&handled.reply).unwrap();
    let Ok(hush_proto::message::ResponseBody::Get(items)) = response.body else { panic!("a get answer") };
    assert_eq!(Error::from(items[0].clone().unwrap_err()).kind(), ErrorKind::NotFound);
    let (subject, audit) = handled.audit.expect("an audit event");
    assert_eq!(subject, "hush.v1.audit.acme");
    let event: serde_json::Value = serde_json::from_slice(&audit).unwrap();
    assert_eq!(event["items"][0]["outcome"], "not_found");
}

#[test]
fn cached_claims_are_refused_once_expired() {
    let f = fixture();
    let gate = GrantGate::new(GrantVerifier::new(&[f.issuer.public()], Duration::from_secs(3600)).unwrap());
    let issued = now();
    let token = f.grant("acme", "a", 10, issued);
    let (tenant, namespace) = (TenantId::new("acme").unwrap(), Namespace::new("a").unwrap());
    let need =
        GrantNeed { tenant: &tenant, namespace: &namespace, scope: GrantScope::Read, client_key: &f.client.public() };
    assert!(gate.authorize(&token, &need, issued).is_ok(), "verified, then cached");
    let later = gate.authorize(&token, &need, issued + 11).unwrap_err();
    assert_eq!(later.kind(), ErrorKind::Unauthorized, "the cache does not outlive the grant");
    let other_key = ClientKeyPair::generate().public();
    let stolen = GrantNeed { client_key: &other_key, ..need };
    assert_eq!(gate.authorize(&token, &stolen, issued).unwrap_err().kind(), ErrorKind::Unauthorized);
}
