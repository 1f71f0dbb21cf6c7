//! The client's own CPU per `secret()`, without NATS: what a worker spends beyond a bare
//! request/reply. `client/request` builds a request as `hush-client` does (a fresh request id,
//! the session's sealed grant, the body encoded and MACed, the envelope encoded);
//! `client/reply` reads the answer (decode, open the sealed items, copy the value out, teach
//! the masker); `client/whole` is both; `client/reply_64` reads the answer to a `secrets()` of
//! 64 names.
//!
//! The reply comes from a real `Resolver::handle` over the in-memory backend, built once.

mod fixture;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use fixture::{admin_grant, memory_resolver, now_ms, store};
use hush_client::Masker;
use hush_core::SecretValue;
use hush_core::{Namespace, TenantId};
use hush_crypto::{
    ClientKeyPair, GrantIssuer, ReplyAad, ResolverKeyPair, SealedGrant, TransportKey, random_request_id,
    resolver_key_id,
};
use hush_proto::codec::{self, MAX_RESPONSE_BYTES};
use hush_proto::message::{
    GetItem, GetRequest, ReadItems, RequestBody, RequestEnvelope, ResponseBody, ResponseEnvelope, SealedItemsRef,
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
    /// The request bytes of a read of `names`, as `HushClient::request_with` builds them, and
    /// the request's id and MAC, which the reply is bound to.
    fn request(&self, subject: &str, names: &[&str]) -> (Sent, Vec<u8>) {
        let request_id = random_request_id();
        let items = names.iter().map(|&name| GetItem { name: name.into(), path: None, version: None }).collect();
        let body = RequestBody::Get(GetRequest { items });
        let mut envelope = RequestEnvelope::new(request_id, self.keys.public(), self.resolver_key_id, now_ms(), body);
        let payload = self.transport.authenticate_and_encode(&mut envelope, subject, &self.sealed_grant).unwrap();
        (Sent { id: request_id, mac: envelope.mac }, payload)
    }

    /// Reads the reply to a read, as `Session::fetch_chunk` does: the bytes of all values.
    fn reply(&self, subject: &str, sent: &Sent, reply: &[u8], masker: &Masker) -> usize {
        let response = ResponseEnvelope::decode_borrowed(reply).unwrap();
        assert_eq!(response.request_id, sent.id);
        let Ok(ResponseBody::Get(SealedItemsRef(sealed))) = response.body else { panic!("not a get answer") };
        let aad = ReplyAad { request_id: &sent.id, subject, request_mac: &sent.mac };
        let opened = self.transport.open_reply(&aad, sealed).unwrap();
        let items: ReadItems<'_> = codec::decode_borrowed(&opened, MAX_RESPONSE_BYTES).unwrap();
        let mut read = 0;
        for item in items {
            let value = SecretValue::new(item.unwrap().value.to_vec());
            masker.add(&value);
            read += value.len();
        }
        read
    }
}

/// A request's id and MAC.
struct Sent {
    id: [u8; 16],
    mac: [u8; 32],
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
    let names: Vec<String> = (0..64).map(|i| format!("BATCH_{i:02}")).collect();
    let values = names.iter().map(|name| (name.as_str(), format!("{name}-{:0>90}", 7)));
    for (name, value) in std::iter::once(("DB", "correct horse battery staple".to_owned())).chain(values) {
        runtime.block_on(store(
            &resolver,
            &worker.keys,
            transport,
            &resolver_public,
            grant,
            location,
            name,
            value.as_bytes(),
        ));
    }
    let subject = hush_proto::subject::get(&tenant, &namespace);
    let (sent, payload) = worker.request(&subject, &["DB"]);
    let reply = runtime.block_on(resolver.handle(&subject, &payload)).reply;
    let masker = Masker::new();
    assert_eq!(worker.reply(&subject, &sent, &reply, &masker), 28);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (sent_64, payload) = worker.request(&subject, &names);
    let reply_64 = runtime.block_on(resolver.handle(&subject, &payload)).reply;
    assert_eq!(worker.reply(&subject, &sent_64, &reply_64, &masker), 64 * 99);

    c.bench_function("client/request", |b| b.iter(|| black_box(worker.request(&subject, &["DB"]))));
    c.bench_function("client/reply", |b| b.iter(|| black_box(worker.reply(&subject, &sent, &reply, &masker))));
    c.bench_function("client/whole", |b| {
        b.iter(|| {
            let request = black_box(worker.request(&subject, &["DB"]));
            black_box((request, worker.reply(&subject, &sent, &reply, &masker)))
        })
    });
    c.bench_function("client/reply_64", |b| b.iter(|| black_box(worker.reply(&subject, &sent_64, &reply_64, &masker))));
}

criterion_group! {
    name = client;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(client);
