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
use hush_e2e::{ONE_STORE, Stack};
use tokio::time::Instant;

/// A hushd process on the stack's config; killed when dropped.
struct Hushd(Child);

impl Hushd {
    /// On the stack's config, connecting to `nats_url` instead of the stack's server if given.
    fn start(stack: &Stack, nats_url: Option<&str>) -> Hushd {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hushd"));
        command.arg("--config").arg(&stack.config_path).env("HUSH_LOG", "warn");
        if let Some(url) = nats_url {
            command.env("HUSH_NATS__URL", url);
        }
        Hushd(command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("hushd starts"))
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

/// Readers of `DB_PASSWORD` ("hunter2", written first) on NATS at `url`, with a 2 s request
/// timeout: a read the killed replica took is sent again after it.
struct Load {
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    running: Arc<AtomicBool>,
    readers: tokio::task::JoinSet<Vec<String>>,
    admin: hush_client::Session,
}

impl Load {
    async fn start(stack: &Stack, url: &str, readers: usize) -> Load {
        let mut options = ClientOptions::new(url.to_owned(), vec![stack.resolver_public]);
        options.nats.request_timeout = Duration::from_secs(2);
        let client = HushClient::connect(options).await.unwrap();
        let grant = |scope| stack.bound_grant("acme", "company", scope, client.public_key());
        let admin = client.session(grant(GrantScope::Admin)).unwrap();
        admin.put("DB_PASSWORD", &SecretValue::from("hunter2"), &Tags::new()).await.unwrap();
        let reader = client.session(grant(GrantScope::Read)).unwrap();
        let (ok, failed, running) =
            (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(true)));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..readers {
            let (reader, ok, failed, running) = (reader.clone(), ok.clone(), failed.clone(), running.clone());
            set.spawn(async move {
                let mut errors = Vec::new();
                while running.load(Ordering::Relaxed) {
                    match reader.secret("DB_PASSWORD").await {
                        Ok(value) => {
                            assert_eq!(value.expose(), b"hunter2");
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            errors.push(e.to_string());
                            failed.fetch_add(1, Ordering::Relaxed);
                            // No busy loop while no server answers at all.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
                errors
            });
        }
        Load { ok, failed, running, readers: set, admin }
    }

    fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Stops the readers; the errors they saw.
    async fn stop(&mut self) -> Vec<String> {
        self.running.store(false, Ordering::Relaxed);
        let mut errors = Vec::new();
        while let Some(done) = self.readers.join_next().await {
            errors.extend(done.unwrap());
        }
        errors
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_survive_a_killed_and_a_stopped_replica() {
    let Some(stack) = Stack::start_or_skip(ONE_STORE) else { return };
    let nats = async_nats::connect(&stack.nats.url).await.unwrap();
    let mut first = Hushd::start(&stack, None);
    let mut second = Hushd::start(&stack, None);
    wait_for_replicas(&nats, 2).await;
    let mut load = Load::start(&stack, &stack.nats.url, 8).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // SIGKILL: the reads it held are never answered, and are sent again.
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let killed_at = load.ok();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(load.ok() > killed_at, "reads go on after the kill");

    // SIGTERM once another replica serves: it drains and exits cleanly.
    let _third = Hushd::start(&stack, None);
    wait_for_replicas(&nats, 2).await;
    assert!(second.terminate(), "a SIGTERM'd hushd exits with success");
    let stopped_at = load.ok();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(load.ok() > stopped_at, "reads go on after the stop");

    let errors = load.stop().await;
    eprintln!("failover: {} reads answered, {} failed", load.ok(), load.failed());
    assert_eq!(load.failed(), 0, "reads failed: {errors:?}");
    assert!(load.ok() > 100, "{} reads", load.ok());
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
        while !hush_e2e::nats_answers(port) {
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
    let Some(stack) = Stack::start_or_skip(ONE_STORE) else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let store = tempfile::tempdir().unwrap();
    let url = format!("nats://127.0.0.1:{port}");
    let mut nats = Nats::start(port, store.path());
    let (_first, _second) = (Hushd::start(&stack, Some(&url)), Hushd::start(&stack, Some(&url)));
    let probe = async_nats::connect(&url).await.unwrap();
    wait_for_replicas(&probe, 2).await;
    let mut load = Load::start(&stack, &url, 8).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The server goes away for 2 s, then comes back on the same port with the same store.
    nats.stop();
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    nats = Nats::start(port, store.path());
    // Everyone reconnects (async-nats backs off up to a few seconds) and the replicas'
    // subscriptions come back: the first read answered after the restart.
    let answered = load.ok();
    let deadline = Instant::now() + Duration::from_secs(20);
    while load.ok() == answered {
        assert!(Instant::now() < deadline, "no read answered within 20s of the restart");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let gap = stopped.elapsed();
    let failed_in_gap = load.failed();

    // After the gap, nothing fails.
    let before = load.ok();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let errors = load.stop().await;
    let failed_after = load.failed() - failed_in_gap;
    eprintln!(
        "nats restart: reads answered again {:.1}s after the server stopped; {failed_in_gap} reads failed in the gap, {failed_after} after; {} answered after",
        gap.as_secs_f32(),
        load.ok() - before
    );
    assert_eq!(failed_after, 0, "reads failed after the restart: {errors:?}");
    assert!(load.ok() > before, "reads are answered after the restart");
    // Writes work again too (the replay ledger's bucket survived in the store).
    load.admin.put("DB_PASSWORD", &SecretValue::from("hunter2"), &Tags::new()).await.unwrap();
    drop(nats);
}
