//! `hush audit tail`: audit events read back from the audit stream (`resolver.audit_stream`),
//! where every replica stores them, so events recorded while nobody listened are found too.

use std::io::Write;
use std::time::{Duration, SystemTime};

use async_nats::jetstream;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use futures::StreamExt;
use hush_core::{Error, TenantId};
use hush_proto::message::{AuditEvent, AuditItem};
use hush_proto::subject;

use crate::cli::AuditTailArgs;
use crate::setup;

pub async fn tail(path: &std::path::Path, args: AuditTailArgs) -> anyhow::Result<()> {
    let config = setup::load_config(path)?;
    let filter = match &args.tenant {
        Some(tenant) => subject::audit(&TenantId::new(tenant.as_str()).map_err(Error::from)?),
        None => subject::AUDIT_WILDCARD.to_owned(),
    };
    let name = &config.resolver.audit_stream;
    let client = hush_client::NatsOptions::from_config(&config.nats, "hush-cli").connect().await?;
    let jetstream = jetstream::new(client);
    let unreadable =
        |e: &dyn std::fmt::Display| Error::unavailable(format!("cannot read the audit stream {name}: {e}"));
    let stream = jetstream.get_stream(name).await.map_err(|e| match e.kind() {
        jetstream::context::GetStreamErrorKind::JetStream(source)
            if source.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND =>
        {
            Error::not_found(format!(
                "the audit stream {name} does not exist: no hushd with audit on has started on this NATS server"
            ))
        }
        _ => unreadable(&e),
    })?;
    let start = SystemTime::now().checked_sub(args.since).unwrap_or(SystemTime::UNIX_EPOCH);
    let start_time = time::OffsetDateTime::from(start);
    let mut consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: filter,
            deliver_policy: DeliverPolicy::ByStartTime { start_time },
            ..Default::default()
        })
        .await
        .map_err(|e| unreadable(&e))?;
    let pending = consumer.info().await.map(|info| info.num_pending).unwrap_or(0);
    if pending == 0 && !args.follow {
        return Ok(());
    }
    let mut messages = consumer.messages().await.map_err(|e| unreadable(&e))?;
    let mut out = std::io::stdout().lock();
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| unreadable(&e))?;
        for line in message.payload.split(|b| *b == b'\n').filter(|line| !line.is_empty()) {
            print_event(&mut out, line, args.json)?;
        }
        out.flush()?;
        let left = message.info().map(|info| info.pending).unwrap_or(0);
        if left == 0 && !args.follow {
            break;
        }
    }
    Ok(())
}

/// One event: its JSON line as stored (`--json`), or one line of text.
fn print_event(out: &mut impl Write, line: &[u8], json: bool) -> anyhow::Result<()> {
    let Ok(event) = serde_json::from_slice::<AuditEvent>(line) else {
        eprintln!("hush: skipped a line of the audit stream that is not an audit event");
        return Ok(());
    };
    if json {
        out.write_all(line)?;
        out.write_all(b"\n")?;
        return Ok(());
    }
    writeln!(out, "{}", event_line(&event))?;
    Ok(())
}

/// `TIME TENANT/NAMESPACE OPERATION OUTCOME ITEM… request=ID [execution=ID] resolver=NAME`,
/// each item `NAME=OUTCOME`, with where it was found and from what (`@company/cache`), the
/// version written (`v3`), or the failing backend and error.
fn event_line(event: &AuditEvent) -> String {
    let time = SystemTime::UNIX_EPOCH + Duration::from_millis(event.time_ms.max(0) as u64);
    let mut line = format!(
        "{} {}/{} {} {}",
        humantime::format_rfc3339_millis(time),
        event.tenant,
        event.namespace,
        event.operation,
        event.outcome
    );
    for item in &event.items {
        line.push(' ');
        line.push_str(&item_text(item));
    }
    line.push_str(&format!(" request={}", event.request_id));
    if let Some(execution) = &event.execution_id {
        line.push_str(&format!(" execution={execution}"));
    }
    line.push_str(&format!(" resolver={}", event.resolver));
    line
}

fn item_text(item: &AuditItem) -> String {
    let mut text = format!("{}={}", item.name, item.outcome);
    if let Some(found_in) = &item.found_in {
        text.push_str(&format!("@{found_in}"));
    }
    if let Some(source) = &item.source {
        text.push_str(&format!("/{source}"));
    }
    if let Some(version) = &item.version {
        text.push_str(&format!(":v{version}"));
    }
    if let Some(error) = &item.error {
        let backend = item.backend.as_deref().map(|b| format!("{b}: ")).unwrap_or_default();
        text.push_str(&format!("({backend}{error})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_as_one_line() {
        let item = |name: &str, outcome: &str| AuditItem {
            name: name.into(),
            outcome: outcome.into(),
            found_in: None,
            version: None,
            source: None,
            backend: None,
            error: None,
        };
        let event = AuditEvent {
            time_ms: 1_764_800_000_123,
            tenant: "acme".into(),
            namespace: "company.team".into(),
            operation: "get".into(),
            outcome: "ok".into(),
            execution_id: Some("exec-1".into()),
            request_id: "00ff".into(),
            resolver: "host:42".into(),
            items: vec![
                AuditItem { found_in: Some("company".into()), source: Some("cache".into()), ..item("DB", "ok") },
                AuditItem {
                    backend: Some("vault-main".into()),
                    error: Some("no answer within 2s".into()),
                    ..item("API", "unavailable")
                },
            ],
        };
        assert_eq!(
            event_line(&event),
            "2025-12-03T22:13:20.123Z acme/company.team get ok DB=ok@company/cache \
             API=unavailable(vault-main: no answer within 2s) request=00ff execution=exec-1 resolver=host:42"
        );
    }
}
