//! A backend that was unreachable when it was opened: it answers "backend unavailable" and
//! opens the real backend on a later call, at most once per [`RETRY_EVERY`].

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hush_core::{
    BackendInfo, Error, ListFilter, Result, Scope, Secret, SecretBackend, SecretMeta, SecretName, SecretValue,
    SharedBackend, Tags, VersionId,
};
use tokio::sync::{Mutex, OnceCell};

/// Least time between two attempts to open.
pub const RETRY_EVERY: Duration = Duration::from_secs(1);

/// What opens the real backend: one attempt per call.
pub type Opener = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<SharedBackend>> + Send>> + Send + Sync>;

/// Stands for a backend that could not be opened: each call tries to open it (at most once
/// per [`RETRY_EVERY`], else it fails at once with the last reason, `Unavailable`), and once
/// open, forwards every call to it. hushd starts with a backend down and serves it as soon as
/// it is reachable, without a restart.
pub struct ReconnectingBackend {
    info: BackendInfo,
    open: Opener,
    opened: OnceCell<SharedBackend>,
    last_attempt: Mutex<(Instant, String)>,
}

impl std::fmt::Debug for ReconnectingBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReconnectingBackend")
            .field("info", &self.info)
            .field("opened", &self.opened.initialized())
            .finish()
    }
}

impl ReconnectingBackend {
    /// A backend described by `info` that `open` opens; `first_error` is why opening failed.
    pub fn new(info: BackendInfo, first_error: &Error, open: Opener) -> Self {
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
impl SecretBackend for ReconnectingBackend {
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
