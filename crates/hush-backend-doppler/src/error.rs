//! Doppler's HTTP answers → hush error kinds, where Doppler differs from the usual mapping
//! (`hush_rest::VendorFailure::error`): a 403 on a write means a read-only service token.

use hush_core::{Error, ErrorKind};
use hush_rest::VendorFailure;

/// Which call failed: a 403 on a write means a read-only service token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `GET /v3/configs/config/secret`.
    Get,
    /// `GET /v3/configs/config/secrets/names`.
    List,
    /// `POST /v3/configs/config/secrets`.
    Update,
    /// `DELETE /v3/configs/config/secret`.
    Delete,
}

impl Call {
    /// What the call does to config `config` (`project/config`), for messages.
    pub(crate) fn doing(self, config: &str) -> String {
        let doing = match self {
            Call::Get => "reading a secret of",
            Call::List => "listing the secret names of",
            Call::Update => "writing a secret of",
            Call::Delete => "deleting a secret of",
        };
        format!("{doing} config {config}")
    }

    fn writes(self) -> bool {
        matches!(self, Call::Update | Call::Delete)
    }
}

/// The error for Doppler's answer `failure` to `call` on config `config`. A 404 of a single
/// secret is the caller's to name (it knows the secret).
pub(crate) fn call_error(call: Call, config: &str, failure: &VendorFailure) -> Error {
    match failure.status {
        401 => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!("Doppler refused the service token (401) {}", failure.doing),
            false,
        ),
        403 if call.writes() => failure.error_of(
            ErrorKind::ReadOnly,
            format_args!(
                "the Doppler service token is read-only (403) {}; writes need a read/write service token",
                failure.doing
            ),
            false,
        ),
        403 => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!("the service token may not access config {config} (403)"),
            false,
        ),
        _ => failure.error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16, call: Call) -> VendorFailure {
        VendorFailure { vendor: "Doppler", status, doing: call.doing("p/c"), said: "said".into() }
    }

    fn kind(status: u16, call: Call) -> (ErrorKind, bool) {
        let e = call_error(call, "p/c", &failure(status, call));
        (e.kind(), e.is_temporary())
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind(401, Call::Get), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::Get), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::Update), (ErrorKind::ReadOnly, false));
        assert_eq!(kind(403, Call::Delete), (ErrorKind::ReadOnly, false));
        assert_eq!(kind(404, Call::List), (ErrorKind::NotFound, false));
        assert_eq!(kind(429, Call::Get), (ErrorKind::RateLimited, true));
        assert_eq!(kind(500, Call::Update), (ErrorKind::Unavailable, true));
        assert_eq!(kind(400, Call::Update), (ErrorKind::InvalidInput, false));
        let e = call_error(Call::Update, "p/c", &failure(403, Call::Update));
        assert!(e.to_string().contains("service token is read-only (403) writing a secret of config p/c"), "{e}");
        assert!(e.to_string().ends_with(": said"), "{e}");
    }
}
