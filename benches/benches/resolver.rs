//! The resolver's per-request CPU path, without NATS: what a cached `secret()` costs hushd.
//!
//! `handle/cached_get` is the whole path (decode, grant check, transport key, request MAC,
//! cache hit, seal the reply, encode) through `Resolver::handle`, `handle/cached_get_64` the same for a
//! `secrets()` of 64 names; the other benches split it into its steps.
//!
//! The resolver is built directly over the shared in-memory backend
//! (`hush_backend_behavior::MemoryBackend`) with the configuration's defaults: a cached read
//! never reaches a backend, so the bench needs neither SQL nor hushd's config and factory.

mod fixture;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use fixture::{admin_grant, memory_resolver, now, now_ms, store};
use hush_core::{GrantScope, Namespace, SecretValue, TenantId};
use hush_crypto::{
    ClientKeyPair, GrantIssuer, GrantRequest, GrantVerifier, ReplyAad, ResolverKeyPair, TransportKey,
    random_request_id, resolver_key_id,
};
use hush_proto::codec::{self, MAX_RESPONSE_BYTES};
use hush_proto::message::{
    GetItem, GetRequest, ReadItems, RequestBody, RequestEnvelope, ResolvedSecret, ResponseBody, ResponseEnvelope,
};
use hush_resolver::Resolver;

/// An envelope as `hush-client` builds it: sent now, MAC under the client's transport key.
fn envelope(
    transport: &TransportKey,
    client: &ClientKeyPair,
    resolver_public: &[u8; 32],
    subject: &str,
    grant: &str,
    request_id: [u8; 16],
    body: RequestBody,
) -> RequestEnvelope {
    let mut envelope =
        RequestEnvelope::new(request_id, client.public(), resolver_key_id(resolver_public), now_ms(), body);
    transport.authenticate(&mut envelope, subject, grant).unwrap();
    envelope
}

/// What `handle/cached_get_64` reads: `secrets()` of this many names, each cached.
const BATCH: usize = 64;

/// The resolver with `DB_PASSWORD` and `BATCH` more secrets cached, a get subject, a one-name
/// request, a `BATCH`-name request, and the client's transport key.
struct Fixture {
    resolver: Resolver,
    subject: String,
    one: Vec<u8>,
    batch: Vec<u8>,
    transport: TransportKey,
}

fn fixture(runtime: &tokio::runtime::Runtime) -> Fixture {
    let resolver_key = ResolverKeyPair::generate();
    let resolver_public = resolver_key.public();
    let issuer = GrantIssuer::generate();
    let resolver = memory_resolver(resolver_key, &issuer);

    let client = ClientKeyPair::generate();
    let tenant = TenantId::new("acme").unwrap();
    let namespace = Namespace::new("company.team.etl").unwrap();
    let grant = admin_grant(&issuer, &client, &tenant, &namespace);
    let transport = client.transport_key(&resolver_public).unwrap();
    let location = (&tenant, &namespace);
    let names: Vec<String> = (0..BATCH).map(|i| format!("BATCH_{i:02}")).collect();
    let batch = names.iter().map(|name| (name.as_str(), format!("{name}-{:0>90}", 7)));
    for (name, value) in std::iter::once(("DB_PASSWORD", "correct horse battery staple".to_owned())).chain(batch) {
        runtime.block_on(store(
            &resolver,
            &client,
            &transport,
            &resolver_public,
            &grant,
            location,
            name,
            value.as_bytes(),
        ));
    }

    let subject = hush_proto::subject::get(&tenant, &namespace);
    let body =
        RequestBody::Get(GetRequest { items: vec![GetItem { name: "DB_PASSWORD".into(), path: None, version: None }] });
    let get_one = envelope(&transport, &client, &resolver_public, &subject, &grant, random_request_id(), body);
    let one = get_one.encode().unwrap();
    let items = names.into_iter().map(|name| GetItem { name, path: None, version: None }).collect();
    let get_batch = envelope(
        &transport,
        &client,
        &resolver_public,
        &subject,
        &grant,
        random_request_id(),
        RequestBody::Get(GetRequest { items }),
    );
    let batch = get_batch.encode().unwrap();
    // Warm the cache: the secrets are stored in company.team.etl itself.
    for (request, payload, count) in [(&get_one, &one, 1), (&get_batch, &batch, BATCH)] {
        let first = runtime.block_on(resolver.handle(&subject, payload));
        let Ok(ResponseBody::Get(sealed)) = ResponseEnvelope::decode(&first.reply).unwrap().body else {
            panic!("a get answer")
        };
        let aad = ReplyAad { request_id: &request.request_id, subject: &subject, request_mac: &request.mac };
        let opened = transport.open_reply(&aad, &sealed.0).unwrap();
        let items: ReadItems<'_> = codec::decode_borrowed(&opened, MAX_RESPONSE_BYTES).unwrap();
        assert!(items.len() == count && items.iter().all(Result::is_ok));
    }
    Fixture { resolver, subject, one, batch, transport }
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let Fixture { resolver, subject, one: payload, batch, transport } = fixture(&runtime);

    c.bench_function("handle/cached_get", |b| {
        b.to_async(&runtime).iter(|| async { black_box(resolver.handle(&subject, &payload).await) })
    });
    c.bench_function("handle/cached_get_64", |b| {
        b.to_async(&runtime).iter(|| async { black_box(resolver.handle(&subject, &batch).await) })
    });

    c.bench_function("step/decode_request", |b| b.iter(|| black_box(RequestEnvelope::decode(&payload).unwrap())));

    let reply = runtime.block_on(resolver.handle(&subject, &payload)).reply;
    let response = ResponseEnvelope::decode(&reply).unwrap();
    c.bench_function("step/encode_response", |b| b.iter(|| black_box(response.encode().unwrap())));

    let client = ClientKeyPair::generate();
    let key = client.transport_key(&ResolverKeyPair::generate().public()).unwrap();
    let request_id = random_request_id();
    let aad = ReplyAad { request_id: &request_id, subject: &subject, request_mac: &[7; 32] };
    let value = SecretValue::from("correct horse battery staple");
    let one_item =
        [Ok(ResolvedSecret { namespace: "company.team.etl", version: Some("1"), value: value.expose(), stale: false })];
    c.bench_function("step/seal_reply", |b| {
        b.iter(|| black_box(key.seal_reply(&aad, &one_item, MAX_RESPONSE_BYTES, |_| Vec::new()).unwrap()))
    });

    let decoded = RequestEnvelope::decode(&payload).unwrap();
    let mac_key = client.transport_key(&ResolverKeyPair::generate().public()).unwrap();
    c.bench_function("step/verify_request_mac", |b| {
        // Another client's key: the check fails, which costs what a success costs.
        b.iter(|| black_box(mac_key.verify_envelope(&decoded, &subject).is_err()))
    });

    // The exchange's own key (both sides derive it): opening the sealed grant succeeds.
    c.bench_function("step/open_grant", |b| b.iter(|| black_box(transport.open_grant(&decoded.sealed_grant).unwrap())));

    let issuer = GrantIssuer::generate();
    let verifier = GrantVerifier::new(&[issuer.public()], Duration::from_secs(86_400)).unwrap();
    let token = issuer
        .issue(&GrantRequest {
            tenant: TenantId::new("acme").unwrap(),
            namespace: Namespace::new("company").unwrap(),
            scope: GrantScope::Read,
            ttl: Duration::from_secs(600),
            execution_id: None,
            cnf: None,
            now: now(),
        })
        .unwrap();
    c.bench_function("step/verify_grant_uncached", |b| b.iter(|| black_box(verifier.verify(&token, now()).unwrap())));
    c.bench_function("step/derive_transport_key_uncached", |b| {
        let resolver = ResolverKeyPair::generate();
        b.iter(|| black_box(resolver.transport_key(&client.public()).unwrap()))
    });
}

criterion_group! {
    name = resolver;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(resolver);
