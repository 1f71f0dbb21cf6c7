//! Unit tests of the request path, without NATS: bytes in, bytes out.

use std::sync::Arc;
use std::time::Duration;

use hush_cache::{CacheSettings, SecretCache};
use hush_core::{BindingTree, Error, ErrorKind, GrantScope, Namespace, TenantId};
use hush_crypto::{
    ChangeEventMacInput, ClientKeyPair, GrantIssuer, GrantNeed, GrantRequest, GrantVerifier, ResolverKeyPair,
    random_request_id, resolver_key_id,
};
use hush_proto::PROTOCOL_VERSION;
use hush_proto::message::{
    ChangeEvent, DeleteRequest, GetItem, GetRequest, ListRequest, RequestBody, RequestEnvelope, ResponseEnvelope,
};

use crate::authz::GrantGate;
use crate::{BindingPolicy, MemoryLedger, Resolver, ResolverSettings};

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

struct Fixture {
    resolver: Resolver,
    issuer: GrantIssuer,
    resolver_key: ResolverKeyPair,
    client: ClientKeyPair,
}

fn fixture() -> Fixture {
    fixture_with(ResolverSettings::default())
}

fn fixture_with(settings: ResolverSettings) -> Fixture {
    let issuer = GrantIssuer::generate();
    let dir = tempfile::tempdir().unwrap();
    let (secret, public) = (dir.path().join("resolver.key"), dir.path().join("resolver.pub"));
    ResolverKeyPair::generate().save_new(&secret, &public).unwrap();
    let verifier = GrantVerifier::new(&[issuer.public()], Duration::from_secs(3600)).unwrap();
    // One tenant with no binding at all: every read is "not found", nothing touches a backend.
    let mut bindings = BindingTree::new();
    bindings.insert_tenant(TenantId::new("acme").unwrap(), hush_core::TenantBindings::default());
    let ledger = Arc::new(MemoryLedger::new(settings.replay_window));
    let resolver = Resolver::new(
        bindings,
        SecretCache::new(CacheSettings::default()),
        verifier,
        vec![ResolverKeyPair::load(&secret).unwrap()],
        ledger,
        settings,
    );
    // A second copy of the resolver's key: what another replica holds.
    let resolver_key = ResolverKeyPair::load(&secret).unwrap();
    Fixture { resolver, issuer, resolver_key, client: ClientKeyPair::generate() }
}

impl Fixture {
    fn grant(&self, tenant: &str, namespace: &str, ttl: u64, issued_at: i64) -> String {
        self.grant_for(tenant, namespace, GrantScope::Read, Some(self.client.public()), ttl, issued_at)
    }

    fn grant_for(
        &self,
        tenant: &str,
        namespace: &str,
        scope: GrantScope,
        cnf: Option<[u8; 32]>,
        ttl: u64,
        issued_at: i64,
    ) -> String {
        self.issuer
            .issue(&GrantRequest {
                tenant: TenantId::new(tenant).unwrap(),
                namespace: Namespace::new(namespace).unwrap(),
                scope,
                ttl: Duration::from_secs(ttl),
                execution_id: None,
                cnf,
                now: issued_at,
            })
            .unwrap()
    }

    /// An envelope authenticated as the real client does it.
    fn envelope(&self, subject: &str, grant: String, body: RequestBody) -> RequestEnvelope {
        let mut envelope = RequestEnvelope {
            version: PROTOCOL_VERSION,
            request_id: random_request_id(),
            client_key: self.client.public(),
            resolver_key_id: resolver_key_id(&self.resolver_key.public()),
            grant,
            sent_at_ms: now_ms(),
            body,
            mac: [0; 32],
        };
        self.authenticate(&mut envelope, subject);
        envelope
    }

    fn authenticate(&self, envelope: &mut RequestEnvelope, subject: &str) {
        let transport = self.client.transport_key(&self.resolver_key.public()).unwrap();
        transport.authenticate(envelope, subject).unwrap();
    }

    fn get(&self, grant: String) -> Vec<u8> {
        self.get_at("hush.v1.get.acme.a", grant)
    }

    fn get_at(&self, subject: &str, grant: String) -> Vec<u8> {
        let body =
            RequestBody::Get(GetRequest { items: vec![GetItem { name: "X".into(), path: None, version: None }] });
        self.envelope(subject, grant, body).encode().unwrap()
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
    let unknown = f.get_at("hush.v1.get.initech.a", f.grant("initech", "a", 60, now()));
    assert_eq!(f.refusal("hush.v1.get.initech.a", &unknown).await.kind(), ErrorKind::NotFound);
    assert_eq!(f.refusal("hush.v1.get.initech.a", &other_namespace).await.kind(), ErrorKind::Unauthorized);
    assert_eq!(f.resolver.metrics().unauthorized, 2);
}

#[tokio::test]
async fn a_known_tenant_without_bindings_has_no_secrets() {
    let f = fixture();
    let get = f.get_at("hush.v1.get.acme.a.b", f.grant("acme", "a.b", 60, now()));
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
    let verifier = GrantVerifier::new(&[f.issuer.public()], Duration::from_secs(3600)).unwrap();
    let gate = GrantGate::new(verifier, BindingPolicy::default());
    let issued = now();
    let token = f.grant("acme", "a", 10, issued);
    let (tenant, namespace) = (TenantId::new("acme").unwrap(), Namespace::new("a").unwrap());
    let need = GrantNeed {
        tenant: &tenant,
        namespace: &namespace,
        scope: GrantScope::Read,
        client_key: &f.client.public(),
        require_bound: true,
    };
    assert!(gate.authorize(&token, &need, issued).is_ok(), "verified, then cached");
    let later = gate.authorize(&token, &need, issued + 11).unwrap_err();
    assert_eq!(later.kind(), ErrorKind::Unauthorized, "the cache does not outlive the grant");
    let other_key = ClientKeyPair::generate().public();
    let stolen = GrantNeed { client_key: &other_key, ..need };
    assert_eq!(gate.authorize(&token, &stolen, issued).unwrap_err().kind(), ErrorKind::Unauthorized);
}

#[tokio::test]
async fn an_edited_or_unauthenticated_request_is_unauthorized() {
    let f = fixture();
    let subject = "hush.v1.admin.delete.acme.a";
    let grant = f.grant_for("acme", "a", GrantScope::Admin, Some(f.client.public()), 60, now());
    let good = f.envelope(subject, grant.clone(), RequestBody::Delete(DeleteRequest { name: "X".into() }));

    let mut edited_name = good.clone();
    edited_name.body = RequestBody::Delete(DeleteRequest { name: "OTHER".into() });
    let mut edited_id = good.clone();
    edited_id.request_id = random_request_id();
    let mut edited_time = good.clone();
    edited_time.sent_at_ms += 1;
    let mut no_mac = good.clone();
    no_mac.mac = [0; 32];
    // Someone else's key pair signs the same request.
    let mut stranger = good.clone();
    let other = ClientKeyPair::generate();
    stranger.client_key = other.public();
    other.transport_key(&f.resolver_key.public()).unwrap().authenticate(&mut stranger, subject).unwrap();

    for (what, envelope, want) in [
        ("edited name", edited_name, "MAC does not verify"),
        ("edited id", edited_id, "MAC does not verify"),
        ("edited time", edited_time, "MAC does not verify"),
        ("no MAC", no_mac, "MAC does not verify"),
        ("another key, grant bound to the client", stranger, "bound to another client key"),
    ] {
        let err = f.refusal(subject, &envelope.encode().unwrap()).await;
        assert_eq!(err.kind(), ErrorKind::Unauthorized, "{what}: {err}");
        assert!(err.message().contains(want), "{what}: {err}");
    }
    // Sent to another subject than the one it was made for.
    let err = f.refusal("hush.v1.admin.delete.acme.a.b", &good.encode().unwrap()).await;
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert_eq!(f.resolver.metrics().unauthorized, 6);
}

#[tokio::test]
async fn admin_requests_outside_the_window_or_replayed_are_refused() {
    let f = fixture_with(ResolverSettings { replay_window: Duration::from_secs(30), ..ResolverSettings::default() });
    let subject = "hush.v1.admin.list.acme.a";
    let grant = f.grant_for("acme", "a", GrantScope::Admin, Some(f.client.public()), 600, now());
    let list = || RequestBody::List(ListRequest { tags: Default::default(), recursive: false });
    for offset_ms in [-31_000, 31_000] {
        let mut late = f.envelope(subject, grant.clone(), list());
        late.sent_at_ms += offset_ms;
        f.authenticate(&mut late, subject);
        let err = f.refusal(subject, &late.encode().unwrap()).await;
        assert!(err.message().contains("outside the 30s replay window"), "{offset_ms}: {err}");
    }
    let once = f.envelope(subject, grant, list()).encode().unwrap();
    let first = f.resolver.handle(subject, &once).await;
    // The tenant has no binding, so the list itself fails, but not as a replay.
    let first = Error::from(ResponseEnvelope::decode(&first.reply).unwrap().body.unwrap_err());
    assert_eq!(first.kind(), ErrorKind::NotFound, "{first}");
    let again = f.refusal(subject, &once).await;
    assert!(again.message().contains("replayed request id"), "{again}");
    assert_eq!(f.resolver.metrics().replays_refused, 3);
}

#[tokio::test]
async fn unbound_grants_are_refused_unless_the_tenant_allows_them() {
    let strict = fixture();
    let unbound = strict.grant_for("acme", "a", GrantScope::Read, None, 60, now());
    let err = strict.refusal("hush.v1.get.acme.a", &strict.get(unbound)).await;
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("not bound to a client key"), "{err}");

    let mut policy = BindingPolicy::default();
    policy.tenants.insert(TenantId::new("acme").unwrap(), false);
    let lenient = fixture_with(ResolverSettings { binding_policy: policy, ..ResolverSettings::default() });
    let unbound = lenient.grant_for("acme", "a", GrantScope::Read, None, 60, now());
    let handled = lenient.resolver.handle("hush.v1.get.acme.a", &lenient.get(unbound)).await;
    assert!(ResponseEnvelope::decode(&handled.reply).unwrap().body.is_ok());
}

#[tokio::test]
async fn change_events_act_only_with_a_valid_mac_inside_the_window() {
    let f = fixture();
    let subject = "hush.v1.events.changed.acme.a";
    let event = |key: &ResolverKeyPair, sent_at_ms: i64| {
        let input = ChangeEventMacInput { subject, name: "X", sent_at_ms };
        let key = key.change_event_key();
        ChangeEvent {
            version: PROTOCOL_VERSION,
            name: "X".into(),
            sent_at_ms,
            macs: vec![(key.resolver_key_id(), key.mac(&input))],
        }
        .encode()
        .unwrap()
    };
    // Another replica with the same key.
    f.resolver.apply_change(subject, &event(&f.resolver_key, now_ms())).await.unwrap();
    let forged = event(&ResolverKeyPair::generate(), now_ms());
    let stale = event(&f.resolver_key, now_ms() - 120_000);
    let mut unsigned = ChangeEvent::decode(&forged).unwrap();
    unsigned.macs.clear();
    for payload in [forged, stale, unsigned.encode().unwrap(), b"garbage".to_vec()] {
        assert!(f.resolver.apply_change(subject, &payload).await.is_err());
    }
    // The right MAC on another subject.
    assert!(f.resolver.apply_change("hush.v1.events.changed.acme.b", &event(&f.resolver_key, now_ms())).await.is_err());
    assert_eq!(f.resolver.metrics().rejected_change_events, 5);
}

#[tokio::test]
async fn debug_output_never_shows_a_grant() {
    let f = fixture();
    let grant = f.grant("acme", "a", 60, now());
    // The grant verifies, so the verified-claims cache now holds the token.
    let handled = f.resolver.handle("hush.v1.get.acme.a", &f.get(grant.clone())).await;
    assert!(ResponseEnvelope::decode(&handled.reply).unwrap().body.is_ok());
    let shown = format!("{:?}", f.resolver);
    let signature = grant.rsplit('.').next().unwrap();
    assert!(!shown.contains(signature), "{shown}");
    assert!(shown.contains("verified_grants"), "{shown}");
}

#[test]
fn replies_only_go_to_allowed_inboxes() {
    let f = fixture();
    assert!(f.resolver.may_reply_to(Some("_INBOX.abc")));
    assert!(!f.resolver.may_reply_to(Some("hush.v1.audit.globex")));
    assert!(!f.resolver.may_reply_to(None));
    assert_eq!(f.resolver.metrics().foreign_reply_subjects, 2);
}
