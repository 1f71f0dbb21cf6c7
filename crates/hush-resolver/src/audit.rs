//! Audit events: who read or wrote what, when, with what result. Never a value.

use hush_core::SecretName;
use hush_proto::message::{AuditEvent, AuditItem};
use hush_proto::subject::{self, RequestSubject};

/// An audit event being filled in while a request is handled.
#[derive(Debug)]
pub(crate) struct AuditRecord {
    subject: String,
    event: AuditEvent,
    pub execution_id: Option<String>,
    pub items: Vec<AuditItem>,
}

impl AuditRecord {
    pub(crate) fn new(target: &RequestSubject, operation: &str, request_id: [u8; 16], instance: &str) -> Self {
        AuditRecord {
            subject: subject::audit(target.tenant()),
            event: AuditEvent {
                time_ms: 0,
                tenant: target.tenant().to_string(),
                namespace: target.namespace().to_string(),
                operation: operation.into(),
                outcome: String::new(),
                execution_id: None,
                request_id: hex::encode(request_id),
                resolver: instance.into(),
                items: Vec::new(),
            },
            execution_id: None,
            items: Vec::new(),
        }
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
        self.event.time_ms = time_ms;
        self.event.outcome = outcome.into();
        self.event.execution_id = self.execution_id;
        if outcome != "ok" {
            for item in &mut self.items {
                if item.outcome == "ok" && item.found_in.is_none() {
                    item.outcome = outcome.into();
                }
            }
        }
        self.event.items = self.items;
        // Serialising plain strings and numbers to JSON cannot fail.
        let payload = serde_json::to_vec(&self.event).unwrap_or_default();
        (self.subject, payload)
    }
}
