//! ESC's HTTP answers and transport failures → hush error kinds with a temporary flag,
//! sanitised: no message ever holds the access token.

use hush_core::{Error, ErrorKind};

/// Longest part of ESC's own error message kept in ours.
const MAX_VENDOR_MESSAGE: usize = 200;

/// Which call failed: the kind of a 404 depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `POST .../open`: a 404 is a missing environment.
    Open,
    /// `GET .../open/{id}`: a 404 is a session the service no longer knows.
    Read,
}

impl Call {
    fn doing(self) -> &'static str {
        match self {
            Call::Open => "opening",
            Call::Read => "reading the open session of",
        }
    }
}

/// ESC's error body, `{"code": 404, "message": "..."}`, its message cut short and with every
/// occurrence of `token` replaced; empty when the body is not that.
fn vendor_message(body: &[u8], token: &str) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_default();
    let mut message = if token.is_empty() { message } else { message.replace(token, "***") };
    if message.len() > MAX_VENDOR_MESSAGE {
        let mut end = MAX_VENDOR_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message.retain(|c| !c.is_control());
    message
}

/// The error for HTTP `status` answered by ESC to `call` on `environment`
/// (`org/project/env`), with ESC's message (never the token).
pub(crate) fn status_error(call: Call, environment: &str, status: u16, body: &[u8], token: &str) -> Error {
    let said = vendor_message(body, token);
    let said = if said.is_empty() { String::new() } else { format!(": {said}") };
    let what = format!("{} environment {environment}", call.doing());
    match (status, call) {
        (401, _) => Error::new(
            ErrorKind::PermissionDenied,
            format!("Pulumi ESC refused the access token (401) {what}{said}"),
        )
        .set_temporary(false),
        (403, _) => Error::new(
            ErrorKind::PermissionDenied,
            format!("the access token may not open environment {environment} (403; it needs the environment's open permission){said}"),
        )
        .set_temporary(false),
        (404, Call::Open) => {
            Error::not_found(format!("Pulumi ESC has no environment {environment} (404){said}")).set_temporary(false)
        }
        (404, Call::Read) => Error::unavailable(format!(
            "the ESC session of environment {environment} is gone (404); the next request opens a new one{said}"
        ))
        .set_temporary(true),
        (429, _) => Error::new(ErrorKind::RateLimited, format!("Pulumi ESC is rate limiting (429) {what}{said}"))
            .set_temporary(true),
        (408 | 500..=599, _) => {
            Error::unavailable(format!("Pulumi ESC failed with HTTP {status} {what}{said}")).set_temporary(true)
        }
        (400..=499, _) => Error::new(ErrorKind::InvalidInput, format!("Pulumi ESC refused {what} (HTTP {status}){said}"))
            .set_temporary(false),
        _ => Error::new(ErrorKind::Internal, format!("Pulumi ESC answered HTTP {status} {what}{said}"))
            .set_temporary(false),
    }
}

/// The error for a request to ESC that got no HTTP answer (connect failure, timeout, broken
/// connection): unavailable, temporary. reqwest's text names the URL, never a header.
pub(crate) fn transport_error(call: Call, environment: &str, err: &reqwest::Error) -> Error {
    let why = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "could not connect".to_owned()
    } else {
        let what = if err.is_body() || err.is_decode() { "the answer broke off" } else { "the request failed" };
        format!("failed ({what})")
    };
    Error::unavailable(format!("Pulumi ESC {why} {} environment {environment}", call.doing())).set_temporary(true)
}

/// The error for an answer ESC should not give (not JSON, no session id, ...).
pub(crate) fn answer_error(call: Call, environment: &str, what: &str) -> Error {
    Error::unavailable(format!("Pulumi ESC answered {} environment {environment} with {what}", call.doing()))
        .set_temporary(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, call: Call) -> (ErrorKind, bool) {
        let e = status_error(call, "o/p/e", status, b"{}", "tok");
        (e.kind(), e.is_temporary())
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind(401, Call::Read), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::Open), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(404, Call::Open), (ErrorKind::NotFound, false));
        assert_eq!(kind(404, Call::Read), (ErrorKind::Unavailable, true));
        assert_eq!(kind(429, Call::Open), (ErrorKind::RateLimited, true));
        assert_eq!(kind(500, Call::Open), (ErrorKind::Unavailable, true));
        assert_eq!(kind(503, Call::Read), (ErrorKind::Unavailable, true));
        assert_eq!(kind(400, Call::Open), (ErrorKind::InvalidInput, false));
        assert_eq!(kind(302, Call::Open), (ErrorKind::Internal, false));
    }

    #[test]
    fn vendor_messages_lose_the_token_and_are_cut() {
        let body = br#"{"code":401,"message":"token pul-SECRET is invalid\n"}"#;
        let e = status_error(Call::Open, "o/p/e", 401, body, "pul-SECRET");
        assert!(!e.to_string().contains("pul-SECRET"), "{e}");
        assert!(e.to_string().contains("token *** is invalid"), "{e}");
        let long = serde_json::json!({"message": "é".repeat(300)}).to_string();
        let e = status_error(Call::Read, "o/p/e", 500, long.as_bytes(), "t");
        assert!(e.to_string().len() < 600, "{e}");
        assert!(e.to_string().contains("o/p/e"));
    }
}
