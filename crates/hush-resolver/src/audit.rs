//! Audit events: who read or wrote what, when, with what result. Never a value.

use hush_core::SecretName;
use hush_proto::message::{AuditEventRef, AuditItem};
use hush_proto::subject::{self, RequestSubject};

/// An audit event being filled in while a request is handled. It borrows the request's
/// subject and the resolver's instance name, and is written as JSON once, at the end.
#[derive(Debug)]
pub(crate) struct AuditRecord<'a> {
    target: &'a RequestSubject,
    operation: &'static str,
    request_id: [u8; 16],
    instance: &'a str,
    pub execution_id: Option<String>,
    pub items: Vec<AuditItem>,
}

impl<'a> AuditRecord<'a> {
    pub(crate) fn new(
        target: &'a RequestSubject,
        operation: &'static str,
        request_id: [u8; 16],
        instance: &'a str,
    ) -> Self {
        AuditRecord { target, operation, request_id, instance, execution_id: None, items: Vec::new() }
    }

    /// `get`, `put`, `delete` or `list`.
    pub(crate) fn operation(&self) -> &'static str {
        self.operation
    }

    /// Records the one secret a write names.
    pub(crate) fn push_item(&mut self, name: &SecretName) {
        self.items.push(AuditItem {
            name: name.to_string(),
            outcome: "ok".into(),
            found_in: None,
            version: None,
            source: None,
            backend: None,
            error: None,
        });
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
            item.error = Some(error.to_string());
        }
    }

    /// The subject and JSON payload of the finished event.
    pub(crate) fn finish(mut self, outcome: &str, time_ms: i64) -> (String, Vec<u8>) {
        if outcome != "ok" {
            for item in &mut self.items {
                if item.outcome == "ok" && item.found_in.is_none() {
                    item.outcome = outcome.into();
                }
            }
        }
        let mut request_id = [0u8; 32];
        // 16 bytes always fit 32 hex digits.
        let _ = hex::encode_to_slice(self.request_id, &mut request_id);
        let event = AuditEventRef {
            time_ms,
            tenant: self.target.tenant().as_str(),
            namespace: self.target.namespace().as_str(),
            operation: self.operation,
            outcome,
            execution_id: self.execution_id.as_deref(),
            request_id: std::str::from_utf8(&request_id).unwrap_or_default(),
            resolver: self.instance,
            items: &self.items,
        };
        let mut payload = Vec::with_capacity(256);
        // Serialising plain strings and numbers to JSON cannot fail.
        let _ = serde_json::to_writer(&mut payload, &event);
        (subject::audit(self.target.tenant()), payload)
    }
}
