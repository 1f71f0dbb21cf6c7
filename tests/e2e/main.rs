//! End-to-end tests: a real nats-server, resolver replicas run as hushd runs them, the real
//! client, and SQLite files as the backends.

mod attacks;
mod audit;
mod compose;
mod garbage;
mod grants;
mod hierarchy;
mod metrics;
mod outage;
mod permissions;
mod python;
mod replicas;
mod rotation;
mod tidy;
mod values;
mod vault;

use std::time::Duration;

use futures::StreamExt;
use hush_core::{ErrorKind, GrantScope, SecretValue, Tags};
use hush_e2e::Stack;

/// Two SQLite stores; `company.team` overridden to the second; `company.payments` read-only
/// with a tag filter; a second tenant on the same store.
pub const CONFIG: &str = r#"
[cache]
ttl = "60s"
negative_ttl = "5s"

[backends.local]
kind = "sql"
url = "sqlite://{dir}/local.db"

[backends.team]
kind = "sql"
url = "sqlite://{dir}/team.db"

[tenants.acme]
backend = "local"

[tenants.acme.namespaces."company.team"]
backend = "team"

[tenants.acme.namespaces."company.payments"]
backend = "local"
read_only = true
filter_tags = { team = "payments" }

[tenants.globex]
backend = "local"
"#;

/// Writes `value` as `name` in `tenant`/`namespace` with an admin session.
pub async fn put(stack: &Stack, tenant: &str, namespace: &str, name: &str, value: &str) {
    put_tagged(stack, tenant, namespace, name, value, &Tags::new()).await;
}

/// Writes with tags.
pub async fn put_tagged(stack: &Stack, tenant: &str, namespace: &str, name: &str, value: &str, tags: &Tags) {
    let admin = stack.session(tenant, namespace, GrantScope::Admin).await;
    admin.put(name, &SecretValue::from(value), tags).await.expect("the put succeeds");
}

/// Reads `name` for `tenant`/`namespace` with a read session.
pub async fn read(stack: &Stack, tenant: &str, namespace: &str, name: &str) -> Result<String, ErrorKind> {
    let session = stack.session(tenant, namespace, GrantScope::Read).await;
    session.secret(name).await.map(|v| v.expose_str().expect("UTF-8").to_owned()).map_err(|e| e.kind())
}

/// Where [`subscribed`] sends its probes (a subscriber to `>` sees them too).
pub const PROBES: &str = "_HUSH_TEST_PROBE";

/// Subscribes `nats` to `subject` and returns once the server has the subscription, so that
/// nothing published from then on escapes it. `flush` does not tell: it only writes the
/// subscription out, and another connection's message may reach the server first. The server
/// handles one connection's operations in order, so a probe the connection publishes to itself
/// after subscribing comes back only once the subscription is in place.
pub async fn subscribed(nats: &async_nats::Client, subject: &str) -> async_nats::Subscriber {
    let subscriber = nats.subscribe(subject.to_owned()).await.unwrap();
    let probe = format!("{PROBES}.{}", nats.new_inbox());
    let mut echo = nats.subscribe(probe.clone()).await.unwrap();
    nats.publish(probe, Vec::new().into()).await.unwrap();
    let confirmed = tokio::time::timeout(Duration::from_secs(5), echo.next()).await;
    confirmed.expect("the server confirms a subscription within 5s").expect("the connection stays open");
    subscriber
}
