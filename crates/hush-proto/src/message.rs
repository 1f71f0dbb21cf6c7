//! Wire messages. Names, paths and versions travel as text and are validated by the
//! resolver per item, so one bad name in a batch gets its own precise error.
//!
//! Secret values never travel in plaintext: `sealed_value` fields hold `nonce ‖ ciphertext+tag`
//! produced by `hush-crypto`'s transport key (DESIGN.md section 4b).

use std::collections::BTreeMap;
use std::fmt;

use hush_core::{Error, ErrorKind, SecretMeta};
use serde::{Deserialize, Serialize};

use crate::PROTOCOL_VERSION;
use crate::codec::{self, CodecError, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};

/// A request: who asks (client key, sealed grant), under which id, when, for what, and the MAC
/// that proves the sender holds the client key (ARCHITECTURE.md "Request authentication").
///
/// `Debug` shows the sealed grant's length only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEnvelope {
    /// [`PROTOCOL_VERSION`].
    pub version: u16,
    /// 16 random bytes, bound into every sealed value of the exchange.
    pub request_id: [u8; 16],
    /// The client's X25519 public key.
    pub client_key: [u8; 32],
    /// Which resolver key the client sealed to (first 8 bytes of SHA-256 of its public key).
    pub resolver_key_id: [u8; 8],
    /// The grant token (`hush1.<claims>.<sig>`) sealed to the resolver with the transport key
    /// (AAD: to the resolver, the request id, the subject, `:grant`): nobody on NATS reads it,
    /// and it cannot be moved to another request.
    #[serde(with = "serde_bytes")]
    pub sealed_grant: Vec<u8>,
    /// When the client sent it, unix milliseconds: admin requests outside the resolver's
    /// replay window are refused.
    pub sent_at_ms: i64,
    /// The operation.
    pub body: RequestBody,
    /// HMAC-SHA256 under the request MAC key over the request id, subject, `sent_at_ms`, sealed
    /// grant and the encoded body.
    pub mac: [u8; 32],
}

impl fmt::Debug for RequestEnvelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestEnvelope")
            .field("version", &self.version)
            .field("request_id", &self.request_id)
            .field("client_key", &self.client_key)
            .field("resolver_key_id", &self.resolver_key_id)
            .field("sealed_grant", &format_args!("{} bytes", self.sealed_grant.len()))
            .field("sent_at_ms", &self.sent_at_ms)
            .field("body", &self.body)
            .field("mac", &"***")
            .finish()
    }
}

/// The operation a request asks for; it must match the subject's endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestBody {
    /// Read secrets.
    Get(GetRequest),
    /// Write a secret.
    Put(PutRequest),
    /// Delete a secret.
    Delete(DeleteRequest),
    /// List metadata.
    List(ListRequest),
}

/// Read 1 to 64 secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetRequest {
    /// The secrets, answered in the same order.
    pub items: Vec<GetItem>,
}

/// One secret to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetItem {
    /// Its name.
    pub name: String,
    /// A JSON path into the value (Pulumi ESC syntax), if any.
    pub path: Option<String>,
    /// A pinned version, if any.
    pub version: Option<String>,
}

/// Write a new version of a secret in the subject's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutRequest {
    /// Its name.
    pub name: String,
    /// The value, sealed client → resolver.
    #[serde(with = "serde_bytes")]
    pub sealed_value: Vec<u8>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// Delete a secret of the subject's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteRequest {
    /// Its name.
    pub name: String,
}

/// List secrets of the subject's namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRequest {
    /// Only secrets with all these tags.
    pub tags: BTreeMap<String, String>,
    /// Also descendant namespaces.
    pub recursive: bool,
}

/// A response to one request. `S` is how a read's sealed items are held: owned
/// ([`SealedItems`]), or borrowed from the received bytes ([`SealedItemsRef`], what
/// [`decode_borrowed`](ResponseEnvelope::decode_borrowed) gives); both encode the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseEnvelope<S = SealedItems> {
    /// [`PROTOCOL_VERSION`].
    pub version: u16,
    /// The request's id (all zero when the request could not be decoded).
    pub request_id: [u8; 16],
    /// The resolver key used to seal values.
    pub resolver_key_id: [u8; 8],
    /// The answer, or why there is none.
    pub body: Result<ResponseBody<S>, WireError>,
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseBody<S = SealedItems> {
    /// The items of a read, one per requested secret in request order, sealed to the client as
    /// one message: [`ReadItems`] inside (ARCHITECTURE.md, "Read replies").
    Get(S),
    /// The written version.
    Put(SecretMeta),
    /// Deleted.
    Delete,
    /// Metadata, never values.
    List(Vec<SecretMeta>),
}

/// A read reply's items as they travel: `nonce ‖ AES-256-GCM(codec(ReadItems)) ‖ tag`, sealed
/// by `hush_crypto::TransportKey::seal_reply` and opened by `open_reply`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedItems(#[serde(with = "serde_bytes")] pub Vec<u8>);

impl std::fmt::Debug for SealedItems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedItems({} bytes)", self.0.len())
    }
}

/// [`SealedItems`] borrowed from the reply they came in: opened from there, not copied first.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedItemsRef<'a>(#[serde(with = "serde_bytes")] pub &'a [u8]);

impl std::fmt::Debug for SealedItemsRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedItems({} bytes)", self.0.len())
    }
}

/// What a read reply seals: one result per requested secret, in request order.
pub type ReadItems<'a> = Vec<Result<ResolvedSecret<'a>, WireError>>;

/// [`ReadItems`] as the resolver writes them, its errors borrowed: the same encoding.
pub type ReadItemRefs<'a> = [Result<ResolvedSecret<'a>, &'a WireError>];

/// One secret read, inside a sealed reply: borrowed from the buffer it is encoded into or
/// decoded from, so a value is copied only into its own wiped buffer.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedSecret<'a> {
    /// The namespace it was found in (the request's, or an ancestor).
    pub namespace: &'a str,
    /// The version read, if the backend has versions.
    pub version: Option<&'a str>,
    /// The value (or the path's part of it).
    #[serde(with = "serde_bytes")]
    pub value: &'a [u8],
    /// Served from cache after the backend failed (`stale_if_error`).
    pub stale: bool,
}

impl std::fmt::Debug for ResolvedSecret<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedSecret")
            .field("namespace", &self.namespace)
            .field("version", &self.version)
            .field("value", &"***")
            .field("stale", &self.stale)
            .finish()
    }
}

/// An error on the wire: a kind by its stable name, and a message without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    /// [`ErrorKind::as_str`].
    pub kind: String,
    /// For humans.
    pub message: String,
    /// The configured name of the backend that failed, when a backend failed: a worker's error
    /// says which secret manager did not answer.
    pub backend: Option<String>,
}

impl From<&Error> for WireError {
    fn from(e: &Error) -> Self {
        WireError {
            kind: e.kind().as_str().to_owned(),
            message: e.message().to_owned(),
            backend: e.context_value("backend").map(str::to_owned),
        }
    }
}

impl From<WireError> for Error {
    fn from(e: WireError) -> Self {
        let kind = ErrorKind::from_name(&e.kind).unwrap_or(ErrorKind::Internal);
        let error = Error::new(kind, e.message);
        match e.backend {
            Some(backend) => error.with_context("backend", backend),
            None => error,
        }
    }
}

/// A secret changed: every replica drops it from its cache.
///
/// Authenticated with one MAC per resolver key the sender holds (ARCHITECTURE.md "Change
/// events"); a replica acts on it only when a MAC under a key it holds verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// [`PROTOCOL_VERSION`].
    pub version: u16,
    /// The secret's name (tenant and namespace are in the subject).
    pub name: String,
    /// When it was sent, unix milliseconds: events outside the replay window are dropped.
    pub sent_at_ms: i64,
    /// `(resolver key id, MAC under the change-event key derived from that resolver key)`.
    pub macs: Vec<([u8; 8], [u8; 32])>,
}

/// An audit event on `hush.v1.audit.<tenant>`, JSON so that log pipelines read it as is.
/// Never holds a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When the resolver received the request, unix milliseconds.
    pub time_ms: i64,
    /// The tenant.
    pub tenant: String,
    /// The namespace of the request subject.
    pub namespace: String,
    /// `get`, `put`, `delete` or `list`.
    pub operation: String,
    /// `ok`, or the error kind of the whole request.
    pub outcome: String,
    /// The execution id from the grant, when the grant was valid.
    pub execution_id: Option<String>,
    /// The request id, hex.
    pub request_id: String,
    /// The replica that answered.
    pub resolver: String,
    /// One entry per secret named.
    pub items: Vec<AuditItem>,
}

/// An [`AuditEvent`] as the resolver writes it, borrowing what it already holds: the same
/// JSON, without copying each field into a `String` first.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AuditEventRef<'a> {
    /// [`AuditEvent::time_ms`].
    pub time_ms: i64,
    /// [`AuditEvent::tenant`].
    pub tenant: &'a str,
    /// [`AuditEvent::namespace`].
    pub namespace: &'a str,
    /// [`AuditEvent::operation`].
    pub operation: &'a str,
    /// [`AuditEvent::outcome`].
    pub outcome: &'a str,
    /// [`AuditEvent::execution_id`].
    pub execution_id: Option<&'a str>,
    /// [`AuditEvent::request_id`].
    pub request_id: &'a str,
    /// [`AuditEvent::resolver`].
    pub resolver: &'a str,
    /// [`AuditEvent::items`].
    pub items: &'a [AuditItemRef<'a>],
}

impl AuditItem {
    /// The item as an [`AuditItemRef`], which writes the same JSON.
    pub fn borrowed(&self) -> AuditItemRef<'_> {
        AuditItemRef {
            name: &self.name,
            outcome: &self.outcome,
            found_in: self.found_in.as_deref(),
            version: self.version.as_deref(),
            source: self.source.as_deref(),
            backend: self.backend.as_deref(),
            error: self.error.as_deref(),
        }
    }
}

/// An [`AuditItem`] as the resolver writes it, borrowing: the same JSON.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AuditItemRef<'a> {
    /// [`AuditItem::name`].
    pub name: &'a str,
    /// [`AuditItem::outcome`].
    pub outcome: &'a str,
    /// [`AuditItem::found_in`].
    pub found_in: Option<&'a str>,
    /// [`AuditItem::version`].
    pub version: Option<&'a str>,
    /// [`AuditItem::source`].
    pub source: Option<&'a str>,
    /// [`AuditItem::backend`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<&'a str>,
    /// [`AuditItem::error`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
}

/// What happened to one secret of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditItem {
    /// The name as requested.
    pub name: String,
    /// `ok` or an error kind.
    pub outcome: String,
    /// Where it was found.
    pub found_in: Option<String>,
    /// The version read or written.
    pub version: Option<String>,
    /// `cache`, `backend` or `stale` for reads.
    pub source: Option<String>,
    /// The configured name of the backend whose failure this outcome is (`unavailable` when it
    /// did not answer in time, for instance); absent when no backend failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// What went wrong, for an outcome other than `ok` and `not_found`: the error's text, which
    /// never holds a value or a credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RequestEnvelope {
    /// A request of this protocol version with its grant and MAC still to be set: the
    /// client's transport key does both (`TransportKey::authenticate` in hush-crypto).
    pub fn new(
        request_id: [u8; 16],
        client_key: [u8; 32],
        resolver_key_id: [u8; 8],
        sent_at_ms: i64,
        body: RequestBody,
    ) -> Self {
        Self {
            version: PROTOCOL_VERSION,
            request_id,
            client_key,
            resolver_key_id,
            sealed_grant: Vec::new(),
            sent_at_ms,
            body,
            mac: [0; 32],
        }
    }

    /// The encoded body, as the request MAC covers it.
    pub fn encoded_body(&self) -> Result<Vec<u8>, CodecError> {
        codec::encode(&self.body, MAX_REQUEST_BYTES)
    }

    /// Encodes with the request limit.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        self.encode_with_body(&self.encoded_body()?)
    }

    /// Encodes with the request limit, given the body's encoding ([`encoded_body`](Self::encoded_body),
    /// which the MAC covers): the body is encoded once per request, not twice.
    pub fn encode_with_body(&self, body: &[u8]) -> Result<Vec<u8>, CodecError> {
        let head = EnvelopeHeadRef {
            version: self.version,
            request_id: &self.request_id,
            client_key: &self.client_key,
            resolver_key_id: &self.resolver_key_id,
            sealed_grant: &self.sealed_grant,
            sent_at_ms: self.sent_at_ms,
        };
        let mut bytes = Vec::with_capacity(96 + self.sealed_grant.len() + body.len());
        codec::encode_into(&head, &mut bytes)?;
        bytes.extend_from_slice(body);
        bytes.extend_from_slice(&self.mac);
        if bytes.len() > MAX_REQUEST_BYTES {
            return Err(CodecError::TooLarge { len: bytes.len(), limit: MAX_REQUEST_BYTES });
        }
        Ok(bytes)
    }

    /// Decodes with the request limit and checks the protocol version.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        Self::decode_with_body(bytes).map(|(envelope, _)| envelope)
    }

    /// [`decode`](Self::decode), and the body's encoding as received: what the MAC covers, so the
    /// resolver checks it without encoding the body again.
    pub fn decode_with_body(bytes: &[u8]) -> Result<(Self, &[u8]), CodecError> {
        let (head, read): (EnvelopeHead, usize) = codec::decode_prefix(bytes, MAX_REQUEST_BYTES)?;
        if head.version != PROTOCOL_VERSION {
            return Err(CodecError::Malformed(format!(
                "protocol version {} is not supported (this resolver speaks {PROTOCOL_VERSION})",
                head.version
            )));
        }
        // The body, then the MAC's 32 bytes (a fixed array has no length prefix).
        let (rest, mac) = bytes[read..]
            .split_last_chunk::<32>()
            .ok_or_else(|| CodecError::Malformed("the request ends before its MAC".into()))?;
        let body = codec::decode(rest, MAX_REQUEST_BYTES)?;
        let envelope = RequestEnvelope {
            version: head.version,
            request_id: head.request_id,
            client_key: head.client_key,
            resolver_key_id: head.resolver_key_id,
            sealed_grant: head.sealed_grant,
            sent_at_ms: head.sent_at_ms,
            body,
            mac: *mac,
        };
        Ok((envelope, rest))
    }
}

/// The fields of a [`RequestEnvelope`] before its body, in its order: bincode writes a struct
/// as its fields one after the other, so head, body and MAC written in turn are the envelope.
#[derive(Serialize)]
struct EnvelopeHeadRef<'a> {
    version: u16,
    request_id: &'a [u8; 16],
    client_key: &'a [u8; 32],
    resolver_key_id: &'a [u8; 8],
    #[serde(with = "serde_bytes")]
    sealed_grant: &'a [u8],
    sent_at_ms: i64,
}

/// [`EnvelopeHeadRef`], decoded.
#[derive(Deserialize)]
struct EnvelopeHead {
    version: u16,
    request_id: [u8; 16],
    client_key: [u8; 32],
    resolver_key_id: [u8; 8],
    #[serde(with = "serde_bytes")]
    sealed_grant: Vec<u8>,
    sent_at_ms: i64,
}

impl ResponseEnvelope {
    /// Encodes with the response limit.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec::encode(self, MAX_RESPONSE_BYTES)
    }

    /// Decodes with the response limit and checks the protocol version.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        decode_response(bytes)
    }

    /// The encoding of a read's reply up to its sealed items, `sealed_len` bytes long: the
    /// items written after it make the whole reply, the same bytes as [`encode`](Self::encode)
    /// of it, so the resolver seals them straight into the reply
    /// (`hush_crypto::TransportKey::seal_reply`) instead of copying them into it.
    pub fn read_reply_head(request_id: [u8; 16], resolver_key_id: [u8; 8], sealed_len: usize) -> Vec<u8> {
        let empty = ResponseEnvelope {
            version: PROTOCOL_VERSION,
            request_id,
            resolver_key_id,
            body: Ok(ResponseBody::Get(SealedItems(Vec::new()))),
        };
        // The reply ends with its sealed items: with none, it ends with the prefix of an empty
        // byte string, which the prefix of `sealed_len` bytes replaces.
        let mut head = codec::encode(&empty, MAX_RESPONSE_BYTES).unwrap_or_default();
        let mut empty_prefix = Vec::new();
        codec::byte_string_prefix(0, &mut empty_prefix);
        head.truncate(head.len().saturating_sub(empty_prefix.len()));
        codec::byte_string_prefix(sealed_len, &mut head);
        head
    }

    /// An error response.
    pub fn error(request_id: [u8; 16], resolver_key_id: [u8; 8], error: &Error) -> Self {
        ResponseEnvelope { version: PROTOCOL_VERSION, request_id, resolver_key_id, body: Err(error.into()) }
    }
}

impl<'a> ResponseEnvelope<SealedItemsRef<'a>> {
    /// [`ResponseEnvelope::decode`], a read's sealed items borrowed from `bytes`.
    pub fn decode_borrowed(bytes: &'a [u8]) -> Result<Self, CodecError> {
        decode_response(bytes)
    }
}

/// Decodes a response with the response limit and checks the protocol version.
fn decode_response<'a, S: Deserialize<'a>>(bytes: &'a [u8]) -> Result<ResponseEnvelope<S>, CodecError> {
    let envelope: ResponseEnvelope<S> = codec::decode_borrowed(bytes, MAX_RESPONSE_BYTES)?;
    if envelope.version != PROTOCOL_VERSION {
        return Err(CodecError::Malformed(format!("protocol version {} is not supported", envelope.version)));
    }
    Ok(envelope)
}

impl ChangeEvent {
    /// Encodes with the request limit.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec::encode(self, MAX_REQUEST_BYTES)
    }

    /// Decodes with the request limit and checks the protocol version.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let event: Self = codec::decode(bytes, MAX_REQUEST_BYTES)?;
        if event.version != PROTOCOL_VERSION {
            return Err(CodecError::Malformed(format!("protocol version {} is not supported", event.version)));
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> RequestEnvelope {
        RequestEnvelope {
            version: PROTOCOL_VERSION,
            request_id: [7; 16],
            client_key: [1; 32],
            resolver_key_id: [2; 8],
            sealed_grant: b"hush1.a.b".to_vec(),
            sent_at_ms: 1_700_000_000_000,
            body: RequestBody::Get(GetRequest {
                items: vec![GetItem { name: "DB".into(), path: Some("a.b".into()), version: None }],
            }),
            mac: [3; 32],
        }
    }

    #[test]
    fn debug_never_shows_the_grant() {
        let mut envelope = sample();
        envelope.sealed_grant = b"hush1.Y2xhaW1z.c2lnbmF0dXJl".to_vec();
        let shown = format!("{envelope:?}");
        assert!(!shown.contains("Y2xhaW1z") && !shown.contains("89, 50"), "{shown}");
        assert!(shown.contains("sealed_grant: 27 bytes"), "{shown}");
    }

    #[test]
    fn request_round_trips() {
        let bytes = sample().encode().unwrap();
        assert_eq!(RequestEnvelope::decode(&bytes).unwrap(), sample());
    }

    /// The envelope is written as head, body and MAC, and read back the same way: the bytes
    /// are the derived encoding of the whole struct, and the body read back is the body's
    /// own encoding, which the MAC covers.
    #[test]
    fn an_envelope_in_parts_is_the_whole_struct_encoding() {
        let bodies = [
            sample().body,
            RequestBody::Put(PutRequest {
                name: "DB".into(),
                sealed_value: vec![5; 70],
                tags: [("env".to_owned(), "prod".to_owned())].into(),
            }),
            RequestBody::Delete(DeleteRequest { name: "DB".into() }),
            RequestBody::List(ListRequest { tags: Default::default(), recursive: true }),
        ];
        for body in bodies {
            let envelope = RequestEnvelope { body, sealed_grant: vec![b'g'; 300], ..sample() };
            let bytes = envelope.encode().unwrap();
            assert_eq!(bytes, crate::codec::encode(&envelope, MAX_REQUEST_BYTES).unwrap());
            let (decoded, body) = RequestEnvelope::decode_with_body(&bytes).unwrap();
            assert_eq!(decoded, envelope);
            assert_eq!(body, envelope.encoded_body().unwrap());
        }
        let bytes = sample().encode().unwrap();
        for cut in 1..=32 {
            assert!(RequestEnvelope::decode(&bytes[..bytes.len() - cut]).is_err(), "cut {cut}");
        }
    }

    /// Byte strings are `serde_bytes`: one length-prefixed block, decoded with one copy. In
    /// bincode that is the very encoding of the `Vec<u8>` sequence it replaced, so clients and
    /// resolvers from before the change still understand each other.
    #[test]
    fn byte_strings_encode_as_the_sequences_of_u8_they_replaced() {
        #[derive(Serialize)]
        struct AsSequence {
            version: u16,
            request_id: [u8; 16],
            client_key: [u8; 32],
            resolver_key_id: [u8; 8],
            sealed_grant: Vec<u8>,
            sent_at_ms: i64,
            body: RequestBody,
            mac: [u8; 32],
        }
        let mut envelope = sample();
        envelope.sealed_grant = (0..=255).collect();
        let as_sequence = AsSequence {
            version: envelope.version,
            request_id: envelope.request_id,
            client_key: envelope.client_key,
            resolver_key_id: envelope.resolver_key_id,
            sealed_grant: envelope.sealed_grant.clone(),
            sent_at_ms: envelope.sent_at_ms,
            body: envelope.body.clone(),
            mac: envelope.mac,
        };
        let bytes = envelope.encode().unwrap();
        assert_eq!(bytes, crate::codec::encode(&as_sequence, MAX_REQUEST_BYTES).unwrap());
        assert_eq!(RequestEnvelope::decode(&bytes).unwrap(), envelope);

        #[derive(Serialize)]
        struct SecretAsSequence {
            namespace: String,
            version: Option<String>,
            value: Vec<u8>,
            stale: bool,
        }
        let value = [9; 300];
        let resolved = ResolvedSecret { namespace: "company", version: Some("3"), value: &value, stale: false };
        let owned = SecretAsSequence {
            namespace: resolved.namespace.into(),
            version: resolved.version.map(str::to_owned),
            value: value.to_vec(),
            stale: resolved.stale,
        };
        assert_eq!(
            crate::codec::encode(&resolved, MAX_RESPONSE_BYTES).unwrap(),
            crate::codec::encode(&owned, MAX_RESPONSE_BYTES).unwrap()
        );
    }

    /// A read reply's items decode borrowing from the opened buffer, and their encoded length
    /// is known before they are written (the buffer they are sealed in never grows).
    #[test]
    fn read_items_round_trip_borrowed_and_know_their_length() {
        let value = b"s3cr3t".to_vec();
        let items: ReadItems<'_> = vec![
            Ok(ResolvedSecret { namespace: "company.team", version: Some("7"), value: &value, stale: true }),
            Err(WireError { kind: "not_found".into(), message: "secret API not found".into(), backend: None }),
            Ok(ResolvedSecret { namespace: "company", version: None, value: &[], stale: false }),
        ];
        let bytes = crate::codec::encode(&items, MAX_RESPONSE_BYTES).unwrap();
        assert_eq!(crate::codec::encoded_len(&items).unwrap(), bytes.len());
        let refs: Vec<_> = items.iter().map(|item| item.as_ref().map(|found| *found)).collect();
        assert_eq!(crate::codec::encode(&refs.as_slice(), MAX_RESPONSE_BYTES).unwrap(), bytes, "the same encoding");
        let decoded: ReadItems<'_> = crate::codec::decode_borrowed(&bytes, MAX_RESPONSE_BYTES).unwrap();
        assert_eq!(decoded, items);
        let Ok(first) = &decoded[0] else { panic!("an item") };
        let within = bytes.as_ptr_range();
        assert!(within.contains(&first.value.as_ptr()), "the value is borrowed from the buffer, not copied");
        assert!(crate::codec::decode_borrowed::<ReadItems<'_>>(&bytes[..bytes.len() - 1], MAX_RESPONSE_BYTES).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            crate::codec::decode_borrowed::<ReadItems<'_>>(&longer, MAX_RESPONSE_BYTES),
            Err(crate::codec::CodecError::Trailing(1))
        ));
        assert!(format!("{:?}", decoded[0]).contains("***") && !format!("{:?}", decoded[0]).contains("s3cr3t"));
    }

    #[test]
    fn the_borrowed_audit_event_writes_the_same_json() {
        let event = AuditEvent {
            time_ms: 1_700_000_000_123,
            tenant: "acme".into(),
            namespace: "company.team".into(),
            operation: "get".into(),
            outcome: "ok".into(),
            execution_id: Some("exec-1".into()),
            request_id: "00ab".into(),
            resolver: "hushd-1".into(),
            items: vec![
                AuditItem {
                    name: "DB".into(),
                    outcome: "ok".into(),
                    found_in: Some("company".into()),
                    version: Some("3".into()),
                    source: Some("cache".into()),
                    backend: None,
                    error: None,
                },
                AuditItem {
                    name: "API".into(),
                    outcome: "unavailable".into(),
                    found_in: None,
                    version: None,
                    source: None,
                    backend: Some("vault".into()),
                    error: Some("the backend did not answer".into()),
                },
            ],
        };
        let items: Vec<AuditItemRef<'_>> = event.items.iter().map(AuditItem::borrowed).collect();
        let borrowed = AuditEventRef {
            time_ms: event.time_ms,
            tenant: &event.tenant,
            namespace: &event.namespace,
            operation: &event.operation,
            outcome: &event.outcome,
            execution_id: event.execution_id.as_deref(),
            request_id: &event.request_id,
            resolver: &event.resolver,
            items: &items,
        };
        let json = serde_json::to_string(&borrowed).unwrap();
        assert_eq!(json, serde_json::to_string(&event).unwrap());
        assert_eq!(serde_json::from_str::<AuditEvent>(&json).unwrap(), event);
    }

    /// A reply's head, then its sealed items, is the reply's encoding, for lengths on both
    /// sides of each step of the length's encoding.
    #[test]
    fn a_read_reply_is_its_head_then_its_sealed_items() {
        for len in [0, 1, 250, 251, 252, 65_535, 65_536, 1 << 20] {
            let sealed = vec![0xa5; len];
            let envelope = ResponseEnvelope {
                version: PROTOCOL_VERSION,
                request_id: [7; 16],
                resolver_key_id: [3; 8],
                body: Ok(ResponseBody::Get(SealedItems(sealed.clone()))),
            };
            let mut written = ResponseEnvelope::read_reply_head([7; 16], [3; 8], len);
            written.extend_from_slice(&sealed);
            assert_eq!(written, codec::encode(&envelope, usize::MAX).unwrap(), "{len} bytes");
            if len <= 1 << 16 {
                // Decoded borrowing, the sealed items are those bytes of the reply, not a copy.
                let borrowed = ResponseEnvelope::decode_borrowed(&written).unwrap();
                let Ok(ResponseBody::Get(SealedItemsRef(items))) = borrowed.body else { panic!("a read reply") };
                assert_eq!(items, &sealed[..]);
                assert_eq!(items.as_ptr(), written[written.len() - len..].as_ptr());
            }
        }
        // Every other answer decodes borrowed as it does owned.
        let deleted = ResponseEnvelope {
            version: PROTOCOL_VERSION,
            request_id: [1; 16],
            resolver_key_id: [2; 8],
            body: Ok(ResponseBody::Delete),
        };
        let error = ResponseEnvelope::error([1; 16], [2; 8], &Error::not_found("nope"));
        for owned in [deleted, error] {
            let bytes = owned.encode().unwrap();
            let borrowed = ResponseEnvelope::decode_borrowed(&bytes).unwrap();
            assert_eq!((borrowed.request_id, borrowed.body.err()), (owned.request_id, owned.body.err()));
        }
    }

    #[test]
    fn wrong_version_trailing_and_oversized_are_refused() {
        let mut old = sample();
        old.version = 9;
        let err = RequestEnvelope::decode(&old.encode().unwrap()).unwrap_err();
        assert!(err.to_string().contains("protocol version 9"), "{err}");

        let mut bytes = sample().encode().unwrap();
        bytes.push(0);
        assert!(matches!(RequestEnvelope::decode(&bytes), Err(CodecError::Trailing(1))));

        let huge = vec![0u8; MAX_REQUEST_BYTES + 1];
        assert!(matches!(RequestEnvelope::decode(&huge), Err(CodecError::TooLarge { .. })));

        let mut big = sample();
        big.sealed_grant = vec![b'x'; MAX_REQUEST_BYTES];
        assert!(matches!(big.encode(), Err(CodecError::TooLarge { .. })));
    }

    #[test]
    fn a_length_prefix_claiming_gigabytes_is_refused_without_allocating() {
        // Version (one varint byte), request id, client key and resolver key id, then a sealed
        // grant whose varint length (tag 252, u32 little-endian) claims 2 GiB.
        let mut bytes = sample().encode().unwrap();
        bytes.truncate(1 + 16 + 32 + 8);
        bytes.extend_from_slice(&[252, 0, 0, 0, 128]);
        assert!(RequestEnvelope::decode(&bytes).is_err());
    }

    #[test]
    fn errors_keep_their_kind_across_the_wire() {
        let e = Error::not_found("secret DB not found");
        let back: Error = WireError::from(&e).into();
        assert_eq!(back.kind(), ErrorKind::NotFound);
        assert_eq!(back.message(), "secret DB not found");
        let unknown: Error = WireError { kind: "martian".into(), message: "x".into(), backend: None }.into();
        assert_eq!(unknown.kind(), ErrorKind::Internal);
        let down = Error::unavailable("no answer within 2s").with_context("backend", "vault-main");
        let back: Error = WireError::from(&down).into();
        assert_eq!(back.context_value("backend"), Some("vault-main"));
        assert_eq!(back.to_string(), "backend unavailable: no answer within 2s (backend=vault-main)");
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = RequestEnvelope::decode(&bytes);
            let _ = ResponseEnvelope::decode(&bytes);
            let _ = ChangeEvent::decode(&bytes);
        }
    }
}
