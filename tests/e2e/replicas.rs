//! Two replicas in one queue group: cache hits, invalidation on every replica, single flight,
//! and a backend that is down.

use std::time::{Duration, Instant};

use hush_core::{ErrorKind, GrantScope};
use hush_e2e::Stack;

use crate::{CONFIG, put, read};

#[tokio::test]
async fn a_write_invalidates_the_cache_of_every_replica() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let first = stack.replica().await;
    let second = stack.replica().await;
    put(&stack, "acme", "company", "ROTATED", "v1").await;
    let reader = stack.session("acme", "company", GrantScope::Read).await;
    for _ in 0..40 {
        assert_eq!(reader.secret("ROTATED").await.unwrap().expose(), b"v1");
    }
    let (a, b) = (first.resolver.metrics(), second.resolver.metrics());
    assert!(a.items > 0 && b.items > 0, "the queue group spreads requests over both replicas");
    assert!(a.cache_hits + b.cache_hits >= 38, "repeated reads are cache hits: {a:?} {b:?}");
    assert!(a.backend_reads <= 1 && b.backend_reads <= 1, "each replica read the backend at most once");

    // The write lands on one replica; the change event empties the other's cache too.
    put(&stack, "acme", "company", "ROTATED", "v2").await;
    for _ in 0..40 {
        assert_eq!(reader.secret("ROTATED").await.unwrap().expose(), b"v2");
    }
    first.stop().await;
    // The survivor takes every request.
    assert_eq!(read(&stack, "acme", "company", "ROTATED").await.unwrap(), "v2");
}

#[tokio::test]
async fn concurrent_misses_make_one_backend_read() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let replica = stack.replica().await;
    put(&stack, "acme", "company", "HOT", "value").await;
    let reader = stack.session("acme", "company", GrantScope::Read).await;
    let before = replica.resolver.metrics().backend_reads;
    let reads = (0..50).map(|_| reader.secret("HOT"));
    let values = futures::future::join_all(reads).await;
    assert!(values.iter().all(|v| v.as_ref().unwrap().expose() == b"value"));
    assert_eq!(replica.resolver.metrics().backend_reads - before, 1, "50 concurrent misses, one backend read");
}

#[tokio::test]
async fn a_down_backend_is_unavailable_and_never_reveals_a_parents_secret() {
    // An override served by a PostgreSQL that does not listen: hushd still starts.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = format!(
        "{CONFIG}\n[backends.down]\nkind = \"sql\"\nurl = \"postgres://hush@127.0.0.1:{port}/hush\"\n\
         connect_timeout = \"1s\"\ntimeout = \"2s\"\nretry = {{ max_attempts = 2 }}\n\n\
         [tenants.acme.namespaces.\"company.broken\"]\nbackend = \"down\"\n"
    );
    let Some(stack) = Stack::start_or_skip(&config) else { return };
    let _replica = stack.replica().await;
    put(&stack, "acme", "company", "DB_PASSWORD", "parent-value").await;
    let started = Instant::now();
    let result = read(&stack, "acme", "company.broken", "DB_PASSWORD").await;
    assert_eq!(result, Err(ErrorKind::Unavailable), "not the parent's value, not not-found");
    assert!(started.elapsed() < Duration::from_secs(5), "answered within the configured timeouts");
    // Other namespaces are served as usual.
    assert_eq!(read(&stack, "acme", "company", "DB_PASSWORD").await.unwrap(), "parent-value");
}

#[tokio::test]
async fn the_nats_services_framework_describes_the_resolver() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let replica = stack.replica().await;
    put(&stack, "acme", "company", "X", "v").await;
    assert_eq!(read(&stack, "acme", "company", "X").await.unwrap(), "v");
    let nats = hush_client::NatsOptions::new(stack.nats.url.clone()).connect().await.unwrap();
    let info = nats.request("$SRV.INFO.hush", Vec::new().into()).await.expect("$SRV.INFO answers");
    let info: serde_json::Value = serde_json::from_slice(&info.payload).unwrap();
    assert_eq!(info["name"], "hush");
    let mut subjects: Vec<&str> =
        info["endpoints"].as_array().unwrap().iter().map(|e| e["subject"].as_str().unwrap()).collect();
    subjects.sort();
    assert_eq!(subjects, ["hush.v1.admin.delete.>", "hush.v1.admin.list.>", "hush.v1.admin.put.>", "hush.v1.get.>"]);
    assert!(info["endpoints"].as_array().unwrap().iter().all(|e| e["queue_group"] == "hush-resolver"));
    let stats = nats.request("$SRV.STATS.hush", Vec::new().into()).await.expect("$SRV.STATS answers");
    let stats: serde_json::Value = serde_json::from_slice(&stats.payload).unwrap();
    let get = stats["endpoints"].as_array().unwrap().iter().find(|e| e["name"] == "get").unwrap().clone();
    assert!(get["num_requests"].as_u64().unwrap() >= 1, "{get}");
    assert_eq!(get["data"]["backend_reads"].as_u64(), Some(replica.resolver.metrics().backend_reads), "{get}");
}
