//! Replicas going away under load, as operators see it: hushd processes (the real binary) in
//! one queue group, clients reading steadily; one replica is killed (SIGKILL), another is
//! stopped (SIGTERM) after a third joined. No read fails: a read that no resolver answered is
//! sent once more, and a stopping replica finishes what it took.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use hush_client::{ClientOptions, HushClient};
use hush_core::{GrantScope, SecretValue, Tags};
use hush_e2e::Stack;
use tokio::time::Instant;

const CONFIG: &str = r#"
[backends.local]
kind = "sql"
url = "sqlite://{dir}/local.db"

[tenants.acme]
backend = "local"
"#;

/// A hushd process on the stack's config; killed when dropped.
struct Hushd(Child);

impl Hushd {
    fn start(stack: &Stack) -> Hushd {
        let child = Command::new(env!("CARGO_BIN_EXE_hushd"))
            .arg("--config")
            .arg(&stack.config_path)
            .env("HUSH_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("hushd starts");
        Hushd(child)
    }

    /// SIGTERM, then waits for it to exit; whether it exited cleanly.
    fn terminate(&mut self) -> bool {
        let pid = self.0.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        self.0.wait().unwrap().success()
    }
}

impl Drop for Hushd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `count` hushd replicas answer `$SRV.PING.hush`.
async fn wait_for_replicas(nats: &async_nats::Client, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let inbox = nats.new_inbox();
        let mut replies = nats.subscribe(inbox.clone()).await.unwrap();
        nats.publish_with_reply("$SRV.PING.hush", inbox, Vec::new().into()).await.unwrap();
        let mut seen = 0;
        while tokio::time::timeout(Duration::from_millis(300), futures::StreamExt::next(&mut replies))
            .await
            .ok()
            .flatten()
            .is_some()
        {
            seen += 1;
        }
        if seen >= count {
            return;
        }
        assert!(Instant::now() < deadline, "{seen} of {count} replicas answer after 20s");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_survive_a_killed_and_a_stopped_replica() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let nats = async_nats::connect(&stack.nats.url).await.unwrap();
    let mut first = Hushd::start(&stack);
    let mut second = Hushd::start(&stack);
    wait_for_replicas(&nats, 2).await;

    // A short request timeout: a read the killed replica took is sent again after it.
    let mut options = ClientOptions::new(stack.nats.url.clone(), vec![stack.resolver_public]);
    options.nats.request_timeout = Duration::from_secs(2);
    let client = HushClient::connect(options).await.unwrap();
    let admin = client.session(stack.bound_grant("acme", "company", GrantScope::Admin, client.public_key())).unwrap();
    admin.put("DB_PASSWORD", &SecretValue::from("hunter2"), &Tags::new()).await.unwrap();
    let reader = client.session(stack.bound_grant("acme", "company", GrantScope::Read, client.public_key())).unwrap();

    let (ok, failed, running) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(true)));
    let mut load = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (reader, ok, failed, running) = (reader.clone(), ok.clone(), failed.clone(), running.clone());
        load.spawn(async move {
            let mut errors = Vec::new();
            while running.load(Ordering::Relaxed) {
                match reader.secret("DB_PASSWORD").await {
                    Ok(value) if value.expose() == b"hunter2" => ok.fetch_add(1, Ordering::Relaxed),
                    Ok(_) => panic!("a wrong value"),
                    Err(e) => {
                        errors.push(e.to_string());
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
            errors
        });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // SIGKILL: the reads it held are never answered, and are sent again.
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let killed_at = ok.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(ok.load(Ordering::Relaxed) > killed_at, "reads go on after the kill");

    // SIGTERM once another replica serves: it drains and exits cleanly.
    let _third = Hushd::start(&stack);
    wait_for_replicas(&nats, 2).await;
    assert!(second.terminate(), "a SIGTERM'd hushd exits with success");
    let stopped_at = ok.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(ok.load(Ordering::Relaxed) > stopped_at, "reads go on after the stop");

    running.store(false, Ordering::Relaxed);
    let mut errors = Vec::new();
    while let Some(done) = load.join_next().await {
        errors.extend(done.unwrap());
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!("failover: {ok} reads answered, {failed} failed");
    assert_eq!(failed, 0, "reads failed: {errors:?}");
    assert!(ok > 100, "{ok} reads");
}

/// A nats-server (JetStream, its store in `dir`) on a fixed loopback port, so it can be
/// restarted where clients and replicas expect it.
struct Nats {
    child: Child,
}

impl Nats {
    fn start(port: u16, dir: &std::path::Path) -> Nats {
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "nats-server did not listen within 10s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nats { child }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_and_replicas_come_back_after_a_nats_restart() {
    // The stack writes keys and config; its own server is not used: this test runs one it
    // can restart on the same port with the same JetStream store.
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let store = tempfile::tempdir().unwrap();
    let url = format!("nats://127.0.0.1:{port}");
    let mut nats = Nats::start(port, store.path());
    let start = || {
        let child = Command::new(env!("CARGO_BIN_EXE_hushd"))
            .arg("--config")
            .arg(&stack.config_path)
            .env("HUSH_LOG", "warn")
            .env("HUSH_NATS__URL", &url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("hushd starts");
        Hushd(child)
    };
    let (_first, _second) = (start(), start());
    let probe = async_nats::connect(&url).await.unwrap();
    wait_for_replicas(&probe, 2).await;

    let mut options = ClientOptions::new(url.clone(), vec![stack.resolver_public]);
    options.nats.request_timeout = Duration::from_secs(2);
    let client = HushClient::connect(options).await.unwrap();
    let admin = client.session(stack.bound_grant("acme", "company", GrantScope::Admin, client.public_key())).unwrap();
    admin.put("DB_PASSWORD", &SecretValue::from("hunter2"), &Tags::new()).await.unwrap();
    let reader = client.session(stack.bound_grant("acme", "company", GrantScope::Read, client.public_key())).unwrap();

    let (ok, failed, running) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(true)));
    let mut load = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (reader, ok, failed, running) = (reader.clone(), ok.clone(), failed.clone(), running.clone());
        load.spawn(async move {
            while running.load(Ordering::Relaxed) {
                match reader.secret("DB_PASSWORD").await {
                    Ok(value) => {
                        assert_eq!(value.expose(), b"hunter2");
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The server goes away for 2 s, then comes back on the same port with the same store.
    nats.stop();
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    nats = Nats::start(port, store.path());
    // Everyone reconnects (async-nats backs off up to a few seconds) and the replicas'
    // subscriptions come back: the first read answered after the restart.
    let answered = ok.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(20);
    while ok.load(Ordering::Relaxed) == answered {
        assert!(Instant::now() < deadline, "no read answered within 20s of the restart");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let gap = stopped.elapsed();
    let failed_in_gap = failed.load(Ordering::Relaxed);

    // After the gap, nothing fails.
    let before = ok.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    running.store(false, Ordering::Relaxed);
    while let Some(done) = load.join_next().await {
        done.unwrap();
    }
    let failed_after = failed.load(Ordering::Relaxed) - failed_in_gap;
    eprintln!(
        "nats restart: reads answered again {:.1}s after the server stopped; {failed_in_gap} reads failed in the gap, {failed_after} after; {} answered after",
        gap.as_secs_f32(),
        ok.load(Ordering::Relaxed) - before
    );
    assert_eq!(failed_after, 0, "reads failed after the restart");
    assert!(ok.load(Ordering::Relaxed) > before, "reads are answered after the restart");
    // Writes work again too (the replay ledger's bucket survived in the store).
    admin.put("DB_PASSWORD", &SecretValue::from("hunter2"), &Tags::new()).await.unwrap();
    drop(nats);
}
