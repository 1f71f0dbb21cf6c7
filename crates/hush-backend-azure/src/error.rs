//! `parse_error`: Azure SDK errors to hush errors with a kind and a temporary flag.
//!
//! Key Vault answers errors as `{"error": {"code": "...", "message": "...", "innererror":
//! {"code": "..."}}}`. Messages keep the code and Key Vault's message (they name secrets,
//! permissions and reasons, never a value or a credential), cut to a readable length;
//! request and correlation ids are not kept.

use azure_core::error::ErrorKind as AzureKind;
use hush_core::{Error, ErrorKind};
use serde::Deserialize;

/// Longest part of Key Vault's message kept, in characters.
const MAX_TEXT: usize = 300;

#[derive(Deserialize)]
struct Body {
    error: Option<Detail>,
}

#[derive(Deserialize)]
struct Detail {
    code: Option<String>,
    message: Option<String>,
    #[serde(rename = "innererror")]
    inner: Option<Box<Detail>>,
}

/// What Key Vault said about a failed request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Said {
    /// `error.code`, e.g. `SecretNotFound`, `Forbidden`, `Conflict`.
    pub code: Option<String>,
    /// `error.innererror.code`, e.g. `ForbiddenByPolicy`, `AccessDenied`, `ObjectIsDeletedButRecoverable`.
    pub inner_code: Option<String>,
    /// `error.message`, whitespace collapsed and cut.
    pub message: String,
}

/// Reads a Key Vault error body; an empty [`Said`] when it is not one.
pub(crate) fn said(body: &[u8]) -> Said {
    let Ok(Body { error: Some(detail) }) = serde_json::from_slice::<Body>(body) else {
        return Said::default();
    };
    let text = detail.message.unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
    let message = if text.chars().count() > MAX_TEXT {
        format!("{}...", text.chars().take(MAX_TEXT).collect::<String>())
    } else {
        text
    };
    Said { code: detail.code, inner_code: detail.inner.and_then(|inner| inner.code), message }
}

/// The permission a 403 message names: Key Vault writes `... does not have secrets get
/// permission on key vault ...` (access policies) or `Action:
/// 'Microsoft.KeyVault/vaults/secrets/getSecret/action'` (RBAC).
fn missing_permission(said: &Said) -> Option<String> {
    let text = said.message.as_str();
    if let Some(at) = text.find("does not have secrets ") {
        let rest = &text[at + "does not have secrets ".len()..];
        let permission: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
        if !permission.is_empty() {
            return Some(format!("secrets/{permission}"));
        }
    }
    if let Some(at) = text.find("Microsoft.KeyVault/") {
        let action: String =
            text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_')).collect();
        return Some(action);
    }
    None
}

/// The hush error for an HTTP status from Key Vault (or from the token endpoint).
pub(crate) fn from_status(status: u16, said: &Said, retry_after: Option<&str>) -> Error {
    let code = said.code.as_deref().unwrap_or("");
    let inner = said.inner_code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
    let text = if said.message.is_empty() { String::new() } else { format!(": {}", said.message) };
    let what = if code.is_empty() { format!("{status}") } else { format!("{status} {code}{inner}") };
    match status {
        400 => Error::invalid_input(format!("Key Vault refused the request ({what}){text}")),
        401 => Error::new(ErrorKind::PermissionDenied, format!("Key Vault did not accept the token ({what}){text}")),
        403 => {
            let permission = missing_permission(said)
                .map(|p| format!("; missing permission: {p}"))
                .unwrap_or_else(|| said.inner_code.as_deref().map(|c| format!("; {c}")).unwrap_or_default());
            Error::new(ErrorKind::PermissionDenied, format!("Key Vault denied access ({what}){permission}{text}"))
        }
        404 => Error::not_found(format!("Key Vault has no such secret ({what}){text}")),
        405 => Error::unsupported(format!("Key Vault does not support this request ({what}){text}")),
        409 => Error::new(ErrorKind::Conflict, format!("Key Vault refused a conflicting request ({what}){text}")),
        429 => {
            let after = retry_after.map(|s| format!("; retry after {s} s")).unwrap_or_default();
            Error::new(ErrorKind::RateLimited, format!("Key Vault is throttling requests ({what}){after}{text}"))
        }
        500..=599 => Error::unavailable(format!("Key Vault answered with an error ({what}){text}")),
        _ => Error::new(ErrorKind::Internal, format!("unexpected answer from Key Vault ({what}){text}")),
    }
}

/// The HTTP status of an SDK error, when it is an error answer.
pub(crate) fn status_of(err: &azure_core::Error) -> Option<u16> {
    err.http_status().map(u16::from)
}

/// The hush error for an Azure SDK error.
pub(crate) fn parse_error(err: &azure_core::Error) -> Error {
    match err.kind() {
        AzureKind::HttpResponse { status, raw_response, .. } => {
            let (said, retry_after) = match raw_response {
                Some(raw) => {
                    let retry_after = raw.headers().get_optional_str(&azure_core::http::headers::RETRY_AFTER);
                    (said(raw.body()), retry_after.map(str::to_owned))
                }
                None => (Said::default(), None),
            };
            from_status(u16::from(*status), &said, retry_after.as_deref())
        }
        AzureKind::Credential => {
            // The identity crate's text says which credential failed and Entra ID's reason
            // (AADSTS codes); it holds no secret.
            Error::new(ErrorKind::PermissionDenied, format!("cannot get a token from Entra ID: {}", chain(err)))
        }
        AzureKind::Io | AzureKind::Connection => transport_error(&chain(err)),
        AzureKind::DataConversion => {
            Error::new(ErrorKind::Internal, "Key Vault's answer did not have the expected shape")
        }
        _ => {
            let text = chain(err);
            if text.to_ascii_lowercase().contains("timed out") || text.contains("timeout") {
                transport_error(&text)
            } else {
                Error::new(ErrorKind::Internal, format!("the request to Key Vault failed: {text}"))
            }
        }
    }
}

/// The error and its sources, as one line.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// A request that got no answer: refused, timed out, or a TLS failure (permanent: retrying
/// does not fix a certificate).
fn transport_error(chain: &str) -> Error {
    let lower = chain.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        Error::unavailable(format!("TLS with Key Vault failed: {chain}")).set_temporary(false)
    } else if lower.contains("timed out") || lower.contains("timeout") {
        Error::unavailable(format!("no answer from Key Vault in time: {chain}"))
    } else {
        Error::unavailable(format!("cannot reach Key Vault: {chain}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        let nothing = Said::default();
        assert_eq!(from_status(404, &nothing, None).kind(), ErrorKind::NotFound);
        assert_eq!(from_status(400, &nothing, None).kind(), ErrorKind::InvalidInput);
        assert_eq!(from_status(409, &nothing, None).kind(), ErrorKind::Conflict);
        let throttled = from_status(429, &nothing, Some("3"));
        assert_eq!(throttled.kind(), ErrorKind::RateLimited);
        assert!(throttled.is_temporary());
        assert!(throttled.message().contains("retry after 3 s"));
        let down = from_status(503, &nothing, None);
        assert_eq!(down.kind(), ErrorKind::Unavailable);
        assert!(down.is_temporary());
    }

    #[test]
    fn forbidden_names_the_missing_permission() {
        let body = br#"{"error":{"code":"Forbidden","message":"The user, group or application 'appid=x;oid=y' does not have secrets set permission on key vault 'v;location=westeurope'.","innererror":{"code":"AccessDenied"}}}"#;
        let err = from_status(403, &said(body), None);
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(err.message().contains("missing permission: secrets/set"), "{}", err.message());
        let rbac = br#"{"error":{"code":"Forbidden","message":"Caller is not authorized to perform action on resource. Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action' Resource: '...'","innererror":{"code":"ForbiddenByRbac"}}}"#;
        let err = from_status(403, &said(rbac), None);
        assert!(err.message().contains("Microsoft.KeyVault/vaults/secrets/getSecret/action"), "{}", err.message());
        assert!(err.message().contains("ForbiddenByRbac"));
    }

    #[test]
    fn bodies_that_are_not_errors_say_nothing() {
        assert_eq!(said(b"<html>"), Said::default());
        assert_eq!(said(br#"{"value":"x"}"#), Said::default());
    }
}
