//! Connect's HTTP answers → hush error kinds, where 1Password Connect differs from the usual
//! mapping (`hush_rest::VendorFailure::error`): a 403 on a write means a token without write
//! access to the vault, a 404 of a vault-wide call is the vault's, and a vendor message that
//! repeats the value written is withheld.

use hush_core::{Error, ErrorKind};
use hush_rest::VendorFailure;

/// Which call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `GET /v1/vaults/{vault}/items?filter=title eq "..."`.
    Find,
    /// `GET /v1/vaults/{vault}/items/{item}`.
    Read,
    /// `GET /v1/vaults/{vault}/items`.
    List,
    /// `POST /v1/vaults/{vault}/items`.
    Create,
    /// `PUT /v1/vaults/{vault}/items/{item}`.
    Replace,
    /// `DELETE /v1/vaults/{vault}/items/{item}`.
    Delete,
    /// `GET /v1/vaults/{vault}`.
    Vault,
    /// `GET /heartbeat`.
    Heartbeat,
}

impl Call {
    /// What the call does in vault `vault`, for messages.
    pub(crate) fn doing(self, vault: &str) -> String {
        let doing = match self {
            Call::Find => "looking up an item by title in",
            Call::Read => "reading an item of",
            Call::List => "listing the items of",
            Call::Create => "creating an item in",
            Call::Replace => "replacing an item of",
            Call::Delete => "deleting an item of",
            Call::Vault => "reading the details of",
            Call::Heartbeat => return "checking the server's heartbeat".to_owned(),
        };
        format!("{doing} vault {vault}")
    }

    fn writes(self) -> bool {
        matches!(self, Call::Create | Call::Replace | Call::Delete)
    }

    /// Whether a 404 of this call is the vault's (the call names no item).
    fn is_vault_wide(self) -> bool {
        matches!(self, Call::Find | Call::List | Call::Create | Call::Vault)
    }
}

/// The error for Connect's answer `failure` to `call` on vault `vault`. A 404 of one item is
/// the caller's to name (it knows the secret).
pub(crate) fn call_error(call: Call, vault: &str, failure: &VendorFailure) -> Error {
    let doing = &failure.doing;
    match failure.status {
        401 => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!("1Password Connect refused the token (401) {doing}"),
            false,
        ),
        403 if call.writes() => failure.error_of(
            ErrorKind::ReadOnly,
            format_args!(
                "the Connect token may not write to vault {vault} (403) {doing}; writes need a token with read and write access to the vault"
            ),
            false,
        ),
        403 => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!("the Connect token has no access to vault {vault} (403) {doing}"),
            false,
        ),
        404 if call.is_vault_wide() => failure.error_of(
            ErrorKind::NotFound,
            format_args!("1Password Connect has no vault {vault} (404) {doing}"),
            false,
        ),
        _ => failure.error(),
    }
}

/// `failure` with the vendor's message withheld when it repeats `written`, the text a write
/// sent (a value must never reach an error).
pub(crate) fn withholding(mut failure: VendorFailure, written: &str) -> VendorFailure {
    if !written.is_empty() && failure.said.contains(written) {
        failure.said = "(its message is withheld: it repeated the value written)".to_owned();
    }
    failure
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16, call: Call) -> VendorFailure {
        VendorFailure { vendor: "1Password Connect", status, doing: call.doing("v"), said: "said".into() }
    }

    fn kind(status: u16, call: Call) -> (ErrorKind, bool) {
        let e = call_error(call, "v", &failure(status, call));
        (e.kind(), e.is_temporary())
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind(401, Call::Find), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::Read), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::Vault), (ErrorKind::PermissionDenied, false));
        for write in [Call::Create, Call::Replace, Call::Delete] {
            assert_eq!(kind(403, write), (ErrorKind::ReadOnly, false));
        }
        assert_eq!(kind(404, Call::List), (ErrorKind::NotFound, false));
        assert_eq!(kind(404, Call::Read), (ErrorKind::NotFound, false));
        assert_eq!(kind(400, Call::Create), (ErrorKind::InvalidInput, false));
        assert_eq!(kind(429, Call::Find), (ErrorKind::RateLimited, true));
        assert_eq!(kind(500, Call::Replace), (ErrorKind::Unavailable, true));
        assert_eq!(kind(503, Call::Heartbeat), (ErrorKind::Unavailable, true));
        let e = call_error(Call::List, "v", &failure(404, Call::List));
        assert!(e.to_string().contains("has no vault v (404) listing the items of vault v: said"), "{e}");
        let e = call_error(Call::Create, "v", &failure(403, Call::Create));
        assert!(e.to_string().contains("may not write to vault v (403) creating an item in vault v"), "{e}");
        assert_eq!(Call::Heartbeat.doing("v"), "checking the server's heartbeat");
    }

    #[test]
    fn a_message_repeating_the_value_is_withheld() {
        let said = |said: &str| VendorFailure { said: said.into(), ..failure(400, Call::Create) };
        assert_eq!(
            withholding(said("bad field hunter2"), "hunter2").said,
            "(its message is withheld: it repeated the value written)"
        );
        assert_eq!(withholding(said("bad category"), "hunter2").said, "bad category");
        assert_eq!(withholding(said("bad category"), "").said, "bad category");
    }
}
