//! A backend that goes down while hushd serves: cached values are served stale within
//! `stale_if_error`, everything else is "backend unavailable" within the timeouts, and
//! service resumes when the backend returns. PostgreSQL is real; the outage is a TCP
//! forwarder in front of it that the test cuts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hush_client::SecretRequest;
use hush_core::{ErrorKind, GrantScope};
use hush_e2e::{Stack, skip};
use sqlx::Connection;
use tokio::net::{TcpListener, TcpStream};

use crate::put;

/// Forwards 127.0.0.1:<port> to `target` while `up` is true; cuts every connection when not.
async fn forwarder(target: String, up: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if !up.load(Ordering::SeqCst) {
                continue; // dropped: connection refused-like
            }
            let (target, up) = (target.clone(), up.clone());
            tokio::spawn(async move {
                let Ok(mut outbound) = TcpStream::connect(&target).await else { return };
                let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                let watch = async {
                    while up.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                };
                tokio::select! { _ = copy => {}, _ = watch => {} }
            });
        }
    });
    port
}

#[tokio::test]
async fn stale_values_are_served_while_the_backend_is_down_and_service_resumes() {
    let base = std::env::var("HUSH_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let Ok(mut admin) = sqlx::PgConnection::connect(&base).await else {
        return skip("PostgreSQL is not reachable at HUSH_TEST_POSTGRES_URL or 127.0.0.1:5432");
    };
    let database = format!("hush_e2e_{}", std::process::id());
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {database}")).execute(&mut admin).await;
    sqlx::query(&format!("CREATE DATABASE {database}")).execute(&mut admin).await.unwrap();

    let url = url::Url::parse(&base).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port().unwrap_or(5432));
    let up = Arc::new(AtomicBool::new(true));
    let port = forwarder(target, up.clone()).await;
    let user = if url.username().is_empty() { "postgres" } else { url.username() };
    let config = format!(
        "[cache]\nttl = \"1s\"\nstale_if_error = \"6s\"\nnegative_ttl = \"1s\"\n\n\
         [backends.pg]\nkind = \"sql\"\nurl = \"postgres://{user}@127.0.0.1:{port}/{database}\"\n\
         connect_timeout = \"1s\"\nmax_connections = 2\ntimeout = \"1s\"\nretry = {{ max_attempts = 2, min_delay = \"10ms\" }}\n\n\
         [tenants.acme]\nbackend = \"pg\"\n"
    );
    let Some(stack) = Stack::start_or_skip(&config) else { return };
    let replica = stack.replica().await;
    put(&stack, "acme", "company", "CACHED", "served-stale").await;
    put(&stack, "acme", "company", "NEVER_READ", "x").await;
    let reader = stack.session("acme", "company", GrantScope::Read).await;
    assert_eq!(reader.secret("CACHED").await.unwrap().expose(), b"served-stale");
    let cached_at = Instant::now();

    up.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1200)).await; // past the ttl
    let started = Instant::now();
    let results = reader.fetch(&[SecretRequest::new("CACHED"), SecretRequest::new("NEVER_READ")]).await.unwrap();
    let stale = results[0].as_ref().expect("the cached value is served while the backend is down");
    assert!(stale.stale, "marked stale");
    assert_eq!(stale.value.expose(), b"served-stale");
    assert_eq!(results[1].as_ref().unwrap_err().kind(), ErrorKind::Unavailable);
    assert!(started.elapsed() < Duration::from_secs(5), "bounded by the configured timeouts: {:?}", started.elapsed());
    assert!(replica.resolver.metrics().stale_served >= 1);

    // Past ttl + stale_if_error (1 s + 6 s), the value is no longer served: unavailable.
    tokio::time::sleep(Duration::from_millis(7500).saturating_sub(cached_at.elapsed())).await;
    assert_eq!(reader.secret("CACHED").await.unwrap_err().kind(), ErrorKind::Unavailable, "stale_if_error ran out");

    up.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match reader.secret("NEVER_READ").await {
            Ok(value) => {
                assert_eq!(value.expose(), b"x");
                break;
            }
            Err(e) if Instant::now() < deadline => {
                assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("the backend did not come back: {e}"),
        }
    }
    drop(replica);
    drop(stack);
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).execute(&mut admin).await;
}
