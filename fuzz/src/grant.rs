//! The `grant` target: grant tokens through `hush-crypto`'s parser and verifier.
//!
//! Input: a mode byte, then either a token's text (mode bit 0 clear: the parser and the
//! signature check see the fuzzer's bytes) or a grant's claims bytes (bit 0 set: the target
//! signs them with the fixed issuer key, so the fuzzer's claims get past the signature to the
//! time, lifetime, tenant, namespace, scope and key-binding checks). Bits 1 to 3 choose what
//! the request needs: admin scope, another client key, a bound grant.
//!
//! Properties: `verify` accepts only what `decode_claims_unverified` decodes to the same
//! claims, and only claims within the documented bounds; `authorize` accepts exactly what
//! `verify` accepts and `GrantNeed::check` allows.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use hush_core::{GrantClaims, GrantScope, Namespace, TenantId};
use hush_crypto::{
    GrantNeed, GrantVerifier, MAX_EXECUTION_ID_CHARS, NOT_BEFORE_SKEW_SECS, TOKEN_PREFIX, decode_claims_unverified,
};

use crate::fixed_keys::FixedKeys;

/// The time every token is verified at, unix seconds (2027-01-15).
pub const NOW: i64 = 1_800_000_000;
/// The longest lifetime the verifier accepts.
pub const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Mode bit: the payload is claims bytes for the target to sign.
pub const SIGN_CLAIMS: u8 = 1;
/// Mode bit: the request needs admin scope (else read).
const NEED_ADMIN: u8 = 2;
/// Mode bit: the request comes from another client key than the fixed one.
const OTHER_CLIENT: u8 = 4;
/// Mode bit: the tenant requires bound grants.
const REQUIRE_BOUND: u8 = 8;

/// Domain label of the grant signature (hush-crypto's `grant.rs`, DESIGN.md 4b): the issuer
/// signs `lp("hush-grant-v1") ‖ lp(claims)`, each length a u32 little-endian.
const SIGNATURE_LABEL: &[u8] = b"hush-grant-v1";

/// The verifier (default issuer, and `globex`'s own issuer), the fixed keys and the signing key.
#[derive(Debug)]
pub struct GrantTarget {
    keys: FixedKeys,
    verifier: GrantVerifier,
    signing: SigningKey,
}

impl Default for GrantTarget {
    fn default() -> Self {
        Self::new()
    }
}

impl GrantTarget {
    /// The target; checks that it signs claims exactly as `GrantIssuer::issue` does.
    ///
    /// # Panics
    ///
    /// When the fixed keys cannot be loaded, or when the target's signing no longer matches
    /// the issuer's (the token format changed: update [`SIGNATURE_LABEL`]).
    pub fn new() -> Self {
        let keys = FixedKeys::load();
        let verifier = keys.verifier(MAX_LIFETIME);
        let target = Self { keys, verifier, signing: FixedKeys::issuer_signing_key() };
        let issued = crate::seeds::grant_tokens(&target.keys).remove(0);
        let claims = claims_bytes(&issued).expect("an issued token has claims");
        assert_eq!(target.signed_token(&claims), issued, "the target signs claims as GrantIssuer::issue does");
        target
    }

    /// Runs one input; panics when a property does not hold.
    pub fn run(&self, data: &[u8]) {
        let Some((&mode, payload)) = data.split_first() else { return };
        let token = if mode & SIGN_CLAIMS != 0 {
            self.signed_token(payload)
        } else {
            match std::str::from_utf8(payload) {
                Ok(token) => token.to_owned(),
                Err(_) => return,
            }
        };
        self.check(mode, &token);
    }

    /// `hush1.<claims>.<signature>` with the fixed issuer's signature over `claims`.
    pub fn signed_token(&self, claims: &[u8]) -> String {
        let mut message = Vec::with_capacity(8 + SIGNATURE_LABEL.len() + claims.len());
        for field in [SIGNATURE_LABEL, claims] {
            message.extend_from_slice(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_le_bytes());
            message.extend_from_slice(field);
        }
        let signature = self.signing.sign(&message);
        format!("{TOKEN_PREFIX}.{}.{}", URL_SAFE_NO_PAD.encode(claims), URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    fn check(&self, mode: u8, token: &str) {
        let unverified = decode_claims_unverified(token);
        let verified = self.verifier.verify(token, NOW);
        if let Ok(claims) = &verified {
            assert_eq!(unverified.as_ref().ok(), Some(claims), "verify accepted claims that do not decode alike");
            within_bounds(claims);
            assert!(self.verifier.trusts(&claims.tenant, &claims.issuer_key_id), "an untrusted issuer was accepted");
        }
        let fixed_tenant = TenantId::new("acme").expect("a valid tenant id");
        let fixed_namespace = Namespace::new("company.team").expect("a valid namespace");
        let (tenant, namespace) = match &unverified {
            Ok(claims) => (&claims.tenant, &claims.namespace),
            Err(_) => (&fixed_tenant, &fixed_namespace),
        };
        let client_key = if mode & OTHER_CLIENT != 0 { [0x5a; 32] } else { self.keys.client.public() };
        let need = GrantNeed {
            tenant,
            namespace,
            scope: if mode & NEED_ADMIN != 0 { GrantScope::Admin } else { GrantScope::Read },
            client_key: &client_key,
            require_bound: mode & REQUIRE_BOUND != 0,
        };
        let authorized = self.verifier.authorize(token, &need, NOW);
        match (&verified, &authorized) {
            (Err(_), Ok(_)) => panic!("authorize accepted a token verify refused"),
            (Ok(claims), result) => {
                assert_eq!(result.is_ok(), need.check(claims, NOW).is_ok(), "authorize and GrantNeed::check disagree")
            }
            (Err(_), Err(_)) => {}
        }
        if let Ok(claims) = &authorized {
            assert!(claims.scope.allows(need.scope), "a grant of too narrow a scope was accepted");
            match claims.cnf {
                Some(cnf) => assert_eq!(cnf, client_key, "a grant bound to another key was accepted"),
                None => assert!(!need.require_bound, "an unbound grant was accepted where binding is required"),
            }
        }
    }
}

/// What `verify` promises of claims it accepts.
fn within_bounds(claims: &GrantClaims) {
    assert!(NOW <= claims.expires_at, "an expired grant was accepted");
    assert!(NOW >= claims.issued_at.saturating_sub(NOT_BEFORE_SKEW_SECS), "a grant not yet valid was accepted");
    let lifetime = i128::from(claims.expires_at) - i128::from(claims.issued_at);
    assert!((0..=i128::from(MAX_LIFETIME.as_secs())).contains(&lifetime), "a grant's lifetime is out of bounds");
    let execution_id_chars = claims.execution_id.as_ref().map_or(0, |e| e.chars().count());
    assert!(execution_id_chars <= MAX_EXECUTION_ID_CHARS, "an execution id over the limit was accepted");
}

/// The claims bytes of a token (its middle part, base64url-decoded).
pub fn claims_bytes(token: &str) -> Option<Vec<u8>> {
    let claims = token.split('.').nth(1)?;
    URL_SAFE_NO_PAD.decode(claims).ok()
}
