//! Cross-cutting behaviour of backends, as layers (the OpenDAL pattern).
//!
//! A layer (`XxxLayer`) wraps any [`SharedBackend`] into an `XxxBackend` that changes one
//! thing and forwards everything else (a layer's backend implements
//! [`ForwardingBackend`](hush_core::ForwardingBackend) and overrides only what it changes), so a
//! backend crate stays small and every backend gets the same read-only refusal, tag
//! filtering, retries and timeouts. Layers are the only place for retries and timeouts:
//! backends make one attempt per call. [`LayerStack`] applies them in the documented order,
//! outermost first:
//!
//! read-only → tag filter → call observer → default tags → concurrency limit → retry → timeout → backend
//!
//! - Read-only and the tag filter above default tags: a refused write never reaches the
//!   backend, and a write through a filtered binding is checked against the tags the caller
//!   gave, before defaults are added.
//! - The concurrency limit above retry: a retrying call keeps its permit, so retries do not
//!   add load beyond the limit.
//! - Timeout inside retry: each attempt gets the full timeout, and a timed-out attempt
//!   (a temporary error) is retried.
//! - The call observer (hushd's per-backend call metrics) on top of the backend's own layers:
//!   it reports what a caller waited, permits, retries and timeouts included, once per call,
//!   and never sees a call a binding refused.
//!
//! [`ReconnectingBackend`] stands for a backend that could not be opened (its server was down
//! when hushd started) and opens it on a later call.
//!
//! The cache is not a layer: it sits in the resolver, above the bindings.
//!
//! **Architecture invariant:** this crate depends on `hush-core` and on runtime crates
//! (tokio, backon, tracing) only. It knows no backend kind, no configuration format, no NATS.
//! Layer errors and logs never hold a secret value.

#![deny(missing_docs)]

mod concurrency;
mod default_tags;
mod observe;
mod read_only;
mod reconnect;
mod retry;
mod stack;
mod tag_filter;
mod timeout;

pub use concurrency::{ConcurrencyLimitBackend, ConcurrencyLimitLayer};
pub use default_tags::{DefaultTagsBackend, DefaultTagsLayer};
pub use observe::{BackendCall, CallObserver, CallObserverLayer, ObservedBackend};
pub use read_only::{ReadOnlyBackend, ReadOnlyLayer};
pub use reconnect::{Opener, RETRY_EVERY, ReconnectingBackend};
pub use retry::{RetryBackend, RetryLayer};
pub use stack::LayerStack;
pub use tag_filter::{TagFilterBackend, TagFilterLayer};
pub use timeout::{TimeoutBackend, TimeoutLayer};

use hush_core::SharedBackend;

/// Wraps a backend into one that adds a behaviour and forwards the rest.
pub trait Layer {
    /// `inner` wrapped in this layer.
    fn layer(&self, inner: SharedBackend) -> SharedBackend;
}

#[cfg(test)]
mod tests;
