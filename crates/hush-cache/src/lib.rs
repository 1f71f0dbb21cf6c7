//! The resolver's secret cache (DESIGN.md section 5).
//!
//! [`SecretCache`] is a [quick_cache](https://docs.rs/quick_cache) cache keyed by one string
//! per (tenant, namespace, name, version) ([`CacheKey`]):
//!
//! - **Single flight:** concurrent misses for one key make one backend call; the other
//!   callers wait for it and are answered from its result.
//! - **Negative entries:** a `NotFound` answer is cached for `negative_ttl` and returned
//!   again as `NotFound` with the same message. Other errors are never cached.
//! - **Stale if error:** past `ttl`, a value is kept `stale_if_error` longer; when reloading
//!   it fails with a temporary error, the old value is served, marked [`Freshness::Stale`].
//! - **Bounds:** entry count and bytes, both (see [`CacheSettings`]).
//! - **Zeroize:** values are [`SecretValue`](hush_core::SecretValue)s inside `Arc<Secret>`.
//!   Eviction, expiry and invalidation drop the cache's `Arc`; the bytes are wiped when the
//!   last holder (the cache or a request still using it) drops it.
//!
//! - **Time:** every decision (fresh, negative entry still valid, stale window open, entry past
//!   its lifetime) reads [`tokio::time::Instant`]: the monotonic clock in production, the
//!   paused clock of `#[tokio::test(start_paused = true)]` in tests, which `tokio::time::advance`
//!   moves. quick_cache has no time-based expiry: it bounds capacity (CLOCK-Pro eviction by
//!   weight) and gives single flight (its placeholder guards); entries past their lifetime are
//!   swept out by the cache itself, on a miss at most once per second and on
//!   [`SecretCache::run_pending_tasks`].
//!
//! The cache is memory only; a restart empties it.
//!
//! **Architecture invariant:** this crate depends on `hush-core`, quick_cache and tokio's clock only.
//! It knows no backend, no binding, no NATS: the resolver hands it a loader closure and
//! invalidates on write events.

#![deny(missing_docs)]

mod cache;

pub use cache::{CacheKey, CacheSettings, CacheStats, ENTRY_OVERHEAD, Freshness, SecretCache, entry_size};
