//! hush's wire protocol over NATS (DESIGN.md section 3).
//!
//! This crate owns the subjects ([`subject`]), the messages ([`message`]) and the codec with
//! its size limits ([`codec`]). It holds data and pure functions only: no NATS client, no
//! cryptography. Sealed values travel as opaque bytes; `hush-crypto` seals and opens them.
//!
//! **Architecture invariant:** every message starts with [`PROTOCOL_VERSION`], and every
//! decode goes through [`codec::decode`] with a limit, so garbage gets an error, never a panic.

#![deny(missing_docs)]

pub mod codec;
pub mod message;
pub mod subject;

/// The protocol version every message starts with. Version 2 added `sent_at_ms` and the
/// request MAC to every request, and MACs to change events; version 3 the failed backend's
/// name to wire errors; version 4 seals a grant once per session (its AAD no longer names the
/// request, which the MAC binds it to); version 5 seals a read reply's items, metadata and
/// errors included, as one message bound to the request's MAC.
pub const PROTOCOL_VERSION: u16 = 5;

/// Most secrets one get request may name.
pub const MAX_ITEMS_PER_REQUEST: usize = 64;
