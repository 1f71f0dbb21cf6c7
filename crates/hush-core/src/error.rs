//! The one error type backends, layers and the resolver report.
//!
//! Modelled on OpenDAL's `Error`: a kind a caller can match on, a message for humans, a
//! temporary flag the retry layer reads, context pairs, and the source. Messages never
//! hold a secret value or a credential; backends sanitise vendor text before it gets here.

use std::fmt;

/// What went wrong, as a caller acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The secret, tenant, or path does not exist (or is hidden by a tag filter).
    NotFound,
    /// The grant is missing, expired, forged or does not cover the request.
    Unauthorized,
    /// The backend refused the credentials hush used for it.
    PermissionDenied,
    /// A write through a read-only binding.
    ReadOnly,
    /// The backend cannot do this (no writes, no list, no versions).
    Unsupported,
    /// The configuration is wrong.
    ConfigInvalid,
    /// The backend asked hush to slow down.
    RateLimited,
    /// The backend is down, slow, or unreachable.
    Unavailable,
    /// The request itself is malformed (bad name, bad path, oversized message).
    InvalidInput,
    /// A write lost a race with another write.
    Conflict,
    /// A bug or an unexpected state in hush.
    Internal,
}

impl ErrorKind {
    /// Stable lowercase name, used on the wire, in audit events and in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::ReadOnly => "read_only",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::ConfigInvalid => "config_invalid",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Internal => "internal",
        }
    }

    /// Every kind, for exhaustive tables (wire codes, exit codes).
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::NotFound,
        ErrorKind::Unauthorized,
        ErrorKind::PermissionDenied,
        ErrorKind::ReadOnly,
        ErrorKind::Unsupported,
        ErrorKind::ConfigInvalid,
        ErrorKind::RateLimited,
        ErrorKind::Unavailable,
        ErrorKind::InvalidInput,
        ErrorKind::Conflict,
        ErrorKind::Internal,
    ];

    /// The kind from its [`as_str`](Self::as_str) name.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether errors of this kind are worth retrying by default.
    pub fn is_temporary_by_default(self) -> bool {
        matches!(self, ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Conflict)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::ReadOnly => "read-only",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::ConfigInvalid => "invalid configuration",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Unavailable => "backend unavailable",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Internal => "internal error",
        })
    }
}

/// An error with a kind, a message, a temporary flag, context and a source.
pub struct Error {
    kind: ErrorKind,
    message: String,
    temporary: bool,
    context: Vec<(&'static str, String)>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with hush's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error; temporary when the kind usually is (see [`ErrorKind::is_temporary_by_default`]).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            temporary: kind.is_temporary_by_default(),
            context: Vec::new(),
            source: None,
        }
    }

    /// Shorthand for a not-found error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// The `NotFound` every backend reports for a missing secret, or a missing version of it.
    pub fn secret_not_found(
        scope: &crate::Scope,
        name: &crate::SecretName,
        version: Option<&crate::VersionId>,
    ) -> Self {
        match version {
            None => Self::not_found(format!("secret {name} not found in {scope}")),
            Some(v) => Self::not_found(format!("version {v} of secret {name} not found in {scope}")),
        }
    }

    /// Shorthand for an invalid-input error.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for an unsupported-operation error.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// Shorthand for a backend-unavailable error (temporary).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// Marks the error temporary (retried by the retry layer) or permanent.
    pub fn set_temporary(mut self, temporary: bool) -> Self {
        self.temporary = temporary;
        self
    }

    /// Adds a context pair (`backend = "vault-main"`), shown after the message.
    pub fn with_context(mut self, key: &'static str, value: impl fmt::Display) -> Self {
        self.context.push((key, value.to_string()));
        self
    }

    /// Keeps the underlying error. Its text must hold no secret: sanitise vendor errors first.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without kind or context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether retrying may succeed.
    pub fn is_temporary(&self) -> bool {
        self.temporary
    }

    /// The context pairs.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.context
    }

    /// The value of context `key`, if set.
    pub fn context_value(&self, key: &str) -> Option<&str> {
        self.context.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }

    /// With context `backend` = `name`, unless a backend is named already: what the resolver
    /// adds to an error of a backend call, so replies and audit events say which backend failed.
    pub fn from_backend(self, name: &str) -> Self {
        if self.context_value("backend").is_some() { self } else { self.with_context("backend", name) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        for (i, (k, v)) in self.context.iter().enumerate() {
            write!(f, "{}{k}={v}", if i == 0 { " (" } else { ", " })?;
        }
        if !self.context.is_empty() {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message).field("temporary", &self.temporary);
        if !self.context.is_empty() {
            d.field("context", &self.context);
        }
        if let Some(source) = &self.source {
            d.field("source", &source.to_string());
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

impl From<crate::ids::IdError> for Error {
    fn from(e: crate::ids::IdError) -> Self {
        Error::invalid_input(e.to_string())
    }
}

impl From<crate::value::TagError> for Error {
    fn from(e: crate::value::TagError) -> Self {
        Error::invalid_input(e.to_string())
    }
}

impl From<crate::path::PathError> for Error {
    fn from(e: crate::path::PathError) -> Self {
        let kind = match e {
            crate::path::PathError::Missing { .. } => ErrorKind::NotFound,
            _ => ErrorKind::InvalidInput,
        };
        Error::new(kind, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_kind_message_and_context() {
        let e = Error::unavailable("connection refused").with_context("backend", "local");
        assert_eq!(e.to_string(), "backend unavailable: connection refused (backend=local)");
        assert!(e.is_temporary());
        assert!(!Error::not_found("x").is_temporary());
    }

    #[test]
    fn kind_names_round_trip() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_name(k.as_str()), Some(k));
        }
    }
}
