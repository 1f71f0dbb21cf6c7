//! Call and error counters of a backend, readable through a cloneable handle.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use hush_core::{
    BackendInfo, ErrorKind, ListFilter, Result, Scope, Secret, SecretBackend, SecretMeta, SecretName, SecretValue,
    SharedBackend, Tags, VersionId,
};

use crate::Layer;

const KINDS: usize = ErrorKind::ALL.len();

#[derive(Debug, Default)]
struct Counters {
    gets: AtomicU64,
    lists: AtomicU64,
    puts: AtomicU64,
    deletes: AtomicU64,
    checks: AtomicU64,
    /// By position in [`ErrorKind::ALL`]; the last slot counts kinds added later.
    errors: [AtomicU64; KINDS + 1],
}

/// Counters of one backend (or of several bindings sharing it): calls per operation and
/// errors per kind. Clones share the counters. Counts only, never names or values.
#[derive(Debug, Clone, Default)]
pub struct BackendMetrics(Arc<Counters>);

/// The counters at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsSnapshot {
    /// `get` calls.
    pub gets: u64,
    /// `list` calls.
    pub lists: u64,
    /// `put` calls.
    pub puts: u64,
    /// `delete` calls.
    pub deletes: u64,
    /// `check` calls.
    pub checks: u64,
    /// Errors by kind, kinds without errors left out.
    pub errors: Vec<(ErrorKind, u64)>,
}

impl BackendMetrics {
    /// New counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// `get` calls that reached the layer: the reads the backend was asked for. The cache
    /// sits above the layers, so this counts cache misses that went to the backend.
    pub fn backend_reads(&self) -> u64 {
        self.0.gets.load(Ordering::Relaxed)
    }

    /// `get` calls.
    pub fn gets(&self) -> u64 {
        self.0.gets.load(Ordering::Relaxed)
    }

    /// `list` calls.
    pub fn lists(&self) -> u64 {
        self.0.lists.load(Ordering::Relaxed)
    }

    /// `put` calls.
    pub fn puts(&self) -> u64 {
        self.0.puts.load(Ordering::Relaxed)
    }

    /// `delete` calls.
    pub fn deletes(&self) -> u64 {
        self.0.deletes.load(Ordering::Relaxed)
    }

    /// `check` calls.
    pub fn checks(&self) -> u64 {
        self.0.checks.load(Ordering::Relaxed)
    }

    /// Errors of `kind`.
    pub fn errors(&self, kind: ErrorKind) -> u64 {
        self.0.errors[slot(kind)].load(Ordering::Relaxed)
    }

    /// Errors of every kind.
    pub fn errors_total(&self) -> u64 {
        self.0.errors.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Every counter at once.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            gets: self.gets(),
            lists: self.lists(),
            puts: self.puts(),
            deletes: self.deletes(),
            checks: self.checks(),
            errors: ErrorKind::ALL.into_iter().map(|k| (k, self.errors(k))).filter(|(_, n)| *n > 0).collect(),
        }
    }

    /// Counts the call when it starts and its error, if any, when it ends.
    async fn record<T>(&self, calls: &AtomicU64, call: impl Future<Output = Result<T>>) -> Result<T> {
        calls.fetch_add(1, Ordering::Relaxed);
        let result = call.await;
        if let Err(error) = &result {
            self.0.errors[slot(error.kind())].fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

fn slot(kind: ErrorKind) -> usize {
    ErrorKind::ALL.iter().position(|k| *k == kind).unwrap_or(KINDS)
}

/// Counts calls and errors into a [`BackendMetrics`].
#[derive(Debug, Clone, Default)]
pub struct MetricsLayer {
    metrics: BackendMetrics,
}

impl MetricsLayer {
    /// A layer counting into `metrics` (share one handle between the bindings of a
    /// backend to count the backend as a whole).
    pub fn new(metrics: BackendMetrics) -> Self {
        Self { metrics }
    }

    /// The counters.
    pub fn metrics(&self) -> &BackendMetrics {
        &self.metrics
    }
}

impl Layer for MetricsLayer {
    fn layer(&self, inner: SharedBackend) -> SharedBackend {
        Arc::new(MetricsBackend { inner, metrics: self.metrics.clone() })
    }
}

/// A backend behind a [`MetricsLayer`].
#[derive(Debug)]
pub struct MetricsBackend {
    inner: SharedBackend,
    metrics: BackendMetrics,
}

#[async_trait]
impl SecretBackend for MetricsBackend {
    fn info(&self) -> &BackendInfo {
        self.inner.info()
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        self.metrics.record(&self.metrics.0.gets, self.inner.get(scope, name, version)).await
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        self.metrics.record(&self.metrics.0.lists, self.inner.list(scope, filter)).await
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        self.metrics.record(&self.metrics.0.puts, self.inner.put(scope, name, value, tags)).await
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        self.metrics.record(&self.metrics.0.deletes, self.inner.delete(scope, name)).await
    }

    async fn check(&self) -> Result<()> {
        self.metrics.record(&self.metrics.0.checks, self.inner.check()).await
    }
}
