//! The `resolver` target: `Resolver::handle(subject, payload)`, hushd's whole request path
//! without NATS, on the `request` target's inputs (see `request_input.rs`).
//!
//! Each input gets a new resolver (so no input sees what an earlier one cached, stored or
//! recorded as replayed) over an in-memory backend holding a few secrets in `acme`'s
//! `company` and `company.team`, one of them JSON for paths to select in. Properties: the
//! reply always decodes, names the request's id when the request decoded, and a get reply's
//! sealed items open with the client's transport key for that request and hold one result per
//! name; change events decode; audit
//! events are JSON; no stored value appears in plaintext in a reply, an audit event or a
//! change event.

use std::sync::Arc;

use hush_backend_behavior::MemoryBackend;
use hush_cache::{CacheSettings, SecretCache};
use hush_core::{BindingTree, Namespace, Scope, SecretName, SharedBackend, Tags, TenantBindings, TenantId};
use hush_crypto::{GrantVerifier, ReplyAad, TransportKey};
use hush_proto::codec::{self, MAX_RESPONSE_BYTES};
use hush_proto::message::{ChangeEvent, ReadItems, RequestBody, RequestEnvelope, ResponseBody, ResponseEnvelope};
use hush_resolver::{MemoryLedger, Resolver, ResolverSettings};

use crate::fixed_keys::{FixedKeys, OWN_ISSUER_TENANT};
use crate::request_input::{REAUTHENTICATE, RequestInput, RequestSigner};

/// The secrets every new resolver's backend holds: (namespace, name, value). No value can be
/// a name or a path the fuzzer sends back in an error message by chance.
const STORED: [(&str, &str, &str); 4] = [
    ("company", "DB_PASSWORD", "fuzz stored value: db password 7f3a!"),
    ("company.team", "API_TOKEN", "fuzz stored value: api token 91c2!"),
    ("company.team", "CONFIG", r#"{"user":"app","password":"fuzz stored value: json 5e8b!","ports":[1,2]}"#),
    ("company", "SHARED", "fuzz stored value: shared c04d!"),
];

/// The text every stored value starts with: it must never leave the resolver unsealed.
const STORED_MARKER: &[u8] = b"fuzz stored value";

/// The fixed keys, the grant verifier and a single-threaded tokio runtime.
#[derive(Debug)]
pub struct ResolverTarget {
    keys: FixedKeys,
    verifier: GrantVerifier,
    signer: RequestSigner,
    transport: TransportKey,
    runtime: tokio::runtime::Runtime,
}

impl Default for ResolverTarget {
    fn default() -> Self {
        Self::new()
    }
}

impl ResolverTarget {
    /// The target with the fixed keys.
    ///
    /// # Panics
    ///
    /// When the fixed keys cannot be loaded or the runtime cannot start.
    pub fn new() -> Self {
        let keys = FixedKeys::load();
        let verifier = keys.verifier(std::time::Duration::from_secs(86_400));
        let signer = RequestSigner::new(&keys);
        let transport = keys.client.transport_key(&keys.resolver.public()).expect("the fixed keys agree");
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a tokio runtime starts");
        Self { keys, verifier, signer, transport, runtime }
    }

    /// A new resolver over a new in-memory backend with [`STORED`], with the configuration's
    /// defaults (audit on, cache on, bound grants required).
    fn resolver(&self) -> Resolver {
        let backend = Arc::new(MemoryBackend::new("memory"));
        let tenant = TenantId::new("acme").expect("a valid tenant id");
        for (namespace, name, value) in STORED {
            let scope = Scope::new(tenant.clone(), Namespace::new(namespace).expect("a valid namespace"));
            backend.insert(&scope, &SecretName::new(name).expect("a valid name"), value, Tags::new());
        }
        let shared: SharedBackend = backend;
        let mut bindings = BindingTree::new();
        bindings.insert_tenant(tenant, TenantBindings { default: Some(shared.clone()), ..Default::default() });
        bindings.insert_tenant(
            OWN_ISSUER_TENANT.parse().expect("a valid tenant id"),
            TenantBindings { default: Some(shared), ..Default::default() },
        );
        let settings = ResolverSettings::default();
        let ledger = Arc::new(MemoryLedger::new(settings.replay_window));
        let key = self.keys.resolver_key();
        Resolver::new(
            bindings,
            SecretCache::new(CacheSettings::default()),
            self.verifier.clone(),
            vec![key],
            ledger,
            settings,
        )
    }

    /// Runs one input; panics when a property does not hold.
    pub fn run(&self, data: &[u8]) {
        let Some(input) = RequestInput::split(data) else { return };
        let mut payload = input.payload.to_vec();
        let decoded = RequestEnvelope::decode(&payload).ok();
        if input.flags & REAUTHENTICATE != 0 {
            let Some(envelope) = decoded.clone() else { return };
            let envelope = self.signer.authenticate(&self.keys, input.flags, &input.subject, envelope);
            let Ok(bytes) = envelope.encode() else { return };
            payload = bytes;
        }
        let request = RequestEnvelope::decode(&payload).ok();
        let resolver = self.resolver();
        let handled = self.runtime.block_on(resolver.handle(&input.subject, &payload));

        let reply = ResponseEnvelope::decode(&handled.reply).expect("every reply decodes");
        assert!(!contains(&handled.reply, STORED_MARKER), "a reply holds a stored value in plaintext");
        if let Some(request) = &request {
            assert_eq!(reply.request_id, request.request_id, "the reply names another request");
            self.open_values(&input.subject, request, &reply);
        }
        if let Some((_, audit)) = &handled.audit {
            assert!(serde_json::from_slice::<serde_json::Value>(audit).is_ok(), "an audit event is not JSON");
            assert!(!contains(audit, STORED_MARKER), "an audit event holds a stored value");
        }
        if let Some((_, change)) = &handled.change {
            assert!(ChangeEvent::decode(change).is_ok(), "a change event does not decode");
            assert!(!contains(change, STORED_MARKER), "a change event holds a stored value");
        }
    }

    /// Every get reply to the fixed client opens with its transport key, bound to the request
    /// (its id, subject and MAC), and holds one result per name asked.
    fn open_values(&self, subject: &str, request: &RequestEnvelope, reply: &ResponseEnvelope) {
        let (RequestBody::Get(get), Ok(ResponseBody::Get(sealed))) = (&request.body, &reply.body) else { return };
        assert_eq!(request.client_key, self.keys.client.public(), "a get was answered to a key that did not sign it");
        let aad = ReplyAad { request_id: &request.request_id, subject, request_mac: &request.mac };
        let opened = self.transport.open_reply(&aad, &sealed.0).expect("a get reply opens for its request");
        let items: ReadItems<'_> = codec::decode_borrowed(&opened, MAX_RESPONSE_BYTES).expect("its items decode");
        assert_eq!(items.len(), get.items.len(), "a get reply has one result per name");
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}
