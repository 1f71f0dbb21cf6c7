//! The client's own CPU per `secret()`, without NATS: what a worker spends beyond a bare
//! request/reply. `client/request` builds a request as `hush-client` does (a fresh request id,
//! the grant sealed to the exchange, the body encoded and MACed, the envelope encoded);
//! `client/reply` reads the answer (decode, open the sealed value, teach the masker);
//! `client/whole` is both.
//!
//! The reply comes from a real `Resolver::handle` over the in-memory backend, built once.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use hush_backend_behavior::MemoryBackend;
use hush_cache::{CacheSettings, SecretCache};
use hush_client::Masker;
use hush_core::{BindingTree, GrantScope, Namespace, SharedBackend, TenantBindings, TenantId};
use hush_crypto::{
    ClientKeyPair, Direction, GrantIssuer, GrantRequest, GrantVerifier, ResolverKeyPair, SealAad, TransportKey,
    random_request_id, resolver_key_id,
};
use hush_proto::message::{
    GetItem, GetRequest, PutRequest, RequestBody, RequestEnvelope, ResponseBody, ResponseEnvelope, sealed_item_label,
};
use hush_resolver::{MemoryLedger, Resolver, ResolverSettings};

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// What a worker holds: its key pair, the transport key, the resolver key id, a grant.
struct Worker {
    keys: ClientKeyPair,
    transport: TransportKey,
    resolver_key_id: [u8; 8],
    grant: String,
}

impl Worker {
    /// The request bytes of one `secret(name)`, as `HushClient::request_with` builds them.
    fn request(&self, subject: &str, name: &str) -> ([u8; 16], Vec<u8>) {
        let request_id = random_request_id();
        let body =
            RequestBody::Get(GetRequest { items: vec![GetItem { name: name.into(), path: None, version: None }] });
        let mut envelope = RequestEnvelope::new(request_id, self.keys.public(), self.resolver_key_id, now_ms(), body);
        self.transport.authenticate(&mut envelope, subject, &self.grant).unwrap();
        (request_id, envelope.encode().unwrap())
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
    let backend: SharedBackend = Arc::new(MemoryBackend::new("local"));
    let mut bindings = BindingTree::new();
    bindings
        .insert_tenant(TenantId::new("acme").unwrap(), TenantBindings { default: Some(backend), ..Default::default() });
    let verifier = GrantVerifier::new(&[issuer.public()], Duration::from_secs(86_400)).unwrap();
    let settings = ResolverSettings::default();
    let ledger = Arc::new(MemoryLedger::new(settings.replay_window));
    let resolver = Resolver::new(
        bindings,
        SecretCache::new(CacheSettings::default()),
        verifier,
        vec![resolver_key],
        ledger,
        settings,
    );

    let keys = ClientKeyPair::generate();
    let (tenant, namespace) = (TenantId::new("acme").unwrap(), Namespace::new("company.team.etl").unwrap());
    let grant = issuer
        .issue(&GrantRequest {
            tenant: tenant.clone(),
            namespace: namespace.clone(),
            scope: GrantScope::Admin,
            ttl: Duration::from_secs(3600),
            execution_id: Some("bench".into()),
            cnf: Some(keys.public()),
            now: now(),
        })
        .unwrap();
    let worker = Worker {
        transport: keys.transport_key(&resolver_public).unwrap(),
        resolver_key_id: resolver_key_id(&resolver_public),
        keys,
        grant,
    };

    // Store the secret through the resolver, then take one real reply to a read of it.
    let put_subject = hush_proto::subject::admin(hush_proto::subject::AdminOp::Put, &tenant, &namespace);
    let put_id = random_request_id();
    let aad = SealAad {
        direction: Direction::ToResolver,
        request_id: &put_id,
        subject: &put_subject,
        name: "DB",
        version: "",
    };
    let body = RequestBody::Put(PutRequest {
        name: "DB".into(),
        sealed_value: worker.transport.seal(&aad, b"correct horse battery staple"),
        tags: Default::default(),
    });
    let mut put = RequestEnvelope::new(put_id, worker.keys.public(), worker.resolver_key_id, now_ms(), body);
    worker.transport.authenticate(&mut put, &put_subject, &worker.grant).unwrap();
    let stored = runtime.block_on(resolver.handle(&put_subject, &put.encode().unwrap()));
    assert!(ResponseEnvelope::decode(&stored.reply).unwrap().body.is_ok());
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
