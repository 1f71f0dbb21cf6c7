//! Grant checks on every request (DESIGN.md section 4, ARCHITECTURE.md "Security").
//!
//! Signature verification costs tens of microseconds, so verified claims are cached by token
//! (bounded, a few minutes). The cheap checks — expiry, tenant, namespace, scope, the key
//! binding and whether the tenant requires one — run on every request, cached or not.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use hush_core::{Error, GrantClaims, TenantId};
use hush_crypto::{GrantError, GrantNeed, GrantVerifier};

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

/// Verifies grants, remembering the ones already verified.
pub(crate) struct GrantGate {
    verifier: GrantVerifier,
    policy: BindingPolicy,
    /// Claims by grant token, with when they were verified (unix seconds): a grant is verified
    /// again after [`VERIFIED_FOR`], and the most used [`MAX_VERIFIED`] are kept.
    verified: quick_cache::sync::Cache<String, (Arc<GrantClaims>, i64)>,
}

/// How long a verified grant's signature is trusted without checking it again, in seconds.
/// Its expiry and scope are checked on every request.
const VERIFIED_FOR: i64 = 300;
/// How many verified grants are remembered.
const MAX_VERIFIED: usize = 100_000;

/// Longest grant token hush reads; longer is refused before any work.
const MAX_TOKEN_LEN: usize = 4096;

impl GrantGate {
    pub(crate) fn new(verifier: GrantVerifier, policy: BindingPolicy) -> Self {
        Self { verifier, policy, verified: quick_cache::sync::Cache::new(MAX_VERIFIED) }
    }

    /// Whether grants for `tenant` must be bound to the client key.
    pub(crate) fn requires_binding(&self, tenant: &TenantId) -> bool {
        self.policy.requires_binding(tenant)
    }

    /// The grant's claims when it allows `need` at `now`; `Unauthorized` otherwise.
    pub(crate) fn authorize(&self, token: &str, need: &GrantNeed<'_>, now: i64) -> Result<Arc<GrantClaims>, Error> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(GrantError::Malformed.into());
        }
        let claims = match self.verified.get(token) {
            Some((claims, verified_at)) if now.saturating_sub(verified_at) < VERIFIED_FOR => claims,
            _ => {
                let claims = Arc::new(self.verifier.verify(token, now)?);
                self.verified.insert(token.to_owned(), (claims.clone(), now));
                claims
            }
        };
        need.check(&claims, now)?;
        Ok(claims)
    }
}

impl fmt::Debug for GrantGate {
    /// The verifier and the policy; of the cached claims only their number (the cache is
    /// keyed by grant tokens, which are credentials).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantGate")
            .field("verifier", &self.verifier)
            .field("policy", &self.policy)
            .field("verified_grants", &self.verified.len())
            .finish()
    }
}
