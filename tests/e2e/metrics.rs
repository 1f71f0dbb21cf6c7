//! hushd's `/metrics`, `/healthz` and `/readyz` (`resolver.metrics_address`), run as the
//! binary runs them (`hushd::run`): the counters agree with `$SRV.STATS`, and readiness
//! follows the NATS connection.

use std::collections::BTreeMap;
use std::time::Duration;

use hush_core::{ErrorKind, GrantScope, SecretValue, Tags};
use hush_e2e::Stack;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// `GET path` on `port` over HTTP/1.0: the status code and the body.
async fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// Polls `path` until it answers `status`, for up to 10 s; the last answer.
async fn wait_for(port: u16, path: &str, status: u16) -> Option<(u16, String)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = get(port, path).await;
        if answer.as_ref().is_some_and(|(s, _)| *s == status) || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `name{labels} value` lines of Prometheus text, by `name{labels}`.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.rsplit_once(' '))
        .map(|(name, value)| (name.to_owned(), value.parse().expect("a number")))
        .collect()
}

#[tokio::test]
async fn metrics_agree_with_srv_stats_and_readiness_follows_nats() {
    let port = hush_backend_behavior::local_server::free_port();
    let body = format!(
        "[resolver]\nmetrics_address = \"127.0.0.1:{port}\"\n\n[backends.local]\nkind = \"sql\"\n\
         url = \"sqlite://{{dir}}/local.db\"\n\n[tenants.acme]\nbackend = \"local\"\n"
    );
    let Some(stack) = Stack::start_or_skip(&body) else { return };
    hushd::install_tls_provider();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let hushd = tokio::spawn(hushd::run(stack.config(), async {
        let _ = stopped.await;
    }));

    assert_eq!(wait_for(port, "/healthz", 200).await, Some((200, "ok\n".into())));
    let (_, ready) = wait_for(port, "/readyz", 200).await.expect("/readyz answers");
    assert!(ready.starts_with("ready\n"), "{ready}");

    // Traffic of every kind counted: a write, a miss, a hit, "not found" twice (the second
    // from the cache), and a request that fails as a whole.
    let admin = stack.session("acme", "company", GrantScope::Admin).await;
    admin.put("DB_PASSWORD", &SecretValue::from("hunter2"), &Tags::new()).await.unwrap();
    for _ in 0..2 {
        assert_eq!(admin.secret("DB_PASSWORD").await.unwrap().expose(), b"hunter2");
        assert_eq!(admin.secret("MISSING").await.unwrap_err().kind(), ErrorKind::NotFound);
    }
    let raw = stack.raw_client().await;
    let refused = raw.send_bytes("hush.v1.get.acme.company", b"garbage".to_vec()).await;
    assert!(refused.body.is_err());

    // Audit events are counted when the audit stream acknowledges them, after the replies:
    // wait until all of them are, so both readings see the same counts.
    let probe = async_nats::connect(&stack.nats.url).await.unwrap();
    let stats = || async {
        let reply = probe.request("$SRV.STATS.hush", Vec::new().into()).await.unwrap();
        let stats: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
        stats["endpoints"][0]["data"].clone()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while stats().await["audit_recorded"].as_u64() < Some(5) {
        assert!(Instant::now() < deadline, "audit events recorded: {}", stats().await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, text) = get(port, "/metrics").await.expect("/metrics answers");
    assert_eq!(status, 200);
    let metrics = samples(&text);
    let data = &stats().await;
    for (stat, value) in data.as_object().expect("the resolver's counters") {
        if stat == "failed_by_kind" {
            for (kind, count) in value.as_object().unwrap() {
                let name = format!("hush_failed_requests_by_kind_total{{kind=\"{kind}\"}}");
                assert_eq!(metrics.get(&name), Some(&count.as_f64().unwrap()), "{name}");
            }
            continue;
        }
        let gauge = format!("hush_{stat}");
        let name = if metrics.contains_key(&gauge) { gauge } else { format!("hush_{stat}_total") };
        assert_eq!(metrics.get(&name), Some(&value.as_f64().unwrap()), "{name} against $SRV.STATS {stat}");
    }
    for (name, at_least) in [
        ("hush_requests_total", 6.0),
        ("hush_writes_total", 1.0),
        ("hush_cache_hits_total", 1.0),
        ("hush_cache_negative_hits_total", 1.0),
        ("hush_cache_loads_total", 2.0),
        ("hush_failed_requests_by_kind_total{kind=\"invalid_input\"}", 1.0),
        ("hush_serving", 1.0),
        ("hush_build_info{version=\"0.1.0\"}", 1.0),
        // Every backend call, timed and by outcome: the put, the loads of DB_PASSWORD and MISSING.
        ("hush_backend_call_duration_seconds_count{backend=\"local\",binding=\"acme\",operation=\"get\"}", 2.0),
        ("hush_backend_calls_total{backend=\"local\",binding=\"acme\",operation=\"put\",outcome=\"ok\"}", 1.0),
        ("hush_backend_calls_total{backend=\"local\",binding=\"acme\",operation=\"get\",outcome=\"ok\"}", 1.0),
        ("hush_backend_calls_total{backend=\"local\",binding=\"acme\",operation=\"get\",outcome=\"not_found\"}", 1.0),
    ] {
        let value = metrics.get(name).copied().unwrap_or_default();
        assert!(value >= at_least, "{name} is {value}, expected at least {at_least}:\n{text}");
    }

    let count = |name: &str| metrics.get(name).copied().unwrap_or_default();
    assert_eq!(
        count("hush_backend_call_duration_seconds_count{backend=\"local\",binding=\"acme\",operation=\"get\"}"),
        count("hush_cache_loads_total"),
        "each load is one get call"
    );
    let (_, ready) = get(port, "/readyz").await.unwrap();
    assert_eq!(ready, "ready\nbinding acme (backend local): ok\n", "\"not found\" does not make a binding failing");

    // NATS gone: hushd stays alive but is not ready; it says why.
    drop(stack.nats);
    let (status, reason) = wait_for(port, "/readyz", 503).await.expect("/readyz answers");
    assert_eq!(
        (status, reason.as_str()),
        (503, "not ready: not connected to NATS\nbinding acme (backend local): ok\n")
    );
    assert_eq!(get(port, "/healthz").await, Some((200, "ok\n".into())));

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), hushd).await.expect("hushd stops").unwrap().unwrap();
    assert!(get(port, "/healthz").await.is_none(), "the endpoint stops with hushd");
}
