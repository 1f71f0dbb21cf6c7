//! A backend that was unreachable at start: it answers "backend unavailable" and opens the
//! real backend on a later call, at most once per [`RETRY_EVERY`].

use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::future::BoxFuture;
use hush_core::{
    BackendInfo, Error, ListFilter, Result, Scope, Secret, SecretBackend, SecretMeta, SecretName, SecretValue,
    SharedBackend, Tags, VersionId,
};
use tokio::sync::{Mutex, OnceCell};

/// Least time between two attempts to open.
pub(crate) const RETRY_EVERY: Duration = Duration::from_secs(1);

type Opener = Box<dyn Fn() -> BoxFuture<'static, Result<SharedBackend>> + Send + Sync>;

/// Opens its backend on first use after start-up failed.
pub(crate) struct Reconnecting {
    info: BackendInfo,
    open: Opener,
    opened: OnceCell<SharedBackend>,
    last_attempt: Mutex<(Instant, String)>,
}

impl std::fmt::Debug for Reconnecting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconnecting").field("info", &self.info).field("opened", &self.opened.initialized()).finish()
    }
}

impl Reconnecting {
    /// `first_error` is why opening failed at start.
    pub(crate) fn new(info: BackendInfo, first_error: &Error, open: Opener) -> Self {
        Self {
            info,
            open,
            opened: OnceCell::new(),
            last_attempt: Mutex::new((Instant::now(), first_error.message().to_owned())),
        }
    }

    async fn backend(&self) -> Result<&SharedBackend> {
        if let Some(backend) = self.opened.get() {
            return Ok(backend);
        }
        let mut last = self.last_attempt.lock().await;
        if let Some(backend) = self.opened.get() {
            return Ok(backend);
        }
        if last.0.elapsed() < RETRY_EVERY {
            return Err(Error::unavailable(last.1.clone()).with_context("backend", &self.info.name));
        }
        match (self.open)().await {
            Ok(backend) => {
                tracing::info!(backend = %self.info.name, "backend reachable again");
                Ok(self.opened.get_or_init(|| async { backend }).await)
            }
            Err(e) => {
                *last = (Instant::now(), e.message().to_owned());
                Err(e.with_context("backend", &self.info.name))
            }
        }
    }
}

#[async_trait]
impl SecretBackend for Reconnecting {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        self.backend().await?.get(scope, name, version).await
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        self.backend().await?.list(scope, filter).await
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        self.backend().await?.put(scope, name, value, tags).await
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        self.backend().await?.delete(scope, name).await
    }

    async fn check(&self) -> Result<()> {
        self.backend().await?.check().await
    }
}
