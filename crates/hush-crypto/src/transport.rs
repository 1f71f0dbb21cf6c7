//! Transport keys between a client and the resolver: X25519, HKDF-SHA256, AES-256-GCM for
//! values, HMAC-SHA256 for requests.
//!
//! DESIGN.md 4b and ARCHITECTURE.md "Security". `shared = X25519(own secret, peer public)`,
//! refused when non-contributory (a low-order peer key); with
//! `info = lp(client_public) ‖ lp(resolver_public)`:
//! - `K_seal = HKDF-SHA256(salt = "hush-seal-v1", ikm = shared, info)`. A put's sealed value is
//!   `nonce ‖ ciphertext+tag` under `K_seal` with AAD `lp("hush-v1") ‖ lp(direction) ‖
//!   lp(request_id) ‖ lp(subject) ‖ lp(name) ‖ lp(version)`, so a value moved to another
//!   request, subject, name, version or direction fails to open. A read reply's items are
//!   sealed as one message with AAD `lp("hush-reply-v1") ‖ lp(request_id) ‖ lp(subject) ‖
//!   lp(request_mac)` ([`ReplyAad`]), so a reply opens only as the answer to its request.
//! - `K_mac = HKDF-SHA256(salt = "hush-request-v1", ikm = shared, info)`. A request's MAC is
//!   HMAC-SHA256 under `K_mac` over [`RequestMacInput`]: only the holder of the client's
//!   private key (or the resolver's) can make one, so a request proves possession of its key.
//! - A grant is sealed once per session under `K_seal` with AAD `lp("hush-grant-v1")`
//!   ([`SealedGrant`]); the request MAC binds it to each request.

use std::fmt;
use std::path::Path;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use hush_core::SecretValue;
use hush_proto::codec::{self, CodecError};
use hush_proto::message::{ReadItemRefs, RequestEnvelope};
use rand_core::{OsRng, RngCore};
use ring::aead::{AES_256_GCM, LessSafeKey, Nonce, Tag, UnboundKey};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::change_event::ChangeEventKey;
use crate::error::CryptoError;
use crate::fingerprint::{key_id_hex, key_id_of};
use crate::key_file::{read_key32, read_private_key32, write_key_pair};
use crate::length_prefix;

/// HKDF salt of the sealing key.
const HKDF_SALT: &[u8] = b"hush-seal-v1";
/// HKDF salt of the request MAC key.
const HKDF_SALT_REQUEST_MAC: &[u8] = b"hush-request-v1";
/// Label that starts every request MAC input.
const REQUEST_MAC_LABEL: &[u8] = b"hush-req-v1";
/// Label that starts every transport AAD.
const AAD_LABEL: &[u8] = b"hush-v1";
/// The AAD of a sealed grant, `lp("hush-grant-v1")`: unlike every value's AAD, which starts
/// with `lp("hush-v1")`, so a sealed grant and a sealed value never open as each other.
const GRANT_AAD: &[u8] = b"\x0d\x00\x00\x00hush-grant-v1";
/// Label that starts a read reply's AAD: of another length than `hush-v1` and
/// `hush-grant-v1`, so a reply, a put's value and a grant never open as each other.
const REPLY_AAD_LABEL: &[u8] = b"hush-reply-v1";
/// AES-GCM nonce length.
const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
const TAG_LEN: usize = 16;

/// The resolver's static X25519 key pair; its public key is pinned in workers' config.
///
/// `Debug` prints the key id only.
pub struct ResolverKeyPair {
    secret: StaticSecret,
    public: [u8; 32],
}

impl ResolverKeyPair {
    /// A fresh random key pair.
    pub fn generate() -> Self {
        Self::from_secret(StaticSecret::random_from_rng(OsRng))
    }

    fn from_secret(secret: StaticSecret) -> Self {
        let public = PublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }

    /// Reads the secret key file (one line of base64, see [`read_private_key32`]: refused when
    /// group or others may access it); the public key is derived from it.
    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let bytes = read_private_key32(path)?;
        Ok(Self::from_secret(StaticSecret::from(*bytes)))
    }

    /// Writes the secret key (mode 0600) and the public key (0644) to new files; refuses to
    /// overwrite either, and leaves neither behind on failure.
    pub fn save_new(&self, secret_path: &Path, public_path: &Path) -> Result<(), CryptoError> {
        let secret = Zeroizing::new(self.secret.to_bytes());
        write_key_pair(secret_path, &secret, public_path, &self.public)
    }

    /// The public key.
    pub fn public(&self) -> [u8; 32] {
        self.public
    }

    /// The key id: first 8 bytes of SHA-256 of the public key.
    pub fn key_id(&self) -> [u8; 8] {
        key_id_of(&self.public)
    }

    /// Derives the transport key shared with the client whose public key is
    /// `client_public`; refuses a low-order key ([`CryptoError::NonContributory`]).
    pub fn transport_key(&self, client_public: &[u8; 32]) -> Result<TransportKey, CryptoError> {
        derive(&self.secret, client_public, client_public, &self.public)
    }

    /// The key that authenticates change events between replicas holding this key.
    pub fn change_event_key(&self) -> ChangeEventKey {
        ChangeEventKey::derive(&self.secret_bytes(), &self.public, self.key_id())
    }

    pub(crate) fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }
}

impl fmt::Debug for ResolverKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolverKeyPair").field("key_id", &key_id_hex(&self.key_id())).finish_non_exhaustive()
    }
}

/// The key id of a resolver public key: first 8 bytes of its SHA-256.
pub fn resolver_key_id(public: &[u8; 32]) -> [u8; 8] {
    key_id_of(public)
}

/// Reads a public key file (one line of base64 holding 32 bytes).
pub fn load_public_key(path: &Path) -> Result<[u8; 32], CryptoError> {
    Ok(*read_key32(path)?)
}

/// A client's X25519 key pair: generated once per process, or loaded from a key file that
/// `hush keys client PATH` wrote (so grants can be bound to it ahead of time).
///
/// `Debug` prints the public key's id only.
pub struct ClientKeyPair {
    secret: StaticSecret,
    public: [u8; 32],
}

impl ClientKeyPair {
    /// A fresh random key pair.
    pub fn generate() -> Self {
        let secret = StaticSecret::random_from_rng(OsRng);
        let public = PublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }

    /// Reads a client key file (the private key, one line of base64, refused when group or
    /// others may access it); the public key is derived from it.
    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let bytes = read_private_key32(path)?;
        let secret = StaticSecret::from(*bytes);
        let public = PublicKey::from(&secret).to_bytes();
        Ok(Self { secret, public })
    }

    /// Writes the private key (mode 0600) and the public key (0644) to new files; refuses to
    /// overwrite either, and leaves neither behind on failure.
    pub fn save_new(&self, secret_path: &Path, public_path: &Path) -> Result<(), CryptoError> {
        let secret = Zeroizing::new(self.secret.to_bytes());
        write_key_pair(secret_path, &secret, public_path, &self.public)
    }

    /// The public key, sent in every request envelope.
    pub fn public(&self) -> [u8; 32] {
        self.public
    }

    /// Derives the transport key shared with the resolver whose public key is
    /// `resolver_public`; refuses a low-order key ([`CryptoError::NonContributory`]).
    pub fn transport_key(&self, resolver_public: &[u8; 32]) -> Result<TransportKey, CryptoError> {
        derive(&self.secret, resolver_public, &self.public, resolver_public)
    }
}

impl fmt::Debug for ClientKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKeyPair").field("key_id", &key_id_hex(&key_id_of(&self.public))).finish_non_exhaustive()
    }
}

/// X25519 with `own` and `peer`, then HKDF-SHA256 into the sealing and the MAC key.
fn derive(
    own: &StaticSecret,
    peer: &[u8; 32],
    client_public: &[u8; 32],
    resolver_public: &[u8; 32],
) -> Result<TransportKey, CryptoError> {
    let shared = own.diffie_hellman(&PublicKey::from(*peer));
    if !shared.was_contributory() {
        return Err(CryptoError::NonContributory);
    }
    let info = length_prefix::concat(&[client_public, resolver_public]);
    let seal = hkdf_key(HKDF_SALT, shared.as_bytes(), &info);
    let mac = hkdf_key(HKDF_SALT_REQUEST_MAC, shared.as_bytes(), &info);
    Ok(TransportKey { aead: SealingKey::new(&seal), mac })
}

/// `HKDF-SHA256(salt, ikm, info)`, 32 bytes.
pub(crate) fn hkdf_key(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut *key)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    key
}

/// HMAC-SHA256 under `key` of the length-prefixed `fields`.
pub(crate) fn hmac_fields(key: &[u8; 32], fields: &[&[u8]]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    for field in fields {
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        mac.update(&len.to_le_bytes());
        mac.update(field);
    }
    mac
}

/// The keys a client and the resolver share: AES-256-GCM for values (its key schedule is
/// overwritten on drop, see [`SealingKey`]) and HMAC-SHA256 for requests (the key is zeroized
/// on drop).
///
/// `Debug` prints `TransportKey(***)`.
#[derive(Clone)]
pub struct TransportKey {
    aead: SealingKey,
    mac: Zeroizing<[u8; 32]>,
}

/// AES-256-GCM under `K_seal`, ring's implementation: it seals and opens a read reply of 64
/// values (~8 KB) six times faster than RustCrypto's `aes-gcm` 0.10 on this project's VMs
/// (0.9 µs instead of 5.5 µs) and a single value (~100 B) in 0.11 µs instead of 0.19 µs.
///
/// ring keeps the AES round keys and the GHASH table inline in the key, with no heap part and
/// no zeroize of its own; dropping a `SealingKey` overwrites them in place with the schedule
/// of the all-zero key, and `black_box` keeps the compiler from dropping that store as dead
/// (ARCHITECTURE.md, "Key material in memory").
#[derive(Clone)]
struct SealingKey(LessSafeKey);

impl SealingKey {
    fn new(key: &[u8; 32]) -> Self {
        SealingKey(Self::schedule(key))
    }

    /// ring's AES-256-GCM key (round keys and GHASH table) for `key`.
    fn schedule(key: &[u8; 32]) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("AES-256-GCM takes a 32-byte key"))
    }
}

impl Drop for SealingKey {
    fn drop(&mut self) {
        self.0 = Self::schedule(&[0; 32]);
        std::hint::black_box(&self.0);
    }
}

/// What a request's MAC covers (ARCHITECTURE.md "Request authentication"):
/// `lp("hush-req-v1") ‖ lp(request_id) ‖ lp(subject) ‖ lp(sent_at i64 LE) ‖ lp(grant) ‖
/// lp(body)`.
#[derive(Debug, Clone, Copy)]
pub struct RequestMacInput<'a> {
    /// The request's 16 random bytes.
    pub request_id: &'a [u8; 16],
    /// The NATS subject the request is sent to.
    pub subject: &'a str,
    /// When the client sent it, unix milliseconds.
    pub sent_at_ms: i64,
    /// The grant as sent: sealed to the resolver.
    pub sealed_grant: &'a [u8],
    /// The encoded request body.
    pub body: &'a [u8],
}

impl<'a> RequestMacInput<'a> {
    /// The MAC input of `envelope` sent to `subject`, whose body encodes to `body`
    /// ([`RequestEnvelope::encoded_body`]).
    pub fn of(envelope: &'a RequestEnvelope, subject: &'a str, body: &'a [u8]) -> Self {
        Self {
            request_id: &envelope.request_id,
            subject,
            sent_at_ms: envelope.sent_at_ms,
            sealed_grant: &envelope.sealed_grant,
            body,
        }
    }

    fn mac(&self, key: &[u8; 32]) -> Hmac<Sha256> {
        hmac_fields(
            key,
            &[
                REQUEST_MAC_LABEL,
                self.request_id,
                self.subject.as_bytes(),
                &self.sent_at_ms.to_le_bytes(),
                self.sealed_grant,
                self.body,
            ],
        )
    }
}

impl fmt::Debug for TransportKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TransportKey(***)")
    }
}

/// A grant token sealed to the resolver under one transport key (`nonce ‖ ciphertext ‖ tag`,
/// AAD `lp("hush-grant-v1")`): made once per session ([`TransportKey::seal_grant`]) and sent
/// with each of its requests, where the request MAC binds it (ARCHITECTURE.md "Request
/// authentication"). Only the holders of the client's or the resolver's private key open it.
///
/// `Debug` shows its length only.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedGrant(Vec<u8>);

impl SealedGrant {
    /// The bytes a request carries as its `sealed_grant`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SealedGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedGrant({} bytes)", self.0.len())
    }
}

/// Which way a sealed value travels; part of the AAD, so a reply cannot be reflected back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Resolver to client: values in read replies.
    ToClient,
    /// Client to resolver: values in admin puts.
    ToResolver,
}

impl Direction {
    fn byte_ref(self) -> &'static u8 {
        match self {
            Direction::ToClient => &1,
            Direction::ToResolver => &2,
        }
    }
}

/// What a sealed value is bound to.
#[derive(Debug, Clone, Copy)]
pub struct SealAad<'a> {
    /// Which way it travels.
    pub direction: Direction,
    /// The request's 16 random bytes.
    pub request_id: &'a [u8; 16],
    /// The NATS subject the request was sent to.
    pub subject: &'a str,
    /// The secret's name.
    pub name: &'a str,
    /// The secret's version (empty when the backend has none).
    pub version: &'a str,
}

impl SealAad<'_> {
    fn fields(&self) -> [&[u8]; 6] {
        [
            AAD_LABEL,
            std::slice::from_ref(self.direction.byte_ref()),
            self.request_id,
            self.subject.as_bytes(),
            self.name.as_bytes(),
            self.version.as_bytes(),
        ]
    }
}

/// What a read reply's items are bound to: the request they answer (ARCHITECTURE.md, "Read
/// replies").
#[derive(Debug, Clone, Copy)]
pub struct ReplyAad<'a> {
    /// The request's 16 random bytes.
    pub request_id: &'a [u8; 16],
    /// The NATS subject the request was sent to.
    pub subject: &'a str,
    /// The request's MAC: it covers the request's id, subject, time, sealed grant and body, so
    /// the names, paths and versions asked.
    pub request_mac: &'a [u8; 32],
}

impl ReplyAad<'_> {
    fn fields(&self) -> [&[u8]; 4] {
        [REPLY_AAD_LABEL, self.request_id, self.subject.as_bytes(), self.request_mac]
    }
}

/// The AAD of one seal or open: written into the buffer that holds the sealed bytes, after
/// them, so that sealing a value takes one allocation.
#[derive(Clone, Copy)]
enum Aad<'a> {
    /// Fixed bytes: a sealed grant's.
    Bytes(&'a [u8]),
    /// Fields, each length-prefixed: a put value's ([`SealAad`]) or a read reply's
    /// ([`ReplyAad`]).
    Fields(&'a [&'a [u8]]),
}

impl Aad<'_> {
    fn len(self) -> usize {
        match self {
            Aad::Bytes(bytes) => bytes.len(),
            Aad::Fields(fields) => fields.iter().map(|field| 4 + field.len()).sum(),
        }
    }

    fn write_to(self, out: &mut Vec<u8>) {
        match self {
            Aad::Bytes(bytes) => out.extend_from_slice(bytes),
            Aad::Fields(fields) => fields.iter().for_each(|field| length_prefix::push(out, field)),
        }
    }
}

impl TransportKey {
    /// The MAC of a request: HMAC-SHA256 under `K_mac` over `input`.
    pub fn request_mac(&self, input: &RequestMacInput<'_>) -> [u8; 32] {
        input.mac(&self.mac).finalize().into_bytes().into()
    }

    /// Checks a request's MAC in constant time; [`CryptoError::BadMac`] when it does not match.
    pub fn verify_request_mac(&self, input: &RequestMacInput<'_>, mac: &[u8; 32]) -> Result<(), CryptoError> {
        input.mac(&self.mac).verify_slice(mac).map_err(|_| CryptoError::BadMac)
    }

    /// Seals a grant token to the resolver, once for all the requests of a session.
    pub fn seal_grant(&self, grant: &str) -> SealedGrant {
        SealedGrant(self.seal_under(Aad::Bytes(GRANT_AAD), grant.as_bytes()))
    }

    /// Seals `grant` into `envelope` and sets its MAC, for sending it to `subject`: a one-off
    /// request. Fails only when the body exceeds the request size limit.
    pub fn authenticate(&self, envelope: &mut RequestEnvelope, subject: &str, grant: &str) -> Result<(), CodecError> {
        self.authenticate_body(envelope, subject, &self.seal_grant(grant)).map(drop)
    }

    /// Puts a session's sealed grant into `envelope`, sets its MAC for `subject` and encodes
    /// the request, ready to send: what every client does last. The body is encoded once, for
    /// the MAC and the message.
    pub fn authenticate_and_encode(
        &self,
        envelope: &mut RequestEnvelope,
        subject: &str,
        grant: &SealedGrant,
    ) -> Result<Vec<u8>, CodecError> {
        let body = self.authenticate_body(envelope, subject, grant)?;
        envelope.encode_with_body(&body)
    }

    fn authenticate_body(
        &self,
        envelope: &mut RequestEnvelope,
        subject: &str,
        grant: &SealedGrant,
    ) -> Result<Vec<u8>, CodecError> {
        envelope.sealed_grant.clone_from(&grant.0);
        let body = envelope.encoded_body()?;
        envelope.mac = self.request_mac(&RequestMacInput::of(envelope, subject, &body));
        Ok(body)
    }

    /// A request's sealed grant opened: [`CryptoError::Open`] when it was not sealed with this
    /// key (another client key, another resolver key, altered bytes) or is not text.
    ///
    /// The grant is a credential: it is wiped when dropped, and opened without a second copy.
    pub fn open_grant(&self, sealed_grant: &[u8]) -> Result<Zeroizing<String>, CryptoError> {
        let mut opened = self.open_in_place(Aad::Bytes(GRANT_AAD), sealed_grant)?;
        String::from_utf8(std::mem::take(&mut *opened)).map(Zeroizing::new).map_err(|not_text| {
            // The conversion hands the bytes back: wiped here too.
            drop(Zeroizing::new(not_text.into_bytes()));
            CryptoError::Open
        })
    }

    /// Checks that `envelope` was authenticated for `subject` with this key
    /// ([`CryptoError::BadMac`] otherwise, an oversized body included).
    pub fn verify_envelope(&self, envelope: &RequestEnvelope, subject: &str) -> Result<(), CryptoError> {
        let body = envelope.encoded_body().map_err(|_| CryptoError::BadMac)?;
        self.verify_envelope_body(envelope, subject, &body)
    }

    /// [`verify_envelope`](Self::verify_envelope) given the body's encoding as received
    /// ([`RequestEnvelope::decode_with_body`]): the MAC covers exactly the bytes that came.
    pub fn verify_envelope_body(
        &self,
        envelope: &RequestEnvelope,
        subject: &str,
        body: &[u8],
    ) -> Result<(), CryptoError> {
        self.verify_request_mac(&RequestMacInput::of(envelope, subject, body), &envelope.mac)
    }

    /// Seals `value` with a fresh random nonce: returns `nonce (12) ‖ ciphertext ‖ tag (16)`.
    ///
    /// # Panics
    ///
    /// When `value` exceeds AES-GCM's limit of 64 GiB, which no hush message can hold
    /// (responses are capped at 1 MiB).
    pub fn seal(&self, aad: &SealAad<'_>, value: &[u8]) -> Vec<u8> {
        self.seal_under(Aad::Fields(&aad.fields()), value)
    }

    fn seal_under(&self, aad: Aad<'_>, value: &[u8]) -> Vec<u8> {
        self.seal_written(Vec::new(), aad, value.len(), |out| {
            out.extend_from_slice(value);
            Ok(())
        })
        .expect("copying bytes cannot fail")
    }

    /// Appends to `head` the seal of the `len` bytes `write` appends: `head ‖ nonce ‖ ciphertext
    /// ‖ tag`. One buffer sized for everything, the plaintext written after the nonce and the AAD
    /// after the plaintext until the tag replaces it, so no reallocation leaves a plaintext copy
    /// behind; a `write` that appends other than `len` bytes is refused, its buffer wiped.
    fn seal_written(
        &self,
        head: Vec<u8>,
        aad: Aad<'_>,
        len: usize,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), CodecError>,
    ) -> Result<Vec<u8>, CodecError> {
        let mut nonce = [0u8; NONCE_LEN];
        // A per-thread CSPRNG, not a system call per value (ARCHITECTURE.md, "Keys of one exchange").
        rand::thread_rng().fill_bytes(&mut nonce);
        let start = head.len();
        let sealed_end = start + NONCE_LEN + len;
        let mut out = Zeroizing::new(head);
        // Exactly: a buffer that grew while the plaintext was in it would leave a copy behind.
        out.reserve_exact(NONCE_LEN + len + aad.len().max(TAG_LEN));
        out.extend_from_slice(&nonce);
        write(&mut out)?;
        if out.len() != sealed_end {
            return Err(CodecError::Malformed(format!(
                "wrote {} bytes, not the {len} announced",
                out.len() - start - NONCE_LEN
            )));
        }
        aad.write_to(&mut out);
        let (sealed, aad) = out.split_at_mut(sealed_end);
        let tag = self
            .aead
            .0
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(aad),
                &mut sealed[start + NONCE_LEN..],
            )
            .expect("AES-GCM refuses only plaintexts over 64 GiB; hush messages are capped at 1 MiB");
        out.truncate(sealed_end);
        out.extend_from_slice(tag.as_ref());
        // Sealed: nothing left to wipe.
        Ok(std::mem::take(&mut *out))
    }

    /// Seals a read reply's items to the client as one message, bound to the request they
    /// answer: `nonce ‖ AES-256-GCM(codec(items)) ‖ tag`. Fails, before anything is written,
    /// when the sealed items would exceed `limit` bytes.
    ///
    /// `head` is given the sealed items' length and returns the bytes that go before them in the
    /// message that carries them (the reply envelope up to its items, `hush_proto`'s
    /// `ResponseEnvelope::read_reply_head`): the items are sealed after those bytes, in the same
    /// buffer, and never copied into the message afterwards.
    pub fn seal_reply(
        &self,
        aad: &ReplyAad<'_>,
        items: &ReadItemRefs<'_>,
        limit: usize,
        head: impl FnOnce(usize) -> Vec<u8>,
    ) -> Result<Vec<u8>, CodecError> {
        let len = codec::encoded_len(items)?;
        let sealed_len = NONCE_LEN + len + TAG_LEN;
        if sealed_len > limit {
            return Err(CodecError::TooLarge { len: sealed_len, limit });
        }
        self.seal_written(head(sealed_len), Aad::Fields(&aad.fields()), len, |out| codec::encode_into(items, out))
    }

    /// Opens what [`seal_reply`](Self::seal_reply) made for the request `aad` names: the
    /// items' encoding, wiped when dropped (decode it with `codec::decode_borrowed` and copy
    /// each value out). [`CryptoError::Open`] for anything else: another request, another key,
    /// a bit changed.
    pub fn open_reply(&self, aad: &ReplyAad<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.open_in_place(Aad::Fields(&aad.fields()), sealed)
    }

    /// Opens what [`seal`](Self::seal) made with the same key and AAD; anything else is
    /// [`CryptoError::Open`].
    pub fn open(&self, aad: &SealAad<'_>, sealed: &[u8]) -> Result<SecretValue, CryptoError> {
        let mut plaintext = self.open_in_place(Aad::Fields(&aad.fields()), sealed)?;
        Ok(SecretValue::new(std::mem::take(&mut *plaintext)))
    }

    fn open_in_place(&self, aad: Aad<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Open);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
        // One buffer: the ciphertext, opened in place, then the AAD, cut off once opened.
        let mut plaintext = Zeroizing::new(Vec::with_capacity(body.len() + aad.len()));
        plaintext.extend_from_slice(body);
        aad.write_to(&mut plaintext);
        let (opened, aad) = plaintext.split_at_mut(body.len());
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Open)?;
        let tag = Tag::try_from(tag).map_err(|_| CryptoError::Open)?;
        self.aead
            .0
            .open_in_place_separate_tag(nonce, ring::aead::Aad::from(aad), tag, opened, 0..)
            .map_err(|_| CryptoError::Open)?;
        plaintext.truncate(body.len());
        Ok(plaintext)
    }
}

/// 16 random bytes for a request envelope's `request_id` (a per-thread CSPRNG).
pub fn random_request_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut id);
    id
}

#[cfg(test)]
mod tests {
    use hush_proto::message::{ReadItems, ResolvedSecret, WireError};
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn per_thread_generators_do_not_repeat_each_other() {
        let ids: Vec<[u8; 16]> = std::thread::scope(|scope| {
            let workers: Vec<_> =
                (0..4).map(|_| scope.spawn(|| (0..25_000).map(|_| random_request_id()).collect::<Vec<_>>())).collect();
            workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
        });
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), 100_000, "request ids repeated across threads");
    }

    const SUBJECT: &str = "hush.v1.get.acme.company.team";

    fn aad<'a>(request_id: &'a [u8; 16]) -> SealAad<'a> {
        SealAad { direction: Direction::ToClient, request_id, subject: SUBJECT, name: "DB_PASSWORD", version: "3" }
    }

    fn pair() -> (TransportKey, TransportKey) {
        let resolver = ResolverKeyPair::generate();
        let client = ClientKeyPair::generate();
        (resolver.transport_key(&client.public()).unwrap(), client.transport_key(&resolver.public()).unwrap())
    }

    #[test]
    fn both_sides_derive_the_same_key() {
        let (resolver_side, client_side) = pair();
        let id = random_request_id();
        let sealed = resolver_side.seal(&aad(&id), b"hunter2");
        assert_eq!(client_side.open(&aad(&id), &sealed).unwrap().expose(), b"hunter2");
        let put = SealAad { direction: Direction::ToResolver, ..aad(&id) };
        let sealed = client_side.seal(&put, b"new value");
        assert_eq!(resolver_side.open(&put, &sealed).unwrap().expose(), b"new value");
    }

    #[test]
    fn a_clone_seals_and_opens_after_the_original_is_dropped() {
        // Dropping a key overwrites its AES-GCM schedule in place (`SealingKey`'s `Drop`): a
        // clone holds a copy of its own, which keeps sealing and opening.
        let (resolver_side, client_side) = pair();
        let id = random_request_id();
        let sealed_before = resolver_side.seal(&aad(&id), b"before");
        let (resolver_clone, client_clone) = (resolver_side.clone(), client_side.clone());
        drop((resolver_side, client_side));
        assert_eq!(client_clone.open(&aad(&id), &sealed_before).unwrap().expose(), b"before");
        let sealed = resolver_clone.seal(&aad(&id), b"after");
        assert_eq!(client_clone.open(&aad(&id), &sealed).unwrap().expose(), b"after");
    }

    #[test]
    fn derivation_matches_the_written_construction() {
        // Recompute K from the raw pieces, independently of `derive`.
        let client = ClientKeyPair::generate();
        let resolver = ResolverKeyPair::generate();
        let shared = x25519_dalek::x25519(client.secret.to_bytes(), resolver.public());
        let mut info = Vec::new();
        info.extend_from_slice(&32u32.to_le_bytes());
        info.extend_from_slice(&client.public());
        info.extend_from_slice(&32u32.to_le_bytes());
        info.extend_from_slice(&resolver.public());
        let mut k = [0u8; 32];
        Hkdf::<Sha256>::new(Some(b"hush-seal-v1"), &shared).expand(&info, &mut k).unwrap();
        let mut k_mac = [0u8; 32];
        Hkdf::<Sha256>::new(Some(b"hush-request-v1"), &shared).expand(&info, &mut k_mac).unwrap();
        assert_ne!(k, k_mac, "the sealing and the MAC key are independent");
        let expected = TransportKey { aead: SealingKey::new(&k), mac: Zeroizing::new(k_mac) };
        let id = [9u8; 16];
        let sealed = expected.seal(&aad(&id), b"v");
        let derived = resolver.transport_key(&client.public()).unwrap();
        assert_eq!(derived.open(&aad(&id), &sealed).unwrap().expose(), b"v");

        // A value and a grant open with plain AES-256-GCM under K and the AADs as written:
        // lp("hush-v1") ‖ lp(direction) ‖ lp(request_id) ‖ lp(subject) ‖ lp(name) ‖ lp(version),
        // and lp("hush-grant-v1").
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        use aes_gcm::{Aes256Gcm, Nonce};
        let mut value_aad = Vec::new();
        for field in [&b"hush-v1"[..], &[1], &id, SUBJECT.as_bytes(), b"DB_PASSWORD", b"3"] {
            value_aad.extend_from_slice(&(field.len() as u32).to_le_bytes());
            value_aad.extend_from_slice(field);
        }
        let plain = Aes256Gcm::new((&k).into());
        let open = |sealed: &[u8], aad: &[u8]| {
            let (nonce, rest) = sealed.split_at(NONCE_LEN);
            plain.decrypt(Nonce::from_slice(nonce), Payload { msg: rest, aad }).unwrap()
        };
        assert_eq!(open(&sealed, &value_aad), b"v");
        let grant = derived.seal_grant("hush1.g.s");
        assert_eq!(open(grant.as_bytes(), b"\x0d\x00\x00\x00hush-grant-v1"), b"hush1.g.s");
        // A reply: the items' encoding under lp("hush-reply-v1") ‖ lp(request_id) ‖ lp(subject)
        // ‖ lp(request_mac).
        let request_mac = [5u8; 32];
        let items = reply_items(b"v");
        let reply = derived
            .seal_reply(
                &ReplyAad { request_id: &id, subject: SUBJECT, request_mac: &request_mac },
                &refs(&items),
                1 << 20,
                |_| Vec::new(),
            )
            .unwrap();
        let mut reply_aad = Vec::new();
        for field in [&b"hush-reply-v1"[..], &id, SUBJECT.as_bytes(), &request_mac] {
            reply_aad.extend_from_slice(&(field.len() as u32).to_le_bytes());
            reply_aad.extend_from_slice(field);
        }
        assert_eq!(open(&reply, &reply_aad), codec::encode(&items, 1 << 20).unwrap());

        // The request MAC, recomputed from the written construction.
        let input = RequestMacInput {
            request_id: &id,
            subject: SUBJECT,
            sent_at_ms: 1_700_000_000_123,
            sealed_grant: b"hush1.g.s",
            body: b"body",
        };
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&k_mac).unwrap();
        for field in
            [&b"hush-req-v1"[..], &id, SUBJECT.as_bytes(), &1_700_000_000_123i64.to_le_bytes(), b"hush1.g.s", b"body"]
        {
            mac.update(&(field.len() as u32).to_le_bytes());
            mac.update(field);
        }
        let expected_mac: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(derived.request_mac(&input), expected_mac);
        assert_eq!(expected.request_mac(&input), expected_mac);
    }

    fn reply_items(value: &[u8]) -> ReadItems<'_> {
        vec![
            Ok(ResolvedSecret { namespace: "company.team", version: Some("3"), value, stale: false }),
            Err(WireError { kind: "not_found".into(), message: "no API".into(), backend: None }),
        ]
    }

    fn refs<'a>(items: &'a ReadItems<'a>) -> Vec<Result<ResolvedSecret<'a>, &'a WireError>> {
        items.iter().map(|item| item.as_ref().map(|found| *found)).collect()
    }

    /// A reply opens only for the request it answers, under the key it was sealed with, and
    /// never as a put's value or a grant (nor they as a reply).
    #[test]
    fn a_reply_opens_only_as_the_answer_to_its_request() {
        let (resolver_side, client_side) = pair();
        let (id, mac) = ([1u8; 16], [2u8; 32]);
        let aad = ReplyAad { request_id: &id, subject: SUBJECT, request_mac: &mac };
        let items = reply_items(b"s3cr3t");
        let sealed = resolver_side.seal_reply(&aad, &refs(&items), 1 << 20, |_| Vec::new()).unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"s3cr3t") && !sealed.windows(7).any(|w| w == b"company"));
        let opened = client_side.open_reply(&aad, &sealed).unwrap();
        let decoded: ReadItems<'_> = codec::decode_borrowed(&opened, 1 << 20).unwrap();
        assert_eq!(decoded, items);
        // Sealed after a head (hushd's is the reply envelope's), told their length: the head
        // stays as given, and the items after it open as if sealed alone.
        let mut told = 0;
        let head = |len| {
            told = len;
            b"head:".to_vec()
        };
        let message = resolver_side.seal_reply(&aad, &refs(&items), 1 << 20, head).unwrap();
        let (head, after) = message.split_at(5);
        assert_eq!((head, after.len()), (&b"head:"[..], told));
        let opened = client_side.open_reply(&aad, after).unwrap();
        assert_eq!(codec::decode_borrowed::<ReadItems<'_>>(&opened, 1 << 20).unwrap(), items);

        let (other_id, other_mac) = ([9u8; 16], [3u8; 32]);
        for (what, wrong) in [
            ("another request id", ReplyAad { request_id: &other_id, ..aad }),
            ("another subject", ReplyAad { subject: "hush.v1.get.acme.other", ..aad }),
            ("another request (its MAC)", ReplyAad { request_mac: &other_mac, ..aad }),
        ] {
            assert!(client_side.open_reply(&wrong, &sealed).is_err(), "{what}");
        }
        for at in [0, NONCE_LEN, sealed.len() / 2, sealed.len() - 1] {
            let mut flipped = sealed.clone();
            flipped[at] ^= 1;
            assert!(client_side.open_reply(&aad, &flipped).is_err(), "bit flipped at {at}");
        }
        let (_, stranger) = pair();
        assert!(stranger.open_reply(&aad, &sealed).is_err(), "another key pair");

        // Labels apart: a reply is no put value, a put value and a grant are no reply.
        let value_aad = SealAad {
            direction: Direction::ToClient,
            request_id: &id,
            subject: SUBJECT,
            name: "DB_PASSWORD",
            version: "",
        };
        assert!(client_side.open(&value_aad, &sealed).is_err());
        assert!(client_side.open_reply(&aad, &resolver_side.seal(&value_aad, b"x")).is_err());
        assert!(client_side.open_reply(&aad, resolver_side.seal_grant("hush1.g.s").as_bytes()).is_err());
    }

    #[test]
    fn a_reply_over_its_limit_is_refused_before_it_is_sealed() {
        let (key, _) = pair();
        let (id, mac) = ([1u8; 16], [2u8; 32]);
        let aad = ReplyAad { request_id: &id, subject: SUBJECT, request_mac: &mac };
        let value = vec![7u8; 1000];
        let items = reply_items(&value);
        let fits = key.seal_reply(&aad, &refs(&items), 1 << 20, |_| Vec::new()).unwrap();
        let no_head = |_| -> Vec<u8> { panic!("a reply over its limit asks for no head") };
        assert!(matches!(
            key.seal_reply(&aad, &refs(&items), fits.len() - 1, no_head),
            Err(CodecError::TooLarge { len, limit }) if len == fits.len() && limit == fits.len() - 1
        ));
        assert!(key.seal_reply(&aad, &refs(&items), fits.len(), |_| Vec::new()).is_ok(), "exactly the limit fits");
    }

    #[test]
    fn a_request_mac_binds_every_field_and_both_keys() {
        let resolver = ResolverKeyPair::generate();
        let client = ClientKeyPair::generate();
        let (resolver_side, client_side) =
            (resolver.transport_key(&client.public()).unwrap(), client.transport_key(&resolver.public()).unwrap());
        let id = [3u8; 16];
        let input = RequestMacInput {
            request_id: &id,
            subject: SUBJECT,
            sent_at_ms: 1000,
            sealed_grant: b"hush1.a.b",
            body: b"delete X",
        };
        let mac = client_side.request_mac(&input);
        resolver_side.verify_request_mac(&input, &mac).unwrap();
        let other_id = [4u8; 16];
        let edited = [
            RequestMacInput { request_id: &other_id, ..input },
            RequestMacInput { subject: "hush.v1.get.acme.company", ..input },
            RequestMacInput { sent_at_ms: 1001, ..input },
            RequestMacInput { sealed_grant: b"hush1.a.c", ..input },
            RequestMacInput { body: b"delete Y", ..input },
            // Same bytes, other field boundaries.
            RequestMacInput { sealed_grant: b"hush1.a.bdelete X", body: b"", ..input },
        ];
        for other in edited {
            assert!(matches!(resolver_side.verify_request_mac(&other, &mac), Err(CryptoError::BadMac)), "{other:?}");
        }
        // Another client key (the one an attacker holds) gives another MAC key.
        let attacker = ClientKeyPair::generate().transport_key(&resolver.public()).unwrap();
        assert!(resolver_side.verify_request_mac(&input, &attacker.request_mac(&input)).is_err());
        let mut flipped = mac;
        flipped[31] ^= 1;
        assert!(resolver_side.verify_request_mac(&input, &flipped).is_err());
    }

    #[test]
    fn a_sealed_grant_opens_only_under_its_key_pair_and_the_mac_binds_it_to_each_request() {
        let resolver = ResolverKeyPair::generate();
        let client = ClientKeyPair::generate();
        let (resolver_side, client_side) =
            (resolver.transport_key(&client.public()).unwrap(), client.transport_key(&resolver.public()).unwrap());
        let grant = "hush1.Y2xhaW1z.c2lnbmF0dXJl";
        let sealed = client_side.seal_grant(grant);
        assert_eq!(format!("{sealed:?}"), format!("SealedGrant({} bytes)", 12 + grant.len() + 16));
        let body = hush_proto::message::RequestBody::List(hush_proto::message::ListRequest::default());
        let mut envelope = RequestEnvelope::new([5; 16], client.public(), [0; 8], 1000, body);
        let wire = client_side.authenticate_and_encode(&mut envelope, SUBJECT, &sealed).unwrap();
        assert_eq!(wire, envelope.encode().unwrap());
        assert!(!wire.windows(grant.len()).any(|w| w == grant.as_bytes()), "the grant is not on the wire in clear");
        assert!(!wire.windows(8).any(|w| w == b"Y2xhaW1z"), "nor its claims");
        assert_eq!(envelope.sealed_grant, sealed.as_bytes());
        assert_eq!(resolver_side.open_grant(&envelope.sealed_grant).unwrap().as_str(), grant);
        resolver_side.verify_envelope(&envelope, SUBJECT).unwrap();

        // The same sealed grant in the session's next request: the MAC binds it there too.
        let mut next = RequestEnvelope::new([6; 16], client.public(), [0; 8], 1001, envelope.body.clone());
        client_side.authenticate_and_encode(&mut next, SUBJECT, &sealed).unwrap();
        assert_eq!(next.sealed_grant, envelope.sealed_grant);
        resolver_side.verify_envelope(&next, SUBJECT).unwrap();
        // Moved into a request it was not authenticated with: the MAC fails.
        let mut moved = next.clone();
        moved.sealed_grant = client_side.seal_grant(grant).0;
        assert_ne!(moved.sealed_grant, next.sealed_grant, "a fresh nonce each time it is sealed");
        assert!(matches!(resolver_side.verify_envelope(&moved, SUBJECT), Err(CryptoError::BadMac)));

        // Under another client key (an attacker re-sending it) or another resolver key: it does not open.
        let stranger = resolver.transport_key(&ClientKeyPair::generate().public()).unwrap();
        assert!(matches!(stranger.open_grant(sealed.as_bytes()), Err(CryptoError::Open)));
        let other_resolver = client.transport_key(&ResolverKeyPair::generate().public()).unwrap();
        assert!(other_resolver.open_grant(sealed.as_bytes()).is_err());
        let mut altered = sealed.as_bytes().to_vec();
        altered[20] ^= 1;
        assert!(resolver_side.open_grant(&altered).is_err());
        // A sealed value never opens as a grant, nor a grant as a value: their AADs differ.
        let value = client_side.seal(&aad(&[5; 16]), grant.as_bytes());
        assert!(resolver_side.open_grant(&value).is_err());
        assert!(resolver_side.open(&aad(&[5; 16]), sealed.as_bytes()).is_err());
        assert_eq!(GRANT_AAD, length_prefix::concat(&[b"hush-grant-v1"]).as_slice());
        // A sealed grant that opens but is not text is refused, not lossily converted.
        let not_text = client_side.seal_under(Aad::Bytes(GRANT_AAD), &[0xff, 0xfe, b'a']);
        assert!(matches!(resolver_side.open_grant(&not_text), Err(CryptoError::Open)));
    }

    #[test]
    fn sealed_layout_is_nonce_ciphertext_tag() {
        let (key, _) = pair();
        let id = random_request_id();
        let a = key.seal(&aad(&id), b"hunter2");
        let b = key.seal(&aad(&id), b"hunter2");
        assert_eq!(a.len(), 12 + 7 + 16);
        assert_ne!(a[..12], b[..12], "fresh nonce per value");
        assert!(!a.windows(7).any(|w| w == b"hunter2"));
        assert!(key.open(&aad(&id), &key.seal(&aad(&id), b"")).unwrap().is_empty());
    }

    #[test]
    fn a_value_moved_elsewhere_fails_to_open() {
        let (resolver_side, client_side) = pair();
        let id = [1u8; 16];
        let other_id = [2u8; 16];
        let sealed = resolver_side.seal(&aad(&id), b"hunter2");
        let moved = [
            SealAad { direction: Direction::ToResolver, ..aad(&id) },
            aad(&other_id),
            SealAad { subject: "hush.v1.get.acme.company", ..aad(&id) },
            SealAad { name: "OTHER", ..aad(&id) },
            SealAad { version: "4", ..aad(&id) },
            // Same bytes, different field boundaries.
            SealAad { name: "DB_PASSWORD3", version: "", ..aad(&id) },
        ];
        for other in moved {
            assert!(matches!(client_side.open(&other, &sealed), Err(CryptoError::Open)), "{other:?}");
        }
        // The sender itself cannot open a reflected value in the other direction either.
        assert!(resolver_side.open(&SealAad { direction: Direction::ToResolver, ..aad(&id) }, &sealed).is_err());
    }

    #[test]
    fn tampered_or_foreign_values_fail() {
        let (resolver_side, client_side) = pair();
        let id = random_request_id();
        let sealed = resolver_side.seal(&aad(&id), b"hunter2");
        for i in [0, 12, sealed.len() - 1] {
            let mut t = sealed.clone();
            t[i] ^= 0x80;
            assert!(matches!(client_side.open(&aad(&id), &t), Err(CryptoError::Open)), "byte {i}");
        }
        assert!(client_side.open(&aad(&id), &sealed[..27]).is_err());
        assert!(client_side.open(&aad(&id), &[]).is_err());
        let (stranger, _) = pair();
        assert!(stranger.open(&aad(&id), &sealed).is_err());
        let e = client_side.open(&aad(&id), &sealed[1..]).unwrap_err();
        assert_eq!(e.to_string(), "sealed value failed to open");
    }

    #[test]
    fn low_order_public_keys_are_refused() {
        // u = 0, u = 1, and a point of order 8 (from the X25519 low-order list).
        let mut order8 = [0u8; 32];
        order8.copy_from_slice(&[
            0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09,
            0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
        ]);
        let mut one = [0u8; 32];
        one[0] = 1;
        let resolver = ResolverKeyPair::generate();
        let client = ClientKeyPair::generate();
        for bad in [[0u8; 32], one, order8] {
            assert!(matches!(resolver.transport_key(&bad), Err(CryptoError::NonContributory)));
            assert!(matches!(client.transport_key(&bad), Err(CryptoError::NonContributory)));
        }
    }

    #[test]
    fn key_files_round_trip_and_debug_hides_keys() {
        let dir = tempfile::tempdir().unwrap();
        let (secret, public) = (dir.path().join("resolver.key"), dir.path().join("resolver.pub"));
        let pair = ResolverKeyPair::generate();
        pair.save_new(&secret, &public).unwrap();
        let loaded = ResolverKeyPair::load(&secret).unwrap();
        assert_eq!(loaded.public(), pair.public());
        assert_eq!(load_public_key(&public).unwrap(), pair.public());
        assert_eq!(loaded.key_id(), resolver_key_id(&pair.public()));
        assert!(matches!(pair.save_new(&secret, &dir.path().join("x.pub")), Err(CryptoError::Exists(_))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let shown = format!("{pair:?} {:?} {:?}", ClientKeyPair::generate(), pair.transport_key(&[7; 32]).unwrap());
        assert!(shown.contains(&key_id_hex(&pair.key_id())), "{shown}");
        assert!(shown.contains("TransportKey(***)"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    proptest! {
        #[test]
        fn open_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let (key, _) = pair();
            let id = [0u8; 16];
            prop_assert!(key.open(&aad(&id), &bytes).is_err());
        }
    }
}
