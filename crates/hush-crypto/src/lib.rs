//! hush's cryptography, written down in DESIGN.md section 4b and implemented here only.
//!
//! This crate owns:
//! - [`KeyRing`]: AES-256-GCM sealing of values at rest, with key ids for rotation
//!   (implements [`hush_core::AtRestCipher`]);
//! - [`ResolverKeyPair`], [`ClientKeyPair`] and [`TransportKey`]: X25519 + HKDF-SHA256 +
//!   AES-256-GCM sealing of values between a client and the resolver;
//! - [`GrantIssuer`] and [`GrantVerifier`]: Ed25519-signed grant tokens (`hush1.…`);
//! - key files ([`write_new_file`], [`read_key32`]): created once, never overwritten,
//!   private ones with mode 0600.
//!
//! Every primitive comes from RustCrypto, dalek or ring crates; nothing here is a hand-written
//! primitive or AEAD mode. Transport sealing uses ring's AES-256-GCM (several times faster on
//! a read reply of many values), the at-rest `KeyRing` RustCrypto's `aes-gcm`; both are the same
//! AES-256-GCM, and a test opens what the transport seals with RustCrypto's. Key material never
//! appears in `Debug`, `Display` or error text.
//!
//! What is wiped from memory, exactly: key bytes read from or written to files, the at-rest
//! keys' bytes and the request MAC key live in `Zeroizing` buffers; X25519 and Ed25519 secrets
//! are wiped by their dalek types. The transport key's AES-256-GCM schedule (ring, which has no
//! zeroize) is overwritten in place with the all-zero key's when a `TransportKey` is dropped.
//! The at-rest AES round keys are wiped when an `Aes256Gcm` is dropped (`aes` with `zeroize`),
//! and so are the temporary copies of the GHASH key made while one is built (`aes-gcm`, `ghash`
//! with `zeroize`). The GHASH key that polyval 0.6.2 holds inside an `Aes256Gcm` is **not**
//! wiped on x86_64, although its `zeroize` feature is on: the CPU-detecting wrapper never drops
//! the backend that would wipe it (ARCHITECTURE.md, "Key material in memory"). It does not
//! reveal the AES key, but lets whoever learns it forge GCM tags.
//!
//! **Architecture invariant:** `hush-crypto` depends on `hush-core` and on `hush-proto`'s
//! codec (grant claims are bincode) and on nothing else of hush: no NATS, no SQL, no
//! resolver, client or backend crate. It does no network I/O; its only I/O is reading and
//! writing key files.

#![deny(missing_docs)]

mod at_rest;
mod change_event;
mod error;
mod fingerprint;
mod grant;
mod key_file;
mod length_prefix;
mod transport;

pub use at_rest::{KeyRing, MAX_KEY_ID, RetireError};
pub use change_event::{ChangeEventKey, ChangeEventMacInput};
pub use error::{CryptoError, GrantError};
pub use fingerprint::key_id_hex;
pub use grant::{
    GrantIssuer, GrantNeed, GrantRequest, GrantVerifier, MAX_EXECUTION_ID_CHARS, MAX_TOKEN_CHARS, NOT_BEFORE_SKEW_SECS,
    TOKEN_PREFIX, decode_claims_unverified, grant_id,
};
pub use key_file::{key32_from_slice, read_key32, read_private_key32, write_key32, write_new_file};
pub use transport::{
    ClientKeyPair, Direction, ReplyAad, RequestMacInput, ResolverKeyPair, SealAad, SealedGrant, TransportKey,
    load_public_key, random_request_id, resolver_key_id,
};
