//! The layers of a binding, applied in the one documented order.

use std::sync::Arc;
use std::time::Duration;

use hush_core::{SharedBackend, Tags};

use crate::{
    CallObserver, CallObserverLayer, ConcurrencyLimitLayer, DefaultTagsLayer, Layer, ReadOnlyLayer, RetryLayer,
    TagFilterLayer, TimeoutLayer,
};

/// Which layers wrap a backend. [`apply`](Self::apply) puts them in this order, outermost
/// first, whatever order the builder methods were called in:
///
/// read-only → tag filter → call observer → default tags → concurrency limit → retry → timeout → backend
///
/// Layers left unset (and empty tag sets) are skipped. The order splits in two runs:
/// call observer to timeout belong to the backend and read-only and tag filter to a binding.
/// A caller can therefore wrap each backend once with the first run and each binding of it
/// with the second, and keep the same order. Clones of a
/// stack share its concurrency limit: applying one stack to several bindings bounds them
/// together.
#[derive(Debug, Clone, Default)]
pub struct LayerStack {
    read_only: Option<String>,
    filter_tags: Tags,
    default_tags: Tags,
    concurrency: Option<ConcurrencyLimitLayer>,
    retry: Option<RetryLayer>,
    timeout: Option<Duration>,
    observer: Option<CallObserverLayer>,
}

impl LayerStack {
    /// No layers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses writes; `binding` names the binding in the refusal.
    pub fn read_only(mut self, binding: impl Into<String>) -> Self {
        self.read_only = Some(binding.into());
        self
    }

    /// Shows only secrets carrying every pair of `tags`.
    pub fn tag_filter(mut self, tags: Tags) -> Self {
        self.filter_tags = tags;
        self
    }

    /// Adds `tags` to every write.
    pub fn default_tags(mut self, tags: Tags) -> Self {
        self.default_tags = tags;
        self
    }

    /// At most `max` calls in flight.
    pub fn concurrency_limit(mut self, max: usize) -> Self {
        self.concurrency = Some(ConcurrencyLimitLayer::new(max));
        self
    }

    /// Retries temporary errors.
    pub fn retry(mut self, retry: RetryLayer) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Bounds each attempt to `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Reports each call to `observer`, labelled with `binding`.
    pub fn observe(mut self, observer: Arc<dyn CallObserver>, binding: impl Into<Arc<str>>) -> Self {
        self.observer = Some(CallObserverLayer::new(observer, binding));
        self
    }

    /// `backend` wrapped in the configured layers, in the documented order.
    pub fn apply(&self, backend: SharedBackend) -> SharedBackend {
        let mut backend = backend;
        if let Some(timeout) = self.timeout {
            backend = TimeoutLayer::new(timeout).layer(backend);
        }
        if let Some(retry) = &self.retry {
            backend = retry.layer(backend);
        }
        if let Some(concurrency) = &self.concurrency {
            backend = concurrency.layer(backend);
        }
        if !self.default_tags.is_empty() {
            backend = DefaultTagsLayer::new(self.default_tags.clone()).layer(backend);
        }
        if let Some(observer) = &self.observer {
            backend = observer.layer(backend);
        }
        if !self.filter_tags.is_empty() {
            backend = TagFilterLayer::new(self.filter_tags.clone()).layer(backend);
        }
        if let Some(binding) = &self.read_only {
            backend = ReadOnlyLayer::new(binding.clone()).layer(backend);
        }
        backend
    }
}

impl Layer for LayerStack {
    fn layer(&self, inner: SharedBackend) -> SharedBackend {
        self.apply(inner)
    }
}
