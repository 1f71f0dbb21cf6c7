//! `parse_error`: vaultrs errors to hush errors with a kind and a temporary flag.
//!
//! Messages keep Vault's own error texts (they name paths and reasons, never a value or a
//! credential), cleaned of Vault's multi-error framing and cut to a readable length. Bodies
//! of responses are never quoted (a body can hold a value), and neither are JSON decoding
//! errors (their text can quote the document they failed on).

use hush_core::{Error, ErrorKind};
use vaultrs::error::ClientError;

/// vaultrs's HTTP layer, whose errors appear inside `ClientError::RestClientError`.
use rustify::errors as vaultrs_rest;

/// Longest part of Vault's error text kept in a message, in characters.
const MAX_VAULT_TEXT: usize = 300;

/// The HTTP status of a Vault error answer, when `err` is one.
pub(crate) fn status_of(err: &ClientError) -> Option<u16> {
    match err {
        ClientError::APIError { code, .. } => Some(*code),
        ClientError::RestClientError { source: vaultrs_rest::ClientError::ServerResponseError { code, .. } } => {
            Some(*code)
        }
        _ => None,
    }
}

/// Whether Vault refused the request's token or policy (HTTP 403).
pub(crate) fn is_permission_denied(err: &ClientError) -> bool {
    status_of(err) == Some(403)
}

/// Vault's error texts as one line: the `N errors occurred:` framing and bullets dropped,
/// whitespace collapsed, cut to [`MAX_VAULT_TEXT`] characters.
pub(crate) fn vault_text(errors: &[String]) -> String {
    let mut parts = Vec::new();
    for error in errors {
        for line in error.lines() {
            let line = line.trim().trim_start_matches('*').trim();
            let framing = line.ends_with("error occurred:") || line.ends_with("errors occurred:");
            if !line.is_empty() && !framing {
                parts.push(line.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
    }
    let text = parts.join("; ");
    if text.chars().count() > MAX_VAULT_TEXT {
        let cut: String = text.chars().take(MAX_VAULT_TEXT).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// The hush error for an HTTP status from Vault, with Vault's error texts if it sent any.
fn from_status(code: u16, errors: &[String]) -> Error {
    let text = vault_text(errors);
    let said = if text.is_empty() { String::new() } else { format!(": {text}") };
    match code {
        400 => Error::invalid_input(format!("Vault refused the request (400){said}")),
        401 | 403 => Error::new(ErrorKind::PermissionDenied, format!("Vault denied access ({code}){said}")),
        404 if text.contains("no handler for route") => Error::new(
            ErrorKind::ConfigInvalid,
            format!("nothing is mounted at this path: check root_engine and the auth mount{said}"),
        ),
        404 => Error::not_found(format!("Vault has no such entry (404){said}")),
        405 => Error::unsupported(format!("Vault does not support this request (405){said}")),
        409 | 412 => Error::new(ErrorKind::Conflict, format!("Vault refused a conflicting write ({code}){said}")),
        429 => Error::new(ErrorKind::RateLimited, format!("Vault asked to slow down (429){said}")),
        473 => Error::unavailable(format!("a performance standby cannot answer this request (473){said}")),
        501 => Error::unavailable(format!("Vault is not initialized (501){said}")).set_temporary(false),
        503 if text.to_ascii_lowercase().contains("sealed") => {
            Error::unavailable(format!("Vault is sealed (503){said}"))
        }
        500..=599 => Error::unavailable(format!("Vault answered with an error ({code}){said}")),
        _ => Error::new(ErrorKind::Internal, format!("unexpected answer from Vault ({code}){said}")),
    }
}

/// The hush error for a vaultrs error.
pub(crate) fn parse_error(err: &ClientError) -> Error {
    use vaultrs_rest::ClientError as Rest;
    match err {
        ClientError::APIError { code, errors } => from_status(*code, errors),
        ClientError::RestClientError { source } => match source {
            Rest::ServerResponseError { code, .. } => from_status(*code, &[]),
            Rest::RequestError { source, .. } => transport_error(&format!("{source:#}")),
            Rest::ResponseError { source } => transport_error(&format!("{source:#}")),
            Rest::UrlBuildError { .. } | Rest::UrlParseError { .. } | Rest::RequestBuildError { .. } => {
                Error::new(ErrorKind::ConfigInvalid, "cannot build a request URL from the Vault address")
            }
            Rest::ResponseConversionError { .. } | Rest::ResponseParseError { .. } | Rest::DataParseError { .. } => {
                Error::new(ErrorKind::Internal, "Vault's answer did not have the expected shape")
            }
            _ => Error::new(ErrorKind::Internal, format!("the request to Vault failed: {source}")),
        },
        ClientError::JsonParseError { .. } => {
            Error::new(ErrorKind::Internal, "Vault's answer did not have the expected shape")
        }
        ClientError::ResponseEmptyError | ClientError::ResponseDataEmptyError => {
            Error::new(ErrorKind::Internal, "Vault answered without the expected data")
        }
        ClientError::FileReadError { path, source } => {
            Error::new(ErrorKind::ConfigInvalid, format!("cannot read the CA file {path}: {source}"))
        }
        ClientError::FileNotFoundError { path } => {
            Error::new(ErrorKind::ConfigInvalid, format!("the CA file {path} does not exist"))
        }
        ClientError::ParseCertificateError { path, .. } => {
            Error::new(ErrorKind::ConfigInvalid, format!("the CA file {path} holds no PEM certificate"))
        }
        ClientError::RestClientBuildError { source } => {
            Error::new(ErrorKind::ConfigInvalid, format!("cannot build the HTTP client: {source}"))
        }
        other => Error::new(ErrorKind::Internal, format!("unexpected vaultrs error: {other}")),
    }
}

/// A request that got no answer: refused, timed out, or a TLS failure (permanent: retrying
/// does not fix a certificate).
fn transport_error(chain: &str) -> Error {
    let lower = chain.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        Error::unavailable(format!("TLS with the Vault server failed: {chain}")).set_temporary(false)
    } else if lower.contains("timed out") || lower.contains("timeout") {
        Error::unavailable(format!("no answer from the Vault server in time: {chain}"))
    } else {
        Error::unavailable(format!("cannot reach the Vault server: {chain}"))
    }
}
