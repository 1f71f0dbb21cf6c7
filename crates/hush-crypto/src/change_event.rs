//! The MAC key of change events, which every replica holding the resolver key derives.
//!
//! ARCHITECTURE.md "Change events": `K_events = HKDF-SHA256(salt = "hush-events-v1",
//! ikm = r, info = lp(R))` for the resolver key pair `(r, R)`, and an event's MAC is
//! `HMAC-SHA256(K_events, lp("hush-event-v1") ‖ lp(subject) ‖ lp(name) ‖ lp(sent_at i64 LE))`.
//! Only a process holding `r` can make an event a replica acts on.

use std::fmt;

use hmac::Mac;
use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::fingerprint::key_id_hex;
use crate::transport::{hkdf_key, hmac_fields};

/// HKDF salt of the change-event key.
const HKDF_SALT_EVENTS: &[u8] = b"hush-events-v1";
/// Label that starts every change-event MAC input.
const EVENT_MAC_LABEL: &[u8] = b"hush-event-v1";

/// What a change event's MAC covers.
#[derive(Debug, Clone, Copy)]
pub struct ChangeEventMacInput<'a> {
    /// The subject it is published on (`hush.v1.events.changed.<tenant>.<namespace>`).
    pub subject: &'a str,
    /// The secret's name.
    pub name: &'a str,
    /// When it was sent, unix milliseconds.
    pub sent_at_ms: i64,
}

/// The change-event MAC key derived from one resolver key.
///
/// `Debug` prints the resolver key id only.
#[derive(Clone)]
pub struct ChangeEventKey {
    resolver_key_id: [u8; 8],
    key: Zeroizing<[u8; 32]>,
}

impl ChangeEventKey {
    /// Derives the key from a resolver's secret and public key.
    pub(crate) fn derive(resolver_secret: &[u8; 32], resolver_public: &[u8; 32], resolver_key_id: [u8; 8]) -> Self {
        let info = crate::length_prefix::concat(&[resolver_public]);
        Self { resolver_key_id, key: hkdf_key(HKDF_SALT_EVENTS, resolver_secret, &info) }
    }

    /// The id of the resolver key this key was derived from.
    pub fn resolver_key_id(&self) -> [u8; 8] {
        self.resolver_key_id
    }

    /// The MAC of an event.
    pub fn mac(&self, input: &ChangeEventMacInput<'_>) -> [u8; 32] {
        self.hmac(input).finalize().into_bytes().into()
    }

    /// Checks an event's MAC in constant time; [`CryptoError::BadMac`] when it does not match.
    pub fn verify(&self, input: &ChangeEventMacInput<'_>, mac: &[u8; 32]) -> Result<(), CryptoError> {
        self.hmac(input).verify_slice(mac).map_err(|_| CryptoError::BadMac)
    }

    fn hmac(&self, input: &ChangeEventMacInput<'_>) -> hmac::Hmac<sha2::Sha256> {
        hmac_fields(
            &self.key,
            &[EVENT_MAC_LABEL, input.subject.as_bytes(), input.name.as_bytes(), &input.sent_at_ms.to_le_bytes()],
        )
    }
}

impl fmt::Debug for ChangeEventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeEventKey")
            .field("resolver_key_id", &key_id_hex(&self.resolver_key_id))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResolverKeyPair;

    const SUBJECT: &str = "hush.v1.events.changed.acme.company";

    #[test]
    fn replicas_with_the_same_key_agree_and_others_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let (secret, public) = (dir.path().join("resolver.key"), dir.path().join("resolver.pub"));
        let first = ResolverKeyPair::generate();
        first.save_new(&secret, &public).unwrap();
        let second = ResolverKeyPair::load(&secret).unwrap();
        let input = ChangeEventMacInput { subject: SUBJECT, name: "DB_PASSWORD", sent_at_ms: 42 };
        let mac = first.change_event_key().mac(&input);
        second.change_event_key().verify(&input, &mac).unwrap();
        assert_eq!(second.change_event_key().resolver_key_id(), first.key_id());

        let stranger = ResolverKeyPair::generate().change_event_key();
        assert!(matches!(stranger.verify(&input, &mac), Err(CryptoError::BadMac)));
        for edited in [
            ChangeEventMacInput { subject: "hush.v1.events.changed.acme.other", ..input },
            ChangeEventMacInput { name: "OTHER", ..input },
            ChangeEventMacInput { sent_at_ms: 43, ..input },
        ] {
            assert!(second.change_event_key().verify(&edited, &mac).is_err(), "{edited:?}");
        }
        assert!(!format!("{:?}", first.change_event_key()).contains("key:"));
    }

    #[test]
    fn the_key_follows_the_written_construction() {
        let pair = ResolverKeyPair::generate();
        let secret = pair.secret_bytes();
        let mut info = Vec::new();
        info.extend_from_slice(&32u32.to_le_bytes());
        info.extend_from_slice(&pair.public());
        let mut k = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(Some(b"hush-events-v1"), &*secret).expand(&info, &mut k).unwrap();
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&k).unwrap();
        for field in [&b"hush-event-v1"[..], SUBJECT.as_bytes(), b"X", &7i64.to_le_bytes()] {
            mac.update(&(field.len() as u32).to_le_bytes());
            mac.update(field);
        }
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        let input = ChangeEventMacInput { subject: SUBJECT, name: "X", sent_at_ms: 7 };
        assert_eq!(pair.change_event_key().mac(&input), expected);
    }
}
