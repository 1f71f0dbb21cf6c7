//! `parse_error`: errors of Google's SDK to hush errors with a kind and a temporary flag.
//!
//! Messages keep Secret Manager's own status text (it names resources and permissions, never
//! a value or a credential), cut to a readable length. Response bodies, and the text of
//! serialisation errors (which can quote the document), are never quoted.

use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::error::rpc::{Code, StatusDetails};
use hush_core::{Error, ErrorKind};

/// Longest part of Google's error text kept in a message, in characters.
const MAX_GOOGLE_TEXT: usize = 300;

/// `text` on one line, cut to [`MAX_GOOGLE_TEXT`] characters.
fn google_text(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > MAX_GOOGLE_TEXT {
        let cut: String = text.chars().take(MAX_GOOGLE_TEXT).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// The IAM permission a denial names: the `permission` of an `ErrorInfo` detail, else the
/// first `secretmanager.<x>.<y>` word of the message (Google writes
/// `Permission 'secretmanager.versions.access' denied for resource ...`).
pub(crate) fn missing_permission(message: &str, details: &[StatusDetails]) -> Option<String> {
    for detail in details {
        if let StatusDetails::ErrorInfo(info) = detail
            && let Some(permission) = info.metadata.get("permission")
        {
            return Some(permission.clone());
        }
    }
    let start = message.find("secretmanager.")?;
    let word: String =
        message[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_').collect();
    let word = word.trim_end_matches('.');
    (word.matches('.').count() >= 2).then(|| word.to_owned())
}

/// The hush error for a gRPC-style status of Secret Manager (carried in REST error bodies as
/// `{"error": {"code": 403, "message": "...", "status": "PERMISSION_DENIED"}}`).
pub(crate) fn from_status(code: Code, message: &str, details: &[StatusDetails]) -> Error {
    let text = google_text(message);
    let said = if text.is_empty() { String::new() } else { format!(": {text}") };
    let status = code.name();
    match code {
        Code::NotFound => Error::not_found(format!("Secret Manager has no such secret or version ({status}){said}")),
        Code::PermissionDenied | Code::Unauthenticated => {
            let missing = match missing_permission(message, details) {
                Some(permission) => format!(": permission {permission} is missing"),
                None => String::new(),
            };
            Error::new(ErrorKind::PermissionDenied, format!("Secret Manager denied access{missing} ({status}){said}"))
        }
        Code::ResourceExhausted => {
            Error::new(ErrorKind::RateLimited, format!("Secret Manager asked to slow down ({status}){said}"))
        }
        Code::Unavailable | Code::DeadlineExceeded | Code::Internal | Code::Aborted | Code::Unknown => {
            Error::unavailable(format!("Secret Manager could not answer ({status}){said}"))
        }
        Code::InvalidArgument | Code::OutOfRange => {
            Error::invalid_input(format!("Secret Manager refused the request ({status}){said}"))
        }
        Code::AlreadyExists => Error::new(ErrorKind::Conflict, format!("the secret already exists ({status}){said}")),
        Code::FailedPrecondition => Error::new(
            ErrorKind::Conflict,
            format!("Secret Manager refused the request in this state ({status}){said}"),
        )
        .set_temporary(false),
        Code::Unimplemented => Error::unsupported(format!("Secret Manager does not support this ({status}){said}")),
        _ => Error::new(ErrorKind::Internal, format!("unexpected answer from Secret Manager ({status}){said}")),
    }
}

/// The hush error for an HTTP status without a Google error body.
fn from_http_status(code: u16) -> Error {
    match code {
        400 => Error::invalid_input("Secret Manager refused the request (HTTP 400)"),
        401 | 403 => Error::new(ErrorKind::PermissionDenied, format!("Secret Manager denied access (HTTP {code})")),
        404 => Error::not_found("Secret Manager has no such secret or version (HTTP 404)"),
        409 => Error::new(ErrorKind::Conflict, "the secret already exists (HTTP 409)"),
        429 => Error::new(ErrorKind::RateLimited, "Secret Manager asked to slow down (HTTP 429)"),
        500..=599 => Error::unavailable(format!("Secret Manager answered with an error (HTTP {code})")),
        _ => Error::new(ErrorKind::Internal, format!("unexpected answer from Secret Manager (HTTP {code})")),
    }
}

/// The hush error for an error of the SDK.
pub(crate) fn parse_error(err: &GaxError) -> Error {
    if let Some(status) = err.status() {
        // A 429 or 5xx whose body is not a Google status still carries the HTTP code.
        if status.code == Code::Unknown
            && let Some(code) = err.http_status_code()
        {
            return from_http_status(code);
        }
        return from_status(status.code, &status.message, &status.details);
    }
    if let Some(code) = err.http_status_code() {
        return from_http_status(code);
    }
    if err.is_timeout() {
        return Error::unavailable("no answer from Secret Manager in time (request_timeout)");
    }
    if err.is_authentication() {
        let transient = error_chain(err).to_ascii_lowercase().contains("transient");
        return Error::new(
            if transient { ErrorKind::Unavailable } else { ErrorKind::PermissionDenied },
            "cannot get Google credentials: check credentials_file, credentials_json or Application Default Credentials",
        );
    }
    if err.is_deserialization() {
        return Error::new(ErrorKind::Internal, "Secret Manager's answer did not have the expected shape");
    }
    if err.is_serialization() || err.is_binding() {
        return Error::invalid_input("cannot build a Secret Manager request from these inputs");
    }
    let chain = error_chain(err);
    let lower = chain.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        Error::unavailable(format!("TLS with Secret Manager failed: {}", google_text(&chain))).set_temporary(false)
    } else if lower.contains("timed out") || lower.contains("timeout") {
        Error::unavailable(format!("no answer from Secret Manager in time: {}", google_text(&chain)))
    } else {
        Error::unavailable(format!("cannot reach Secret Manager: {}", google_text(&chain)))
    }
}

/// The error and its sources, joined by `: `.
fn error_chain(err: &GaxError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use google_cloud_gax::error::rpc::Status;

    use super::*;

    fn status(code: Code, message: &str) -> GaxError {
        GaxError::service(Status::default().set_code(code).set_message(message))
    }

    #[test]
    fn statuses_map_onto_kinds() {
        let cases = [
            (Code::NotFound, ErrorKind::NotFound, false),
            (Code::PermissionDenied, ErrorKind::PermissionDenied, false),
            (Code::Unauthenticated, ErrorKind::PermissionDenied, false),
            (Code::ResourceExhausted, ErrorKind::RateLimited, true),
            (Code::Unavailable, ErrorKind::Unavailable, true),
            (Code::DeadlineExceeded, ErrorKind::Unavailable, true),
            (Code::InvalidArgument, ErrorKind::InvalidInput, false),
            (Code::AlreadyExists, ErrorKind::Conflict, true),
            (Code::Unimplemented, ErrorKind::Unsupported, false),
        ];
        for (code, kind, temporary) in cases {
            let err = parse_error(&status(code, "text"));
            assert_eq!((err.kind(), err.is_temporary()), (kind, temporary), "{code:?}");
            assert!(err.message().contains(code.name()), "{}", err.message());
        }
    }

    #[test]
    fn denials_name_the_permission() {
        let err = parse_error(&status(
            Code::PermissionDenied,
            "Permission 'secretmanager.versions.access' denied for resource \
             'projects/p/secrets/s/versions/latest' (or it may not exist).",
        ));
        assert!(err.message().contains("permission secretmanager.versions.access is missing"), "{}", err.message());
        assert_eq!(missing_permission("Permission denied.", &[]), None);
        assert_eq!(
            missing_permission("needs secretmanager.secrets.create.", &[]).as_deref(),
            Some("secretmanager.secrets.create")
        );
    }

    #[test]
    fn long_texts_are_cut() {
        let err = parse_error(&status(Code::InvalidArgument, &"x ".repeat(1000)));
        assert!(err.message().len() < 500);
    }

    #[test]
    fn http_codes_without_a_google_body() {
        assert_eq!(from_http_status(429).kind(), ErrorKind::RateLimited);
        assert_eq!(from_http_status(503).kind(), ErrorKind::Unavailable);
        assert!(from_http_status(502).is_temporary());
        assert_eq!(from_http_status(403).kind(), ErrorKind::PermissionDenied);
    }
}
