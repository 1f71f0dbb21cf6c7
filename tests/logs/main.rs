//! The logs of a whole run at debug level, as `hushd --log-format json` writes them: one line
//! per request with its id, tenant, namespace, operation, outcome and duration, and not one
//! value or grant anywhere (resolver, client, NATS client and backends all log to the
//! process's one subscriber here, as in hushd).

use std::io::Write;
use std::sync::{Arc, Mutex};

use hush_core::{ErrorKind, GrantScope, ListFilter, SecretValue, Tags};
use hush_e2e::{ONE_STORE, Stack};
use hush_proto::message::{GetItem, GetRequest, RequestBody};

/// Where the test's subscriber writes: every line of the run.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn debug_logs_carry_each_request_and_never_a_value_or_a_grant() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    // The process's subscriber, as hushd installs it: this binary runs this one test.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let Some(stack) = Stack::start_or_skip(ONE_STORE) else { return };
    let _replica = stack.replica().await;
    let client = stack.client().await;
    let admin_grant = stack.bound_grant("acme", "company", GrantScope::Admin, client.public_key());
    let read_grant = stack.bound_grant("acme", "company.team.etl", GrantScope::Read, client.public_key());
    let foreign_grant = stack.bound_grant("globex", "company", GrantScope::Read, client.public_key());
    let values = ["hunter2-in-the-logs?", r#"{"credentials":{"password":"p@ss-in-the-logs"}}"#];

    let admin = client.session(admin_grant.clone()).unwrap();
    admin.put("DB_PASSWORD", &SecretValue::from(values[0]), &Tags::new()).await.unwrap();
    admin.put("DB", &SecretValue::from(values[1]), &Tags::new()).await.unwrap();
    assert_eq!(admin.list(&ListFilter::default()).await.unwrap().len(), 2);
    let reader = client.session(read_grant.clone()).unwrap();
    assert_eq!(reader.secret("DB_PASSWORD").await.unwrap().expose_str(), Some(values[0]));
    assert_eq!(reader.secret_at("DB", "credentials.password").await.unwrap().expose_str(), Some("p@ss-in-the-logs"));
    assert_eq!(reader.secrets(["DB_PASSWORD", "DB"]).await.unwrap().len(), 2);
    assert_eq!(reader.secret("MISSING").await.unwrap_err().kind(), ErrorKind::NotFound);
    // A grant for another tenant, sent to acme's subject: refused, and still not logged.
    let raw = stack.raw_client().await;
    let subject = "hush.v1.get.acme.company";
    let body = RequestBody::Get(GetRequest { items: vec![GetItem { name: "DB".into(), path: None, version: None }] });
    let refused = raw.send(subject, &raw.envelope(subject, &foreign_grant, body)).await;
    assert_eq!(hush_core::Error::from(refused.body.unwrap_err()).kind(), ErrorKind::Unauthorized);
    admin.delete("DB").await.unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for secret in values.iter().copied().chain(["p@ss-in-the-logs"]) {
        assert!(!logs.contains(secret), "a value is in the logs: {secret}");
    }
    for grant in [&admin_grant, &read_grant, &foreign_grant] {
        // Any part of a token: its signature is its last 43 characters.
        assert!(!logs.contains(grant.as_str()) && !logs.contains(&grant[grant.len() - 43..]), "a grant is in the logs");
    }

    // Each request is one line of its own, with what an operator needs to follow it.
    let requests: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("JSON lines"))
        .filter(|line| line["fields"]["message"] == "request" || line["fields"]["message"] == "request refused")
        // The harness's readiness probes (Stack::replica).
        .filter(|line| line["fields"]["tenant"] != "__probe")
        .collect();
    let count = |operation: &str, outcome: &str| {
        requests.iter().filter(|r| r["fields"]["operation"] == operation && r["fields"]["outcome"] == outcome).count()
    };
    assert_eq!(count("put", "ok"), 2, "{requests:#?}");
    assert_eq!(count("list", "ok"), 1);
    assert_eq!(count("delete", "ok"), 1);
    assert_eq!(count("get", "ok"), 4, "one per read request; a missing name is an item's answer");
    assert_eq!(count("get", "unauthorized"), 1);
    for request in &requests {
        let fields = &request["fields"];
        assert_eq!(fields["request_id"].as_str().map(str::len), Some(32), "{request}");
        assert!(fields["duration_us"].as_u64().is_some(), "{request}");
        assert_eq!(fields["tenant"], "acme", "{request}");
        assert!(fields["namespace"].as_str().is_some_and(|ns| ns.starts_with("company")), "{request}");
    }
}
