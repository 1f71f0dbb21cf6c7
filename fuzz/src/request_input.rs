//! The input format of the `request` and `resolver` targets, which share one seed corpus:
//! a flags byte, the subject's length (one byte), the subject, then the payload as it arrives
//! on NATS.
//!
//! A payload the fuzzer changed no longer carries a valid MAC, so almost every input would be
//! refused at the MAC check. With [`REAUTHENTICATE`] set, the target decodes the payload and
//! authenticates it again as the fixed client would (its key, a valid grant, the current
//! time), so the fuzzer's changes to the body reach what comes after the MAC and grant checks.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hush_core::{GrantScope, Namespace, TenantId};
use hush_crypto::{Direction, GrantRequest, SealAad};
use hush_proto::message::{RequestBody, RequestEnvelope};
use hush_proto::subject;

use crate::fixed_keys::{FixedKeys, OWN_ISSUER_TENANT};

/// Decode the payload and authenticate it again as the fixed client.
pub const REAUTHENTICATE: u8 = 1;
/// With [`REAUTHENTICATE`]: send a grant minted for the subject's own tenant and namespace
/// (else the fixed grant for `acme`/`company.team`).
pub const MINT_GRANT: u8 = 2;
/// With [`REAUTHENTICATE`]: a put's `sealed_value` is taken as the plaintext and sealed to the
/// resolver, so the put reaches the backend.
pub const SEAL_VALUE: u8 = 4;
/// With [`MINT_GRANT`]: the minted grant is a read grant (else admin).
pub const READ_GRANT: u8 = 8;

/// The tenant and namespace of the fixed grant and of the seed requests.
pub const SEED_TENANT: &str = "acme";
/// See [`SEED_TENANT`].
pub const SEED_NAMESPACE: &str = "company.team";

/// One input: flags, subject and payload.
#[derive(Debug)]
pub struct RequestInput<'a> {
    /// [`REAUTHENTICATE`], [`MINT_GRANT`], [`SEAL_VALUE`], [`READ_GRANT`].
    pub flags: u8,
    /// The NATS subject (lossy UTF-8: NATS subjects are text).
    pub subject: Cow<'a, str>,
    /// The request's bytes.
    pub payload: &'a [u8],
}

impl<'a> RequestInput<'a> {
    /// Splits an input; `None` when it is shorter than its header says.
    pub fn split(data: &'a [u8]) -> Option<Self> {
        let (&flags, rest) = data.split_first()?;
        let (&subject_len, rest) = rest.split_first()?;
        let (subject, payload) = rest.split_at_checked(usize::from(subject_len))?;
        Some(Self { flags, subject: String::from_utf8_lossy(subject), payload })
    }

    /// The input bytes of `flags`, `subject` (at most 255 bytes) and `payload`.
    ///
    /// # Panics
    ///
    /// When `subject` is longer than 255 bytes.
    pub fn join(flags: u8, subject: &str, payload: &[u8]) -> Vec<u8> {
        let subject_len = u8::try_from(subject.len()).expect("a seed subject fits in 255 bytes");
        [&[flags, subject_len][..], subject.as_bytes(), payload].concat()
    }
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Unix milliseconds now.
pub fn unix_now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A grant from the fixed issuer of `tenant` (its own issuer for [`OWN_ISSUER_TENANT`]),
/// issued at `now` for an hour, bound to the fixed client key.
///
/// # Panics
///
/// When the issuer refuses it (it never does for these fields).
pub fn grant(keys: &FixedKeys, tenant: &TenantId, namespace: &Namespace, scope: GrantScope, now: i64) -> String {
    let issuer = if tenant.as_str() == OWN_ISSUER_TENANT { &keys.tenant_issuer } else { &keys.issuer };
    issuer
        .issue(&GrantRequest {
            tenant: tenant.clone(),
            namespace: namespace.clone(),
            scope,
            ttl: Duration::from_secs(3600),
            execution_id: Some("fuzz".to_owned()),
            cnf: Some(keys.client.public()),
            now,
        })
        .expect("the issuer signs an hour-long grant")
}

/// Signs a request as the fixed client does: what [`REAUTHENTICATE`] does to a decoded envelope.
#[derive(Debug)]
pub struct RequestSigner {
    fixed_grant: String,
}

impl RequestSigner {
    /// A signer whose fixed grant is an admin grant for `acme`/`company.team`, issued now.
    pub fn new(keys: &FixedKeys) -> Self {
        let tenant = TenantId::new(SEED_TENANT).expect("a valid tenant id");
        let namespace = Namespace::new(SEED_NAMESPACE).expect("a valid namespace");
        Self { fixed_grant: grant(keys, &tenant, &namespace, GrantScope::Admin, unix_now()) }
    }

    /// `envelope` sent now by the fixed client to `subject`, with the grant and value sealing
    /// the input's flags ask for, and a valid MAC.
    pub fn authenticate(
        &self,
        keys: &FixedKeys,
        flags: u8,
        subject_text: &str,
        mut envelope: RequestEnvelope,
    ) -> RequestEnvelope {
        let resolver_public = keys.resolver.public();
        let transport = keys.client.transport_key(&resolver_public).expect("the fixed keys agree");
        envelope.client_key = keys.client.public();
        envelope.resolver_key_id = keys.resolver.key_id();
        envelope.sent_at_ms = unix_now_ms();
        let minted = match subject::parse_request(subject_text) {
            Ok(target) if flags & MINT_GRANT != 0 => {
                let scope = if flags & READ_GRANT != 0 { GrantScope::Read } else { GrantScope::Admin };
                Some(grant(keys, target.tenant(), target.namespace(), scope, unix_now()))
            }
            _ => None,
        };
        if flags & SEAL_VALUE != 0
            && let RequestBody::Put(put) = &mut envelope.body
        {
            let aad = SealAad {
                direction: Direction::ToResolver,
                request_id: &envelope.request_id,
                subject: subject_text,
                name: &put.name,
                version: "",
            };
            put.sealed_value = transport.seal(&aad, &put.sealed_value);
        }
        let grant = minted.as_deref().unwrap_or(&self.fixed_grant);
        // Fails only for a body over the request limit; the envelope then keeps its old MAC.
        let _ = transport.authenticate(&mut envelope, subject_text, grant);
        envelope
    }
}
