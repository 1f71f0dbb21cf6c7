//! Conjur's HTTP answers → hush error kinds, where Conjur differs from the usual mapping
//! (`hush_rest::VendorFailure::error`): a refused authentication names the identity, a 403
//! names the privilege the host lacks, and a 404 on a write means the variable is not
//! declared by policy (`Unsupported`, naming the policy to load).

use hush_core::{Error, ErrorKind};
use hush_rest::VendorFailure;

/// Which call failed: each needs another privilege.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `POST /authn/...` or `/authn-jwt/...`.
    Authenticate,
    /// `GET /secrets/{account}/variable/{id}`.
    Get,
    /// `GET /secrets?variable_ids=`.
    Batch,
    /// `POST /secrets/{account}/variable/{id}`.
    Set,
    /// `GET /resources/{account}?kind=variable`.
    List,
}

impl Call {
    /// What the call does in account `account`, for messages.
    pub(crate) fn doing(self, account: &str) -> String {
        let doing = match self {
            Call::Authenticate => "authenticating to",
            Call::Get => "reading a variable of",
            Call::Batch => "reading variables (batch) of",
            Call::Set => "setting a variable of",
            Call::List => "listing the variables of",
        };
        format!("{doing} account {account}")
    }

    /// The privilege on the variable the call needs.
    fn privilege(self) -> &'static str {
        match self {
            Call::Get | Call::Batch => "execute",
            Call::Set => "update",
            Call::List | Call::Authenticate => "read",
        }
    }
}

/// The error for Conjur's answer `failure` to `call`, authenticated as `login`. A 404 of a
/// single variable, and of a write, is the caller's to name (it knows the variable).
pub(crate) fn call_error(call: Call, login: &str, failure: &VendorFailure) -> Error {
    match (failure.status, call) {
        (401 | 403, Call::Authenticate) => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!(
                "Conjur refused to authenticate {login} (HTTP {}) {}: check the login, its API key or JWT, and that the authenticator is enabled",
                failure.status, failure.doing
            ),
            false,
        ),
        (401, _) => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!("Conjur refused a fresh access token of {login} (401) {}", failure.doing),
            false,
        ),
        (403, _) => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!(
                "{login} lacks the {} privilege (403) {}; a policy must permit it",
                call.privilege(),
                failure.doing
            ),
            false,
        ),
        // 422: an empty value, a bad limit; the usual mapping makes it InvalidInput.
        _ => failure.error(),
    }
}

/// The `Unsupported` error of a write to a variable Conjur does not know: variables are
/// declared by policy, so hush cannot create one. Names the policy branch to load.
pub(crate) fn undeclared_variable(prefix: &str, id: &str, failure: &VendorFailure) -> Error {
    let relative = id.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')).unwrap_or(id);
    failure.error_of(
        ErrorKind::Unsupported,
        format_args!(
            "Conjur has no variable {id} that hush may see (404): Conjur variables are declared by policy, \
             so hush cannot create one; load a policy into branch {prefix} declaring `- !variable {relative}` \
             and permitting hush's host read, execute and update (see the README), then write again"
        ),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16, call: Call) -> VendorFailure {
        VendorFailure { vendor: "Conjur", status, doing: call.doing("myorg"), said: "said".into() }
    }

    fn kind(status: u16, call: Call) -> (ErrorKind, bool) {
        let e = call_error(call, "host/h", &failure(status, call));
        (e.kind(), e.is_temporary())
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind(401, Call::Authenticate), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::Authenticate), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(401, Call::Get), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::Set), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(404, Call::List), (ErrorKind::NotFound, false));
        assert_eq!(kind(422, Call::Set), (ErrorKind::InvalidInput, false));
        assert_eq!(kind(429, Call::Get), (ErrorKind::RateLimited, true));
        assert_eq!(kind(502, Call::Batch), (ErrorKind::Unavailable, true));
        let e = call_error(Call::Set, "host/h", &failure(403, Call::Set));
        assert!(
            e.to_string().contains("host/h lacks the update privilege (403) setting a variable of account myorg"),
            "{e}"
        );
        assert!(e.to_string().ends_with(": said"), "{e}");
        let e = call_error(Call::Authenticate, "host/h", &failure(401, Call::Authenticate));
        assert!(e.to_string().contains("Conjur refused to authenticate host/h (HTTP 401)"), "{e}");
    }

    #[test]
    fn an_undeclared_variable_names_the_policy() {
        let e = undeclared_variable("hush", "hush/acme/team/DB", &failure(404, Call::Set));
        assert_eq!((e.kind(), e.is_temporary()), (ErrorKind::Unsupported, false));
        let text = e.to_string();
        assert!(text.contains("branch hush declaring `- !variable acme/team/DB`"), "{text}");
        assert!(text.contains("no variable hush/acme/team/DB"), "{text}");
    }
}
