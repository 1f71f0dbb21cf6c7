//! A vendor's answer that is not a success, or no answer at all, as hush's [`Error`]: the
//! kind and temporary flag the retry layer reads, and a message with the vendor's own words
//! minus every credential.

use std::fmt;

use hush_core::{Error, ErrorKind};
use serde_json::Value;

/// Longest part of a vendor's own message kept in ours.
pub const MAX_VENDOR_MESSAGE: usize = 200;

/// Where vendors put their message in a JSON error body, tried in order: Pulumi ESC
/// `{"message"}`, Doppler `{"messages": [...]}`, Conjur `{"error": {"message"}}`,
/// Elasticsearch and OpenSearch `{"error": {"reason"}}`, and a bare `{"error": "..."}`.
const MESSAGE_POINTERS: [&str; 5] = ["/message", "/messages", "/error/message", "/error/reason", "/error"];

/// The vendor's message in `body`: the first of [`MESSAGE_POINTERS`] that holds a string (or
/// strings, joined by `; `), else a body of plain text (not HTML); with every one of
/// `credentials` replaced by `***`, control characters removed and cut to
/// [`MAX_VENDOR_MESSAGE`] bytes. Empty when the body says nothing usable.
pub(crate) fn vendor_message(body: &[u8], credentials: &[&[u8]]) -> String {
    let message = match serde_json::from_slice::<Value>(body) {
        Ok(json) => MESSAGE_POINTERS.iter().find_map(|p| text_at(&json, p)).unwrap_or_default(),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.starts_with('<') { String::new() } else { text.to_owned() }
        }
    };
    let mut message = redacted(message, credentials);
    message.retain(|c| !c.is_control());
    if message.len() > MAX_VENDOR_MESSAGE {
        let mut end = MAX_VENDOR_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

fn text_at(json: &Value, pointer: &str) -> Option<String> {
    match json.pointer(pointer)? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Array(items) => {
            let texts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            (!texts.is_empty()).then(|| texts.join("; "))
        }
        _ => None,
    }
}

/// `text` with every occurrence of each credential (as UTF-8) replaced by `***`.
fn redacted(mut text: String, credentials: &[&[u8]]) -> String {
    for credential in credentials {
        if let Ok(credential) = std::str::from_utf8(credential)
            && !credential.is_empty()
        {
            text = text.replace(credential, "***");
        }
    }
    text
}

/// A vendor's answer that is not a 2xx: who answered, the status, what the request was for,
/// and the vendor's message (already redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorFailure {
    /// The vendor's name ("Doppler").
    pub vendor: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What the request was for ("reading a secret of config p/c").
    pub doing: String,
    /// The vendor's message, redacted and cut short; may be empty.
    pub said: String,
}

impl VendorFailure {
    /// `": <the vendor's message>"`, or nothing when it said nothing.
    pub fn said_suffix(&self) -> String {
        if self.said.is_empty() { String::new() } else { format!(": {}", self.said) }
    }

    /// An error of `kind` saying `message` and then the vendor's message; permanent unless
    /// `temporary`.
    pub fn error_of(&self, kind: ErrorKind, message: impl fmt::Display, temporary: bool) -> Error {
        Error::new(kind, format!("{message}{}", self.said_suffix())).set_temporary(temporary)
    }

    /// The usual mapping: 401 and 403 permission denied, 404 not found, 429 rate limited
    /// (temporary), 408 and 5xx unavailable (temporary), other 4xx invalid input, anything
    /// else internal.
    pub fn error(&self) -> Error {
        let (vendor, status, doing) = (self.vendor, self.status, &self.doing);
        match status {
            401 => self.error_of(
                ErrorKind::PermissionDenied,
                format_args!("{vendor} refused hush's credentials (401) {doing}"),
                false,
            ),
            403 => self.error_of(ErrorKind::PermissionDenied, format_args!("{vendor} denied {doing} (403)"), false),
            404 => self.error_of(ErrorKind::NotFound, format_args!("{vendor} found nothing (404) {doing}"), false),
            429 => self.error_of(ErrorKind::RateLimited, format_args!("{vendor} is rate limiting (429) {doing}"), true),
            408 | 500..=599 => {
                self.error_of(ErrorKind::Unavailable, format_args!("{vendor} failed with HTTP {status} {doing}"), true)
            }
            400..=499 => {
                self.error_of(ErrorKind::InvalidInput, format_args!("{vendor} refused {doing} (HTTP {status})"), false)
            }
            _ => self.error_of(ErrorKind::Internal, format_args!("{vendor} answered HTTP {status} {doing}"), false),
        }
    }
}

impl fmt::Display for VendorFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered HTTP {} {}{}", self.vendor, self.status, self.doing, self.said_suffix())
    }
}

/// The error for a request to `vendor` that got no HTTP answer (connect failure, timeout,
/// broken connection): unavailable, temporary. reqwest's own text is left out: it may hold
/// the URL's query.
pub fn transport_error(vendor: &str, doing: &str, err: &reqwest::Error) -> Error {
    let why = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not be reached"
    } else if err.is_body() || err.is_decode() {
        "broke off its answer"
    } else {
        "could not be asked"
    };
    Error::unavailable(format!("{vendor} {why} {doing}")).set_temporary(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16) -> VendorFailure {
        VendorFailure { vendor: "V", status, doing: "reading x".into(), said: String::new() }
    }

    #[test]
    fn statuses_map_to_kinds() {
        let kind = |s| {
            let e = failure(s).error();
            (e.kind(), e.is_temporary())
        };
        assert_eq!(kind(401), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(404), (ErrorKind::NotFound, false));
        assert_eq!(kind(429), (ErrorKind::RateLimited, true));
        assert_eq!(kind(408), (ErrorKind::Unavailable, true));
        assert_eq!(kind(503), (ErrorKind::Unavailable, true));
        assert_eq!(kind(400), (ErrorKind::InvalidInput, false));
        assert_eq!(kind(302), (ErrorKind::Internal, false));
        assert!(failure(503).error().to_string().contains("V failed with HTTP 503 reading x"));
    }

    #[test]
    fn vendor_messages_are_found_redacted_and_cut() {
        let token: &[u8] = b"tok-SECRET";
        let said = |body: &str| vendor_message(body.as_bytes(), &[token]);
        assert_eq!(said(r#"{"message":"token tok-SECRET is bad\n"}"#), "token *** is bad");
        assert_eq!(said(r#"{"messages":["a tok-SECRET","b"],"success":false}"#), "a ***; b");
        assert_eq!(said(r#"{"error":{"code":"not_found","message":"no var"}}"#), "no var");
        assert_eq!(said(r#"{"error":{"type":"x","reason":"no index"},"status":404}"#), "no index");
        assert_eq!(said(r#"{"error":"plain"}"#), "plain");
        assert_eq!(said("Unauthorized tok-SECRET"), "Unauthorized ***");
        assert_eq!(said("<html><body>bad gateway</body></html>"), "");
        assert_eq!(said("{}"), "");
        let long = serde_json::json!({"message": "é".repeat(300)}).to_string();
        let cut = vendor_message(long.as_bytes(), &[]);
        assert!(cut.len() <= MAX_VENDOR_MESSAGE + '…'.len_utf8(), "{}", cut.len());
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn the_vendor_message_follows_ours() {
        let f = VendorFailure { said: "config missing".into(), ..failure(404) };
        assert_eq!(f.error().to_string().split_once(": ").map(|(_, m)| m.ends_with("config missing")), Some(true));
        assert_eq!(f.to_string(), "V answered HTTP 404 reading x: config missing");
    }
}
