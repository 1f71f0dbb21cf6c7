//! The `request` target: the decoders of what arrives on NATS, and the checks hushd makes of a
//! request before it reads anything.
//!
//! The payload goes through every decoder of `hush-proto` (request, response, change event);
//! a request that decodes must encode back to itself. Then the request path's checks up to
//! the backend, with hush's own functions: the subject (`subject::parse_request`), the
//! transport key of the client key it names, the request MAC, the sealed grant, the grant
//! against the subject (`GrantVerifier::authorize`), and each read item's name, version and
//! path. The `resolver` target runs the same inputs through `Resolver::handle` itself.

use std::time::Duration;

use hush_core::{GrantScope, SecretName, SecretPath, VersionId};
use hush_crypto::{Direction, GrantNeed, GrantVerifier, SealAad};
use hush_proto::PROTOCOL_VERSION;
use hush_proto::message::{ChangeEvent, RequestBody, RequestEnvelope, ResponseEnvelope};
use hush_proto::subject::{self, AdminOp, RequestSubject};

use crate::fixed_keys::FixedKeys;
use crate::request_input::{REAUTHENTICATE, RequestInput, RequestSigner, unix_now};

/// The longest grant lifetime the verifier accepts: hushd's default.
const MAX_GRANT_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The fixed keys, a verifier trusting their issuers, and the request signer.
#[derive(Debug)]
pub struct RequestTarget {
    keys: FixedKeys,
    verifier: GrantVerifier,
    signer: RequestSigner,
}

impl Default for RequestTarget {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestTarget {
    /// The target with the fixed keys.
    ///
    /// # Panics
    ///
    /// When the fixed keys cannot be loaded.
    pub fn new() -> Self {
        let keys = FixedKeys::load();
        let verifier = keys.verifier(MAX_GRANT_LIFETIME);
        let signer = RequestSigner::new(&keys);
        Self { keys, verifier, signer }
    }

    /// Runs one input; panics when a property does not hold.
    pub fn run(&self, data: &[u8]) {
        let Some(input) = RequestInput::split(data) else { return };
        decode_every_message(input.payload);
        let Ok(mut envelope) = RequestEnvelope::decode(input.payload) else { return };
        if input.flags & REAUTHENTICATE != 0 {
            envelope = self.signer.authenticate(&self.keys, input.flags, &input.subject, envelope);
        }
        self.check_request(&input.subject, &envelope);
    }

    /// What the resolver checks before it reads: subject, body, MAC, grant, items.
    fn check_request(&self, subject_text: &str, envelope: &RequestEnvelope) {
        let Ok(target) = subject::parse_request(subject_text) else { return };
        let scope = match (&target, &envelope.body) {
            (RequestSubject::Get { .. }, RequestBody::Get(_)) => GrantScope::Read,
            (RequestSubject::Admin { op: AdminOp::Put, .. }, RequestBody::Put(_))
            | (RequestSubject::Admin { op: AdminOp::Delete, .. }, RequestBody::Delete(_))
            | (RequestSubject::Admin { op: AdminOp::List, .. }, RequestBody::List(_)) => GrantScope::Admin,
            _ => return,
        };
        if envelope.resolver_key_id != self.keys.resolver.key_id() {
            return;
        }
        let Ok(transport) = self.keys.resolver.transport_key(&envelope.client_key) else { return };
        if transport.verify_envelope(envelope, subject_text).is_err() {
            return;
        }
        let grant = transport.open_grant(&envelope.sealed_grant);
        assert!(
            envelope.client_key != self.keys.client.public() || grant.is_ok(),
            "a request the fixed client authenticated has a grant the resolver cannot open"
        );
        let Ok(grant) = grant else { return };
        let need = GrantNeed {
            tenant: target.tenant(),
            namespace: target.namespace(),
            scope,
            client_key: &envelope.client_key,
            require_bound: true,
        };
        let Ok(claims) = self.verifier.authorize(&grant, &need, unix_now()) else { return };
        assert_eq!(&claims.tenant, target.tenant(), "a grant for another tenant was accepted");
        assert_eq!(&claims.namespace, target.namespace(), "a grant for another namespace was accepted");
        assert_eq!(claims.cnf, Some(envelope.client_key), "a grant bound to another key was accepted");
        match &envelope.body {
            RequestBody::Get(get) => {
                for item in &get.items {
                    let _ = SecretName::new(item.name.as_str());
                    let _ = item.version.as_deref().map(VersionId::new);
                    let _ = item.path.as_deref().map(SecretPath::parse);
                }
            }
            RequestBody::Put(put) => {
                let aad = SealAad {
                    direction: Direction::ToResolver,
                    request_id: &envelope.request_id,
                    subject: subject_text,
                    name: &put.name,
                    version: "",
                };
                let _ = transport.open(&aad, &put.sealed_value);
            }
            RequestBody::Delete(_) | RequestBody::List(_) => {}
        }
    }
}

/// Every decoder of a NATS payload: a request (hushd), a response (the client), a change
/// event (every replica). A message that decodes must encode to bytes that decode to it again.
fn decode_every_message(payload: &[u8]) {
    if let Ok(request) = RequestEnvelope::decode(payload) {
        assert_eq!(request.version, PROTOCOL_VERSION);
        let encoded = request.encode().expect("a decoded request encodes");
        assert_eq!(RequestEnvelope::decode(&encoded).expect("it decodes again"), request, "request round trip");
    }
    if let Ok(response) = ResponseEnvelope::decode(payload) {
        let encoded = response.encode().expect("a decoded response encodes");
        assert_eq!(ResponseEnvelope::decode(&encoded).expect("it decodes again"), response, "response round trip");
    }
    if let Ok(event) = ChangeEvent::decode(payload) {
        let encoded = event.encode().expect("a decoded change event encodes");
        assert_eq!(ChangeEvent::decode(&encoded).expect("it decodes again"), event, "change event round trip");
    }
}
