//! Retries of temporary errors, with exponential backoff and jitter (backon).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};
use hush_core::{
    BackendInfo, Error, ListFilter, Result, Scope, Secret, SecretBackend, SecretMeta, SecretName, SecretValue,
    SharedBackend, Tags, VersionId,
};

use crate::Layer;

/// Retries a call whose error [`is_temporary`](Error::is_temporary) (unavailable, rate
/// limited, timed out, ...), up to `max_attempts` attempts in all, waiting between them
/// from `min_delay` doubling up to `max_delay`, with jitter. Permanent errors (not found,
/// permission denied, invalid input, ...) are returned at once.
///
/// Every operation is retried the same way, writes included: a `put` or `delete` is tried
/// again only after a temporary error. A write that timed out may have been applied; trying
/// it again writes the same value (at worst one more version) or deletes what is already
/// deleted (`NotFound`, returned as is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryLayer {
    max_attempts: u32,
    min_delay: Duration,
    max_delay: Duration,
}

impl RetryLayer {
    /// Up to `max_attempts` attempts in all (0 is taken as 1, no retry), with delays from
    /// `min_delay` to `max_delay`.
    pub fn new(max_attempts: u32, min_delay: Duration, max_delay: Duration) -> Self {
        Self { max_attempts: max_attempts.max(1), min_delay, max_delay: max_delay.max(min_delay) }
    }

    /// Attempts in all, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }
}

impl Default for RetryLayer {
    /// 3 attempts, 50 ms to 500 ms: the configuration defaults.
    fn default() -> Self {
        Self::new(3, Duration::from_millis(50), Duration::from_millis(500))
    }
}

impl Layer for RetryLayer {
    fn layer(&self, inner: SharedBackend) -> SharedBackend {
        Arc::new(RetryBackend { inner, policy: *self })
    }
}

/// A backend behind a [`RetryLayer`].
#[derive(Debug)]
pub struct RetryBackend {
    inner: SharedBackend,
    policy: RetryLayer,
}

impl RetryBackend {
    async fn retried<T, F, Fut>(&self, operation: &'static str, call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.policy.min_delay)
            .with_max_delay(self.policy.max_delay)
            .with_max_times(self.policy.max_attempts.saturating_sub(1) as usize)
            .with_jitter();
        call.retry(backoff)
            .sleep(tokio::time::sleep)
            .when(Error::is_temporary)
            .notify(|error: &Error, delay: Duration| {
                tracing::debug!(
                    backend = %self.inner.info().name,
                    operation,
                    %error,
                    ?delay,
                    "temporary backend error, retrying"
                );
            })
            .await
    }
}

#[async_trait]
impl SecretBackend for RetryBackend {
    fn info(&self) -> &BackendInfo {
        self.inner.info()
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        self.retried("get", || self.inner.get(scope, name, version)).await
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        self.retried("list", || self.inner.list(scope, filter)).await
    }

    /// Each attempt writes a copy of `value` (wiped when dropped, like the original).
    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        self.retried("put", || self.inner.put(scope, name, value.clone(), tags.clone())).await
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        self.retried("delete", || self.inner.delete(scope, name)).await
    }

    async fn check(&self) -> Result<()> {
        self.retried("check", || self.inner.check()).await
    }
}
