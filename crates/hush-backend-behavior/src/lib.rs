//! The one behaviour suite every hush backend passes, as OpenDAL's `tests/behavior`.
//!
//! A backend crate adds this crate as a dev-dependency and, in a test, hands its backend
//! to [`run`] (or [`run_with`]) and asserts the [`SuiteReport`]:
//!
//! ```no_run
//! # async fn example(backend: hush_core::SharedBackend) {
//! let report = hush_backend_behavior::run(backend).await;
//! report.assert_ok();
//! # }
//! ```
//!
//! Trials are chosen by the backend's [`Capabilities`](hush_core::Capabilities): a
//! read-only backend gets the read-only trials (and its `put` must be `Unsupported`), a
//! backend without versions skips the version trials, and so on. Every run works under a
//! fresh random root namespace (`behavior.r<16 hex digits>`) of two fixed tenants, and
//! deletes what it wrote when it ends, so runs against one shared server do not collide.
//!
//! Each group of trials is one module of `trials/`: reads and writes, listing, isolation,
//! limits and odd values, concurrency, capabilities, and pre-seeded secrets for
//! read-only backends. Every trial runs in its own task with a time limit, so a panic or a
//! hang in one is reported as its failure and the others still run. Failure messages name
//! the trial and what differed, never a value's content.
//!
//! [`MemoryBackend`] keeps the same contract in process memory: the suite checks itself
//! against it, and tests of what sits above a backend (layers, the resolver, benches) use it
//! as their backend, with its call counters and [`Fault`]s (fail, hang, delay on demand).
//!
//! Backends whose server is unreachable call [`print_skip`] so skips look the same
//! everywhere (`skipped: <reason>`), and so that under `CI=true` (how `.ci/run` runs) such a
//! test fails with the reason instead of passing by skipping.
//!
//! [`at_rest::TestCipher`] is a real AES-256-GCM key ring for the tests of kinds that seal
//! values at rest themselves (backends must not depend on hush-crypto).
//!
//! [`contract_server`] is the HTTP side of the contract servers that stand in for vendors with
//! no server that runs here (a backend's test support writes only the vendor's behaviour).
//!
//! **Architecture invariant:** this crate depends on `hush-core` and `tokio` only (with
//! `async-trait` to implement the trait, small test utilities, aes-gcm for the test cipher, and hyper with rustls for the
//! contract server); it knows no backend kind, and every crate uses it as a dev-dependency
//! only.

#![deny(missing_docs)]

pub mod at_rest;
mod context;
pub mod contract_server;
pub mod keys;
pub mod local_server;
mod memory;
mod python_client;
mod report;
mod trial;
mod trials;

use std::sync::Arc;
use std::time::Duration;

use hush_core::{Scope, SecretName, SecretValue, SharedBackend};

pub use memory::{Calls, Fault, MemoryBackend};
pub use python_client::python_client;
pub use report::{Failure, Skipped, SuiteReport};

/// How a run is tuned. `SuiteOptions::default()` is what [`run`] uses.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SuiteOptions {
    /// How many writers (and as many readers) the concurrency trials start. Default 50.
    pub concurrency: usize,
    /// Size of the large-value trial's value, in bytes. Default 512 KiB.
    pub large_value_bytes: usize,
    /// Longest one trial may take before it counts as failed. Default 120 s.
    pub trial_timeout: Duration,
    /// Secrets the backend already holds, checked by the read trials of backends that
    /// cannot write (a read-only backend cannot be filled by the suite itself).
    pub seeded: Vec<SeededSecret>,
}

impl Default for SuiteOptions {
    fn default() -> Self {
        Self {
            concurrency: 50,
            large_value_bytes: 512 * 1024,
            trial_timeout: Duration::from_secs(120),
            seeded: Vec::new(),
        }
    }
}

impl SuiteOptions {
    /// Adds a secret the backend holds before the run, for the seeded-read trials.
    pub fn with_seeded(mut self, scope: Scope, name: SecretName, value: SecretValue) -> Self {
        self.seeded.push(SeededSecret { scope, name, value });
        self
    }
}

/// A secret present in the backend before the run, with the value it must read back as.
#[derive(Debug, Clone)]
pub struct SeededSecret {
    /// Where it is read from.
    pub scope: Scope,
    /// Its name.
    pub name: SecretName,
    /// Its value.
    pub value: SecretValue,
}

/// Runs every trial the backend's capabilities allow, with default options, and cleans up.
pub async fn run(backend: SharedBackend) -> SuiteReport {
    run_with(backend, SuiteOptions::default()).await
}

/// Runs every trial the backend's capabilities allow, tuned by `options`, and cleans up.
///
/// Needs a tokio runtime; trials are spawned as tasks.
pub async fn run_with(backend: SharedBackend, options: SuiteOptions) -> SuiteReport {
    let ctx = Arc::new(context::Ctx::new(backend, options));
    let caps = ctx.caps;
    let mut report = SuiteReport::new(ctx.backend.info().name.clone(), ctx.root.to_string());
    for trial in trials::all() {
        if let Some(reason) = trial.skip_reason(&caps, &ctx.options) {
            report.skipped.push(Skipped { trial: trial.name, reason });
            continue;
        }
        let timeout = ctx.options.trial_timeout;
        let handle = tokio::spawn((trial.run)(Arc::clone(&ctx)));
        let outcome = match tokio::time::timeout(timeout, handle).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(join)) if join.is_panic() => Err("the trial panicked".to_owned()),
            Ok(Err(_)) => Err("the trial was cancelled".to_owned()),
            Err(_) => Err(format!("the trial took longer than {timeout:?}")),
        };
        match outcome {
            Ok(()) => report.passed.push(trial.name),
            Err(message) => report.failures.push(Failure { trial: trial.name, message }),
        }
    }
    if let Err(message) = ctx.cleanup().await {
        report.failures.push(Failure { trial: "cleanup", message });
    }
    report
}

/// Says why a test cannot run: the one way a test says its server (or a vendor client it
/// drives) is unavailable. Prints `skipped: <reason>` to stderr when run by hand; call it and
/// return early. Never `#[ignore]` a test.
///
/// # Panics
///
/// Under `CI=true`, with the reason: there a test whose server is unavailable fails.
pub fn print_skip(reason: impl std::fmt::Display) {
    match skip_outcome(&reason.to_string(), std::env::var("CI").is_ok_and(|v| v == "true")) {
        Ok(line) => eprintln!("{line}"),
        Err(failure) => panic!("{failure}"),
    }
}

/// What [`print_skip`] does: the line to print when the test may skip, or the failure when it
/// may not (`in_ci`).
pub fn skip_outcome(reason: &str, in_ci: bool) -> Result<String, String> {
    if in_ci {
        Err(format!("{reason} (under CI=true a test whose server is unavailable fails instead of skipping)"))
    } else {
        Ok(format!("skipped: {reason}"))
    }
}
