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
