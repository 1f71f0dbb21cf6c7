//! `hush bench`: a bare NATS request/reply echo and a cached `secret()` through hushd,
//! measured in one run on the same machine, with the same number of requests in flight.
//!
//! The echo responder runs in a child process (`hush bench-echo`), as hushd does, so both
//! measurements cross the same process boundaries: client → nats-server → responder → back.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use futures::StreamExt;
use hush_core::{Error, ErrorKind, GrantScope, SecretValue, Tags};

use crate::cli::{BenchArgs, BenchEchoArgs};
use crate::setup;

const BENCH_SECRET: &str = "HUSH_BENCH";
const WARMUP: usize = 2_000;

/// Latency percentiles and throughput of one measurement.
#[derive(Debug, Clone, Copy)]
struct Figures {
    p50_us: f64,
    p99_us: f64,
    rps: f64,
}

async fn measure<F, Fut>(requests: usize, concurrency: usize, call: F) -> anyhow::Result<Figures>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(0..requests)
        .map(|_| {
            let call = call();
            async move {
                let t = Instant::now();
                call.await.map(|()| t.elapsed())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let wall = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Ok(Figures {
        p50_us: at(0.50).as_secs_f64() * 1e6,
        p99_us: at(0.99).as_secs_f64() * 1e6,
        rps: requests as f64 / wall.as_secs_f64(),
    })
}

/// Runs the benchmark against the hushd of the config.
pub async fn run(config_path: &Path, grant: Option<&str>, args: BenchArgs) -> anyhow::Result<()> {
    if args.requests == 0 {
        return Err(crate::exit::Usage("--requests must be at least 1".into()).into());
    }
    let config = setup::load_config(config_path)?;
    let scope = if grant.is_some() { GrantScope::Read } else { GrantScope::Admin };
    let session = setup::session(config_path, grant, &args.location, scope).await?;
    if scope == GrantScope::Admin {
        session.put(BENCH_SECRET, &SecretValue::from("benchmark-value-0123456789"), &Tags::new()).await?;
    }
    session.secret(BENCH_SECRET).await.context("the benchmark secret HUSH_BENCH cannot be read")?;

    let subject = format!("_hush_bench.echo.{}", std::process::id());
    let mut echo = tokio::process::Command::new(std::env::current_exe()?)
        .args(["bench-echo", "--subject", &subject])
        // In the environment, not the arguments: the URL may hold a password, and `ps` shows arguments.
        .env("HUSH_BENCH_NATS_URL", &config.nats.url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the echo responder")?;
    let mut nats_options = hush_client::NatsOptions::from_config(&config.nats, "hush-bench");
    nats_options.request_timeout = Duration::from_secs(10);
    let nats = nats_options.connect().await?;
    wait_for_echo(&nats, &subject).await?;

    // A payload the size of an encoded one-secret request, so both carry the same bytes.
    let payload = Bytes::from(vec![0x5a; 420]);
    let echo_call = || {
        let (nats, subject, payload) = (nats.clone(), subject.clone(), payload.clone());
        async move { nats.request(subject, payload).await.map(|_| ()).map_err(|e| Error::unavailable(e.to_string()).into()) }
    };
    let secret_call = || {
        let session = session.clone();
        async move { session.secret(BENCH_SECRET).await.map(|_| ()).map_err(anyhow::Error::from) }
    };
    measure(WARMUP, args.concurrency, echo_call).await?;
    measure(WARMUP, args.concurrency, secret_call).await?;
    let echo_figures = measure(args.requests, args.concurrency, echo_call).await?;
    let secret_figures = measure(args.requests, args.concurrency, secret_call).await?;
    let _ = echo.kill().await;
    if scope == GrantScope::Admin {
        session.delete(BENCH_SECRET).await?;
    }
    report(&args, echo_figures, secret_figures);
    Ok(())
}

async fn wait_for_echo(nats: &async_nats::Client, subject: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let attempt = tokio::time::timeout(Duration::from_millis(200), nats.request(subject.to_owned(), Bytes::new()));
        if let Ok(Ok(_)) = attempt.await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(Error::new(ErrorKind::Unavailable, "the echo responder did not start within 10s").into())
}

fn report(args: &BenchArgs, echo: Figures, secret: Figures) {
    let ratio = secret.p50_us / echo.p50_us;
    if args.json {
        let json = serde_json::json!({
            "requests": args.requests,
            "concurrency": args.concurrency,
            "echo_p50_us": echo.p50_us,
            "echo_p99_us": echo.p99_us,
            "echo_rps": echo.rps,
            "secret_p50_us": secret.p50_us,
            "secret_p99_us": secret.p99_us,
            "secret_rps": secret.rps,
            "p50_ratio": ratio,
        });
        println!("{json}");
        return;
    }
    println!("{} requests each, {} in flight", args.requests, args.concurrency);
    println!("{:<18} {:>10} {:>10} {:>12}", "", "p50 (µs)", "p99 (µs)", "requests/s");
    println!("{:<18} {:>10.0} {:>10.0} {:>12.0}", "NATS echo", echo.p50_us, echo.p99_us, echo.rps);
    println!("{:<18} {:>10.0} {:>10.0} {:>12.0}", "cached secret()", secret.p50_us, secret.p99_us, secret.rps);
    println!("secret() p50 / echo p50 = {ratio:.2}");
}

/// Answers every request on `subject` with its own payload, until killed.
pub async fn echo(args: BenchEchoArgs) -> anyhow::Result<()> {
    let nats = hush_client::NatsOptions::new(args.nats_url).connect().await?;
    let mut requests = nats.subscribe(args.subject).await.map_err(|e| Error::unavailable(e.to_string()))?;
    while let Some(message) = requests.next().await {
        if let Some(reply) = message.reply {
            let nats = nats.clone();
            tokio::spawn(async move { nats.publish(reply, message.payload).await });
        }
    }
    Ok(())
}
