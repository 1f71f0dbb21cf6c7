//! Reports every backend call, its operation, duration and outcome, to an observer (hushd's
//! metrics).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hush_core::{
    BackendInfo, ErrorKind, ListFilter, Result, Scope, Secret, SecretBackend, SecretMeta, SecretName, SecretValue,
    SharedBackend, Tags, VersionId,
};
use tokio::time::Instant;

use crate::Layer;

/// One backend call, as a [`CallObserverLayer`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendCall<'a> {
    /// The backend's configured name.
    pub backend: &'a str,
    /// The binding the call was made through: `acme` (the tenant default) or
    /// `acme/company.team` (the override on that namespace).
    pub binding: &'a str,
    /// `get`, `list`, `put`, `delete` or `check`.
    pub operation: &'static str,
    /// How long the caller waited.
    pub elapsed: Duration,
    /// `Ok`, or the error's kind (`NotFound` included: for a read it is an answer, not a
    /// failure of the backend).
    pub outcome: std::result::Result<(), ErrorKind>,
}

/// What a [`CallObserverLayer`] reports each call to.
pub trait CallObserver: fmt::Debug + Send + Sync {
    /// A call ended.
    fn observe(&self, call: &BackendCall<'_>);
}

/// Reports each call to an observer, as the caller sees it: retries, timeouts and waiting for
/// a concurrency permit included when it sits above those layers.
#[derive(Debug, Clone)]
pub struct CallObserverLayer {
    observer: Arc<dyn CallObserver>,
    binding: Arc<str>,
}

impl CallObserverLayer {
    /// Reports to `observer` the calls made through `binding` (its label in
    /// [`BackendCall::binding`]).
    pub fn new(observer: Arc<dyn CallObserver>, binding: impl Into<Arc<str>>) -> Self {
        Self { observer, binding: binding.into() }
    }
}

impl Layer for CallObserverLayer {
    fn layer(&self, inner: SharedBackend) -> SharedBackend {
        Arc::new(ObservedBackend { inner, observer: self.observer.clone(), binding: self.binding.clone() })
    }
}

/// A backend behind a [`CallObserverLayer`].
#[derive(Debug)]
pub struct ObservedBackend {
    inner: SharedBackend,
    observer: Arc<dyn CallObserver>,
    binding: Arc<str>,
}

impl ObservedBackend {
    async fn observed<T>(&self, operation: &'static str, call: impl Future<Output = Result<T>>) -> Result<T> {
        let started = Instant::now();
        let result = call.await;
        self.observer.observe(&BackendCall {
            backend: &self.inner.info().name,
            binding: &self.binding,
            operation,
            elapsed: started.elapsed(),
            outcome: result.as_ref().map(|_| ()).map_err(|e| e.kind()),
        });
        result
    }
}

#[async_trait]
impl SecretBackend for ObservedBackend {
    fn info(&self) -> &BackendInfo {
        self.inner.info()
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        self.observed("get", self.inner.get(scope, name, version)).await
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        self.observed("list", self.inner.list(scope, filter)).await
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        self.observed("put", self.inner.put(scope, name, value, tags)).await
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        self.observed("delete", self.inner.delete(scope, name)).await
    }

    async fn check(&self) -> Result<()> {
        self.observed("check", self.inner.check()).await
    }
}
