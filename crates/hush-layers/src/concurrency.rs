//! A bound on calls in flight to one backend.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{
    BackendInfo, Error, ErrorKind, ListFilter, Result, Scope, Secret, SecretBackend, SecretMeta, SecretName,
    SecretValue, SharedBackend, Tags, VersionId,
};
use tokio::sync::Semaphore;

use crate::Layer;

/// At most `max` calls run at once through this layer; the others wait their turn (FIFO).
///
/// Every backend wrapped by one layer value shares its permits: apply the same layer to
/// every binding of a backend to bound the backend as a whole.
#[derive(Debug, Clone)]
pub struct ConcurrencyLimitLayer {
    semaphore: Arc<Semaphore>,
}

impl ConcurrencyLimitLayer {
    /// A limit of `max` calls in flight; 0 is taken as 1.
    pub fn new(max: usize) -> Self {
        Self { semaphore: Arc::new(Semaphore::new(max.clamp(1, Semaphore::MAX_PERMITS))) }
    }
}

impl Layer for ConcurrencyLimitLayer {
    fn layer(&self, inner: SharedBackend) -> SharedBackend {
        Arc::new(ConcurrencyLimitBackend { inner, semaphore: self.semaphore.clone() })
    }
}

/// A backend behind a [`ConcurrencyLimitLayer`].
#[derive(Debug)]
pub struct ConcurrencyLimitBackend {
    inner: SharedBackend,
    semaphore: Arc<Semaphore>,
}

impl ConcurrencyLimitBackend {
    async fn limited<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        let _permit =
            self.semaphore.acquire().await.map_err(|_| Error::new(ErrorKind::Internal, "concurrency limit closed"))?;
        call.await
    }
}

#[async_trait]
impl SecretBackend for ConcurrencyLimitBackend {
    fn info(&self) -> &BackendInfo {
        self.inner.info()
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        self.limited(self.inner.get(scope, name, version)).await
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        self.limited(self.inner.list(scope, filter)).await
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        self.limited(self.inner.put(scope, name, value, tags)).await
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        self.limited(self.inner.delete(scope, name)).await
    }

    async fn check(&self) -> Result<()> {
        self.limited(self.inner.check()).await
    }
}
