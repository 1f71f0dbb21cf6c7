//! The claims of a grant: who may read what, until when.
//!
//! Signing and verification live in `hush-crypto`; the token's text form and its checks
//! against a request live there too. This module only names the fields.

use serde::{Deserialize, Serialize};

use crate::ids::{Namespace, TenantId};

/// What a grant allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GrantScope {
    /// Read secrets of the namespace and its ancestors.
    Read,
    /// Read, and put, delete and list in the namespace.
    Admin,
}

impl GrantScope {
    /// Whether this scope allows what `needed` allows.
    pub fn allows(self, needed: GrantScope) -> bool {
        matches!((self, needed), (GrantScope::Admin, _) | (GrantScope::Read, GrantScope::Read))
    }
}

/// The signed statement "this worker runs for tenant T, namespace N, execution E, until X".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantClaims {
    /// Claims format version, 1.
    pub version: u8,
    /// First 8 bytes of SHA-256 of the issuer's Ed25519 public key.
    pub issuer_key_id: [u8; 8],
    /// The tenant.
    pub tenant: TenantId,
    /// The namespace the worker runs in.
    pub namespace: Namespace,
    /// What it may do.
    pub scope: GrantScope,
    /// The execution it runs for, at most 128 characters.
    pub execution_id: Option<String>,
    /// Issued at, unix seconds.
    pub issued_at: i64,
    /// Expires at, unix seconds.
    pub expires_at: i64,
    /// The X25519 public key the grant is bound to (proof of possession), if any.
    pub cnf: Option<[u8; 32]>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_allows_read_but_not_the_reverse() {
        assert!(GrantScope::Admin.allows(GrantScope::Read));
        assert!(GrantScope::Admin.allows(GrantScope::Admin));
        assert!(GrantScope::Read.allows(GrantScope::Read));
        assert!(!GrantScope::Read.allows(GrantScope::Admin));
    }
}
