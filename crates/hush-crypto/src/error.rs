//! Errors of key handling and sealing ([`CryptoError`]) and of grant checks ([`GrantError`]).
//!
//! No message holds key material or a secret value. Grant errors name what was wrong with
//! the grant and never whether a secret exists.

use std::path::PathBuf;

use hush_core::{Error, ErrorKind};

/// Why a key could not be loaded or saved, or a value could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A key file is unreadable or its content is not what it should be.
    #[error("key file {}: {reason}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (never its content).
        reason: String,
    },
    /// A private key file that group or others may access: refused, as OpenSSH does.
    #[error("key file {} is accessible by group or others (mode {mode:04o}): run `chmod 600 {}`", path.display(), path.display())]
    KeyFileMode {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file to be created already exists; hush never overwrites a key.
    #[error("{} already exists; refusing to overwrite a key file", .0.display())]
    Exists(PathBuf),
    /// Writing a key file failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Key bytes are not 32 bytes long.
    #[error("key is not 32 bytes long")]
    BadKeyLength,
    /// A sealed value failed to open: wrong key, wrong AAD, or tampered bytes.
    #[error("sealed value failed to open")]
    Open,
    /// A request's or a change event's MAC does not match: it was edited, or made without the key.
    #[error("the message authentication code does not match")]
    BadMac,
    /// A value could not be sealed (it exceeds AES-GCM's 64 GiB limit).
    #[error("value is too large to seal")]
    Seal,
    /// The Diffie-Hellman result is all zero: the peer sent a low-order public key.
    #[error("peer public key is a low-order point (non-contributory key exchange)")]
    NonContributory,
    /// A record was sealed under a key id the key ring does not hold.
    #[error("sealed with key id {0}, which the key ring does not hold")]
    UnknownKeyId(u32),
    /// An Ed25519 public key given to the grant verifier is not a valid point.
    #[error("grant issuer public key {index} is not a valid Ed25519 public key")]
    BadIssuerKey {
        /// Its position in the list.
        index: usize,
    },
    /// Two different issuer keys share a key id.
    #[error("grant issuer public keys {first} and {second} have the same key id")]
    DuplicateIssuerKeyId {
        /// Position of the first.
        first: usize,
        /// Position of the second.
        second: usize,
    },
    /// The grant verifier was given no issuer key.
    #[error("no grant issuer public key configured")]
    NoIssuerKeys,
}

impl From<CryptoError> for Error {
    fn from(e: CryptoError) -> Self {
        let kind = match &e {
            CryptoError::KeyFile { .. }
            | CryptoError::KeyFileMode { .. }
            | CryptoError::Exists(_)
            | CryptoError::BadIssuerKey { .. }
            | CryptoError::DuplicateIssuerKeyId { .. }
            | CryptoError::NoIssuerKeys
            | CryptoError::UnknownKeyId(_) => ErrorKind::ConfigInvalid,
            CryptoError::BadMac => ErrorKind::Unauthorized,
            CryptoError::BadKeyLength | CryptoError::Open | CryptoError::Seal | CryptoError::NonContributory => {
                ErrorKind::InvalidInput
            }
            CryptoError::Write { .. } => ErrorKind::Internal,
        };
        Error::new(kind, e.to_string()).set_temporary(false)
    }
}

/// Why a grant was refused (or could not be issued).
///
/// On the wire every variant becomes `unauthorized`; the text says what is wrong with the
/// grant and nothing about the secrets it was presented for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// Not a `hush1.<claims>.<sig>` token, bad base64, bad claims, unknown claims version,
    /// or too long.
    #[error("grant is malformed")]
    Malformed,
    /// No configured issuer key has the grant's issuer key id.
    #[error("grant issuer is not trusted")]
    UnknownIssuer,
    /// The signature does not verify.
    #[error("grant signature is invalid")]
    BadSignature,
    /// `now` is after `expires_at`.
    #[error("grant has expired")]
    Expired,
    /// `now` is more than 60 s before `issued_at`.
    #[error("grant is not valid yet")]
    NotYetValid,
    /// `expires_at - issued_at` exceeds the configured maximum (or does not fit).
    #[error("grant lifetime exceeds the maximum")]
    LifetimeTooLong,
    /// The grant is for another tenant.
    #[error("grant is for another tenant")]
    TenantMismatch,
    /// The grant is for another namespace.
    #[error("grant is for another namespace")]
    NamespaceMismatch,
    /// The grant's scope does not allow the operation (a read grant on an admin operation).
    #[error("grant scope does not allow this operation")]
    ScopeInsufficient,
    /// The grant is bound (`cnf`) to another client key.
    #[error("grant is bound to another client key")]
    KeyBindingMismatch,
    /// The grant is not bound to a client key (`cnf`), and the resolver requires binding for
    /// its tenant.
    #[error(
        "grant is not bound to a client key, and this resolver requires bound grants (mint it with `hush grant --bind-key`)"
    )]
    NotBound,
    /// The execution id is longer than 128 characters.
    #[error("grant execution id is longer than 128 characters")]
    ExecutionIdTooLong,
}

impl From<GrantError> for Error {
    fn from(e: GrantError) -> Self {
        Error::new(ErrorKind::Unauthorized, format!("grant refused: {e}")).set_temporary(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_errors_are_unauthorized_and_permanent() {
        let e = Error::from(GrantError::Expired);
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
        assert!(!e.is_temporary());
        assert_eq!(e.message(), "grant refused: grant has expired");
    }

    #[test]
    fn crypto_errors_map_to_kinds() {
        assert_eq!(Error::from(CryptoError::Open).kind(), ErrorKind::InvalidInput);
        assert_eq!(Error::from(CryptoError::Open).message(), "sealed value failed to open");
        let e = CryptoError::KeyFile { path: "/k".into(), reason: "not base64".into() };
        assert_eq!(e.to_string(), "key file /k: not base64");
        assert_eq!(Error::from(e).kind(), ErrorKind::ConfigInvalid);
    }
}
