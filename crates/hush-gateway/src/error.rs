//! Why the gateway cannot start ([`GatewayError`]) and how a refused request is answered
//! ([`Refusal`]: hush's error kind as an HTTP status).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hush_core::{Error, ErrorKind};

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The `[gateway]` section (or a file it names) is unusable.
    #[error("{0}")]
    Config(String),
    /// A certificate, key or CA file is unusable.
    #[error("{0}")]
    Tls(String),
    /// NATS could not be reached.
    #[error("cannot connect to NATS: {0}")]
    Nats(String),
    /// The listening socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Seconds a caller is asked to wait before retrying an `unavailable` or `rate_limited` answer.
const RETRY_AFTER_SECONDS: &str = "5";

/// A refused request: the status, hush's error kind and its message (which never holds a
/// value or a grant: hush's errors do not carry them).
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, kind: ErrorKind, message: impl Into<String>) -> Refusal {
        Refusal { status, kind: kind.as_str(), message: message.into() }
    }

    /// No usable grant: 401.
    pub(crate) fn unauthenticated(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::UNAUTHORIZED, ErrorKind::Unauthorized, message)
    }

    /// A grant or certificate that does not cover this request: 403.
    pub(crate) fn forbidden(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::FORBIDDEN, ErrorKind::Unauthorized, message)
    }

    /// A malformed request: 400.
    pub(crate) fn bad_request(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, ErrorKind::InvalidInput, message)
    }
}

/// hush's error kinds as HTTP statuses. A grant hushd refused is 401 (get a new one); a
/// grant for another tenant or namespace than the URL, or a write through a read-only
/// binding, 403; the backend refusing hush's own credentials is the upstream's failure, 502.
pub(crate) fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::ReadOnly => StatusCode::FORBIDDEN,
        ErrorKind::PermissionDenied => StatusCode::BAD_GATEWAY,
        ErrorKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::ConfigInvalid | ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Refusal {
        Refusal::new(status_of(e.kind()), e.kind(), e.to_string())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.kind, "message": self.message });
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match self.status {
            StatusCode::UNAUTHORIZED => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"hush\""));
            }
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
            }
            _ => {}
        }
        response
    }
}
