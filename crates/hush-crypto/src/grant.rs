//! Grant tokens: Ed25519-signed claims, `hush1.<claims>.<sig>`, and their checks.
//!
//! DESIGN.md 4b. `claims` is the codec (bincode) encoding of [`GrantClaims`]; `sig` is
//! Ed25519 over `lp("hush-grant-v1") ‖ lp(claims bytes)`; both parts are base64url without
//! padding. [`GrantVerifier::verify`] checks form, issuer, signature (`verify_strict`) and
//! time; [`GrantVerifier::authorize`] adds tenant, namespace, scope and key binding.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hush_core::{GrantClaims, GrantScope, Namespace, TenantId};
use hush_proto::codec;
use rand_core::OsRng;
use zeroize::Zeroizing;

use crate::error::{CryptoError, GrantError};
use crate::fingerprint::{key_id_hex, key_id_of};
use crate::key_file::{read_key32, read_private_key32, write_key_pair};
use crate::length_prefix;

/// First part of every token.
pub const TOKEN_PREFIX: &str = "hush1";
/// Longest token accepted, in bytes (tokens are ASCII): it must fit an environment variable.
pub const MAX_TOKEN_CHARS: usize = 4096;
/// Longest execution id, in characters.
pub const MAX_EXECUTION_ID_CHARS: usize = 128;
/// How far `now` may be before `issued_at` (clock skew between issuer and resolver).
pub const NOT_BEFORE_SKEW_SECS: i64 = 60;
/// The claims format this crate writes and reads.
const CLAIMS_VERSION: u8 = 1;
/// Domain label of the signature.
const SIGNATURE_LABEL: &[u8] = b"hush-grant-v1";
/// Largest encoded claims: with a 64-byte signature the token stays under
/// [`MAX_TOKEN_CHARS`]. The largest valid claims (63-byte tenant, 255-byte namespace,
/// 128 four-byte characters of execution id) are under 1 KiB.
const MAX_CLAIMS_BYTES: usize = 2048;

/// The message the issuer signs: `lp("hush-grant-v1") ‖ lp(claims)`.
fn signed_message(claims: &[u8]) -> Vec<u8> {
    length_prefix::concat(&[SIGNATURE_LABEL, claims])
}

/// What a grant should say; [`GrantIssuer::issue`] turns it into a token.
#[derive(Debug, Clone)]
pub struct GrantRequest {
    /// The tenant.
    pub tenant: TenantId,
    /// The namespace the worker runs in.
    pub namespace: Namespace,
    /// Read, or admin.
    pub scope: GrantScope,
    /// How long the grant is valid, from `now` (whole seconds).
    pub ttl: Duration,
    /// The execution the worker runs for, at most 128 characters.
    pub execution_id: Option<String>,
    /// The X25519 public key to bind the grant to (proof of possession).
    pub cnf: Option<[u8; 32]>,
    /// Issue time, unix seconds.
    pub now: i64,
}

/// The issuer's Ed25519 signing key (the engine's executor holds it).
///
/// `Debug` prints the key id only.
pub struct GrantIssuer {
    signing: SigningKey,
}

impl GrantIssuer {
    /// A fresh random signing key.
    pub fn generate() -> Self {
        Self { signing: SigningKey::generate(&mut OsRng) }
    }

    /// Reads a secret key file: one line of base64 holding the 32-byte Ed25519 seed; refused
    /// when group or others may access it.
    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let seed = read_private_key32(path)?;
        Ok(Self { signing: SigningKey::from_bytes(&seed) })
    }

    /// Writes the seed (mode 0600) and the public key (0644) to new files; refuses to
    /// overwrite either, and leaves neither behind on failure.
    pub fn save_new(&self, secret_path: &Path, public_path: &Path) -> Result<(), CryptoError> {
        let seed = Zeroizing::new(self.signing.to_bytes());
        write_key_pair(secret_path, &seed, public_path, &self.public())
    }

    /// The Ed25519 public key, configured in resolvers as a trusted issuer.
    pub fn public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The key id: first 8 bytes of SHA-256 of the public key.
    pub fn key_id(&self) -> [u8; 8] {
        key_id_of(&self.public())
    }

    /// Signs a grant valid from `request.now` for `request.ttl`.
    ///
    /// Fails with [`GrantError::ExecutionIdTooLong`] for an execution id over 128
    /// characters and [`GrantError::LifetimeTooLong`] when the expiry does not fit an i64.
    pub fn issue(&self, request: &GrantRequest) -> Result<String, GrantError> {
        if request.execution_id.as_ref().is_some_and(|e| e.chars().count() > MAX_EXECUTION_ID_CHARS) {
            return Err(GrantError::ExecutionIdTooLong);
        }
        let expires_at = i64::try_from(request.ttl.as_secs())
            .ok()
            .and_then(|ttl| request.now.checked_add(ttl))
            .ok_or(GrantError::LifetimeTooLong)?;
        let claims = GrantClaims {
            version: CLAIMS_VERSION,
            issuer_key_id: self.key_id(),
            tenant: request.tenant.clone(),
            namespace: request.namespace.clone(),
            scope: request.scope,
            execution_id: request.execution_id.clone(),
            issued_at: request.now,
            expires_at,
            cnf: request.cnf,
        };
        let bytes = codec::encode(&claims, MAX_CLAIMS_BYTES).map_err(|_| GrantError::Malformed)?;
        let signature = self.signing.sign(&signed_message(&bytes));
        let token = format!(
            "{TOKEN_PREFIX}.{}.{}",
            URL_SAFE_NO_PAD.encode(&bytes),
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        );
        if token.len() > MAX_TOKEN_CHARS {
            return Err(GrantError::Malformed);
        }
        Ok(token)
    }
}

impl fmt::Debug for GrantIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantIssuer").field("key_id", &key_id_hex(&self.key_id())).finish_non_exhaustive()
    }
}

/// A token split and decoded, signature not yet checked.
struct ParsedToken {
    claims: GrantClaims,
    claims_bytes: Vec<u8>,
    signature: Signature,
}

fn parse(token: &str) -> Result<ParsedToken, GrantError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(GrantError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(TOKEN_PREFIX), Some(claims_b64), Some(sig_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(GrantError::Malformed);
    };
    let claims_bytes = URL_SAFE_NO_PAD.decode(claims_b64).map_err(|_| GrantError::Malformed)?;
    let sig_bytes = URL_SAFE_NO_PAD.decode(sig_b64).map_err(|_| GrantError::Malformed)?;
    let signature = Signature::from_slice(&sig_bytes).map_err(|_| GrantError::Malformed)?;
    let claims: GrantClaims = codec::decode(&claims_bytes, MAX_CLAIMS_BYTES).map_err(|_| GrantError::Malformed)?;
    if claims.version != CLAIMS_VERSION {
        return Err(GrantError::Malformed);
    }
    Ok(ParsedToken { claims, claims_bytes, signature })
}

/// A grant's id, `SHA-256(token)`: names one grant (to charge its backend reads, say)
/// without holding the credential.
pub fn grant_id(token: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// The claims of a token, without checking its signature or times: for display only
/// (`hush grant --show`). Never authorize anything with them.
pub fn decode_claims_unverified(token: &str) -> Result<GrantClaims, GrantError> {
    parse(token).map(|parsed| parsed.claims)
}

/// What a request needs from its grant.
#[derive(Debug, Clone, Copy)]
pub struct GrantNeed<'a> {
    /// The tenant of the subject.
    pub tenant: &'a TenantId,
    /// The namespace of the subject; the grant's must be exactly this one.
    pub namespace: &'a Namespace,
    /// The operation's scope: read for get, admin for put, delete and list.
    pub scope: GrantScope,
    /// The X25519 public key of the request envelope.
    pub client_key: &'a [u8; 32],
    /// Whether the grant must be bound to a client key (`cnf`): the resolver's
    /// `require_bound_grants` for the tenant.
    pub require_bound: bool,
}

/// Checks grant tokens against the trusted issuer keys.
///
/// Issuer trust may be narrowed per tenant ([`with_tenant_issuers`](Self::with_tenant_issuers)):
/// a grant for a tenant with its own list must come from one of those issuers; a grant for
/// any other tenant from one of the default issuers.
///
/// `Debug` prints the issuer key ids and the maximum lifetime.
#[derive(Clone)]
pub struct GrantVerifier {
    keys: BTreeMap<[u8; 8], VerifyingKey>,
    default_issuers: BTreeSet<[u8; 8]>,
    tenant_issuers: BTreeMap<TenantId, BTreeSet<[u8; 8]>>,
    max_lifetime: Duration,
}

impl GrantVerifier {
    /// A verifier trusting `issuer_public_keys` (Ed25519), accepting grants whose lifetime
    /// (`expires_at - issued_at`) is at most `max_lifetime`.
    ///
    /// Refuses an empty list, a key that is not a valid or is a weak (small-order) point,
    /// and two different keys with the same key id. A key listed twice counts once.
    pub fn new(issuer_public_keys: &[[u8; 32]], max_lifetime: Duration) -> Result<Self, CryptoError> {
        if issuer_public_keys.is_empty() {
            return Err(CryptoError::NoIssuerKeys);
        }
        let mut verifier = Self {
            keys: BTreeMap::new(),
            default_issuers: BTreeSet::new(),
            tenant_issuers: BTreeMap::new(),
            max_lifetime,
        };
        verifier.default_issuers = verifier.add_keys(issuer_public_keys)?;
        Ok(verifier)
    }

    /// A verifier whose default issuer list may be empty, for configurations where every
    /// tenant names its own issuers; add them with [`with_tenant_issuers`](Self::with_tenant_issuers).
    pub fn without_default_issuers(max_lifetime: Duration) -> Self {
        Self { keys: BTreeMap::new(), default_issuers: BTreeSet::new(), tenant_issuers: BTreeMap::new(), max_lifetime }
    }

    /// Narrows who may mint grants for `tenant` to `issuer_public_keys` (in place of the
    /// default issuers). Refuses an empty list and the keys [`new`](Self::new) refuses.
    pub fn with_tenant_issuers(
        mut self,
        tenant: TenantId,
        issuer_public_keys: &[[u8; 32]],
    ) -> Result<Self, CryptoError> {
        if issuer_public_keys.is_empty() {
            return Err(CryptoError::NoIssuerKeys);
        }
        let ids = self.add_keys(issuer_public_keys)?;
        self.tenant_issuers.insert(tenant, ids);
        Ok(self)
    }

    /// Adds keys to the known keys; returns their ids. A key listed twice counts once; two
    /// different keys with one id are refused (indexes are positions in `issuer_public_keys`).
    fn add_keys(&mut self, issuer_public_keys: &[[u8; 32]]) -> Result<BTreeSet<[u8; 8]>, CryptoError> {
        let mut ids = BTreeSet::new();
        let mut first_index: BTreeMap<[u8; 8], usize> = BTreeMap::new();
        for (index, bytes) in issuer_public_keys.iter().enumerate() {
            let key = VerifyingKey::from_bytes(bytes).map_err(|_| CryptoError::BadIssuerKey { index })?;
            if key.is_weak() {
                return Err(CryptoError::BadIssuerKey { index });
            }
            let id = key_id_of(bytes);
            match self.keys.get(&id) {
                Some(known) if known == &key => {}
                Some(_) => {
                    let first = first_index.get(&id).copied().unwrap_or(index);
                    return Err(CryptoError::DuplicateIssuerKeyId { first, second: index });
                }
                None => {
                    self.keys.insert(id, key);
                }
            }
            first_index.entry(id).or_insert(index);
            ids.insert(id);
        }
        Ok(ids)
    }

    /// A verifier trusting the public key files at `paths` (one line of base64 each).
    pub fn load(paths: &[PathBuf], max_lifetime: Duration) -> Result<Self, CryptoError> {
        let keys = read_public_keys(paths)?;
        Self::new(&keys, max_lifetime).map_err(|e| name_key_file(e, paths))
    }

    /// [`with_tenant_issuers`](Self::with_tenant_issuers) with public key files.
    pub fn load_tenant_issuers(self, tenant: TenantId, paths: &[PathBuf]) -> Result<Self, CryptoError> {
        let keys = read_public_keys(paths)?;
        self.with_tenant_issuers(tenant, &keys).map_err(|e| name_key_file(e, paths))
    }

    /// The ids of every known issuer key (default and per-tenant).
    pub fn key_ids(&self) -> Vec<[u8; 8]> {
        self.keys.keys().copied().collect()
    }

    /// Whether a grant for `tenant` signed by key `issuer_key_id` would be trusted.
    pub fn trusts(&self, tenant: &TenantId, issuer_key_id: &[u8; 8]) -> bool {
        self.tenant_issuers.get(tenant).unwrap_or(&self.default_issuers).contains(issuer_key_id)
    }

    /// The longest grant lifetime accepted.
    pub fn max_lifetime(&self) -> Duration {
        self.max_lifetime
    }

    /// Checks a token's form, issuer, signature and times at `now` (unix seconds):
    /// at most 4096 characters; claims version 1; issuer key id trusted for the grant's
    /// tenant; `verify_strict`; `issued_at - 60 ≤ now ≤ expires_at`; lifetime within the
    /// maximum; execution id at most 128 characters.
    pub fn verify(&self, token: &str, now: i64) -> Result<GrantClaims, GrantError> {
        let parsed = parse(token)?;
        let claims = parsed.claims;
        if !self.trusts(&claims.tenant, &claims.issuer_key_id) {
            return Err(GrantError::UnknownIssuer);
        }
        let key = self.keys.get(&claims.issuer_key_id).ok_or(GrantError::UnknownIssuer)?;
        key.verify_strict(&signed_message(&parsed.claims_bytes), &parsed.signature)
            .map_err(|_| GrantError::BadSignature)?;
        let lifetime = claims.expires_at.checked_sub(claims.issued_at).ok_or(GrantError::LifetimeTooLong)?;
        let lifetime = u64::try_from(lifetime).map_err(|_| GrantError::Malformed)?;
        if now > claims.expires_at {
            return Err(GrantError::Expired);
        }
        if now < claims.issued_at.saturating_sub(NOT_BEFORE_SKEW_SECS) {
            return Err(GrantError::NotYetValid);
        }
        if lifetime > self.max_lifetime.as_secs() {
            return Err(GrantError::LifetimeTooLong);
        }
        if claims.execution_id.as_ref().is_some_and(|e| e.chars().count() > MAX_EXECUTION_ID_CHARS) {
            return Err(GrantError::ExecutionIdTooLong);
        }
        Ok(claims)
    }

    /// [`verify`](Self::verify), then checks the grant covers `need`: same tenant, exactly
    /// the same namespace, a scope that allows `need.scope`, and, when the grant is bound
    /// to a key (`cnf`), that key is `need.client_key`.
    pub fn authorize(&self, token: &str, need: &GrantNeed<'_>, now: i64) -> Result<GrantClaims, GrantError> {
        let claims = self.verify(token, now)?;
        need.check(&claims, now)?;
        Ok(claims)
    }
}

impl GrantNeed<'_> {
    /// Checks that claims [`verify`](GrantVerifier::verify) accepted earlier still cover this
    /// need at `now`: not expired since, same tenant, exactly the same namespace, a scope
    /// that allows `self.scope`, and, when the grant is bound to a key (`cnf`), that key is
    /// `self.client_key`. For callers that cache verified claims.
    pub fn check(&self, claims: &GrantClaims, now: i64) -> Result<(), GrantError> {
        if now > claims.expires_at {
            return Err(GrantError::Expired);
        }
        if &claims.tenant != self.tenant {
            return Err(GrantError::TenantMismatch);
        }
        if &claims.namespace != self.namespace {
            return Err(GrantError::NamespaceMismatch);
        }
        if !claims.scope.allows(self.scope) {
            return Err(GrantError::ScopeInsufficient);
        }
        match claims.cnf {
            Some(cnf) if &cnf != self.client_key => return Err(GrantError::KeyBindingMismatch),
            None if self.require_bound => return Err(GrantError::NotBound),
            _ => {}
        }
        Ok(())
    }
}

fn read_public_keys(paths: &[PathBuf]) -> Result<Vec<[u8; 32]>, CryptoError> {
    paths.iter().map(|p| read_key32(p).map(|k| *k)).collect()
}

/// Names the file behind a key-list error.
fn name_key_file(e: CryptoError, paths: &[PathBuf]) -> CryptoError {
    let at = |index: usize, reason: &str| CryptoError::KeyFile {
        path: paths.get(index).cloned().unwrap_or_default(),
        reason: reason.to_owned(),
    };
    match e {
        CryptoError::BadIssuerKey { index } => at(index, "not a valid Ed25519 public key"),
        CryptoError::DuplicateIssuerKeyId { first, second } => {
            let first = paths.get(first).map(|p| p.display().to_string()).unwrap_or_default();
            at(second, &format!("has the key id of a different key, {first}"))
        }
        other => other,
    }
}

impl fmt::Debug for GrantVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = self.default_issuers.iter().map(key_id_hex).collect();
        let tenants: BTreeMap<&str, Vec<String>> = self
            .tenant_issuers
            .iter()
            .map(|(tenant, ids)| (tenant.as_str(), ids.iter().map(key_id_hex).collect()))
            .collect();
        f.debug_struct("GrantVerifier")
            .field("issuer_key_ids", &ids)
            .field("tenant_issuer_key_ids", &tenants)
            .field("max_lifetime", &self.max_lifetime)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NOW: i64 = 1_800_000_000;
    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn tenant(s: &str) -> TenantId {
        TenantId::new(s).unwrap()
    }

    fn ns(s: &str) -> Namespace {
        Namespace::new(s).unwrap()
    }

    fn request() -> GrantRequest {
        GrantRequest {
            tenant: tenant("acme"),
            namespace: ns("company.team.etl"),
            scope: GrantScope::Read,
            ttl: Duration::from_secs(3600),
            execution_id: Some("exec-42".into()),
            cnf: None,
            now: NOW,
        }
    }

    fn verifier(issuer: &GrantIssuer) -> GrantVerifier {
        GrantVerifier::new(&[issuer.public()], DAY).unwrap()
    }

    fn need<'a>(t: &'a TenantId, n: &'a Namespace, scope: GrantScope, key: &'a [u8; 32]) -> GrantNeed<'a> {
        GrantNeed { tenant: t, namespace: n, scope, client_key: key, require_bound: false }
    }

    #[test]
    fn issue_then_verify_round_trips() {
        let issuer = GrantIssuer::generate();
        let token = issuer.issue(&request()).unwrap();
        assert!(token.starts_with("hush1."));
        assert!(!token.contains('='), "no padding");
        let claims = verifier(&issuer).verify(&token, NOW + 10).unwrap();
        assert_eq!(claims.version, 1);
        assert_eq!(claims.issuer_key_id, issuer.key_id());
        assert_eq!(claims.tenant, tenant("acme"));
        assert_eq!(claims.namespace, ns("company.team.etl"));
        assert_eq!(claims.scope, GrantScope::Read);
        assert_eq!(claims.execution_id.as_deref(), Some("exec-42"));
        assert_eq!((claims.issued_at, claims.expires_at), (NOW, NOW + 3600));
        assert_eq!(decode_claims_unverified(&token).unwrap(), claims);
        // Valid at both ends of its window.
        assert!(verifier(&issuer).verify(&token, NOW + 3600).is_ok());
        assert!(verifier(&issuer).verify(&token, NOW - 60).is_ok());
    }

    #[test]
    fn the_largest_grant_still_fits() {
        let issuer = GrantIssuer::generate();
        let req = GrantRequest {
            tenant: tenant(&"t".repeat(63)),
            namespace: ns(&vec!["a".repeat(14); 16].join(".")),
            execution_id: Some("é".repeat(128)),
            cnf: Some([1; 32]),
            ..request()
        };
        let token = issuer.issue(&req).unwrap();
        assert!(token.len() <= MAX_TOKEN_CHARS, "{}", token.len());
        assert!(verifier(&issuer).verify(&token, NOW).is_ok());
        let too_long = GrantRequest { execution_id: Some("x".repeat(129)), ..request() };
        assert_eq!(issuer.issue(&too_long), Err(GrantError::ExecutionIdTooLong));
        let overflow = GrantRequest { ttl: Duration::from_secs(u64::MAX), ..request() };
        assert_eq!(issuer.issue(&overflow), Err(GrantError::LifetimeTooLong));
    }

    fn split(token: &str) -> (String, String) {
        let parts: Vec<&str> = token.split('.').collect();
        (parts[1].to_owned(), parts[2].to_owned())
    }

    #[test]
    fn forged_signatures_fail() {
        let issuer = GrantIssuer::generate();
        let v = verifier(&issuer);
        let token = issuer.issue(&request()).unwrap();
        let (claims, sig) = split(&token);

        // Claims edited to another namespace, signature kept.
        let mut edited = decode_claims_unverified(&token).unwrap();
        edited.namespace = ns("company");
        edited.scope = GrantScope::Admin;
        let edited = URL_SAFE_NO_PAD.encode(codec::encode(&edited, MAX_CLAIMS_BYTES).unwrap());
        assert_eq!(v.verify(&format!("hush1.{edited}.{sig}"), NOW), Err(GrantError::BadSignature));

        // Another key signs the same claims (which name the trusted key's id).
        let impostor = GrantIssuer::generate();
        let bytes = URL_SAFE_NO_PAD.decode(&claims).unwrap();
        let forged = URL_SAFE_NO_PAD.encode(impostor.signing.sign(&signed_message(&bytes)).to_bytes());
        assert_eq!(v.verify(&format!("hush1.{claims}.{forged}"), NOW), Err(GrantError::BadSignature));

        // A signature over the bare claims, without the domain label.
        let unlabelled = URL_SAFE_NO_PAD.encode(issuer.signing.sign(&bytes).to_bytes());
        assert_eq!(v.verify(&format!("hush1.{claims}.{unlabelled}"), NOW), Err(GrantError::BadSignature));

        // A flipped signature bit.
        let mut sig_bytes = URL_SAFE_NO_PAD.decode(&sig).unwrap();
        sig_bytes[5] ^= 1;
        let flipped = URL_SAFE_NO_PAD.encode(&sig_bytes);
        assert_eq!(v.verify(&format!("hush1.{claims}.{flipped}"), NOW), Err(GrantError::BadSignature));
    }

    #[test]
    fn unknown_issuer_is_refused() {
        let trusted = GrantIssuer::generate();
        let other = GrantIssuer::generate();
        let token = other.issue(&request()).unwrap();
        assert_eq!(verifier(&trusted).verify(&token, NOW), Err(GrantError::UnknownIssuer));
        let both = GrantVerifier::new(&[trusted.public(), other.public()], DAY).unwrap();
        assert!(both.verify(&token, NOW).is_ok(), "issuer key rotation: either key verifies");
    }

    #[test]
    fn a_tenant_with_its_own_issuers_trusts_only_them() {
        let platform = GrantIssuer::generate();
        let acme_issuer = GrantIssuer::generate();
        let v = GrantVerifier::new(&[platform.public()], DAY)
            .unwrap()
            .with_tenant_issuers(tenant("acme"), &[acme_issuer.public()])
            .unwrap();
        let for_tenant =
            |issuer: &GrantIssuer, t: &str| issuer.issue(&GrantRequest { tenant: tenant(t), ..request() }).unwrap();
        assert!(v.verify(&for_tenant(&acme_issuer, "acme"), NOW).is_ok());
        assert_eq!(
            v.verify(&for_tenant(&platform, "acme"), NOW),
            Err(GrantError::UnknownIssuer),
            "default issuer, narrowed tenant"
        );
        assert!(v.verify(&for_tenant(&platform, "globex"), NOW).is_ok(), "other tenants keep the default issuers");
        assert_eq!(
            v.verify(&for_tenant(&acme_issuer, "globex"), NOW),
            Err(GrantError::UnknownIssuer),
            "a tenant's issuer mints for it only"
        );
        assert!(v.trusts(&tenant("acme"), &acme_issuer.key_id()));
        assert!(!v.trusts(&tenant("acme"), &platform.key_id()));

        // Only tenant lists, no default: tenants without a list trust nobody.
        let only = GrantVerifier::without_default_issuers(DAY)
            .with_tenant_issuers(tenant("acme"), &[acme_issuer.public()])
            .unwrap();
        assert!(only.verify(&for_tenant(&acme_issuer, "acme"), NOW).is_ok());
        assert_eq!(only.verify(&for_tenant(&acme_issuer, "globex"), NOW), Err(GrantError::UnknownIssuer));
        assert!(matches!(
            GrantVerifier::without_default_issuers(DAY).with_tenant_issuers(tenant("acme"), &[]),
            Err(CryptoError::NoIssuerKeys)
        ));
        let shown = format!("{v:?}");
        assert!(shown.contains("acme") && shown.contains(&key_id_hex(&acme_issuer.key_id())), "{shown}");
    }

    #[test]
    fn time_window_is_enforced() {
        let issuer = GrantIssuer::generate();
        let v = verifier(&issuer);
        let token = issuer.issue(&request()).unwrap();
        assert_eq!(v.verify(&token, NOW + 3601), Err(GrantError::Expired));
        assert_eq!(v.verify(&token, NOW - 61), Err(GrantError::NotYetValid));
        let future = issuer.issue(&GrantRequest { now: NOW + 600, ..request() }).unwrap();
        assert_eq!(v.verify(&future, NOW), Err(GrantError::NotYetValid));
        let skewed = issuer.issue(&GrantRequest { now: NOW + 30, ..request() }).unwrap();
        assert!(v.verify(&skewed, NOW).is_ok(), "30 s of clock skew is tolerated");
    }

    #[test]
    fn lifetime_over_the_maximum_is_refused() {
        let issuer = GrantIssuer::generate();
        let v = verifier(&issuer);
        let long = issuer.issue(&GrantRequest { ttl: DAY + Duration::from_secs(1), ..request() }).unwrap();
        assert_eq!(v.verify(&long, NOW), Err(GrantError::LifetimeTooLong));
        let exact = issuer.issue(&GrantRequest { ttl: DAY, ..request() }).unwrap();
        assert!(v.verify(&exact, NOW).is_ok());
        let huge =
            issuer.issue(&GrantRequest { now: i64::MIN + 10, ttl: Duration::from_secs(i64::MAX as u64), ..request() });
        assert_eq!(v.verify(&huge.unwrap(), 0), Err(GrantError::LifetimeTooLong));
    }

    #[test]
    fn authorize_checks_tenant_namespace_scope_and_key() {
        let issuer = GrantIssuer::generate();
        let v = verifier(&issuer);
        let client_key = [7u8; 32];
        let other_key = [8u8; 32];
        let (acme, etl) = (tenant("acme"), ns("company.team.etl"));
        let read = issuer.issue(&GrantRequest { cnf: Some(client_key), ..request() }).unwrap();

        assert!(v.authorize(&read, &need(&acme, &etl, GrantScope::Read, &client_key), NOW).is_ok());
        let cases = [
            (tenant("globex"), etl.clone(), GrantScope::Read, client_key, GrantError::TenantMismatch),
            (acme.clone(), ns("company.team"), GrantScope::Read, client_key, GrantError::NamespaceMismatch),
            (acme.clone(), ns("company.team.etl.sub"), GrantScope::Read, client_key, GrantError::NamespaceMismatch),
            (acme.clone(), etl.clone(), GrantScope::Admin, client_key, GrantError::ScopeInsufficient),
            (acme.clone(), etl.clone(), GrantScope::Read, other_key, GrantError::KeyBindingMismatch),
        ];
        for (t, n, scope, key, want) in cases {
            assert_eq!(v.authorize(&read, &need(&t, &n, scope, &key), NOW), Err(want), "{t} {n} {scope:?}");
        }

        let admin = issuer.issue(&GrantRequest { scope: GrantScope::Admin, ..request() }).unwrap();
        assert!(v.authorize(&admin, &need(&acme, &etl, GrantScope::Admin, &other_key), NOW).is_ok(), "no cnf: any key");
        assert!(v.authorize(&admin, &need(&acme, &etl, GrantScope::Read, &other_key), NOW).is_ok());
        // A resolver that requires bound grants refuses the unbound one and takes the bound one.
        let strict = GrantNeed { require_bound: true, ..need(&acme, &etl, GrantScope::Admin, &other_key) };
        assert_eq!(v.authorize(&admin, &strict, NOW), Err(GrantError::NotBound));
        let strict_read = GrantNeed { require_bound: true, ..need(&acme, &etl, GrantScope::Read, &client_key) };
        assert!(v.authorize(&read, &strict_read, NOW).is_ok());
        // Verification failures come first.
        assert_eq!(
            v.authorize(&read, &need(&acme, &etl, GrantScope::Read, &client_key), NOW + 4000),
            Err(GrantError::Expired)
        );
    }

    #[test]
    fn garbage_tokens_are_malformed() {
        let issuer = GrantIssuer::generate();
        let v = verifier(&issuer);
        let token = issuer.issue(&request()).unwrap();
        let (claims, sig) = split(&token);
        let wrong_version = {
            let mut c = decode_claims_unverified(&token).unwrap();
            c.version = 2;
            let bytes = codec::encode(&c, MAX_CLAIMS_BYTES).unwrap();
            let sig = URL_SAFE_NO_PAD.encode(issuer.signing.sign(&signed_message(&bytes)).to_bytes());
            format!("hush1.{}.{sig}", URL_SAFE_NO_PAD.encode(&bytes))
        };
        let cases = [
            String::new(),
            "hush1".into(),
            "hush1..".into(),
            format!("hush2.{claims}.{sig}"),
            format!("hush1.{claims}.{sig}.x"),
            format!("hush1.{claims}"),
            format!("hush1.{claims}.{sig}="),
            format!("hush1.{claims}=.{sig}"),
            format!("hush1.{claims}.{}", &sig[..sig.len() - 2]),
            format!("hush1.{}.{sig}", &claims[..claims.len() - 3]),
            format!("hush1.{claims}AAAA.{sig}"),
            format!("hush1.{claims}.{sig}{}", "A".repeat(4096)),
            format!(" {token}"),
            wrong_version,
        ];
        for bad in cases {
            assert_eq!(v.verify(&bad, NOW), Err(GrantError::Malformed), "{bad:?}");
            assert_eq!(decode_claims_unverified(&bad), Err(GrantError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn verifier_construction_checks_keys() {
        let issuer = GrantIssuer::generate();
        assert!(matches!(GrantVerifier::new(&[], DAY), Err(CryptoError::NoIssuerKeys)));
        // The identity point is a valid encoding but weak.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            GrantVerifier::new(&[issuer.public(), identity], DAY),
            Err(CryptoError::BadIssuerKey { index: 1 })
        ));
        let twice = GrantVerifier::new(&[issuer.public(), issuer.public()], DAY).unwrap();
        assert_eq!(twice.key_ids(), [issuer.key_id()]);
        assert_eq!(twice.max_lifetime(), DAY);
        let shown = format!("{twice:?} {issuer:?}");
        assert!(shown.contains(&key_id_hex(&issuer.key_id())), "{shown}");
    }

    #[test]
    fn key_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (secret, public) = (dir.path().join("issuer.key"), dir.path().join("issuer.pub"));
        let issuer = GrantIssuer::generate();
        issuer.save_new(&secret, &public).unwrap();
        assert!(matches!(issuer.save_new(&secret, &dir.path().join("b.pub")), Err(CryptoError::Exists(_))));
        let loaded = GrantIssuer::load(&secret).unwrap();
        assert_eq!(loaded.public(), issuer.public());
        let v = GrantVerifier::load(std::slice::from_ref(&public), DAY).unwrap();
        assert!(v.verify(&loaded.issue(&request()).unwrap(), NOW).is_ok());

        let bad = dir.path().join("bad.pub");
        let mut identity = [0u8; 32];
        identity[0] = 1;
        crate::key_file::write_key32(&bad, &identity, false).unwrap();
        match GrantVerifier::load(&[public, bad.clone()], DAY) {
            Err(CryptoError::KeyFile { path, reason }) => {
                assert_eq!(path, bad);
                assert_eq!(reason, "not a valid Ed25519 public key");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusals_become_unauthorized_without_detail_about_secrets() {
        let e = hush_core::Error::from(GrantError::NamespaceMismatch);
        assert_eq!(e.kind(), hush_core::ErrorKind::Unauthorized);
        assert_eq!(e.to_string(), "unauthorized: grant refused: grant is for another namespace");
    }

    proptest! {
        #[test]
        fn verify_never_panics_on_arbitrary_strings(token in ".{0,300}") {
            let issuer = GrantIssuer::generate();
            prop_assert!(verifier(&issuer).verify(&token, NOW).is_err());
            prop_assert!(decode_claims_unverified(&token).is_err());
        }

        #[test]
        fn verify_never_panics_on_token_shaped_strings(
            claims in proptest::collection::vec(any::<u8>(), 0..400),
            sig in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let issuer = GrantIssuer::generate();
            let token = format!("hush1.{}.{}", URL_SAFE_NO_PAD.encode(&claims), URL_SAFE_NO_PAD.encode(&sig));
            prop_assert!(verifier(&issuer).verify(&token, NOW).is_err());
        }
    }
}
