//! The API server's answers → hush error kinds, where Kubernetes differs from the usual
//! mapping (`hush_rest::VendorFailure::error`): RBAC's 403 on a write is read-only, 409
//! (`AlreadyExists`, `Conflict` on a stale `resourceVersion`) a temporary conflict, 422
//! (`Invalid`) invalid input. The message is the `Status` body's `message`, redacted.

use hush_core::{Error, ErrorKind};
use hush_rest::VendorFailure;

/// Which call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `GET .../secrets/{name}`.
    Get,
    /// `GET .../secrets?labelSelector=&limit=&continue=`.
    List,
    /// `POST .../secrets`.
    Create,
    /// `PUT .../secrets/{name}`.
    Replace,
    /// `DELETE .../secrets/{name}`.
    Delete,
}

impl Call {
    /// What the call does in Kubernetes namespace `namespace`, for messages.
    pub(crate) fn doing(self, namespace: &str) -> String {
        let doing = match self {
            Call::Get => "reading a Secret",
            Call::List => "listing Secrets",
            Call::Create => "creating a Secret",
            Call::Replace => "replacing a Secret",
            Call::Delete => "deleting a Secret",
        };
        format!("{doing} in Kubernetes namespace {namespace}")
    }

    fn writes(self) -> bool {
        matches!(self, Call::Create | Call::Replace | Call::Delete)
    }
}

/// The error for the API server's answer `failure` to `call`. A 404 of a single Secret is the
/// caller's to name (it knows the secret).
pub(crate) fn call_error(call: Call, failure: &VendorFailure) -> Error {
    let doing = &failure.doing;
    match failure.status {
        401 => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!("the Kubernetes API server refused hush's credentials (401) {doing}"),
            false,
        ),
        403 if call.writes() => failure.error_of(
            ErrorKind::ReadOnly,
            format_args!("Kubernetes RBAC forbids {doing} (403); writes need create, update and delete on secrets"),
            false,
        ),
        403 => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!("Kubernetes RBAC forbids {doing} (403); reads need get and list on secrets"),
            false,
        ),
        409 => failure.error_of(
            ErrorKind::Conflict,
            format_args!("a concurrent change conflicted with {doing} (409)"),
            true,
        ),
        422 => failure.error_of(
            ErrorKind::InvalidInput,
            format_args!("the Kubernetes API server found {doing} invalid (422)"),
            false,
        ),
        _ => failure.error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, call: Call) -> (ErrorKind, bool) {
        let failure = VendorFailure { vendor: "Kubernetes", status, doing: call.doing("ns"), said: "said".into() };
        let e = call_error(call, &failure);
        (e.kind(), e.is_temporary())
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind(401, Call::Get), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::List), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::Create), (ErrorKind::ReadOnly, false));
        assert_eq!(kind(403, Call::Delete), (ErrorKind::ReadOnly, false));
        assert_eq!(kind(409, Call::Replace), (ErrorKind::Conflict, true));
        assert_eq!(kind(422, Call::Create), (ErrorKind::InvalidInput, false));
        assert_eq!(kind(404, Call::List), (ErrorKind::NotFound, false));
        assert_eq!(kind(429, Call::Get), (ErrorKind::RateLimited, true));
        assert_eq!(kind(500, Call::Get), (ErrorKind::Unavailable, true));
    }
}
