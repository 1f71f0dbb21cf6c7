//! Password Safe's HTTP answers → hush error kinds, where Password Safe differs from the
//! usual mapping (`hush_rest::VendorFailure::error`): a refused sign-in (400 from OAuth's
//! token endpoint, 401, 403) names who signed in
//! and what to check, a 401 that a new session did not cure says so, a 403 names the Secrets
//! Safe permission the user lacks, and a 409 on creating a secret is a conflict.

use hush_core::{Error, ErrorKind};
use hush_rest::VendorFailure;

/// Which call failed: messages and the permission each needs differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `POST /Auth/connect/token` (OAuth) and `POST /Auth/SignAppin`.
    SignIn,
    /// `GET /Secrets-Safe/Folders`.
    Folders,
    /// `GET /Secrets-Safe/Secrets?Path=&Title=`.
    Find,
    /// `GET /Secrets-Safe/Secrets/{id}`, `.../text`, `.../file/download`.
    Read,
    /// `GET /Secrets-Safe/Secrets?Path=`.
    List,
    /// `POST /Secrets-Safe/Folders/{id}/secrets/text`.
    Create,
    /// `PUT /Secrets-Safe/Secrets/{id}/text`.
    Update,
    /// `DELETE /Secrets-Safe/Secrets/{id}`.
    Delete,
}

impl Call {
    /// What the call does in `folder`, for messages.
    pub(crate) fn doing(self, folder: &str) -> String {
        match self {
            Call::SignIn => "signing in to Password Safe".to_owned(),
            Call::Folders => format!("looking up Secrets Safe folder {folder}"),
            Call::Find => format!("finding a secret in folder {folder}"),
            Call::Read => format!("reading a secret of folder {folder}"),
            Call::List => format!("listing the secrets of folder {folder}"),
            Call::Create => format!("creating a text secret in folder {folder}"),
            Call::Update => format!("updating a text secret of folder {folder}"),
            Call::Delete => format!("deleting a secret of folder {folder}"),
        }
    }

    /// What the user needs for the call. The API reference asks the Secrets Safe feature
    /// permission (Read) for every secret call; the folder's (its safe's) permissions decide
    /// what the user may do to its secrets.
    fn permission(self) -> &'static str {
        match self {
            Call::SignIn | Call::Folders | Call::Find | Call::Read | Call::List => {
                "the Secrets Safe feature permission (Read) and read access to the folder"
            }
            Call::Create => "the Secrets Safe feature permission (Read) and permission to create secrets in the folder",
            Call::Update => "the Secrets Safe feature permission (Read) and permission to edit the folder's secrets",
            Call::Delete => "the Secrets Safe feature permission (Read) and permission to delete the folder's secrets",
        }
    }
}

/// The error for Password Safe's answer `failure` to `call`, signed in as `identity`. A 404 of
/// one secret is the caller's to name (it knows the secret).
pub(crate) fn call_error(call: Call, identity: &str, failure: &VendorFailure) -> Error {
    let (status, doing) = (failure.status, &failure.doing);
    match (status, call) {
        // 400 is OAuth's answer to a wrong client (`invalid_client`, RFC 6749).
        (400 | 401 | 403, Call::SignIn) => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!(
                "Password Safe refused to sign in {identity} (HTTP {status}) {doing}: check the API key and run_as user \
                 (and password), or the OAuth client id and secret, and that the API registration allows hush's \
                 source address"
            ),
            false,
        ),
        (401, _) => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!("Password Safe refused the session of {identity} (401) {doing}, also after a new sign-in"),
            false,
        ),
        (403, _) => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!("{identity} may not do this (403) {doing}: it needs {}", call.permission()),
            false,
        ),
        (409, Call::Create) => failure.error_of(
            ErrorKind::Conflict,
            format_args!("Password Safe holds a secret of that title already (409) {doing}"),
            false,
        ),
        _ => failure.error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16, call: Call) -> VendorFailure {
        VendorFailure { vendor: "Password Safe", status, doing: call.doing("hush/prod"), said: "said".into() }
    }

    fn kind(status: u16, call: Call) -> (ErrorKind, bool) {
        let e = call_error(call, "svc-hush", &failure(status, call));
        (e.kind(), e.is_temporary())
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind(401, Call::SignIn), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::SignIn), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(400, Call::SignIn), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(401, Call::Find), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::Create), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(409, Call::Create), (ErrorKind::Conflict, false));
        assert_eq!(kind(404, Call::List), (ErrorKind::NotFound, false));
        assert_eq!(kind(400, Call::Update), (ErrorKind::InvalidInput, false));
        assert_eq!(kind(429, Call::Read), (ErrorKind::RateLimited, true));
        assert_eq!(kind(503, Call::Delete), (ErrorKind::Unavailable, true));
        let e = call_error(Call::Delete, "svc-hush", &failure(403, Call::Delete));
        assert!(e.to_string().contains("svc-hush may not do this (403) deleting a secret of folder hush/prod"), "{e}");
        assert!(e.to_string().contains("permission to delete"), "{e}");
        assert!(e.to_string().ends_with(": said"), "{e}");
        let e = call_error(Call::SignIn, "svc-hush", &failure(401, Call::SignIn));
        assert!(e.to_string().contains("refused to sign in svc-hush (HTTP 401)"), "{e}");
    }
}
