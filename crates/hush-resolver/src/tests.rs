//! Unit tests of the request path, without NATS: bytes in, bytes out.

use std::sync::Arc;
use std::time::Duration;

use hush_backend_behavior::{Fault, MemoryBackend};
use hush_cache::{CacheSettings, SecretCache};
use hush_core::{
    BindingTree, Error, ErrorKind, GrantScope, Namespace, Scope, SecretName, SharedBackend, Tags, TenantBindings,
    TenantId,
};
use hush_crypto::{
    ChangeEventMacInput, ClientKeyPair, GrantIssuer, GrantNeed, GrantRequest, GrantVerifier, ReplyAad, ResolverKeyPair,
    random_request_id, resolver_key_id,
};
use hush_proto::PROTOCOL_VERSION;
use hush_proto::codec::{self, MAX_RESPONSE_BYTES};
use hush_proto::message::{
    ChangeEvent, DeleteRequest, GetItem, GetRequest, ListRequest, ReadItems, RequestBody, RequestEnvelope,
    ResolvedSecret, ResponseBody, ResponseEnvelope, WireError,
};
use tokio::time::{Instant, advance};

use crate::authz::{GrantGate, GrantId, SealedGrantRef};
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
    // One tenant with no binding at all: every read is "not found", nothing touches a backend.
    let mut bindings = BindingTree::new();
    bindings.insert_tenant(TenantId::new("acme").unwrap(), TenantBindings::default());
    fixture_over(bindings, CacheSettings::default(), settings)
}

/// Tenant `acme` served by `default`, with `overrides` bound to namespaces, read through a
/// cache with `cache`.
fn bound(default: &Arc<MemoryBackend>, overrides: &[(&str, &Arc<MemoryBackend>)], cache: CacheSettings) -> Fixture {
    let shared = |memory: &Arc<MemoryBackend>| -> SharedBackend { memory.clone() };
    let tenant = TenantBindings {
        default: Some(shared(default)),
        overrides: overrides.iter().map(|(ns, memory)| (Namespace::new(*ns).unwrap(), shared(memory))).collect(),
    };
    let mut bindings = BindingTree::new();
    bindings.insert_tenant(TenantId::new("acme").unwrap(), tenant);
    fixture_over(bindings, cache, ResolverSettings::default())
}

fn fixture_over(bindings: BindingTree<SharedBackend>, cache: CacheSettings, settings: ResolverSettings) -> Fixture {
    let issuer = GrantIssuer::generate();
    let dir = tempfile::tempdir().unwrap();
    let (secret, public) = (dir.path().join("resolver.key"), dir.path().join("resolver.pub"));
    ResolverKeyPair::generate().save_new(&secret, &public).unwrap();
    let verifier = GrantVerifier::new(&[issuer.public()], Duration::from_secs(3600)).unwrap();
    let ledger = Arc::new(MemoryLedger::new(settings.replay_window));
    let resolver = Resolver::new(
        bindings,
        SecretCache::new(cache),
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
        let mut envelope = RequestEnvelope::new(
            random_request_id(),
            self.client.public(),
            resolver_key_id(&self.resolver_key.public()),
            now_ms(),
            body,
        );
        self.authenticate(&mut envelope, subject, &grant);
        envelope
    }

    fn authenticate(&self, envelope: &mut RequestEnvelope, subject: &str, grant: &str) {
        let transport = self.client.transport_key(&self.resolver_key.public()).unwrap();
        transport.authenticate(envelope, subject, grant).unwrap();
    }

    fn get(&self, grant: String) -> Vec<u8> {
        self.get_at("hush.v1.get.acme.a", grant)
    }

    fn get_at(&self, subject: &str, grant: String) -> Vec<u8> {
        self.envelope(subject, grant, get_x()).encode().unwrap()
    }

    /// Reads `X` from `namespace` of `acme` as a client with a read grant there does, and
    /// opens the answer.
    async fn read(&self, namespace: &str) -> Result<Read, Error> {
        self.read_all(namespace, &["X"]).await?.remove(0)
    }

    /// Reads `names` in one request from `namespace` of `acme`, and opens each answer.
    async fn read_all(&self, namespace: &str, names: &[&str]) -> Result<Vec<Result<Read, Error>>, Error> {
        let subject = format!("hush.v1.get.acme.{namespace}");
        let items = names.iter().map(|name| GetItem { name: (*name).into(), path: None, version: None }).collect();
        let body = RequestBody::Get(GetRequest { items });
        let envelope = self.envelope(&subject, self.grant("acme", namespace, 600, now()), body);
        let handled = self.resolver.handle(&subject, &envelope.encode().unwrap()).await;
        let opened = self.open_reply(&envelope, &subject, &handled.reply)?;
        let items: ReadItems<'_> = codec::decode_borrowed(&opened, MAX_RESPONSE_BYTES).unwrap();
        assert_eq!(items.len(), names.len(), "one answer per name");
        let (_, audit) = handled.audit.expect("an audit event");
        let audit: serde_json::Value = serde_json::from_slice(&audit).unwrap();
        let open = |index: usize, item: Result<ResolvedSecret<'_>, WireError>| {
            let audited = &audit["items"][index];
            assert_eq!(audited["name"], names[index], "the audit event lists the names as requested, in order");
            let resolved = match item {
                Ok(resolved) => resolved,
                Err(wire) => {
                    assert!(audited["found_in"].is_null(), "an item not answered was found nowhere: {audited}");
                    assert_eq!(audited["outcome"], wire.kind.as_str(), "the audit event has the item's outcome");
                    return Err(Error::from(wire));
                }
            };
            assert_eq!(audited["found_in"], resolved.namespace, "the audit event says where it was found");
            assert_eq!(audited["version"].as_str(), resolved.version, "and its version");
            let source = audit["items"][index]["source"].as_str().unwrap().to_owned();
            Ok(Read {
                found_in: resolved.namespace.into(),
                value: resolved.value.to_vec(),
                stale: resolved.stale,
                source,
            })
        };
        Ok(items.into_iter().enumerate().map(|(index, item)| open(index, item)).collect())
    }

    /// The items of the reply to the read `envelope`, opened as the client opens them; the
    /// whole request's refusal as an error.
    fn open_reply(&self, envelope: &RequestEnvelope, subject: &str, reply: &[u8]) -> Result<Vec<u8>, Error> {
        let body = ResponseEnvelope::decode(reply).unwrap().body.map_err(Error::from)?;
        let ResponseBody::Get(sealed) = body else { panic!("a get answer") };
        let transport = self.client.transport_key(&self.resolver_key.public()).unwrap();
        let aad = ReplyAad { request_id: &envelope.request_id, subject, request_mac: &envelope.mac };
        Ok(transport.open_reply(&aad, &sealed.0).expect("the reply opens for its request").to_vec())
    }

    async fn refusal(&self, subject: &str, payload: &[u8]) -> Error {
        let handled = self.resolver.handle(subject, payload).await;
        Error::from(ResponseEnvelope::decode(&handled.reply).unwrap().body.expect_err("refused"))
    }
}

/// A get of the one secret `X`.
fn get_x() -> RequestBody {
    RequestBody::Get(GetRequest { items: vec![GetItem { name: "X".into(), path: None, version: None }] })
}

/// What a read of `X` answered, opened.
#[derive(Debug, PartialEq, Eq)]
struct Read {
    /// The namespace it was found in.
    found_in: String,
    value: Vec<u8>,
    stale: bool,
    /// Where the audit event says it came from: `backend`, `cache` or `stale`.
    source: String,
}

impl Read {
    fn new(found_in: &str, value: &str, source: &str) -> Self {
        Read { found_in: found_in.into(), value: value.into(), stale: source == "stale", source: source.into() }
    }
}

/// Stores `X` in `namespace` of `acme`.
fn store_x(memory: &MemoryBackend, namespace: &str, value: &str) {
    let scope = Scope::new(TenantId::new("acme").unwrap(), Namespace::new(namespace).unwrap());
    memory.insert(&scope, &SecretName::new("X").unwrap(), value, Tags::new());
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
    let subject = "hush.v1.get.acme.a.b";
    let get = f.envelope(subject, f.grant("acme", "a.b", 60, now()), get_x());
    let handled = f.resolver.handle(subject, &get.encode().unwrap()).await;
    let opened = f.open_reply(&get, subject, &handled.reply).unwrap();
    let items: ReadItems<'_> = codec::decode_borrowed(&opened, MAX_RESPONSE_BYTES).unwrap();
    assert_eq!(Error::from(items[0].clone().unwrap_err()).kind(), ErrorKind::NotFound);
    let (subject, audit) = handled.audit.expect("an audit event");
    assert_eq!(subject, "hush.v1.audit.acme");
    let event: serde_json::Value = serde_json::from_slice(&audit).unwrap();
    assert_eq!(event["items"][0]["outcome"], "not_found");
}

#[test]
fn a_sealed_grant_is_cached_by_its_keys_its_token_verified_once_and_refused_once_expired() {
    let f = fixture();
    let verifier = GrantVerifier::new(&[f.issuer.public()], Duration::from_secs(3600)).unwrap();
    let gate = GrantGate::new(verifier, BindingPolicy::default());
    let issued = now();
    let token = f.grant("acme", "a", 10, issued);
    let (tenant, namespace) = (TenantId::new("acme").unwrap(), Namespace::new("a").unwrap());
    let client_key = f.client.public();
    let need = GrantNeed {
        tenant: &tenant,
        namespace: &namespace,
        scope: GrantScope::Read,
        client_key: &client_key,
        require_bound: true,
    };
    let resolver_side = f.resolver_key.transport_key(&client_key).unwrap();
    let sealed = f.client.transport_key(&f.resolver_key.public()).unwrap().seal_grant(&token);
    let key_id = f.resolver_key.key_id();
    let arrived = SealedGrantRef { resolver_key_id: &key_id, client_key: &client_key, sealed: sealed.as_bytes() };

    let grant = gate.authorize(arrived, &resolver_side, &need, issued).expect("opened and verified");
    assert_eq!(grant.id, GrantId::of(&token), "backend reads are charged to SHA-256(token)");
    // Cached by how it arrived: the next request's grant is not opened again (a key that
    // would not open it is not used); the caller has checked the MAC under the right key.
    let stranger_side = f.resolver_key.transport_key(&ClientKeyPair::generate().public()).unwrap();
    assert!(gate.authorize(arrived, &stranger_side, &need, issued + 1).is_ok(), "a cache hit");
    // The same token sealed again (a new session for the grant): opened, not verified again.
    let resealed = f.client.transport_key(&f.resolver_key.public()).unwrap().seal_grant(&token);
    let again = SealedGrantRef { sealed: resealed.as_bytes(), ..arrived };
    assert_eq!(gate.authorize(again, &resolver_side, &need, issued + 2).unwrap().id, grant.id);
    assert_eq!(gate.signatures_checked(), 1, "one signature check for the token");
    let later = gate.authorize(arrived, &resolver_side, &need, issued + 11).unwrap_err();
    assert_eq!(later.kind(), ErrorKind::Unauthorized, "the cache does not outlive the grant");

    // The same bytes under another client key are another entry, and do not open.
    let other_key = ClientKeyPair::generate().public();
    let moved = SealedGrantRef { client_key: &other_key, ..arrived };
    let stolen = GrantNeed { client_key: &other_key, require_bound: false, ..need };
    let other_side = f.resolver_key.transport_key(&other_key).unwrap();
    let err = gate.authorize(moved, &other_side, &stolen, issued).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("does not open"), "{err}");
    // Under its own key but for another client key than the grant's binding: refused.
    let bound_elsewhere = GrantNeed { client_key: &other_key, ..need };
    assert_eq!(
        gate.authorize(arrived, &resolver_side, &bound_elsewhere, issued).unwrap_err().kind(),
        ErrorKind::Unauthorized
    );
    // A grant verified longer ago than the cache trusts is checked again, whichever way it came.
    let long_lived = f.grant("acme", "a", 3600, issued);
    let sealed_long = f.client.transport_key(&f.resolver_key.public()).unwrap().seal_grant(&long_lived);
    let long = SealedGrantRef { sealed: sealed_long.as_bytes(), ..arrived };
    gate.authorize(long, &resolver_side, &need, issued).unwrap();
    gate.authorize(long, &resolver_side, &need, issued + 299).unwrap();
    assert_eq!(gate.signatures_checked(), 2);
    gate.authorize(long, &resolver_side, &need, issued + 300).unwrap();
    assert_eq!(gate.signatures_checked(), 3, "verified again after VERIFIED_FOR");
    // Oversized: refused before any work.
    let huge = vec![0u8; 5000];
    let oversized = SealedGrantRef { sealed: &huge, ..arrived };
    assert_eq!(gate.authorize(oversized, &resolver_side, &need, issued).unwrap_err().kind(), ErrorKind::Unauthorized);
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
    other.transport_key(&f.resolver_key.public()).unwrap().authenticate(&mut stranger, subject, &grant).unwrap();

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
        f.authenticate(&mut late, subject, &grant);
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

#[tokio::test]
async fn a_secret_is_found_up_the_lineage_and_the_nearest_namespace_wins() {
    let memory = Arc::new(MemoryBackend::new("local"));
    store_x(&memory, "company", "company's");
    store_x(&memory, "company.team", "team's");
    let f = bound(&memory, &[], CacheSettings::default());

    let read = f.read("company.team.etl").await.unwrap();
    assert_eq!(read, Read::new("company.team", "team's", "backend"), "company.team is nearer than company");
    assert_eq!(memory.calls().gets, 2, "company.team.etl, then company.team");

    let read = f.read("company.sales.emea").await.unwrap();
    assert_eq!(read, Read::new("company", "company's", "backend"));
    assert_eq!(memory.calls().gets, 5, "company.sales.emea, company.sales, then company");

    // Each level's answer is cached, the misses as negative entries.
    let read = f.read("company.sales.emea").await.unwrap();
    assert_eq!(read, Read::new("company", "company's", "cache"));
    assert_eq!(f.read("company").await.unwrap(), Read::new("company", "company's", "cache"));
    assert_eq!(memory.calls().gets, 5);

    let err = f.read("other.team").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.message(), "secret X not found in namespace other.team or its ancestors");
}

#[tokio::test]
async fn a_read_of_several_names_answers_cached_and_loaded_ones_in_order() {
    let memory = Arc::new(MemoryBackend::new("local"));
    let (company, team) = (
        Scope::new(TenantId::new("acme").unwrap(), Namespace::new("company").unwrap()),
        Scope::new(TenantId::new("acme").unwrap(), Namespace::new("company.team").unwrap()),
    );
    for (scope, name, value) in [(&company, "A", "a"), (&team, "B", "b"), (&company, "C", "c")] {
        memory.insert(scope, &SecretName::new(name).unwrap(), value, Tags::new());
    }
    let f = bound(&memory, &[], CacheSettings::default());

    // A is loaded (and cached, with the negative entry of company.team on the way).
    assert_eq!(
        f.read_all("company.team", &["A"]).await.unwrap()[0].as_ref().unwrap(),
        &Read::new("company", "a", "backend")
    );
    assert_eq!(memory.calls().gets, 2);

    // A from the cache, B and C loaded concurrently, MISSING not found anywhere, A again.
    let reads = f.read_all("company.team", &["A", "B", "MISSING", "C", "A"]).await.unwrap();
    assert_eq!(reads[0].as_ref().unwrap(), &Read::new("company", "a", "cache"));
    assert_eq!(reads[1].as_ref().unwrap(), &Read::new("company.team", "b", "backend"));
    let missing = reads[2].as_ref().unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert_eq!(missing.message(), "secret MISSING not found in namespace company.team or its ancestors");
    assert_eq!(reads[3].as_ref().unwrap(), &Read::new("company", "c", "backend"));
    assert_eq!(reads[4].as_ref().unwrap(), &Read::new("company", "a", "cache"));
    assert_eq!(memory.calls().gets, 2 + 1 + 2 + 2, "B at company.team; MISSING and C at both levels");

    // Now every level of every name is cached: nothing reaches the backend. A name or version
    // that is not valid fails alone, before any lookup.
    let reads = f.read_all("company.team", &["C", "MISSING", "bad name", "B"]).await.unwrap();
    assert_eq!(reads[0].as_ref().unwrap(), &Read::new("company", "c", "cache"));
    assert_eq!(reads[1].as_ref().unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(reads[2].as_ref().unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(reads[3].as_ref().unwrap(), &Read::new("company.team", "b", "cache"));
    assert_eq!(memory.calls().gets, 7);

    // C dropped at company only: company.team's negative entry is answered once, and the load
    // goes on from company, where the cache left off.
    f.resolver.cache().invalidate(&company.tenant, &company.namespace, &SecretName::new("C").unwrap());
    let negative_hits = f.resolver.metrics().cache_negative_hits;
    let reads = f.read_all("company.team", &["C"]).await.unwrap();
    assert_eq!(reads[0].as_ref().unwrap(), &Read::new("company", "c", "backend"));
    assert_eq!(memory.calls().gets, 8);
    assert_eq!(f.resolver.metrics().cache_negative_hits, negative_hits + 1, "each level is looked up once");
}

#[tokio::test]
async fn only_not_found_falls_through_to_an_ancestor() {
    for kind in [ErrorKind::Unavailable, ErrorKind::PermissionDenied, ErrorKind::RateLimited] {
        let root = Arc::new(MemoryBackend::new("root"));
        store_x(&root, "company", "company's");
        let team = Arc::new(MemoryBackend::new("team"));
        team.set_failure(Some(kind));
        let f = bound(&root, &[("company.team", &team)], CacheSettings::default());

        let err = f.read("company.team.etl").await.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert_eq!(err.message(), "memory backend \"team\": failure set by the test");
        assert_eq!((team.calls().gets, root.calls().gets), (1, 0), "{kind:?}: the walk stopped at the failure");

        // The failure was not cached: once the nearer binding answers "not found", the walk
        // goes on to the ancestor, through the tenant's default binding.
        team.set_failure(None);
        assert_eq!(f.read("company.team.etl").await.unwrap(), Read::new("company", "company's", "backend"));
        assert_eq!((team.calls().gets, root.calls().gets), (3, 1));
    }
}

#[tokio::test(start_paused = true)]
async fn a_stale_value_is_served_inside_stale_if_error_and_unavailable_after() {
    let memory = Arc::new(MemoryBackend::new("local"));
    store_x(&memory, "company.team", "v1");
    let cache = CacheSettings {
        ttl: Duration::from_secs(60),
        stale_if_error: Duration::from_secs(30),
        ..CacheSettings::default()
    };
    let f = bound(&memory, &[], cache);
    assert_eq!(f.read("company.team").await.unwrap(), Read::new("company.team", "v1", "backend"));
    advance(Duration::from_secs(59)).await;
    assert_eq!(f.read("company.team").await.unwrap(), Read::new("company.team", "v1", "cache"));
    assert_eq!(memory.calls().gets, 1);

    // Past the ttl the backend is read again; it fails, so the old value is served, marked.
    advance(Duration::from_secs(1)).await;
    memory.set_failure(Some(ErrorKind::Unavailable));
    assert_eq!(f.read("company.team").await.unwrap(), Read::new("company.team", "v1", "stale"));
    advance(Duration::from_secs(30) - Duration::from_millis(1)).await;
    assert_eq!(f.read("company.team").await.unwrap(), Read::new("company.team", "v1", "stale"));
    assert_eq!((memory.calls().gets, f.resolver.metrics().stale_served), (3, 2));

    // ttl + stale_if_error after the load, the window has closed.
    advance(Duration::from_millis(1)).await;
    let err = f.read("company.team").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!((memory.calls().gets, f.resolver.metrics().stale_served), (4, 2));

    memory.set_failure(None);
    assert_eq!(f.read("company.team").await.unwrap(), Read::new("company.team", "v1", "backend"));
}

#[tokio::test(start_paused = true)]
async fn a_backend_that_never_answers_fails_the_request_at_its_timeout() {
    let memory = Arc::new(MemoryBackend::new("local"));
    memory.set_fault(Some(Fault::Hang));
    let f = bound(&memory, &[], CacheSettings::default());
    let started = Instant::now();
    let err = f.read("company").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.message(), "the request did not complete within 8s");
    assert_eq!(started.elapsed(), ResolverSettings::default().request_timeout);
    assert_eq!((memory.calls().gets, memory.in_flight()), (1, 0), "the hung read was dropped");
}

/// A read whose sealed items would exceed the 1 MiB reply limit is refused whole, before
/// anything is sealed, and its audit event says so for every item.
#[tokio::test]
async fn a_read_whose_reply_would_exceed_the_limit_is_refused_whole() {
    let memory = Arc::new(MemoryBackend::new("local"));
    store_x(&memory, "company", &"v".repeat(20 * 1024));
    let f = bound(&memory, &[], CacheSettings::default());
    // 64 × 20 KiB: more than a reply may hold; 32 × 20 KiB fits.
    let fits = f.read_all("company", &["X"; 32]).await.unwrap();
    assert!(fits.iter().all(|read| read.as_ref().is_ok_and(|r| r.value.len() == 20 * 1024)));
    let subject = "hush.v1.get.acme.company";
    let items = (0..64).map(|_| GetItem { name: "X".into(), path: None, version: None }).collect();
    let envelope = f.envelope(subject, f.grant("acme", "company", 600, now()), RequestBody::Get(GetRequest { items }));
    let handled = f.resolver.handle(subject, &envelope.encode().unwrap()).await;
    let refused = Error::from(ResponseEnvelope::decode(&handled.reply).unwrap().body.expect_err("refused"));
    assert_eq!(refused.kind(), ErrorKind::InvalidInput);
    assert!(refused.message().contains("reply too large"), "{refused}");
    assert!(handled.reply.len() < 1024, "an error reply, no sealed items");
    let audit: serde_json::Value = serde_json::from_slice(&handled.audit.expect("an audit event").1).unwrap();
    assert_eq!(audit["outcome"], "invalid_input");
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 64);
    assert!(items.iter().all(|item| item["outcome"] == "invalid_input"), "{audit}");
}

/// Behind a NATS server that takes smaller messages than 1 MiB, replies are held to its
/// `max_payload`; 0 (not known yet) and anything over 1 MiB leave the 1 MiB limit.
#[tokio::test]
async fn replies_are_held_to_the_servers_max_payload() {
    let memory = Arc::new(MemoryBackend::new("local"));
    store_x(&memory, "company", &"v".repeat(1024));
    let f = bound(&memory, &[], CacheSettings::default());
    f.resolver.limit_replies_to(16 * 1024);
    assert!(f.read_all("company", &["X"; 8]).await.unwrap().iter().all(Result::is_ok), "8 KiB fits");
    let refused = f.read_all("company", &["X"; 32]).await.expect_err("32 KiB does not");
    assert_eq!(refused.kind(), ErrorKind::InvalidInput);
    assert!(refused.message().contains("the NATS server's max_payload"), "{refused}");
    for unknown_or_larger in [0, 8 << 20] {
        f.resolver.limit_replies_to(unknown_or_larger);
        assert!(f.read_all("company", &["X"; 32]).await.unwrap().iter().all(Result::is_ok), "1 MiB again");
    }
}
