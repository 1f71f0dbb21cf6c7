//! The client's own CPU per `secret()`, without NATS: what a worker spends beyond a bare
//! request/reply. `client/request` builds a request as `hush-client` does (a fresh request id,
//! the session's sealed grant, the body encoded and MACed, the envelope encoded);
//! `client/reply` reads the answer (decode, open the sealed value, teach the masker);
//! `client/whole` is both.
//!
//! The reply comes from a real `Resolver::handle` over the in-memory backend, built once.

mod fixture;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use fixture::{admin_grant, memory_resolver, now_ms, store};
use hush_client::Masker;
use hush_core::{Namespace, TenantId};
use hush_crypto::{
    ClientKeyPair, Direction, GrantIssuer, ResolverKeyPair, SealAad, SealedGrant, TransportKey, random_request_id,
    resolver_key_id,
};
use hush_proto::message::{
    GetItem, GetRequest, RequestBody, RequestEnvelope, ResponseBody, ResponseEnvelope, sealed_item_label,
};

/// What a worker holds: its key pair, the transport key, the resolver key id, a grant and
/// the grant sealed once for its session.
struct Worker {
    keys: ClientKeyPair,
    transport: TransportKey,
    resolver_key_id: [u8; 8],
    grant: String,
    sealed_grant: SealedGrant,
}

impl Worker {
    /// The request bytes of one `secret(name)`, as `HushClient::request_with` builds them.
    fn request(&self, subject: &str, name: &str) -> ([u8; 16], Vec<u8>) {
        let request_id = random_request_id();
        let body =
            RequestBody::Get(GetRequest { items: vec![GetItem { name: name.into(), path: None, version: None }] });
        let mut envelope = RequestEnvelope::new(request_id, self.keys.public(), self.resolver_key_id, now_ms(), body);
        (request_id, self.transport.authenticate_and_encode(&mut envelope, subject, &self.sealed_grant).unwrap())
    }

    /// Reads the reply to a one-name request, as `Session::fetch_chunk` does.
    fn reply(&self, subject: &str, name: &str, request_id: &[u8; 16], reply: &[u8], masker: &Masker) -> usize {
        let response = ResponseEnvelope::decode(reply).unwrap();
        assert_eq!(&response.request_id, request_id);
        let Ok(ResponseBody::Get(mut items)) = response.body else { panic!("not a get answer") };
        let resolved = items.pop().unwrap().unwrap();
        let label = sealed_item_label(0, name);
        let aad = SealAad {
            direction: Direction::ToClient,
            request_id,
            subject,
            name: &label,
            version: resolved.version.as_deref().unwrap_or(""),
        };
        let value = self.transport.open(&aad, &resolved.sealed_value).unwrap();
        masker.add(&value);
        value.len()
    }
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let resolver_key = ResolverKeyPair::generate();
    let resolver_public = resolver_key.public();
    let issuer = GrantIssuer::generate();
    let resolver = memory_resolver(resolver_key, &issuer);
    let keys = ClientKeyPair::generate();
    let (tenant, namespace) = (TenantId::new("acme").unwrap(), Namespace::new("company.team.etl").unwrap());
    let transport = keys.transport_key(&resolver_public).unwrap();
    let grant = admin_grant(&issuer, &keys, &tenant, &namespace);
    let worker = Worker {
        sealed_grant: transport.seal_grant(&grant),
        transport,
        resolver_key_id: resolver_key_id(&resolver_public),
        grant,
        keys,
    };
    // Store the secret through the resolver, then take one real reply to a read of it.
    let location = (&tenant, &namespace);
    let (transport, grant) = (&worker.transport, &worker.grant);
    runtime.block_on(store(
        &resolver,
        &worker.keys,
        transport,
        &resolver_public,
        grant,
        location,
        "DB",
        b"correct horse battery staple",
    ));
    let subject = hush_proto::subject::get(&tenant, &namespace);
    let (request_id, payload) = worker.request(&subject, "DB");
    let reply = runtime.block_on(resolver.handle(&subject, &payload)).reply;
    let masker = Masker::new();
    assert_eq!(worker.reply(&subject, "DB", &request_id, &reply, &masker), 28);

    c.bench_function("client/request", |b| b.iter(|| black_box(worker.request(&subject, "DB"))));
    c.bench_function("client/reply", |b| {
        b.iter(|| black_box(worker.reply(&subject, "DB", &request_id, &reply, &masker)))
    });
    c.bench_function("client/whole", |b| {
        b.iter(|| {
            let request = black_box(worker.request(&subject, "DB"));
            black_box((request, worker.reply(&subject, "DB", &request_id, &reply, &masker)))
        })
    });
}

criterion_group! {
    name = client;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(client);
