//! Durable audit (ARCHITECTURE.md, "Audit"): events are stored by the JetStream stream
//! `HUSH_AUDIT`, and with `resolver.audit_required` no reply leaves unaudited. The attack: a
//! NATS client with JetStream rights makes the audit stream refuse events (full, new events
//! discarded), then reads; hushd withholds the value and refuses requests until the stream
//! records again.

use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::stream::DiscardPolicy;
use hush_core::{ErrorKind, GrantScope, SecretValue, Tags};
use hush_e2e::{ONE_STORE, Stack};
use tokio::time::Instant;

/// [`ONE_STORE`] with `audit_required` and no cache (every read reaches the store).
fn required(audit_required: bool) -> String {
    format!("[resolver]\naudit_required = {audit_required}\n\n[cache]\nenabled = false\n{ONE_STORE}")
}

/// The resolver's counters from `$SRV.STATS`.
async fn stats(nats: &async_nats::Client) -> serde_json::Value {
    let reply = nats.request("$SRV.STATS.hush", Vec::new().into()).await.unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
    stats["endpoints"][0]["data"].clone()
}

/// Events of `tenant` stored in the stream, as JSON, by reading every message.
async fn stored_events(stream: &mut jetstream::stream::Stream) -> Vec<serde_json::Value> {
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut events = Vec::new();
    for sequence in 1..=last {
        let Ok(message) = stream.get_raw_message(sequence).await else { continue };
        for line in message.payload.split(|b| *b == b'\n') {
            events.push(serde_json::from_slice(line).expect("each line is one JSON event"));
        }
    }
    events
}

#[tokio::test]
async fn with_audit_required_no_value_leaves_unaudited_and_requests_wait_for_the_stream() {
    let Some(stack) = Stack::start_or_skip(&required(true)) else { return };
    let _replica = stack.replica().await;
    let admin = stack.session("acme", "company", GrantScope::Admin).await;
    admin.put("DB_PASSWORD", &SecretValue::from("hunter2"), &Tags::new()).await.unwrap();
    assert_eq!(admin.secret("DB_PASSWORD").await.unwrap().expose(), b"hunter2");

    // Served requests were recorded before their replies left: both events are stored.
    let nats = async_nats::connect(&stack.nats.url).await.unwrap();
    let js = jetstream::new(nats.clone());
    let mut stream = js.get_stream("HUSH_AUDIT").await.expect("hushd created the audit stream");
    let events = stored_events(&mut stream).await;
    let operations: Vec<&str> = events.iter().map(|e| e["operation"].as_str().unwrap()).collect();
    assert_eq!(operations, ["put", "get"], "{events:#?}");
    assert!(!format!("{events:?}").contains("hunter2"), "no value in an audit event");

    // The attack: the stream is made to refuse new events (full, new ones discarded).
    let mut config = stream.info().await.unwrap().config.clone();
    let original = config.clone();
    config.max_messages = stream.info().await.unwrap().state.messages as i64;
    config.discard = DiscardPolicy::New;
    js.update_stream(config).await.unwrap();

    let refused = admin.secret("DB_PASSWORD").await.expect_err("the read's event cannot be recorded");
    let refused_at = Instant::now();
    assert_eq!(refused.kind(), ErrorKind::Unavailable, "{refused}");
    assert!(refused.to_string().contains("audit"), "{refused}");
    assert!(!refused.to_string().contains("hunter2"));
    // The gate is closed now: a write is refused before it is handled, so nothing is written.
    let write = admin.put("WRITTEN_UNAUDITED", &SecretValue::from("x"), &Tags::new()).await.unwrap_err();
    assert_eq!(write.kind(), ErrorKind::Unavailable, "{write}");
    let gate_was_closed = refused_at.elapsed() < Duration::from_millis(900);
    let counters = stats(&nats).await;
    assert!(counters["audit_failed"].as_u64().unwrap() >= 1, "{counters}");
    assert!(counters["audit_refused"].as_u64().unwrap() >= 2, "{counters}");

    // The stream records again: within a second (the gate's probe) requests are served.
    js.update_stream(original).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let value = loop {
        match admin.secret("DB_PASSWORD").await {
            Ok(value) => break value,
            Err(e) if e.kind() == ErrorKind::Unavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("not served once the stream records again: {e}"),
        }
    };
    assert_eq!(value.expose(), b"hunter2");
    if gate_was_closed {
        // Refused before it was handled: never written.
        assert_eq!(admin.secret("WRITTEN_UNAUDITED").await.unwrap_err().kind(), ErrorKind::NotFound);
    } else {
        eprintln!("the write came over 0.9 s after the refused read (a slow machine): it may have been the probe");
    }
    let operations: Vec<String> = stored_events(&mut stream)
        .await
        .iter()
        .map(|e| format!("{} {}", e["operation"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(operations.first().map(String::as_str), Some("put ok"));
    assert!(operations.last().is_some_and(|last| last == "get ok"), "{operations:?}");
}

#[tokio::test]
async fn without_audit_required_an_unrecorded_event_is_counted_and_the_request_served() {
    let Some(stack) = Stack::start_or_skip(&required(false)) else { return };
    let _replica = stack.replica().await;
    let admin = stack.session("acme", "company", GrantScope::Admin).await;
    admin.put("DB_PASSWORD", &SecretValue::from("hunter2"), &Tags::new()).await.unwrap();

    let nats = async_nats::connect(&stack.nats.url).await.unwrap();
    // Unless audit is required, events wait a little for others before they are stored: wait
    // until the put's is, so the stream is full with it (a limit of 0 messages means none).
    let deadline = Instant::now() + Duration::from_secs(10);
    while stats(&nats).await["audit_recorded"].as_u64().unwrap() == 0 {
        assert!(Instant::now() < deadline, "the put's event was not recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let js = jetstream::new(nats.clone());
    let mut stream = js.get_stream("HUSH_AUDIT").await.expect("hushd created the audit stream");
    let mut config = stream.info().await.unwrap().config.clone();
    config.max_messages = stream.info().await.unwrap().state.messages as i64;
    assert_eq!(config.max_messages, 1, "the put's event is stored");
    config.discard = DiscardPolicy::New;
    js.update_stream(config).await.unwrap();

    assert_eq!(admin.secret("DB_PASSWORD").await.unwrap().expose(), b"hunter2");
    let deadline = Instant::now() + Duration::from_secs(10);
    while stats(&nats).await["audit_failed"].as_u64().unwrap() == 0 {
        assert!(Instant::now() < deadline, "the unrecorded event was not counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn events_that_together_exceed_the_servers_max_payload_go_in_several_messages_all_recorded() {
    // A server that takes messages of at most 16 KiB; each event below is ~7 KiB (64 names),
    // so events queued together must be split to be stored at all.
    let Some(stack) = Stack::with_max_payload_or_skip(16 * 1024, ONE_STORE) else { return };
    let _replica = stack.replica().await;
    let admin = stack.session("acme", "company", GrantScope::Admin).await;
    let names: Vec<String> = (0..64).map(|i| format!("A_SECRET_WITH_A_RATHER_LONG_NAME_NUMBER_{i:02}")).collect();
    for name in &names {
        admin.put(name, &SecretValue::from("v"), &Tags::new()).await.unwrap();
    }
    let nats = async_nats::connect(&stack.nats.url).await.unwrap();
    let js = jetstream::new(nats.clone());
    let mut stream = js.get_stream("HUSH_AUDIT").await.expect("hushd created the audit stream");
    let recorded_after = |count: u64| {
        let nats = nats.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let now = stats(&nats).await;
                assert_eq!(now["audit_failed"].as_u64().unwrap(), 0, "an event was refused: {now}");
                let recorded = now["audit_recorded"].as_u64().unwrap();
                if recorded >= count || Instant::now() > deadline {
                    return recorded;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(recorded_after(64).await, 64, "the puts' events are recorded");
    let messages_before = stream.info().await.unwrap().state.messages;

    // Reads arriving together: their events are queued together, ~170 KiB for one tenant.
    const READS: usize = 24;
    let reads = (0..READS).map(|_| admin.secrets(names.iter().map(String::as_str)));
    for values in futures::future::join_all(reads).await {
        assert_eq!(values.unwrap().len(), 64);
    }
    assert_eq!(recorded_after(64 + READS as u64).await, 64 + READS as u64, "every read's event is recorded");
    let reads: Vec<serde_json::Value> =
        stored_events(&mut stream).await.into_iter().filter(|e| e["operation"] == "get").collect();
    assert_eq!(reads.len(), READS, "each read's event is stored once");
    assert!(reads.iter().all(|e| e["items"].as_array().is_some_and(|items| items.len() == 64)));
    let messages = stream.info().await.unwrap().state.messages - messages_before;
    assert!(messages >= (READS / 2) as u64, "at most two ~7 KiB events fit in 16 KiB: {messages} messages");
}
