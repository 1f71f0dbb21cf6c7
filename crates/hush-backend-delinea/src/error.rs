//! Delinea's HTTP answers → hush error kinds, where Delinea differs from the usual mapping
//! (`hush_rest::VendorFailure::error`): a refused sign-in (Secret Server answers a wrong
//! password with 400 `invalid_grant`) names the user, a 403 names the permission the user
//! lacks, and two secrets of one name are a `Conflict` naming both ids.

use hush_core::{Error, ErrorKind};
use hush_rest::VendorFailure;

/// Which call failed: each needs another permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `POST /oauth2/token` or the Platform's `/identity/api/oauth2/token/xpmplatform`.
    Authenticate,
    /// `GET /vaultbroker/api/vaults` (Delinea Platform).
    Discover,
    /// `GET /api/v1/secrets?filter.searchText=&filter.folderId=`.
    Search,
    /// `GET /api/v1/secrets/{id}`.
    Read,
    /// `GET /api/v1/secret-templates/{id}`.
    Template,
    /// `POST /api/v1/secrets`.
    Create,
    /// `PUT /api/v1/secrets/{id}/fields/{slug}`.
    Update,
    /// `DELETE /api/v1/secrets/{id}`.
    Delete,
}

impl Call {
    /// What the call does, for messages: `where_` names the folder or the secret.
    pub(crate) fn doing(self, where_: &str) -> String {
        let doing = match self {
            Call::Authenticate => "signing in to",
            Call::Discover => "finding the Secret Server vault of",
            Call::Search => "searching secrets in",
            Call::Read => "reading",
            Call::Template => "reading the secret template of",
            Call::Create => "creating",
            Call::Update => "updating",
            Call::Delete => "deleting",
        };
        format!("{doing} {where_}")
    }

    /// The permission the call needs.
    fn permission(self) -> &'static str {
        match self {
            Call::Authenticate | Call::Discover => "the right to sign in",
            Call::Search | Call::Read => "View on the secret (the folder's secret permission)",
            Call::Template => "the use of the secret template",
            Call::Create => "Add Secret on the folder (and the use of the secret template)",
            Call::Update => "Edit on the secret",
            Call::Delete => "Owner on the secret",
        }
    }
}

/// The error for Delinea's answer `failure` to `call`, signed in as `identity`. A 404 of one
/// secret is the caller's to name (it knows the secret).
pub(crate) fn call_error(call: Call, identity: &str, failure: &VendorFailure) -> Error {
    match (failure.status, call) {
        // Secret Server answers a wrong password or a refused refresh token with 400
        // `invalid_grant`, the Platform a wrong client secret with 400 or 401.
        (400 | 401 | 403, Call::Authenticate) => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!(
                "{} refused to sign in {identity} (HTTP {}) {}: check the user and its password (or the client \
                 id and secret), and that the account is enabled",
                failure.vendor, failure.status, failure.doing
            ),
            false,
        ),
        (401, _) => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!("{} refused a fresh access token of {identity} (401) {}", failure.vendor, failure.doing),
            false,
        ),
        (403, _) => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!(
                "{identity} lacks {} (403) {}; see the README for the permissions hush needs",
                call.permission(),
                failure.doing
            ),
            false,
        ),
        _ => failure.error(),
    }
}

/// The `Conflict` of two or more secrets named `name` in `place`: hush never picks one.
pub(crate) fn duplicate_names(name: &str, place: &str, ids: &[u64]) -> Error {
    let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
    Error::new(
        ErrorKind::Conflict,
        format!(
            "{} secrets are named {name:?} in {place} (ids {}): hush never picks one; rename or remove all but one",
            ids.len(),
            ids.join(", ")
        ),
    )
    .set_temporary(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16, call: Call) -> VendorFailure {
        VendorFailure { vendor: "Secret Server", status, doing: call.doing("folder 42"), said: "said".into() }
    }

    fn kind(status: u16, call: Call) -> (ErrorKind, bool) {
        let e = call_error(call, "svc-hush", &failure(status, call));
        (e.kind(), e.is_temporary())
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind(400, Call::Authenticate), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(401, Call::Authenticate), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(401, Call::Read), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::Create), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(404, Call::Search), (ErrorKind::NotFound, false));
        assert_eq!(kind(400, Call::Create), (ErrorKind::InvalidInput, false));
        assert_eq!(kind(429, Call::Read), (ErrorKind::RateLimited, true));
        assert_eq!(kind(500, Call::Authenticate), (ErrorKind::Unavailable, true));
        assert_eq!(kind(502, Call::Update), (ErrorKind::Unavailable, true));
        let e = call_error(Call::Update, "svc-hush", &failure(403, Call::Update));
        assert!(e.to_string().contains("svc-hush lacks Edit on the secret (403) updating folder 42"), "{e}");
        assert!(e.to_string().ends_with(": said"), "{e}");
        let e = call_error(Call::Authenticate, "svc-hush", &failure(400, Call::Authenticate));
        assert!(e.to_string().contains("Secret Server refused to sign in svc-hush (HTTP 400)"), "{e}");
    }

    #[test]
    fn duplicates_are_a_conflict_naming_the_ids() {
        let e = duplicate_names("acme.team.DB", "folder 42", &[3, 7]);
        assert_eq!((e.kind(), e.is_temporary()), (ErrorKind::Conflict, false));
        assert!(e.to_string().contains("2 secrets are named \"acme.team.DB\" in folder 42 (ids 3, 7)"), "{e}");
    }
}
