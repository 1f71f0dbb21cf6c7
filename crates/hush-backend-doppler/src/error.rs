//! Doppler's HTTP answers and transport failures → hush error kinds with a temporary flag,
//! sanitised: no message ever holds the service token.

use hush_core::{Error, ErrorKind};

/// Longest part of Doppler's own error message kept in ours.
const MAX_VENDOR_MESSAGE: usize = 200;

/// Which call failed: a 403 on a write means a read-only service token, a 404 of a list a
/// missing config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `GET /v3/configs/config/secret`.
    Get,
    /// `GET /v3/configs/config/secrets/names`.
    List,
    /// `POST /v3/configs/config/secrets`.
    Update,
    /// `DELETE /v3/configs/config/secret`.
    Delete,
}

impl Call {
    fn doing(self) -> &'static str {
        match self {
            Call::Get => "reading a secret of",
            Call::List => "listing the secret names of",
            Call::Update => "writing a secret of",
            Call::Delete => "deleting a secret of",
        }
    }

    fn writes(self) -> bool {
        matches!(self, Call::Update | Call::Delete)
    }
}

/// Doppler's error body, `{"messages": ["..."], "success": false}`, its messages joined, cut
/// short and with every occurrence of `token` replaced; empty when the body is not that.
fn vendor_message(body: &[u8], token: &str) -> String {
    let value = serde_json::from_slice::<serde_json::Value>(body).unwrap_or_default();
    let message = match value.get("messages").and_then(|m| m.as_array()) {
        Some(messages) => messages.iter().filter_map(|m| m.as_str()).collect::<Vec<_>>().join("; "),
        None => value.get("message").and_then(|m| m.as_str()).unwrap_or_default().to_owned(),
    };
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

/// The error for HTTP `status` answered by Doppler to `call` on config `config`
/// (`project/config`), with Doppler's message (never the token). A 404 of a single secret is
/// the caller's (it knows the secret).
pub(crate) fn status_error(call: Call, config: &str, status: u16, body: &[u8], token: &str) -> Error {
    let said = vendor_message(body, token);
    let said = if said.is_empty() { String::new() } else { format!(": {said}") };
    let what = format!("{} config {config}", call.doing());
    match status {
        401 => Error::new(ErrorKind::PermissionDenied, format!("Doppler refused the service token (401) {what}{said}"))
            .set_temporary(false),
        403 if call.writes() => Error::new(
            ErrorKind::ReadOnly,
            format!(
                "the Doppler service token is read-only (403) {what}; writes need a read/write service token{said}"
            ),
        )
        .set_temporary(false),
        403 => Error::new(
            ErrorKind::PermissionDenied,
            format!("the service token may not access config {config} (403){said}"),
        )
        .set_temporary(false),
        404 => Error::not_found(format!("Doppler found nothing (404) {what}{said}")).set_temporary(false),
        429 => Error::new(ErrorKind::RateLimited, format!("Doppler is rate limiting (429) {what}{said}"))
            .set_temporary(true),
        408 | 500..=599 => {
            Error::unavailable(format!("Doppler failed with HTTP {status} {what}{said}")).set_temporary(true)
        }
        400..=499 => Error::new(ErrorKind::InvalidInput, format!("Doppler refused {what} (HTTP {status}){said}"))
            .set_temporary(false),
        _ => {
            Error::new(ErrorKind::Internal, format!("Doppler answered HTTP {status} {what}{said}")).set_temporary(false)
        }
    }
}

/// The error for a request that got no HTTP answer (connect failure, timeout, broken
/// connection): unavailable, temporary. reqwest's text names the URL, never a header.
pub(crate) fn transport_error(call: Call, config: &str, err: &reqwest::Error) -> Error {
    let why = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "could not connect".to_owned()
    } else {
        let what = if err.is_body() || err.is_decode() { "the answer broke off" } else { "the request failed" };
        format!("failed ({what})")
    };
    Error::unavailable(format!("Doppler {why} {} config {config}", call.doing())).set_temporary(true)
}

/// The error for an answer Doppler should not give (not JSON, no value, ...).
pub(crate) fn answer_error(call: Call, config: &str, what: &str) -> Error {
    Error::unavailable(format!("Doppler answered {} config {config} with {what}", call.doing())).set_temporary(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, call: Call) -> (ErrorKind, bool) {
        let e = status_error(call, "p/c", status, b"{}", "tok");
        (e.kind(), e.is_temporary())
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind(401, Call::Get), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::Get), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Call::Update), (ErrorKind::ReadOnly, false));
        assert_eq!(kind(403, Call::Delete), (ErrorKind::ReadOnly, false));
        assert_eq!(kind(404, Call::List), (ErrorKind::NotFound, false));
        assert_eq!(kind(429, Call::Get), (ErrorKind::RateLimited, true));
        assert_eq!(kind(500, Call::Update), (ErrorKind::Unavailable, true));
        assert_eq!(kind(503, Call::List), (ErrorKind::Unavailable, true));
        assert_eq!(kind(400, Call::Update), (ErrorKind::InvalidInput, false));
        assert_eq!(kind(302, Call::Get), (ErrorKind::Internal, false));
        let e = status_error(Call::Update, "p/c", 403, b"{}", "t");
        assert!(e.to_string().contains("service token is read-only"), "{e}");
    }

    #[test]
    fn vendor_messages_lose_the_token_and_are_cut() {
        let body = br#"{"messages":["token dp.st.SECRET is invalid\n","again"],"success":false}"#;
        let e = status_error(Call::Get, "p/c", 401, body, "dp.st.SECRET");
        assert!(!e.to_string().contains("dp.st.SECRET"), "{e}");
        assert!(e.to_string().contains("token *** is invalid; again"), "{e}");
        let long = serde_json::json!({"messages": ["é".repeat(300)]}).to_string();
        let e = status_error(Call::List, "p/c", 500, long.as_bytes(), "t");
        assert!(e.to_string().len() < 600, "{e}");
        assert!(e.to_string().contains("p/c"));
    }
}
