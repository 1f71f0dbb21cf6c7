//! Grant checks on every request (DESIGN.md section 4).
//!
//! Signature verification costs tens of microseconds, so verified claims are cached by token
//! (bounded, a few minutes). The cheap checks — expiry, tenant, namespace, scope and the key
//! binding — run on every request, cached or not.

use std::sync::Arc;
use std::time::Duration;

use hush_core::{Error, GrantClaims};
use hush_crypto::{GrantError, GrantNeed, GrantVerifier};

/// Verifies grants, remembering the ones already verified.
#[derive(Debug)]
pub(crate) struct GrantGate {
    verifier: GrantVerifier,
    verified: moka::sync::Cache<String, Arc<GrantClaims>>,
}

/// Longest grant token hush reads; longer is refused before any work.
const MAX_TOKEN_LEN: usize = 4096;

impl GrantGate {
    pub(crate) fn new(verifier: GrantVerifier) -> Self {
        let verified =
            moka::sync::Cache::builder().max_capacity(100_000).time_to_live(Duration::from_secs(300)).build();
        Self { verifier, verified }
    }

    /// The grant's claims when it allows `need` at `now`; `Unauthorized` otherwise.
    pub(crate) fn authorize(&self, token: &str, need: &GrantNeed<'_>, now: i64) -> Result<Arc<GrantClaims>, Error> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(GrantError::Malformed.into());
        }
        let claims = match self.verified.get(token) {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(self.verifier.verify(token, now)?);
                self.verified.insert(token.to_owned(), claims.clone());
                claims
            }
        };
        need.check(&claims, now)?;
        Ok(claims)
    }
}
