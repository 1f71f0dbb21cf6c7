//! [`SecretCache`]: quick_cache with single flight, negative entries and stale-if-error.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hush_core::{Error, ErrorKind, Namespace, Result, Secret, SecretName, TenantId, VersionId};
use quick_cache::DefaultHashBuilder;
use quick_cache::Weighter;
use quick_cache::sync::{Cache, DefaultLifecycle, EntryAction, EntryResult, PlaceholderGuard};
use tokio::time::Instant;

/// Stripes of generations (see `Inner::generations`).
const GENERATION_STRIPES: usize = 256;

/// The most entries the cache's table is sized for at first; it grows past that as needed.
const INITIAL_ENTRIES: u64 = 16_384;

/// How often, at most, a miss sweeps out the entries past their lifetime.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// How the cache behaves; the resolver fills it from the `[cache]` table of the config.
///
/// # Bounds
/// Both `max_entries` and `max_bytes` hold. Each entry weighs the larger of its size in
/// bytes and its share of the byte bound as one of `max_entries` (`max_bytes / max_entries`,
/// rounded up), against a capacity of `max_bytes`. The sum of weights within the capacity
/// keeps the bytes within `max_bytes` and the count within `max_entries`; with values of mixed
/// sizes eviction can come earlier than either bound alone would require. An entry's size is its value, tags, key and a fixed overhead of
/// [`ENTRY_OVERHEAD`] bytes: what an entry really costs (`tests/entry_cost.rs` measures it).
/// Eviction runs as entries are inserted (quick_cache's CLOCK-Pro, by weight).
///
/// # Time
/// Every duration here is measured on tokio's clock (see the crate documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    /// Whether anything is cached; when false every call loads.
    pub enabled: bool,
    /// Most entries (0 is taken as 1).
    pub max_entries: u64,
    /// Most bytes (0 is taken as 1).
    pub max_bytes: u64,
    /// How long a loaded value is served without reloading.
    pub ttl: Duration,
    /// How long a `NotFound` answer is cached; zero turns negative caching off.
    pub negative_ttl: Duration,
    /// How long past `ttl` a value may still be served when reloading it fails with a
    /// temporary error; zero turns this off.
    pub stale_if_error: Duration,
}

impl Default for CacheSettings {
    /// The configuration defaults: enabled, 10 000 entries, 64 MiB, 60 s, 5 s, no stale.
    fn default() -> Self {
        Self {
            enabled: true,
            max_entries: 10_000,
            max_bytes: 64 * 1024 * 1024,
            ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(5),
            stale_if_error: Duration::ZERO,
        }
    }
}

/// What a cached answer is for: one version (or the latest) of one secret in one tenant's
/// namespace.
///
/// One string, `tenant/namespace/name` for the latest version and `tenant/namespace/name/version`
/// for a pinned one: one allocation per key (the ids cannot hold a `/`, so it is unambiguous).
#[derive(Clone, Hash, Eq, PartialEq)]
pub struct CacheKey(Box<str>);

/// Looks an entry up by its key's text ([`CacheKey::text`]): hashes and compares as the key.
impl std::borrow::Borrow<str> for CacheKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl CacheKey {
    /// The key of `version` of secret `name` in `tenant`'s `namespace` (`None`: the latest).
    pub fn new(tenant: &TenantId, namespace: &Namespace, name: &SecretName, version: Option<&VersionId>) -> Self {
        let mut key = String::new();
        Self::text(&mut key, tenant, namespace, name, version);
        Self(key.into_boxed_str())
    }

    /// The text of the key [`new`](Self::new) makes of the same ids, written into `buf` (emptied
    /// first): a read looks each name up by it ([`SecretCache::get_fresh_at`]) in one buffer
    /// reused for every name, instead of allocating a key per name.
    pub fn text<'b>(
        buf: &'b mut String,
        tenant: &TenantId,
        namespace: &Namespace,
        name: &SecretName,
        version: Option<&VersionId>,
    ) -> &'b str {
        let parts = [tenant.as_str(), namespace.as_str(), name.as_str(), version.map_or("", VersionId::as_str)];
        buf.clear();
        buf.reserve_exact(parts.iter().map(|p| p.len() + 1).sum());
        for part in parts.iter().filter(|p| !p.is_empty()) {
            if !buf.is_empty() {
                buf.push('/');
            }
            buf.push_str(part);
        }
        buf
    }

    /// For a pinned version's key, the key of the same secret's latest version.
    fn latest(&self) -> Option<Self> {
        self.pinned_at().map(|at| Self(self.0[..at].into()))
    }

    /// `tenant/namespace/name`: the secret, whatever the version.
    fn secret(&self) -> &str {
        self.pinned_at().map_or(&self.0, |at| &self.0[..at])
    }

    /// Where the `/` before a pinned version is.
    fn pinned_at(&self) -> Option<usize> {
        self.0.match_indices('/').nth(2).map(|(at, _)| at)
    }

    /// The size of its text.
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({})", self.0)
    }
}

/// Where an answer of [`SecretCache::get_or_load`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Just loaded by this call.
    Fresh,
    /// Served from the cache (including a value loaded by a concurrent call this one waited for).
    Cached,
    /// Served past its `ttl`, within `stale_if_error`, because reloading it failed with a
    /// temporary error. Mark it in metrics and audit.
    Stale,
}

/// Counters of the cache since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Calls answered with a value found fresh in the cache on arrival.
    pub hits: u64,
    /// Calls that found no fresh entry on arrival (or that ran with the cache disabled).
    /// Concurrent misses for one key share one load, so `loads` can be far lower.
    pub misses: u64,
    /// Calls of a loader: backend reads caused by the cache.
    pub loads: u64,
    /// Misses answered by a concurrent call's load instead of their own (single flight).
    pub joined_loads: u64,
    /// Answers served [`Freshness::Stale`].
    pub stale_served: u64,
    /// Calls answered `NotFound` from a cached negative entry found on arrival.
    pub negative_hits: u64,
    /// Entries held, including entries past their lifetime that no sweep has dropped yet.
    pub entries: u64,
}

/// A cached answer and when it was loaded, on tokio's clock.
#[derive(Clone)]
struct Entry {
    loaded_at: Instant,
    answer: Answer,
}

#[derive(Clone)]
enum Answer {
    Found(Arc<Secret>),
    /// The message and context of the `NotFound` error, to answer it again. Never a value.
    Missing(Arc<(String, Vec<(&'static str, String)>)>),
}

/// What an entry costs beyond the bytes of its key, value, version and tags: its slot in the
/// cache's table (key, entry, eviction state, hash index), the shared secret and allocator
/// rounding. Measured by `tests/entry_cost.rs`, which fails when an entry costs more than it
/// is counted as.
pub const ENTRY_OVERHEAD: u64 = 288;

/// The bytes a cached value is counted as against `max_bytes`: what its entry costs in memory
/// (`tests/entry_cost.rs` measures it).
pub fn entry_size(key: &CacheKey, secret: &Secret) -> u64 {
    ENTRY_OVERHEAD + (key.len() + secret_len(secret)) as u64
}

/// The bytes of a secret's value, version and tags.
fn secret_len(secret: &Secret) -> usize {
    secret.value.len()
        + secret.version.as_ref().map_or(0, |v| v.as_str().len())
        + secret.tags.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
}

impl Entry {
    fn size(&self, key: &CacheKey) -> u64 {
        let answer_len = match &self.answer {
            Answer::Found(secret) => secret_len(secret),
            Answer::Missing(missing) => missing.0.len(),
        };
        ENTRY_OVERHEAD + (key.len() + answer_len) as u64
    }
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    loads: AtomicU64,
    joined_loads: AtomicU64,
    stale_served: AtomicU64,
    negative_hits: AtomicU64,
}

struct Inner {
    settings: CacheSettings,
    cache: Cache<CacheKey, Entry, EntryWeight>,
    counters: Counters,
    /// Generations, one per stripe of secrets (by hash), each bumped by an invalidation of a
    /// secret of its stripe: a load that overlapped one is answered but not kept, so a value
    /// read before a write cannot land in the cache after its invalidation. Striped so that
    /// writes to other secrets rarely cost a load its entry.
    generations: Box<[AtomicU64]>,
    /// Picks a secret's stripe.
    stripes: RandomState,
    /// When entries past their lifetime were last swept out.
    last_sweep: Mutex<Instant>,
    /// The keys of pinned versions loaded, by the key of their secret's latest version, so
    /// that invalidating a secret finds them without scanning the cache. It may name keys the
    /// cache no longer holds (evicted, or a load that was not kept); sweeps drop those.
    pinned: Mutex<HashMap<CacheKey, Vec<CacheKey>>>,
}

/// The resolver's cache of secrets. Cheap to clone: clones share one cache.
#[derive(Clone)]
pub struct SecretCache {
    inner: Arc<Inner>,
}

impl fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretCache").field("settings", &self.inner.settings).field("stats", &self.stats()).finish()
    }
}

impl SecretCache {
    /// A cache with `settings`.
    pub fn new(settings: CacheSettings) -> Self {
        let max_entries = settings.max_entries.max(1);
        let max_bytes = settings.max_bytes.max(1);
        // Weights are bytes, and no entry weighs less than its share of the entry bound, so
        // both bounds hold. The table starts at most this big and grows as entries come.
        let weigher = EntryWeight { floor: max_bytes.div_ceil(max_entries) };
        let estimated_entries = usize::try_from(max_entries.min(INITIAL_ENTRIES)).unwrap_or(1);
        let cache = Cache::with_weighter(estimated_entries, max_bytes, weigher);
        Self {
            inner: Arc::new(Inner {
                settings,
                cache,
                counters: Counters::default(),
                generations: (0..GENERATION_STRIPES).map(|_| AtomicU64::new(0)).collect(),
                stripes: RandomState::new(),
                last_sweep: Mutex::new(Instant::now()),
                pinned: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The settings this cache was built with.
    pub fn settings(&self) -> &CacheSettings {
        &self.inner.settings
    }

    /// The secret for `key`: from the cache when fresh, else from `load`.
    ///
    /// # Behavior
    /// - Concurrent calls for one key that find no fresh entry make one `load` call; the
    ///   others wait for it and get its answer ([`Freshness::Cached`]).
    /// - `NotFound` from `load` is cached for `negative_ttl` and answered again as
    ///   `NotFound` with the same message and context.
    /// - Any other error is returned and not cached.
    /// - Past `ttl` but within `ttl + stale_if_error`, when `load` fails with a temporary
    ///   error, the old value is returned as [`Freshness::Stale`].
    /// - With `enabled = false`, every call runs `load`.
    /// - `load` runs while the key is locked for other loads: it must not call back into
    ///   the cache for the same key. If the calling future is dropped mid-load, a waiting
    ///   call takes over and loads itself.
    /// - A miss first drops the entries past their lifetime (`ttl + stale_if_error` for
    ///   values, `negative_ttl` for "not found"), at most once per second.
    pub async fn get_or_load<F, Fut>(&self, key: CacheKey, load: F) -> Result<(Arc<Secret>, Freshness)>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<Secret>> + Send,
    {
        let inner = &*self.inner;
        let counters = &inner.counters;
        if !inner.settings.enabled {
            counters.misses.fetch_add(1, Ordering::Relaxed);
            counters.loads.fetch_add(1, Ordering::Relaxed);
            return load().await.map(|secret| (Arc::new(secret), Freshness::Fresh));
        }
        if let Some(found) = self.get_fresh(&key) {
            return found.map(|secret| (secret, Freshness::Cached));
        }
        counters.misses.fetch_add(1, Ordering::Relaxed);
        if inner.sweep_due() {
            inner.sweep();
        }

        // One call per key loads at a time: the others wait for its entry (quick_cache's
        // placeholder) and find it fresh, or take over when it kept nothing.
        let claimed = inner
            .cache
            .entry_async(&key, |_, entry| {
                if inner.is_fresh(entry, Instant::now()) {
                    EntryAction::Retain(answer(entry, Freshness::Cached))
                } else {
                    EntryAction::ReplaceWithGuard
                }
            })
            .await;
        let (guard, current) = match claimed {
            EntryResult::Retained(found) => {
                counters.joined_loads.fetch_add(1, Ordering::Relaxed);
                return found;
            }
            EntryResult::Replaced(guard, current) => (guard, Some(current)),
            EntryResult::Vacant(guard) => (guard, None),
            EntryResult::Removed(..) | EntryResult::Timeout => {
                return Err(Error::new(ErrorKind::Internal, "cache computed no answer"));
            }
        };
        // Recorded before the generation is read: an invalidation that this load does not see
        // as a new generation finds this version in the index.
        if let Some(latest) = key.latest() {
            inner.record_pinned(latest, key.clone());
        }
        let generation_of_key = inner.generation(&key);
        let generation = generation_of_key.load(Ordering::Acquire);
        let mut reload = Reload { inner, key: &key, guard: Some(guard), current, generation_of_key, generation };
        counters.loads.fetch_add(1, Ordering::Relaxed);
        let loaded = load().await;
        let (result, keep) = match loaded {
            Ok(secret) => {
                let secret = Arc::new(secret);
                let entry = Entry { loaded_at: Instant::now(), answer: Answer::Found(secret.clone()) };
                (Ok((secret, Freshness::Fresh)), Some(entry))
            }
            Err(error) if error.kind() == ErrorKind::NotFound => {
                let missing = (error.message().to_owned(), error.context().to_vec());
                let entry = Entry { loaded_at: Instant::now(), answer: Answer::Missing(Arc::new(missing)) };
                (Err(error), Some(entry))
            }
            Err(error) => {
                // The entry that was there stays while it may still be served stale.
                let (current, stale) = reload.stale();
                match stale {
                    Some(stale) if error.is_temporary() => {
                        counters.stale_served.fetch_add(1, Ordering::Relaxed);
                        (Ok((stale, Freshness::Stale)), current)
                    }
                    _ => (Err(error), current),
                }
            }
        };
        reload.finish(keep);
        result
    }

    /// The answer cached for `key` while it is fresh (a value, or `NotFound`), counted as a
    /// hit; `None` when there is none, counted as nothing: [`get_or_load`](Self::get_or_load)
    /// counts the miss. No future, no lock beyond the table's shard.
    pub fn get_fresh(&self, key: &CacheKey) -> Option<Result<Arc<Secret>>> {
        self.get_fresh_at(key, Instant::now())
    }

    /// [`get_fresh`](Self::get_fresh) with the time given: a read of many names reads the
    /// clock once.
    pub fn get_fresh_at<K>(&self, key: &K, now: Instant) -> Option<Result<Arc<Secret>>>
    where
        K: Hash + Eq + ?Sized,
        CacheKey: std::borrow::Borrow<K>,
    {
        let inner = &*self.inner;
        if !inner.settings.enabled {
            return None;
        }
        let entry = inner.cache.get(key).filter(|entry| inner.is_fresh(entry, now))?;
        let counter = match entry.answer {
            Answer::Found(_) => &inner.counters.hits,
            Answer::Missing(_) => &inner.counters.negative_hits,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Some(answer(&entry, Freshness::Cached).map(|(secret, _)| secret))
    }

    /// Drops every cached version of one secret, and keeps a load already running for it
    /// from caching what it read. Its cost does not grow with the cache: the latest version's
    /// key is known, the pinned ones are indexed.
    pub fn invalidate(&self, tenant: &TenantId, namespace: &Namespace, name: &SecretName) {
        let inner = &self.inner;
        // The generation first: a load that has not checked it yet keeps nothing, and one that
        // checked it before and put its value finds it changed afterwards and removes it.
        let latest = CacheKey::new(tenant, namespace, name, None);
        inner.generation(&latest).fetch_add(1, Ordering::AcqRel);
        let pinned = inner.lock_pinned().remove(&latest).unwrap_or_default();
        for key in pinned.iter().chain([&latest]) {
            inner.cache.remove(key);
        }
    }

    /// Drops everything.
    pub fn invalidate_all(&self) {
        for generation in &self.inner.generations {
            generation.fetch_add(1, Ordering::AcqRel);
        }
        self.inner.cache.clear();
        self.inner.lock_pinned().clear();
    }

    /// The counters so far.
    pub fn stats(&self) -> CacheStats {
        let c = &self.inner.counters;
        CacheStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            loads: c.loads.load(Ordering::Relaxed),
            joined_loads: c.joined_loads.load(Ordering::Relaxed),
            stale_served: c.stale_served.load(Ordering::Relaxed),
            negative_hits: c.negative_hits.load(Ordering::Relaxed),
            entries: self.inner.cache.len() as u64,
        }
    }

    /// Drops the entries past their lifetime now, as a miss does at most once a second.
    pub fn run_pending_tasks(&self) {
        self.inner.sweep();
    }
}

impl Inner {
    /// The generation of `key`'s stripe.
    fn generation(&self, key: &CacheKey) -> &AtomicU64 {
        let stripe = self.stripes.hash_one(key.secret()) as usize % self.generations.len();
        &self.generations[stripe]
    }

    /// Whether an entry may be answered without loading: younger than `ttl` (values) or
    /// `negative_ttl` ("not found").
    fn is_fresh(&self, entry: &Entry, now: Instant) -> bool {
        let age = now.saturating_duration_since(entry.loaded_at);
        match entry.answer {
            Answer::Found(_) => age < self.settings.ttl,
            Answer::Missing(_) => age < self.settings.negative_ttl,
        }
    }

    /// How long an entry is kept: values `ttl + stale_if_error` (the tail only serves stale
    /// answers), "not found" `negative_ttl`.
    fn lifetime(&self, entry: &Entry) -> Duration {
        match entry.answer {
            Answer::Found(_) => self.settings.ttl.saturating_add(self.settings.stale_if_error),
            Answer::Missing(_) => self.settings.negative_ttl,
        }
    }

    fn is_expired(&self, entry: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(entry.loaded_at) >= self.lifetime(entry)
    }

    fn stale_value(&self, entry: &Entry) -> Option<Arc<Secret>> {
        match &entry.answer {
            Answer::Found(secret) if !self.is_expired(entry, Instant::now()) => Some(secret.clone()),
            _ => None,
        }
    }

    /// Whether a sweep is due (the last one is `SWEEP_INTERVAL` old), marking it done if so.
    /// When another call is deciding the same, this one skips.
    fn sweep_due(&self) -> bool {
        let Ok(mut last) = self.last_sweep.try_lock() else { return false };
        let now = Instant::now();
        let due = now.saturating_duration_since(*last) >= SWEEP_INTERVAL;
        if due {
            *last = now;
        }
        due
    }

    /// Drops every entry past its lifetime, so its value is wiped once no request holds it,
    /// and the pinned versions the cache no longer holds from the index. An entry replaced by
    /// a fresh load between the scan and its removal is dropped too: the next call loads it
    /// again.
    fn sweep(&self) {
        let now = Instant::now();
        self.cache.retain(|_, entry| !self.is_expired(entry, now));
        self.lock_pinned().retain(|_, pinned| {
            pinned.retain(|key| self.cache.contains_key(key));
            !pinned.is_empty()
        });
    }

    fn record_pinned(&self, latest: CacheKey, key: CacheKey) {
        let mut index = self.lock_pinned();
        let pinned = index.entry(latest).or_default();
        if !pinned.contains(&key) {
            pinned.push(key);
        }
    }

    fn lock_pinned(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Vec<CacheKey>>> {
        self.pinned.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The answer an entry holds.
fn answer(entry: &Entry, freshness: Freshness) -> Result<(Arc<Secret>, Freshness)> {
    match &entry.answer {
        Answer::Found(secret) => Ok((secret.clone(), freshness)),
        Answer::Missing(missing) => {
            let (message, context) = &**missing;
            Err(context.iter().fold(Error::not_found(message.clone()), |e, (k, v)| e.with_context(k, v)))
        }
    }
}

/// quick_cache's placeholder for a key being loaded.
type Guard<'a> =
    PlaceholderGuard<'a, CacheKey, Entry, EntryWeight, DefaultHashBuilder, DefaultLifecycle<CacheKey, Entry>>;

/// A load holding its key's placeholder. Dropped unfinished (its caller was cancelled), it
/// finishes with the entry it swapped out, while that may still be served stale: as if the
/// load had not started.
struct Reload<'a> {
    inner: &'a Inner,
    key: &'a CacheKey,
    guard: Option<Guard<'a>>,
    /// The entry the load replaced, if any.
    current: Option<Entry>,
    generation_of_key: &'a AtomicU64,
    /// The key's generation when the load began.
    generation: u64,
}

impl Reload<'_> {
    /// The entry the load replaced, while it may still be served stale, and that value.
    fn stale(&mut self) -> (Option<Entry>, Option<Arc<Secret>>) {
        let current = self.current.take();
        let stale = current.as_ref().and_then(|entry| self.inner.stale_value(entry));
        (current.filter(|_| stale.is_some()), stale)
    }

    /// Ends the load: `entry` goes into the cache unless an invalidation came since the load
    /// began or it has no lifetime. Without one the placeholder is dropped, and a waiting
    /// call loads itself.
    fn finish(&mut self, entry: Option<Entry>) {
        let Some(guard) = self.guard.take() else { return };
        let unchanged = || self.generation_of_key.load(Ordering::Acquire) == self.generation;
        if let Some(entry) = entry.filter(|entry| unchanged() && !self.inner.lifetime(entry).is_zero())
            && guard.insert(entry).is_ok()
            && !unchanged()
        {
            // An invalidation between the check above and the insert removed nothing: the
            // generation it bumped says so, and the entry goes now.
            self.inner.cache.remove(self.key);
        }
    }
}

impl Drop for Reload<'_> {
    fn drop(&mut self) {
        let (stale, _) = self.stale();
        self.finish(stale);
    }
}

#[derive(Clone)]
struct EntryWeight {
    /// The share of the byte bound one entry of the entry bound has: `max_bytes / max_entries`.
    floor: u64,
}

impl Weighter<CacheKey, Entry> for EntryWeight {
    fn weight(&self, key: &CacheKey, entry: &Entry) -> u64 {
        weight(entry.size(key), self.floor)
    }
}

/// An entry's weight in bytes: its size, or its share of the entry bound when that is larger
/// (see [`CacheSettings`]).
fn weight(size: u64, floor: u64) -> u64 {
    size.max(floor).max(1)
}

#[cfg(test)]
mod tests;
