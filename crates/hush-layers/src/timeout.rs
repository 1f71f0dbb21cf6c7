//! A bound on how long one backend call may take.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hush_core::{
    BackendInfo, Error, ListFilter, Result, Scope, Secret, SecretBackend, SecretMeta, SecretName, SecretValue,
    SharedBackend, Tags, VersionId,
};

use crate::Layer;

/// Fails a call that takes longer than `timeout` with a temporary
/// [`ErrorKind::Unavailable`](hush_core::ErrorKind::Unavailable) ("backend "x" did not
/// answer within 5s"), which the retry layer above retries. The call is dropped: a write
/// that timed out may still have been applied.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    timeout: Duration,
}

impl TimeoutLayer {
    /// A bound of `timeout` per call.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }
}

impl Layer for TimeoutLayer {
    fn layer(&self, inner: SharedBackend) -> SharedBackend {
        Arc::new(TimeoutBackend { inner, timeout: self.timeout })
    }
}

/// A backend behind a [`TimeoutLayer`].
#[derive(Debug)]
pub struct TimeoutBackend {
    inner: SharedBackend,
    timeout: Duration,
}

impl TimeoutBackend {
    async fn bounded<T>(&self, operation: &'static str, call: impl Future<Output = Result<T>>) -> Result<T> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(Error::unavailable(format!(
                "backend {:?} did not answer within {:?}",
                self.inner.info().name,
                self.timeout
            ))
            .with_context("operation", operation)),
        }
    }
}

#[async_trait]
impl SecretBackend for TimeoutBackend {
    fn info(&self) -> &BackendInfo {
        self.inner.info()
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        self.bounded("get", self.inner.get(scope, name, version)).await
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        self.bounded("list", self.inner.list(scope, filter)).await
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        self.bounded("put", self.inner.put(scope, name, value, tags)).await
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        self.bounded("delete", self.inner.delete(scope, name)).await
    }

    async fn check(&self) -> Result<()> {
        self.bounded("check", self.inner.check()).await
    }
}
