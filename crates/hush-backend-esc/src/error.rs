//! ESC's HTTP answers → hush error kinds, where ESC differs from the usual mapping
//! (`hush_rest::VendorFailure::error`): the kind of a 404 depends on the call.

use hush_core::{Error, ErrorKind};
use hush_rest::VendorFailure;

/// Which call failed: the kind of a 404 depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `POST .../open`: a 404 is a missing environment.
    Open,
    /// `GET .../open/{id}`: a 404 is a session the service no longer knows.
    Read,
}

impl Call {
    /// What the call does to `environment` (`org/project/env`), for messages.
    pub(crate) fn doing(self, environment: &str) -> String {
        match self {
            Call::Open => format!("opening environment {environment}"),
            Call::Read => format!("reading the open session of environment {environment}"),
        }
    }
}

/// The error for ESC's answer `failure` to `call` on `environment` (`org/project/env`).
pub(crate) fn call_error(call: Call, environment: &str, failure: &VendorFailure) -> Error {
    let doing = &failure.doing;
    match (failure.status, call) {
        (401, _) => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!("Pulumi ESC refused the access token (401) {doing}"),
            false,
        ),
        (403, _) => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!(
                "the access token may not open environment {environment} (403; it needs the environment's open permission)"
            ),
            false,
        ),
        (404, Call::Open) => failure.error_of(
            ErrorKind::NotFound,
            format_args!("Pulumi ESC has no environment {environment} (404)"),
            false,
        ),
        (404, Call::Read) => failure.error_of(
            ErrorKind::Unavailable,
            format_args!("the ESC session of environment {environment} is gone (404); the next request opens a new one"),
            true,
        ),
        _ => failure.error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, call: Call) -> (ErrorKind, bool) {
        let failure = VendorFailure { vendor: "Pulumi ESC", status, doing: call.doing("o/p/e"), said: String::new() };
        let e = call_error(call, "o/p/e", &failure);
        (e.kind(), e.is_temporary())
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind(401, Call::Read), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::Open), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(404, Call::Open), (ErrorKind::NotFound, false));
        assert_eq!(kind(404, Call::Read), (ErrorKind::Unavailable, true));
        assert_eq!(kind(429, Call::Open), (ErrorKind::RateLimited, true));
        assert_eq!(kind(503, Call::Read), (ErrorKind::Unavailable, true));
        assert_eq!(kind(400, Call::Open), (ErrorKind::InvalidInput, false));
        assert_eq!(kind(302, Call::Open), (ErrorKind::Internal, false));
    }
}
