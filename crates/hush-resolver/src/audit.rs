//! Audit events: who read or wrote what, when, with what result. Never a value.

use hush_core::{Namespace, SecretName};
use hush_proto::message::{AuditEventRef, AuditItemRef, WireError};
use hush_proto::subject::{self, RequestSubject};

use crate::handle::Found;

/// An audit event being filled in while a request is handled. It borrows the request's
/// subject and the resolver's instance name, and is written as JSON once, at the end.
#[derive(Debug)]
pub(crate) struct AuditRecord<'a> {
    target: &'a RequestSubject,
    operation: &'static str,
    request_id: [u8; 16],
    instance: &'a str,
    /// When hushd received the request, unix milliseconds: the event's `time_ms`.
    received_ms: i64,
    pub execution_id: Option<String>,
    pub items: Vec<AuditedItem>,
}

/// What happened to one secret of a request: an `AuditItem` whose fixed words (outcome,
/// source) are not copied into strings of their own.
#[derive(Debug)]
pub(crate) struct AuditedItem {
    /// The name as requested.
    pub name: String,
    /// `ok` or an error kind.
    pub outcome: &'static str,
    /// Where it was found, for a read that failed after finding it; a read's reply says where
    /// the others were found ([`AuditRecord::finish`]).
    pub found_in: Option<String>,
    /// The version written; a read's reply says which version it read.
    pub version: Option<String>,
    /// `cache`, `backend` or `stale` for reads.
    pub source: Option<&'static str>,
    /// The backend whose failure the outcome is.
    pub backend: Option<String>,
    /// The error's text, for outcomes other than `ok` and `not_found`.
    pub error: Option<String>,
}

impl AuditedItem {
    /// An item of `name` with `outcome` and nothing else known yet.
    pub(crate) fn new(name: String, outcome: &'static str) -> Self {
        AuditedItem { name, outcome, found_in: None, version: None, source: None, backend: None, error: None }
    }

    /// The item as written, where it was found and its version taken from `read`, what the
    /// read of a request in `requested` found, when it was read: not copied into the item.
    fn borrowed<'a>(&'a self, read: Option<&'a Found>, requested: &'a Namespace) -> AuditItemRef<'a> {
        AuditItemRef {
            name: &self.name,
            outcome: self.outcome,
            found_in: self.found_in.as_deref().or(read.map(|r| r.namespace(requested))),
            version: self.version.as_deref().or(read.and_then(Found::version)),
            source: self.source,
            backend: self.backend.as_deref(),
            error: self.error.as_deref(),
        }
    }
}

/// Most bytes of an error's text an audit item keeps: a backend's error may carry a whole
/// response body, and an event must fit in a NATS message with the other 63 items.
const ERROR_TEXT_MAX: usize = 1024;

/// `error`'s text for an audit item: its first [`ERROR_TEXT_MAX`] bytes (cut at a character
/// boundary), marked when cut.
pub(crate) fn error_text(error: &hush_core::Error) -> String {
    cut(error.to_string(), ERROR_TEXT_MAX)
}

fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let end = text.floor_char_boundary(max);
        text.truncate(end);
        text.push_str(" […]");
    }
    text
}

impl<'a> AuditRecord<'a> {
    pub(crate) fn new(
        target: &'a RequestSubject,
        operation: &'static str,
        request_id: [u8; 16],
        instance: &'a str,
        received_ms: i64,
    ) -> Self {
        AuditRecord { target, operation, request_id, instance, received_ms, execution_id: None, items: Vec::new() }
    }

    /// `get`, `put`, `delete` or `list`.
    pub(crate) fn operation(&self) -> &'static str {
        self.operation
    }

    /// Records the one secret a write names.
    pub(crate) fn push_item(&mut self, name: &SecretName) {
        self.items.push(AuditedItem::new(name.to_string(), "ok"));
    }

    /// Records the version a write produced.
    pub(crate) fn set_version(&mut self, version: Option<String>) {
        if let Some(item) = self.items.last_mut() {
            item.version = version;
        }
    }

    /// Records on the last item the error of a failed backend call.
    pub(crate) fn set_error(&mut self, error: &hush_core::Error) {
        if let Some(item) = self.items.last_mut() {
            item.backend = error.context_value("backend").map(str::to_owned);
            item.error = Some(error_text(error));
        }
    }

    /// The subject and JSON payload of the finished event. `reads` are a read's answers, one
    /// per item in order (empty for anything else): each item found says where and which
    /// version from what the read found.
    pub(crate) fn finish(mut self, outcome: &'static str, reads: &[Result<Found, WireError>]) -> (String, Vec<u8>) {
        if outcome != "ok" {
            for item in &mut self.items {
                if item.outcome == "ok" && item.found_in.is_none() {
                    item.outcome = outcome;
                }
            }
        }
        let mut request_id = [0u8; 32];
        // 16 bytes always fit 32 hex digits.
        let _ = hex::encode_to_slice(self.request_id, &mut request_id);
        let reads = reads.iter().map(|read| read.as_ref().ok()).chain(std::iter::repeat(None));
        let items: Vec<AuditItemRef<'_>> =
            self.items.iter().zip(reads).map(|(item, read)| item.borrowed(read, self.target.namespace())).collect();
        let event = AuditEventRef {
            time_ms: self.received_ms,
            tenant: self.target.tenant().as_str(),
            namespace: self.target.namespace().as_str(),
            operation: self.operation,
            outcome,
            execution_id: self.execution_id.as_deref(),
            request_id: std::str::from_utf8(&request_id).unwrap_or_default(),
            resolver: self.instance,
            items: &items,
        };
        let mut payload = Vec::with_capacity(256 + 128 * items.len());
        // Serialising plain strings and numbers to JSON cannot fail.
        let _ = serde_json::to_writer(&mut payload, &event);
        (subject::audit(self.target.tenant()), payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_text_is_kept_whole_up_to_its_limit_and_cut_at_a_character_after() {
        assert_eq!(cut("short".into(), 16), "short");
        assert_eq!(cut("x".repeat(16), 16), "x".repeat(16));
        assert_eq!(cut("x".repeat(17), 16), format!("{} […]", "x".repeat(16)));
        // 'é' is two bytes: a cut inside it keeps the character before.
        assert_eq!(cut("é".repeat(10), 5), "éé […]");
        let long = hush_core::Error::unavailable("y".repeat(100_000));
        let text = error_text(&long);
        assert!(text.len() <= ERROR_TEXT_MAX + " […]".len() && text.ends_with(" […]"), "{}", text.len());
    }
}
