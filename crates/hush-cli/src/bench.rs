//! `hush bench`: a bare NATS request/reply echo and a cached `secret()` through hushd,
//! measured in one run on the same machine, with the same number of requests in flight; then
//! `secrets()` of 64 names per request, and optionally the memory of N cached secrets, and
//! with `--backend NAME` the cold path of that backend (see [`cold`]).
//!
//! The echo responder runs in a child process (`hush bench-echo`), as hushd does, so both
//! measurements cross the same process boundaries: client → nats-server → responder → back.
//! It publishes each reply inline, without a task per message: the leanest responder a
//! separate process can be, so the ratio to it is an honest yardstick.
//!
//! CPU figures come from `/proc/<pid>/task/*/schedstat` (nanoseconds on CPU per thread) of
//! hushd and of the echo responder, read before and after each measurement; hushd's memory
//! from `/proc/<pid>/status` (`VmRSS`).
//!
//! What the bench writes it deletes at the end, also when a measurement failed.

mod cold;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use futures::StreamExt;
use hush_client::{SecretRequest, Session};
use hush_config::HushConfig;
use hush_core::{Error, ErrorKind, GrantScope, SecretName, SecretValue, Tags};

use crate::cli::{BenchArgs, BenchEchoArgs, Location};
use crate::setup;

const BENCH_SECRET: &str = "HUSH_BENCH";
const WARMUP: usize = 2_000;
/// Names per `secrets()` request in the batch measurement.
const BATCH: usize = 64;

/// Latency percentiles and throughput of one measurement, the CPU the measured process used
/// per request, and the CPU this process (the client) used per request.
#[derive(Debug, Clone, Copy)]
struct Figures {
    p50_us: f64,
    p99_us: f64,
    rps: f64,
    cpu_us_per_request: Option<f64>,
    client_cpu_us_per_request: Option<f64>,
    /// nats-server's CPU per request, when its process is known.
    nats_cpu_us_per_request: Option<f64>,
}

/// Makes `requests` calls, `call(i)` for i in `0..requests`, `concurrency` at a time.
/// `cpu_of` is the responder's process, `nats_of` nats-server's: the CPU each spent per request
/// is read from /proc before and after.
async fn measure<F, Fut>(
    requests: usize,
    concurrency: usize,
    cpu_of: Option<u32>,
    nats_of: Option<u32>,
    call: F,
) -> anyhow::Result<Figures>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let cpu_before = cpu_of.and_then(process_cpu_ns);
    let nats_before = nats_of.and_then(process_cpu_ns);
    let client_before = process_cpu_ns(std::process::id());
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(0..requests)
        .map(|i| {
            let call = call(i);
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
    let cpu_after = cpu_of.and_then(process_cpu_ns);
    let nats_after = nats_of.and_then(process_cpu_ns);
    let client_after = process_cpu_ns(std::process::id());
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let per_request = |before: Option<u64>, after: Option<u64>| match (before, after) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before) as f64 / 1e3 / requests as f64),
        _ => None,
    };
    Ok(Figures {
        p50_us: at(0.50).as_secs_f64() * 1e6,
        p99_us: at(0.99).as_secs_f64() * 1e6,
        rps: requests as f64 / wall.as_secs_f64(),
        cpu_us_per_request: per_request(cpu_before, cpu_after),
        client_cpu_us_per_request: per_request(client_before, client_after),
        nats_cpu_us_per_request: per_request(nats_before, nats_after),
    })
}

/// Nanoseconds on CPU of every thread of process `pid` (Linux; `None` elsewhere or when the
/// process is gone).
fn process_cpu_ns(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0u64;
    for task in tasks.flatten() {
        let text = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        total += text.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    }
    Some(total)
}

/// Resident memory of process `pid`, in bytes.
fn process_rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The pid of the one process named `name` (`hushd`, `nats-server`) on this machine, if
/// exactly one runs; `flag` is the option that names it otherwise.
fn find_process(name: &str, flag: &str) -> Result<u32, String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").map_err(|e| format!("cannot read /proc: {e}"))?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if std::fs::read_to_string(entry.path().join("comm")).is_ok_and(|comm| comm.trim() == name) {
            found.push(pid);
        }
    }
    match found.as_slice() {
        [pid] => Ok(*pid),
        [] => Err(format!("no {name} process runs on this machine")),
        many => Err(format!("{} {name} processes run here: pass {flag}", many.len())),
    }
}

/// Where the benchmark reads and writes, and what serves it.
#[derive(Debug, Clone)]
struct Target {
    tenant: String,
    namespace: String,
    /// `(backend name, kind)` when the config says.
    backend: Option<(String, String)>,
    /// The namespace is the bench's own: everything in it was written by this run.
    own_namespace: bool,
    /// What every write carries: the serving binding's `filter_tags` (a filtered binding
    /// refuses a write without them, and hides what lacks them).
    tags: Tags,
}

impl Target {
    /// The flags' tenant and namespace; without them, a namespace of the bench's own under
    /// the first tenant whose default binding can be written.
    fn choose(config: &HushConfig, location: &Location) -> anyhow::Result<Target> {
        let (tenant, namespace, own_namespace) = match (&location.tenant, &location.namespace) {
            (Some(tenant), Some(namespace)) => (tenant.clone(), namespace.clone(), false),
            (None, None) => {
                let tenant = config
                    .tenants
                    .iter()
                    .find(|(_, t)| t.backend.is_some() && !t.read_only)
                    .map(|(id, _)| id.clone())
                    .ok_or_else(|| {
                        crate::exit::Usage(
                            "no tenant has a writable default backend: pass --tenant and --namespace".into(),
                        )
                    })?;
                (tenant, format!("hush_bench_{}", std::process::id()), true)
            }
            _ => return Err(crate::exit::Usage("pass both --tenant and --namespace, or neither".into()).into()),
        };
        let backend = config.binding_for(&tenant, &namespace).map(|(name, _)| {
            let kind = config.backends.get(name).map(|b| b.kind.clone()).unwrap_or_default();
            (name.to_owned(), kind)
        });
        let tags = binding_tags(config, &tenant, &namespace)?;
        Ok(Target { tenant, namespace, backend, own_namespace, tags })
    }

    fn location(&self) -> Location {
        Location { tenant: Some(self.tenant.clone()), namespace: Some(self.namespace.clone()) }
    }
}

/// The tags a write through the binding that serves `namespace` of `tenant` must carry: its
/// `filter_tags` ([`HushConfig::filter_tags_for`]).
fn binding_tags(config: &HushConfig, tenant: &str, namespace: &str) -> anyhow::Result<Tags> {
    let filter = config.filter_tags_for(tenant, namespace).cloned().unwrap_or_default();
    Ok(Tags::try_from(filter).map_err(Error::from)?)
}

/// Runs the benchmark against the hushd of the config.
pub async fn run(config_path: &Path, grant: Option<&str>, args: BenchArgs) -> anyhow::Result<()> {
    if args.requests == 0 {
        return Err(crate::exit::Usage("--requests must be at least 1".into()).into());
    }
    let config = setup::load_config(config_path)?;
    if args.backend.is_some() {
        check_cold_flags(&config, grant, &args)?;
    }
    let scope = if grant.is_some() { GrantScope::Read } else { GrantScope::Admin };
    let (session, target) = match grant {
        Some(_) => {
            let session = setup::session(config_path, grant, &args.location, scope).await?;
            let location = Location {
                tenant: Some(session.tenant().to_string()),
                namespace: Some(session.namespace().to_string()),
            };
            (session, Target::choose(&config, &location)?)
        }
        None => {
            let target = match &args.backend {
                Some(name) => cold::target(&config, config_path, &args.location, name)?,
                None => Target::choose(&config, &args.location)?,
            };
            (setup::session(config_path, None, &target.location(), scope).await?, target)
        }
    };
    // Built before anything is written: a backend this process cannot build leaves nothing behind.
    let direct = match &args.backend {
        Some(name) => Some(cold::open_direct(&config, &target, name).await?),
        None => None,
    };
    let measured = measure_all(config_path, &config, &session, scope, &target, direct.as_ref(), &args).await;
    let removed = match scope {
        GrantScope::Admin => {
            let names = std::iter::once(BENCH_SECRET.to_owned()).chain(batch_names());
            let names = names.map(SecretName::new).collect::<Result<Vec<_>, _>>().map_err(Error::from)?;
            // A grant of its own: a long run (a --fill of 100 000) outlives the first one.
            match setup::minted_session(config_path, &target.location(), scope, "hush-bench-remove").await {
                Ok(remover) => remove(&remover, &names, args.concurrency, &target).await,
                Err(e) => Err(e),
            }
        }
        GrantScope::Read => Ok(()),
    };
    let report = settle(measured, removed)?;
    report.print(&args);
    Ok(())
}

/// The names `secrets()` reads, `BATCH` of them.
fn batch_names() -> Vec<String> {
    (0..BATCH).map(|i| format!("{BENCH_SECRET}_{i}")).collect()
}

/// Refuses `--backend` flags it cannot honour, before anything is contacted.
fn check_cold_flags(config: &HushConfig, grant: Option<&str>, args: &BenchArgs) -> anyhow::Result<()> {
    if grant.is_some() {
        return Err(crate::exit::Usage("--backend writes the secrets it reads: run it without --grant".into()).into());
    }
    if args.cold_requests == 0 {
        return Err(crate::exit::Usage("--cold-requests must be at least 1".into()).into());
    }
    let budget = config.resolver.max_backend_reads_per_grant;
    if args.cold_requests as u64 > budget {
        return Err(crate::exit::Usage(format!(
            "--cold-requests {} is more than resolver.max_backend_reads_per_grant ({budget}): every cold read is a \
             backend read charged to the bench's grant",
            args.cold_requests
        ))
        .into());
    }
    Ok(())
}

/// Everything the bench measures, in order: echo and cached `secret()`, `secrets()`, the cold
/// path with `--backend`, and `--fill`. The caller deletes the benchmark secrets whatever this
/// returns; the cold path and `--fill` delete their own.
async fn measure_all(
    config_path: &Path,
    config: &HushConfig,
    session: &Session,
    scope: GrantScope,
    target: &Target,
    direct: Option<&hush_core::SharedBackend>,
    args: &BenchArgs,
) -> anyhow::Result<Report> {
    let hushd = match args.hushd_pid {
        Some(pid) => Ok(pid),
        None => find_process("hushd", "--hushd-pid"),
    };
    let hushd_pid = hushd.as_ref().ok().copied();
    let nats_server = match args.nats_pid {
        Some(pid) => Ok(pid),
        None => find_process("nats-server", "--nats-pid"),
    };
    let nats_pid = nats_server.as_ref().ok().copied();
    let batch_names = batch_names();
    if scope == GrantScope::Admin {
        let value = SecretValue::from("benchmark-value-0123456789");
        session.put(BENCH_SECRET, &value, &target.tags).await?;
        for name in &batch_names {
            session.put(name, &value, &target.tags).await?;
        }
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
    let echo_pid = echo.id();
    let mut nats_options = hush_client::NatsOptions::from_config(&config.nats, "hush-bench");
    nats_options.request_timeout = Duration::from_secs(10);
    let nats = nats_options.connect().await?;
    wait_for_echo(&nats, &subject).await?;

    // A payload the size of an encoded one-secret request, so both carry the same bytes.
    let payload = Bytes::from(vec![0x5a; 420]);
    let echo_call = |_| {
        let (nats, subject, payload) = (nats.clone(), subject.clone(), payload.clone());
        async move { nats.request(subject, payload).await.map(|_| ()).map_err(|e| Error::unavailable(e.to_string()).into()) }
    };
    let secret_call = |_| {
        let session = session.clone();
        async move { session.secret(BENCH_SECRET).await.map(|_| ()).map_err(anyhow::Error::from) }
    };
    let batch: Vec<SecretRequest> = batch_names.iter().map(|n| SecretRequest::new(n.as_str())).collect();
    let batch_call = |_| {
        let (session, batch) = (session.clone(), batch.clone());
        async move { session.secrets(batch).await.map(|_| ()).map_err(anyhow::Error::from) }
    };
    measure(WARMUP, args.concurrency, None, None, echo_call).await?;
    measure(WARMUP, args.concurrency, None, None, secret_call).await?;
    let echo_figures = measure(args.requests, args.concurrency, echo_pid, nats_pid, echo_call).await?;
    let secret_figures = measure(args.requests, args.concurrency, hushd_pid, nats_pid, secret_call).await?;
    let batches = (args.requests / 16).max(1);
    let batch_figures = match scope {
        GrantScope::Admin => Some(measure(batches, args.concurrency, hushd_pid, nats_pid, batch_call).await?),
        // With a given grant, the batch names may not exist: only the single secret is measured.
        GrantScope::Read => None,
    };
    let _ = echo.kill().await;
    let cold = match direct {
        Some(direct) => {
            Some(cold::run(config_path, target, direct, args.cold_requests, args.concurrency, hushd_pid).await?)
        }
        None => None,
    };
    let fill = match args.fill {
        Some(n) if scope == GrantScope::Admin => {
            let location = target.location();
            let location = &location;
            let minted = |scope: GrantScope, step: String| async move {
                setup::minted_session(config_path, location, scope, &format!("hush-bench-fill-{step}")).await
            };
            Some(fill(minted, n, args.concurrency, hushd_pid, target).await?)
        }
        Some(_) => return Err(crate::exit::Usage("--fill writes secrets: run it without --grant".into()).into()),
        None => None,
    };
    Ok(Report {
        config: config_path.display().to_string(),
        audit: (config.resolver.audit, config.resolver.audit_required),
        target: target.clone(),
        hushd_rss_bytes: hushd_pid.and_then(process_rss_bytes),
        hushd_pid: hushd,
        nats_pid: nats_server,
        echo: echo_figures,
        secret: secret_figures,
        batch: batch_figures,
        cold,
        fill,
    })
}

/// Deletes `names` through `session`, `concurrency` at a time; a name already gone counts as
/// deleted. On failure, says how many are left and where, with the first error.
async fn remove(session: &Session, names: &[SecretName], concurrency: usize, target: &Target) -> anyhow::Result<()> {
    let failures: Vec<Error> = futures::stream::iter(names)
        .map(|name| async move {
            match session.delete(name.as_str()).await {
                Err(e) if e.kind() != ErrorKind::NotFound => Some(e),
                _ => None,
            }
        })
        .buffer_unordered(concurrency.max(1))
        .filter_map(std::future::ready)
        .collect()
        .await;
    let left = failures.len();
    match failures.into_iter().next() {
        None => Ok(()),
        Some(first) => Err(anyhow::Error::new(first).context(format!(
            "cannot delete {left} of the {} secret(s) the bench wrote in {}/{}",
            names.len(),
            target.tenant,
            target.namespace
        ))),
    }
}

/// The outcome of a step followed by the deletion of what it wrote: the step's error first
/// (the deletion's, if it failed too, is printed as a warning), else the deletion's.
fn settle<T>(measured: anyhow::Result<T>, removed: anyhow::Result<()>) -> anyhow::Result<T> {
    match (measured, removed) {
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(removal)) => Err(removal),
        (Err(failure), Ok(())) => Err(failure),
        (Err(failure), Err(removal)) => {
            eprintln!("hush: warning: {}", crate::exit::one_line(&removal));
            Err(failure)
        }
    }
}

/// What `--fill N` measured.
struct Fill {
    secrets: usize,
    rss_before: Option<u64>,
    rss_after: Option<u64>,
    write_seconds: f64,
}

/// Secrets per grant in `--fill`: each chunk of writes, reads and deletes gets a grant of its
/// own (with its own execution id), so no grant outlives its 5 minutes during a long fill and
/// none spends more than hushd's default `resolver.max_backend_reads_per_grant` (10 000 cache
/// misses a minute).
const FILL_CHUNK: usize = 5_000;

/// Writes `n` secrets of 100 bytes, reads each once so hushd caches them, reads hushd's RSS,
/// and deletes them (also when writing or reading failed). `minted(scope, step)` is a session
/// with a fresh grant.
async fn fill<M, MFut>(
    minted: M,
    n: usize,
    concurrency: usize,
    hushd: Option<u32>,
    target: &Target,
) -> anyhow::Result<Fill>
where
    M: Fn(GrantScope, String) -> MFut,
    MFut: std::future::Future<Output = anyhow::Result<Session>>,
{
    let names = (0..n)
        .map(|i| SecretName::new(format!("HUSH_FILL_{i}")))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::from)?;
    let rss_before = hushd.and_then(process_rss_bytes);
    let value = SecretValue::new(vec![b'v'; 100]);
    let started = Instant::now();
    let measured = async {
        for (chunk, names) in names.chunks(FILL_CHUNK).enumerate() {
            let writer = minted(GrantScope::Admin, format!("write-{chunk}")).await.context("--fill: a grant")?;
            run_all(names.len(), concurrency, |i| {
                let (writer, names, value) = (&writer, names, &value);
                async move { writer.put(names[i].as_str(), value, &target.tags).await.map(|_| ()) }
            })
            .await
            .context("--fill: writing")?;
        }
        let write_seconds = started.elapsed().as_secs_f64();
        for (chunk, names) in names.chunks(FILL_CHUNK).enumerate() {
            let reader = minted(GrantScope::Read, format!("read-{chunk}")).await.context("--fill: a grant")?;
            run_all(names.len(), concurrency, |i| {
                let (reader, names) = (&reader, names);
                async move { reader.secret(names[i].as_str()).await.map(|_| ()) }
            })
            .await
            .context("--fill: reading")?;
        }
        let rss_after = hushd.and_then(process_rss_bytes);
        Ok(Fill { secrets: n, rss_before, rss_after, write_seconds })
    }
    .await;
    let mut removed = Ok(());
    for (chunk, names) in names.chunks(FILL_CHUNK).enumerate() {
        removed = match minted(GrantScope::Admin, format!("delete-{chunk}")).await {
            Ok(deleter) => remove(&deleter, names, concurrency, target).await.context("--fill"),
            Err(e) => Err(e.context("--fill: a grant")),
        };
        if removed.is_err() {
            break;
        }
    }
    settle(measured, removed)
}

async fn run_all<F, Fut>(n: usize, concurrency: usize, call: F) -> hush_core::Result<()>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = hush_core::Result<()>>,
{
    futures::stream::iter(0..n)
        .map(call)
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
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

struct Report {
    config: String,
    /// `resolver.audit` and `resolver.audit_required` in that config: each cached request's
    /// audit event is a good part of what hushd and nats-server spend on it.
    audit: (bool, bool),
    target: Target,
    hushd_pid: Result<u32, String>,
    nats_pid: Result<u32, String>,
    hushd_rss_bytes: Option<u64>,
    echo: Figures,
    secret: Figures,
    batch: Option<Figures>,
    cold: Option<cold::Cold>,
    fill: Option<Fill>,
}

const MIB: f64 = 1024.0 * 1024.0;

/// What a cached `secret()` costs this process beyond a bare NATS request, per request: its
/// sealing, MAC, encoding, decoding, opening and masking, measured where they run.
fn client_cpu_over_echo(echo: &Figures, secret: &Figures) -> Option<f64> {
    Some(secret.client_cpu_us_per_request? - echo.client_cpu_us_per_request?)
}

impl Report {
    fn print(&self, args: &BenchArgs) {
        let (echo, secret) = (self.echo, self.secret);
        let batch_items = self.batch.map(|b| b.rps * BATCH as f64);
        if args.json {
            let mut json = serde_json::json!({
                "config": self.config,
                "audit": self.audit.0,
                "audit_required": self.audit.1,
                "tenant": self.target.tenant,
                "namespace": self.target.namespace,
                "own_namespace": self.target.own_namespace,
                "backend": self.target.backend.as_ref().map(|(name, _)| name),
                "backend_kind": self.target.backend.as_ref().map(|(_, kind)| kind),
                "requests": args.requests,
                "concurrency": args.concurrency,
                "echo_p50_us": echo.p50_us,
                "echo_p99_us": echo.p99_us,
                "echo_rps": echo.rps,
                "echo_cpu_us_per_request": echo.cpu_us_per_request,
                "secret_p50_us": secret.p50_us,
                "secret_p99_us": secret.p99_us,
                "secret_rps": secret.rps,
                "p50_ratio": secret.p50_us / echo.p50_us,
                "p99_ratio": secret.p99_us / echo.p99_us,
                "rps_ratio": secret.rps / echo.rps,
                "hushd_pid": self.hushd_pid.as_ref().ok(),
                "hushd_cpu_us_per_request": secret.cpu_us_per_request,
                "hushd_rss_bytes": self.hushd_rss_bytes,
                "batch_size": BATCH,
                "batch_p50_us": self.batch.map(|b| b.p50_us),
                "batch_items_per_second": batch_items,
                "batch_items_ratio": batch_items.map(|items| items / secret.rps),
                "hushd_cpu_us_per_batch": self.batch.and_then(|b| b.cpu_us_per_request),
                "client_cpu_us_per_echo": echo.client_cpu_us_per_request,
                "client_cpu_us_per_secret": secret.client_cpu_us_per_request,
                "client_cpu_us_per_batch": self.batch.and_then(|b| b.client_cpu_us_per_request),
                "client_cpu_us_over_echo": client_cpu_over_echo(&echo, &secret),
                "nats_pid": self.nats_pid.as_ref().ok(),
                "nats_cpu_us_per_echo": echo.nats_cpu_us_per_request,
                "nats_cpu_us_per_secret": secret.nats_cpu_us_per_request,
                "nats_cpu_us_per_batch": self.batch.and_then(|b| b.nats_cpu_us_per_request),
                "fill_secrets": self.fill.as_ref().map(|f| f.secrets),
                "fill_rss_before_bytes": self.fill.as_ref().and_then(|f| f.rss_before),
                "fill_rss_after_bytes": self.fill.as_ref().and_then(|f| f.rss_after),
                "fill_write_seconds": self.fill.as_ref().map(|f| f.write_seconds),
            });
            // Only with --backend: without it the object is what it always was.
            if let (Some(cold), Some(fields)) = (&self.cold, json.as_object_mut()) {
                let more = serde_json::json!({
                    "cold_requests": cold.secrets,
                    "cold_p50_us": cold.cold.p50_us,
                    "cold_p99_us": cold.cold.p99_us,
                    "cold_rps": cold.cold.rps,
                    "hushd_cpu_us_per_cold_request": cold.cold.cpu_us_per_request,
                    "direct_p50_us": cold.direct.p50_us,
                    "direct_p99_us": cold.direct.p99_us,
                    "direct_rps": cold.direct.rps,
                    "cold_ratio": cold.ratio(&echo),
                    "cold_ratio_target": cold::COLD_TARGET,
                });
                fields.extend(more.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
            }
            println!("{json}");
            return;
        }
        let backend = match &self.target.backend {
            Some((name, kind)) => format!("backend {name} (kind {kind})"),
            None => "backend unknown to this config".to_owned(),
        };
        let own = if self.target.own_namespace { ", the bench's own namespace, removed after" } else { "" };
        let audit = match self.audit {
            (false, _) => "audit off",
            (true, false) => "audit on",
            (true, true) => "audit on and required",
        };
        println!(
            "config {}: tenant {}, namespace {}{own}, {backend}, {audit}",
            self.config, self.target.tenant, self.target.namespace
        );
        println!("{} requests each, {} in flight", args.requests, args.concurrency);
        let shown = |cpu: Option<f64>| cpu.map_or("—".to_owned(), |c| format!("{c:.1}"));
        println!(
            "{:<22} {:>10} {:>10} {:>12} {:>16} {:>16}",
            "", "p50 (µs)", "p99 (µs)", "requests/s", "CPU µs/request", "client CPU µs"
        );
        let mut rows = vec![("NATS echo (inline)".to_owned(), echo), ("cached secret()".to_owned(), secret)];
        rows.extend(self.batch.map(|batch| (format!("secrets({BATCH} names)"), batch)));
        if let Some(cold) = &self.cold {
            rows.push(("direct get()".to_owned(), cold.direct));
            rows.push(("uncached secret()".to_owned(), cold.cold));
        }
        for (label, figures) in rows {
            println!(
                "{:<22} {:>10.0} {:>10.0} {:>12.0} {:>16} {:>16}",
                label,
                figures.p50_us,
                figures.p99_us,
                figures.rps,
                shown(figures.cpu_us_per_request),
                shown(figures.client_cpu_us_per_request)
            );
        }
        if let Some(over) = client_cpu_over_echo(&echo, &secret) {
            println!("client CPU of a cached secret() beyond a bare request: {over:.1} µs (target ≤ 2)");
        }
        println!(
            "secret()/echo: p50 {:.2} (target ≤ 1.30), p99 {:.2} (≤ 1.50), throughput {:.2} (≥ 0.75)",
            secret.p50_us / echo.p50_us,
            secret.p99_us / echo.p99_us,
            secret.rps / echo.rps
        );
        if let Some(cold) = &self.cold {
            println!(
                "cold path ({} secrets of the backend, each read once directly in this process, then once through \
                 hushd as a cache miss): p50 {:.0} / (echo {:.0} + direct {:.0}) = {:.2} (target ≤ {:.2})",
                cold.secrets,
                cold.cold.p50_us,
                echo.p50_us,
                cold.direct.p50_us,
                cold.ratio(&echo),
                cold::COLD_TARGET
            );
        }
        if let Some(items) = batch_items {
            println!(
                "secrets({BATCH}): {items:.0} items/s = {:.1}× single secret() requests/s (target ≥ 20)",
                items / secret.rps
            );
        }
        match &self.hushd_pid {
            Ok(pid) => println!(
                "hushd (pid {pid}): {} µs CPU per cached request (target ≤ 6), RSS {}",
                shown(secret.cpu_us_per_request),
                self.hushd_rss_bytes.map_or("—".to_owned(), |b| format!("{:.1} MiB", b as f64 / MIB))
            ),
            Err(why) => println!("hushd's CPU and memory not measured: {why}"),
        }
        match &self.nats_pid {
            Ok(pid) => println!(
                "nats-server (pid {pid}): {} µs CPU per echo, {} per cached secret(){}",
                shown(echo.nats_cpu_us_per_request),
                shown(secret.nats_cpu_us_per_request),
                self.batch
                    .map_or(String::new(), |b| format!(", {} per secrets({BATCH})", shown(b.nats_cpu_us_per_request)))
            ),
            Err(why) => println!("nats-server's CPU not measured: {why}"),
        }
        if let Some(fill) = &self.fill {
            let rss = |b: Option<u64>| b.map_or("—".to_owned(), |b| format!("{:.1} MiB", b as f64 / MIB));
            println!(
                "--fill {}: written in {:.1} s; hushd RSS {} before, {} with them cached",
                fill.secrets,
                fill.write_seconds,
                rss(fill.rss_before),
                rss(fill.rss_after)
            );
        }
    }
}

/// Answers every request on `subject` with its own payload, until killed. Each reply is
/// published inline: no task per message.
pub async fn echo(args: BenchEchoArgs) -> anyhow::Result<()> {
    let nats = hush_client::NatsOptions::new(args.nats_url).connect().await?;
    let mut requests = nats.subscribe(args.subject).await.map_err(|e| Error::unavailable(e.to_string()))?;
    while let Some(message) = requests.next().await {
        if let Some(reply) = message.reply {
            nats.publish(reply, message.payload).await.map_err(|e| Error::unavailable(e.to_string()))?;
        }
    }
    Ok(())
}
