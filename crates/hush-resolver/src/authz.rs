//! Grant checks on every request (DESIGN.md section 4, ARCHITECTURE.md "Security").
//!
//! Opening a sealed grant and verifying its signature cost microseconds, so verified claims
//! are cached by the sealed grant as it arrived, with the resolver key and client key it was
//! sealed under (bounded, a few minutes; ARCHITECTURE.md "Request authentication"). The cheap
//! checks — expiry, tenant, namespace, scope, the key binding and whether the tenant requires
//! one — run on every request, cached or not.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hush_core::{Error, ErrorKind, GrantClaims, TenantId};
use hush_crypto::{GrantError, GrantNeed, GrantVerifier, TransportKey, grant_id};

/// Which tenants require grants bound to the client key (`cnf`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingPolicy {
    /// For tenants without an entry in `tenants`. Default true.
    pub default: bool,
    /// Per-tenant overrides.
    pub tenants: HashMap<TenantId, bool>,
}

impl Default for BindingPolicy {
    fn default() -> Self {
        Self { default: true, tenants: HashMap::new() }
    }
}

impl BindingPolicy {
    /// Whether grants for `tenant` must be bound.
    pub fn requires_binding(&self, tenant: &TenantId) -> bool {
        self.tenants.get(tenant).copied().unwrap_or(self.default)
    }
}

/// A grant's id, `SHA-256(token)`: what its backend reads are charged to and its verified
/// claims are found by, without holding the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct GrantId([u8; 32]);

impl GrantId {
    /// The id of `token`.
    pub(crate) fn of(token: &str) -> Self {
        Self(grant_id(token))
    }
}

/// A grant that verified: its claims, and its id.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedGrant {
    pub(crate) claims: Arc<GrantClaims>,
    pub(crate) id: GrantId,
}

/// A request's sealed grant as it arrived: the bytes, and the resolver key and client key whose
/// transport key opens them. Checked only after the request's MAC verified under that
/// transport key, so the sender holds the client key.
#[derive(Clone, Copy, Hash)]
pub(crate) struct SealedGrantRef<'a> {
    pub(crate) resolver_key_id: &'a [u8; 8],
    pub(crate) client_key: &'a [u8; 32],
    pub(crate) sealed: &'a [u8],
}

/// [`SealedGrantRef`], owned: the verified-grant cache's key. Hashes as the reference does
/// (fixed arrays and byte slices hash the same whether owned or borrowed).
#[derive(PartialEq, Eq, Hash)]
struct SealedGrantKey {
    resolver_key_id: [u8; 8],
    client_key: [u8; 32],
    sealed: Box<[u8]>,
}

impl quick_cache::Equivalent<SealedGrantKey> for SealedGrantRef<'_> {
    fn equivalent(&self, key: &SealedGrantKey) -> bool {
        *self.resolver_key_id == key.resolver_key_id
            && *self.client_key == key.client_key
            && *self.sealed == *key.sealed
    }
}

impl SealedGrantRef<'_> {
    fn to_key(self) -> SealedGrantKey {
        SealedGrantKey {
            resolver_key_id: *self.resolver_key_id,
            client_key: *self.client_key,
            sealed: self.sealed.into(),
        }
    }
}

/// Verifies grants, remembering the ones already verified.
pub(crate) struct GrantGate {
    verifier: GrantVerifier,
    policy: BindingPolicy,
    /// The verified grant by how it arrived sealed, with when it was verified (unix seconds):
    /// verified again after [`VERIFIED_FOR`]; the most used [`MAX_VERIFIED`] are kept. No
    /// token is kept.
    verified: quick_cache::sync::Cache<SealedGrantKey, (VerifiedGrant, i64)>,
    /// The same claims by grant id: a token sealed again (a new session for the same grant) is
    /// opened, not verified again.
    verified_by_id: quick_cache::sync::Cache<GrantId, (Arc<GrantClaims>, i64)>,
    /// How many signatures were checked: what both caches save.
    signatures_checked: AtomicU64,
}

/// How long a verified grant's signature is trusted without checking it again, in seconds.
/// Its expiry and scope are checked on every request.
const VERIFIED_FOR: i64 = 300;
/// How many verified grants are remembered.
const MAX_VERIFIED: usize = 100_000;

/// Longest grant token hush reads; longer is refused before any work.
const MAX_TOKEN_LEN: usize = 4096;
/// Longest sealed grant: the longest token, its nonce and its tag. A sealed grant within it
/// opens to a token within [`MAX_TOKEN_LEN`].
const MAX_SEALED_LEN: usize = MAX_TOKEN_LEN + 12 + 16;

/// Whether a signature checked at `verified_at` is still trusted at `now` (both caches).
fn still_trusted(verified_at: i64, now: i64) -> bool {
    now.saturating_sub(verified_at) < VERIFIED_FOR
}

impl GrantGate {
    pub(crate) fn new(verifier: GrantVerifier, policy: BindingPolicy) -> Self {
        Self {
            verifier,
            policy,
            verified: quick_cache::sync::Cache::new(MAX_VERIFIED),
            verified_by_id: quick_cache::sync::Cache::new(MAX_VERIFIED),
            signatures_checked: AtomicU64::new(0),
        }
    }

    /// Whether grants for `tenant` must be bound to the client key.
    pub(crate) fn requires_binding(&self, tenant: &TenantId) -> bool {
        self.policy.requires_binding(tenant)
    }

    /// The grant `sealed` carries when it allows `need` at `now`; `Unauthorized` otherwise.
    ///
    /// Call only once the request's MAC verified under `transport`, the key of `sealed`'s
    /// resolver key and client key: a cached grant is then not opened again.
    pub(crate) fn authorize(
        &self,
        sealed: SealedGrantRef<'_>,
        transport: &TransportKey,
        need: &GrantNeed<'_>,
        now: i64,
    ) -> Result<VerifiedGrant, Error> {
        if sealed.sealed.len() > MAX_SEALED_LEN {
            return Err(GrantError::Malformed.into());
        }
        let grant = match self.verified.get(&sealed) {
            Some((grant, verified_at)) if still_trusted(verified_at, now) => grant,
            _ => {
                let (grant, verified_at) = self.open(sealed.sealed, transport, now)?;
                self.verified.insert(sealed.to_key(), (grant.clone(), verified_at));
                grant
            }
        };
        need.check(&grant.claims, now)?;
        Ok(grant)
    }

    /// Opens a sealed grant and finds its verified claims by id, or verifies it; the token is
    /// wiped when done. Returns the grant and when its signature was checked.
    fn open(&self, sealed: &[u8], transport: &TransportKey, now: i64) -> Result<(VerifiedGrant, i64), Error> {
        let token = transport.open_grant(sealed).map_err(|_| {
            Error::new(
                ErrorKind::Unauthorized,
                "the grant does not open: it was not sealed with the sender's client key for this resolver key",
            )
        })?;
        let id = GrantId::of(&token);
        if let Some((claims, verified_at)) = self.verified_by_id.get(&id)
            && still_trusted(verified_at, now)
        {
            return Ok((VerifiedGrant { claims, id }, verified_at));
        }
        self.signatures_checked.fetch_add(1, Ordering::Relaxed);
        let claims = Arc::new(self.verifier.verify(&token, now)?);
        self.verified_by_id.insert(id, (claims.clone(), now));
        Ok((VerifiedGrant { claims, id }, now))
    }

    /// How many grant signatures were checked since the gate was made.
    #[cfg(test)]
    pub(crate) fn signatures_checked(&self) -> u64 {
        self.signatures_checked.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for GrantGate {
    /// The verifier and the policy; of the cached grants only their number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantGate")
            .field("verifier", &self.verifier)
            .field("policy", &self.policy)
            .field("verified_grants", &self.verified.len())
            .finish()
    }
}
