//! Tests of the cache's contract. The cache reads tokio's clock, so time tests run on the
//! paused clock (`start_paused`) and move it with `tokio::time::advance`: exact, and instant.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::advance;

use hush_core::{Error, ErrorKind, Namespace, Secret, SecretName, Tags, TenantId, VersionId};

use super::{CacheKey, CacheSettings, Freshness, SecretCache, weight};

fn tenant() -> TenantId {
    TenantId::new("acme").unwrap()
}

fn namespace() -> Namespace {
    Namespace::new("company.team").unwrap()
}

fn key(name: &str, version: Option<&str>) -> CacheKey {
    let version = version.map(|v| VersionId::new(v).unwrap());
    CacheKey::new(&tenant(), &namespace(), &SecretName::new(name).unwrap(), version.as_ref())
}

/// Invalidates secret `name` in acme's `company.team`.
fn invalidate(cache: &SecretCache, name: &str) {
    cache.invalidate(&tenant(), &namespace(), &SecretName::new(name).unwrap());
}

fn secret(value: &str) -> Secret {
    Secret { value: value.into(), version: None, tags: Tags::new() }
}

fn settings() -> CacheSettings {
    CacheSettings { ttl: Duration::from_secs(60), negative_ttl: Duration::from_secs(60), ..CacheSettings::default() }
}

/// Loads through `cache`, counting loads in `loads` and answering `answer()`.
async fn load_with(
    cache: &SecretCache,
    key: CacheKey,
    loads: &AtomicU32,
    answer: impl FnOnce() -> hush_core::Result<Secret> + Send,
) -> hush_core::Result<(Arc<Secret>, Freshness)> {
    cache
        .get_or_load(key, || async move {
            loads.fetch_add(1, Ordering::SeqCst);
            answer()
        })
        .await
}

#[tokio::test]
async fn a_loaded_value_is_served_from_cache() {
    let cache = SecretCache::new(settings());
    let loads = AtomicU32::new(0);
    let (value, freshness) = load_with(&cache, key("DB", None), &loads, || Ok(secret("v1"))).await.unwrap();
    assert_eq!((value.value.expose(), freshness), (&b"v1"[..], Freshness::Fresh));
    let (value, freshness) = load_with(&cache, key("DB", None), &loads, || Ok(secret("v2"))).await.unwrap();
    assert_eq!((value.value.expose(), freshness), (&b"v1"[..], Freshness::Cached));
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.loads), (1, 1, 1));
}

/// Whether the cache still holds an entry for `key` (fresh or not).
fn holds(cache: &SecretCache, key: &CacheKey) -> bool {
    cache.inner.cache.contains_key(key)
}

#[tokio::test(start_paused = true)]
async fn values_expire_after_ttl() {
    let cache = SecretCache::new(settings());
    let loads = AtomicU32::new(0);
    load_with(&cache, key("DB", None), &loads, || Ok(secret("v1"))).await.unwrap();
    advance(Duration::from_secs(60) - Duration::from_millis(1)).await;
    let (value, freshness) = load_with(&cache, key("DB", None), &loads, || Ok(secret("v2"))).await.unwrap();
    assert_eq!((value.value.expose(), freshness), (&b"v1"[..], Freshness::Cached), "1 ms before the ttl");
    advance(Duration::from_millis(1)).await;
    let (value, freshness) = load_with(&cache, key("DB", None), &loads, || Ok(secret("v2"))).await.unwrap();
    assert_eq!((value.value.expose(), freshness), (&b"v2"[..], Freshness::Fresh), "at the ttl");
    assert_eq!(loads.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn nothing_expires_what_the_clock_calls_fresh() {
    let cache = SecretCache::new(CacheSettings { ttl: Duration::from_millis(1), ..settings() });
    let loads = AtomicU32::new(0);
    load_with(&cache, key("DB", None), &loads, || Ok(secret("v1"))).await.unwrap();
    // Real time passes, tokio's paused clock does not: for the cache no time has passed.
    std::thread::sleep(Duration::from_millis(20));
    cache.run_pending_tasks();
    let (value, freshness) = load_with(&cache, key("DB", None), &loads, || Ok(secret("v2"))).await.unwrap();
    assert_eq!((value.value.expose(), freshness), (&b"v1"[..], Freshness::Cached));
    assert_eq!(loads.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn not_found_is_cached_for_negative_ttl_then_expires() {
    let cache = SecretCache::new(CacheSettings { negative_ttl: Duration::from_secs(5), ..settings() });
    let loads = AtomicU32::new(0);
    let missing = || Err(Error::not_found("secret DB not found in acme/company.team").with_context("backend", "local"));
    let first = load_with(&cache, key("DB", None), &loads, missing).await.unwrap_err();
    let second = load_with(&cache, key("DB", None), &loads, missing).await.unwrap_err();
    assert_eq!(first.kind(), ErrorKind::NotFound);
    assert_eq!(second.kind(), ErrorKind::NotFound);
    assert_eq!(first.to_string(), second.to_string());
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    assert_eq!(cache.stats().negative_hits, 1);

    advance(Duration::from_secs(5) - Duration::from_millis(1)).await;
    let third = load_with(&cache, key("DB", None), &loads, missing).await.unwrap_err();
    assert_eq!(third.to_string(), first.to_string());
    assert_eq!((loads.load(Ordering::SeqCst), cache.stats().negative_hits), (1, 2), "1 ms before negative_ttl");
    advance(Duration::from_millis(1)).await;
    let (value, _) = load_with(&cache, key("DB", None), &loads, || Ok(secret("now here"))).await.unwrap();
    assert_eq!(value.value.expose(), b"now here");
    assert_eq!(loads.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn zero_negative_ttl_caches_no_not_found() {
    let cache = SecretCache::new(CacheSettings { negative_ttl: Duration::ZERO, ..settings() });
    let loads = AtomicU32::new(0);
    for _ in 0..2 {
        let err = load_with(&cache, key("DB", None), &loads, || Err(Error::not_found("x"))).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
    assert_eq!(loads.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn concurrent_misses_for_one_key_make_one_load() {
    let cache = SecretCache::new(settings());
    let loads = Arc::new(AtomicU32::new(0));
    // The load waits for this gate, so every call arrives while it runs.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (cache, loads, gate) = (cache.clone(), loads.clone(), gate.clone());
        tasks.spawn(async move {
            cache
                .get_or_load(key("DB", None), || async move {
                    loads.fetch_add(1, Ordering::SeqCst);
                    gate.acquire().await.expect("the gate stays open").forget();
                    Ok(secret("v"))
                })
                .await
        });
    }
    // One thread: each yield lets every spawned call run until it waits.
    for _ in 0..1000 {
        if cache.stats().misses == 100 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(cache.stats().misses, 100, "every call missed: they all overlap the one load");
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    gate.add_permits(100);
    let mut fresh = 0;
    while let Some(done) = tasks.join_next().await {
        let (value, freshness) = done.unwrap().unwrap();
        assert_eq!(value.value.expose(), b"v");
        fresh += usize::from(freshness == Freshness::Fresh);
    }
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    assert_eq!(fresh, 1);
    let stats = cache.stats();
    assert_eq!((stats.loads, stats.hits, stats.misses, stats.joined_loads), (1, 0, 100, 99));
}

#[tokio::test]
async fn invalidate_drops_every_version_of_one_secret_only() {
    let cache = SecretCache::new(settings());
    let loads = AtomicU32::new(0);
    for k in [key("DB", None), key("DB", Some("1")), key("DB", Some("2")), key("OTHER", None)] {
        load_with(&cache, k, &loads, || Ok(secret("old"))).await.unwrap();
    }
    assert_eq!(loads.load(Ordering::SeqCst), 4);
    invalidate(&cache, "DB");
    for k in [key("DB", None), key("DB", Some("1")), key("DB", Some("2"))] {
        let (_, freshness) = load_with(&cache, k, &loads, || Ok(secret("new"))).await.unwrap();
        assert_eq!(freshness, Freshness::Fresh);
    }
    let (_, freshness) = load_with(&cache, key("OTHER", None), &loads, || Ok(secret("new"))).await.unwrap();
    assert_eq!(freshness, Freshness::Cached);
    assert_eq!(loads.load(Ordering::SeqCst), 7);

    cache.invalidate_all();
    let (_, freshness) = load_with(&cache, key("OTHER", None), &loads, || Ok(secret("new"))).await.unwrap();
    assert_eq!(freshness, Freshness::Fresh);
}

/// The keys of pinned versions the index names for secret `name`.
fn indexed_versions(cache: &SecretCache, name: &str) -> Vec<CacheKey> {
    cache.inner.lock_pinned().get(&key(name, None)).cloned().unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn the_index_of_pinned_versions_follows_the_cache() {
    let cache = SecretCache::new(settings());
    let loads = AtomicU32::new(0);
    for k in [key("DB", Some("1")), key("DB", Some("2")), key("DB", Some("1")), key("DB", None)] {
        load_with(&cache, k, &loads, || Ok(secret("v"))).await.unwrap();
    }
    assert_eq!(
        indexed_versions(&cache, "DB"),
        [key("DB", Some("1")), key("DB", Some("2"))],
        "each pinned version once, the latest not at all"
    );
    invalidate(&cache, "DB");
    assert!(indexed_versions(&cache, "DB").is_empty());

    // A version the cache let go of (here: past its lifetime) leaves the index at the next sweep.
    load_with(&cache, key("DB", Some("3")), &loads, || Ok(secret("v"))).await.unwrap();
    advance(Duration::from_secs(61)).await;
    cache.run_pending_tasks();
    assert!(!holds(&cache, &key("DB", Some("3"))));
    assert!(indexed_versions(&cache, "DB").is_empty());
}

#[tokio::test]
async fn a_load_overlapping_an_invalidation_is_answered_but_not_kept() {
    let cache = SecretCache::new(settings());
    let loads = Arc::new(AtomicU32::new(0));
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
    let slow = {
        let (cache, loads) = (cache.clone(), loads.clone());
        tokio::spawn(async move {
            cache
                .get_or_load(key("DB", None), || async move {
                    loads.fetch_add(1, Ordering::SeqCst);
                    let _ = started_tx.send(());
                    let _ = finish_rx.await;
                    Ok(secret("read before the write"))
                })
                .await
        })
    };
    started_rx.await.unwrap();
    invalidate(&cache, "DB");
    finish_tx.send(()).unwrap();
    let (value, _) = slow.await.unwrap().unwrap();
    assert_eq!(value.value.expose(), b"read before the write");

    let (value, freshness) = load_with(&cache, key("DB", None), &loads, || Ok(secret("after"))).await.unwrap();
    assert_eq!((value.value.expose(), freshness), (&b"after"[..], Freshness::Fresh));
}

#[tokio::test]
async fn a_load_overlapping_an_invalidation_of_another_secret_is_kept() {
    let cache = SecretCache::new(settings());
    // A secret whose generation stripe is not DB's (stripes are picked by a random hash).
    let same_stripe =
        |name: &str| std::ptr::eq(cache.inner.generation(&key(name, None)), cache.inner.generation(&key("DB", None)));
    let other = (0..).map(|i| format!("OTHER_{i}")).find(|name| !same_stripe(name)).unwrap();
    let loads = AtomicU32::new(0);
    let (value, _) = cache
        .get_or_load(key("DB", None), || async {
            loads.fetch_add(1, Ordering::SeqCst);
            invalidate(&cache, &other);
            Ok(secret("v"))
        })
        .await
        .unwrap();
    assert_eq!(value.value.expose(), b"v");
    let (_, freshness) = load_with(&cache, key("DB", None), &loads, || Ok(secret("v2"))).await.unwrap();
    assert_eq!((freshness, loads.load(Ordering::SeqCst)), (Freshness::Cached, 1));
}

#[tokio::test]
async fn errors_are_not_cached() {
    let cache = SecretCache::new(settings());
    let loads = AtomicU32::new(0);
    let err = load_with(&cache, key("DB", None), &loads, || Err(Error::unavailable("down"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let err = load_with(&cache, key("DB", None), &loads, || Err(Error::new(ErrorKind::PermissionDenied, "no")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let (value, _) = load_with(&cache, key("DB", None), &loads, || Ok(secret("v"))).await.unwrap();
    assert_eq!(value.value.expose(), b"v");
    assert_eq!(loads.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn stale_values_are_served_on_temporary_errors_only() {
    let cache = SecretCache::new(CacheSettings { stale_if_error: Duration::from_secs(30), ..settings() });
    let loads = AtomicU32::new(0);
    load_with(&cache, key("DB", None), &loads, || Ok(secret("old"))).await.unwrap();
    advance(Duration::from_secs(60)).await;

    let (value, freshness) =
        load_with(&cache, key("DB", None), &loads, || Err(Error::unavailable("down"))).await.unwrap();
    assert_eq!((value.value.expose(), freshness), (&b"old"[..], Freshness::Stale));
    assert_eq!(cache.stats().stale_served, 1);

    let err = load_with(&cache, key("DB", None), &loads, || Err(Error::new(ErrorKind::PermissionDenied, "no")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "a permanent error is not hidden by a stale value");

    let err = load_with(&cache, key("DB", None), &loads, || Err(Error::not_found("deleted"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = load_with(&cache, key("DB", None), &loads, || Err(Error::unavailable("down"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "a deleted secret is not served stale");
    assert_eq!(loads.load(Ordering::SeqCst), 4);
    assert_eq!(cache.stats().stale_served, 1);
}

#[tokio::test(start_paused = true)]
async fn a_reload_cancelled_midway_leaves_the_stale_value_servable() {
    let cache = SecretCache::new(CacheSettings { stale_if_error: Duration::from_secs(30), ..settings() });
    let loads = AtomicU32::new(0);
    load_with(&cache, key("DB", None), &loads, || Ok(secret("old"))).await.unwrap();
    advance(Duration::from_secs(61)).await;
    // A reload whose caller gives up (a request timeout) before the backend answers.
    let hung = cache.get_or_load(key("DB", None), std::future::pending);
    assert!(tokio::time::timeout(Duration::from_secs(1), hung).await.is_err());
    let (value, freshness) =
        load_with(&cache, key("DB", None), &loads, || Err(Error::unavailable("down"))).await.unwrap();
    assert_eq!((value.value.expose(), freshness), (&b"old"[..], Freshness::Stale));
}

#[tokio::test(start_paused = true)]
async fn stale_values_are_served_inside_the_window_only() {
    let cache = SecretCache::new(CacheSettings { stale_if_error: Duration::from_secs(30), ..settings() });
    let loads = AtomicU32::new(0);
    let down = || Err(Error::unavailable("down"));
    load_with(&cache, key("DB", None), &loads, || Ok(secret("old"))).await.unwrap();
    advance(Duration::from_secs(90) - Duration::from_millis(1)).await;
    let (value, freshness) = load_with(&cache, key("DB", None), &loads, down).await.unwrap();
    assert_eq!((value.value.expose(), freshness), (&b"old"[..], Freshness::Stale), "1 ms before the window ends");
    advance(Duration::from_millis(1)).await;
    let err = load_with(&cache, key("DB", None), &loads, down).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "the window has ended");
    assert_eq!((loads.load(Ordering::SeqCst), cache.stats().stale_served), (3, 1));

    // A successful reload opens a new window from its own load time.
    load_with(&cache, key("DB", None), &loads, || Ok(secret("new"))).await.unwrap();
    advance(Duration::from_secs(75)).await;
    let (value, freshness) = load_with(&cache, key("DB", None), &loads, down).await.unwrap();
    assert_eq!((value.value.expose(), freshness), (&b"new"[..], Freshness::Stale));
}

#[tokio::test(start_paused = true)]
async fn without_stale_if_error_an_expired_value_is_not_served() {
    let cache = SecretCache::new(settings());
    let loads = AtomicU32::new(0);
    load_with(&cache, key("DB", None), &loads, || Ok(secret("old"))).await.unwrap();
    advance(Duration::from_secs(60)).await;
    let err = load_with(&cache, key("DB", None), &loads, || Err(Error::unavailable("down"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

/// How many holders `value` has once the cache's pending work ran.
fn released(cache: &SecretCache, value: &Arc<Secret>) -> usize {
    cache.run_pending_tasks();
    Arc::strong_count(value)
}

#[tokio::test(start_paused = true)]
async fn entries_past_their_lifetime_are_swept_and_their_values_released() {
    let cache = SecretCache::new(CacheSettings { stale_if_error: Duration::from_secs(30), ..settings() });
    let loads = AtomicU32::new(0);
    let (old, _) = load_with(&cache, key("OLD", None), &loads, || Ok(secret("v"))).await.unwrap();
    load_with(&cache, key("GONE", None), &loads, || Err(Error::not_found("x"))).await.unwrap_err();
    advance(Duration::from_secs(80)).await;
    load_with(&cache, key("RECENT", None), &loads, || Ok(secret("v"))).await.unwrap();

    // At 80 s the negative entry (60 s) is past its lifetime; the value (60 s + 30 s) is not.
    // The miss on RECENT swept.
    assert!(!holds(&cache, &key("GONE", None)));
    assert!(holds(&cache, &key("OLD", None)), "still inside its stale window");

    advance(Duration::from_secs(10)).await;
    cache.run_pending_tasks();
    assert!(!holds(&cache, &key("OLD", None)));
    assert_eq!(released(&cache, &old), 1, "only this caller holds it: dropping it wipes the bytes");
    assert!(holds(&cache, &key("RECENT", None)));
    assert_eq!(cache.stats().entries, 1);
}

#[tokio::test(start_paused = true)]
async fn a_miss_sweeps_at_most_once_a_second() {
    let cache = SecretCache::new(CacheSettings { ttl: Duration::from_millis(100), ..settings() });
    let loads = AtomicU32::new(0);
    advance(Duration::from_secs(1)).await;
    load_with(&cache, key("FIRST", None), &loads, || Ok(secret("v"))).await.unwrap();
    advance(Duration::from_millis(500)).await;
    load_with(&cache, key("SECOND", None), &loads, || Ok(secret("v"))).await.unwrap();
    assert!(holds(&cache, &key("FIRST", None)), "the first miss swept 0.5 s ago: no sweep yet");
    advance(Duration::from_millis(500)).await;
    load_with(&cache, key("THIRD", None), &loads, || Ok(secret("v"))).await.unwrap();
    assert!(!holds(&cache, &key("FIRST", None)) && !holds(&cache, &key("SECOND", None)));
    assert!(holds(&cache, &key("THIRD", None)));
}

#[tokio::test(start_paused = true)]
async fn an_answer_with_no_lifetime_is_not_kept() {
    let cache = SecretCache::new(CacheSettings { ttl: Duration::ZERO, ..settings() });
    let loads = AtomicU32::new(0);
    for _ in 0..2 {
        let (_, freshness) = load_with(&cache, key("DB", None), &loads, || Ok(secret("v"))).await.unwrap();
        assert_eq!(freshness, Freshness::Fresh);
    }
    assert!(!holds(&cache, &key("DB", None)));
    assert_eq!(loads.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_disabled_cache_always_loads() {
    let cache = SecretCache::new(CacheSettings { enabled: false, ..settings() });
    let loads = AtomicU32::new(0);
    for _ in 0..3 {
        let (_, freshness) = load_with(&cache, key("DB", None), &loads, || Ok(secret("v"))).await.unwrap();
        assert_eq!(freshness, Freshness::Fresh);
    }
    assert_eq!(loads.load(Ordering::SeqCst), 3);
    assert_eq!(cache.stats().entries, 0);
}

#[tokio::test]
async fn entries_are_bounded_by_bytes_and_by_count() {
    let by_bytes = SecretCache::new(CacheSettings { max_entries: 1000, max_bytes: 10_000, ..settings() });
    let by_count = SecretCache::new(CacheSettings { max_entries: 5, max_bytes: 1 << 30, ..settings() });
    let loads = AtomicU32::new(0);
    let big = "x".repeat(300);
    for i in 0..20 {
        let name = format!("S{i}");
        load_with(&by_bytes, key(&name, None), &loads, || Ok(secret(&big))).await.unwrap();
        load_with(&by_count, key(&name, None), &loads, || Ok(secret("small"))).await.unwrap();
    }
    by_bytes.run_pending_tasks();
    by_count.run_pending_tasks();
    let held_bytes = by_bytes.stats().entries;
    // Each entry counts 300 bytes of value, its key and ENTRY_OVERHEAD: at most 12 fit.
    let fit = 10_000 / (300 + super::ENTRY_OVERHEAD);
    assert!((1..=fit).contains(&held_bytes), "300-byte values in 10 000 bytes: {held_bytes} held");
    let held_count = by_count.stats().entries;
    assert!((1..=5).contains(&held_count), "{held_count} held");
}

#[test]
fn keys_are_one_string_and_know_their_latest_version() {
    assert_eq!(format!("{:?}", key("DB", None)), "CacheKey(acme/company.team/DB)");
    assert_eq!(format!("{:?}", key("DB", Some("1.2"))), "CacheKey(acme/company.team/DB/1.2)");
    assert_eq!(key("DB", Some("1.2")).latest(), Some(key("DB", None)));
    assert_eq!(key("DB", None).latest(), None);
}

#[test]
fn weight_is_the_larger_share() {
    // 64 MiB for 10 000 entries: an entry weighs at least 6 711 bytes.
    let floor = (64u64 << 20).div_ceil(10_000);
    assert_eq!(weight(100, floor), 6_711);
    assert_eq!(weight(1 << 20, floor), 1 << 20);
    assert_eq!(weight(0, 0), 1);
}

#[tokio::test]
async fn invalidation_drops_the_cache_hold_on_a_value() {
    let cache = SecretCache::new(settings());
    let loads = AtomicU32::new(0);
    let (value, _) = load_with(&cache, key("DB", None), &loads, || Ok(secret("v"))).await.unwrap();
    assert!(Arc::strong_count(&value) >= 2, "the cache holds it");
    invalidate(&cache, "DB");
    cache.run_pending_tasks();
    assert_eq!(released(&cache, &value), 1, "only this caller holds it: dropping it wipes the bytes");
}

#[tokio::test]
async fn a_key_text_finds_exactly_the_entry_of_the_same_ids() {
    let cache = SecretCache::new(settings());
    let loads = AtomicU32::new(0);
    load_with(&cache, key("DB", None), &loads, || Ok(secret("latest"))).await.unwrap();
    load_with(&cache, key("DB", Some("3")), &loads, || Ok(secret("pinned"))).await.unwrap();
    let (tenant, namespace, name) = (tenant(), namespace(), SecretName::new("DB").unwrap());
    let mut buf = String::new();
    let mut found = |namespace: &Namespace, name: &SecretName, version: Option<&str>| {
        let version = version.map(|v| VersionId::new(v).unwrap());
        let text = CacheKey::text(&mut buf, &tenant, namespace, name, version.as_ref());
        cache.get_fresh_at(text, tokio::time::Instant::now()).map(|r| r.unwrap().value.expose().to_vec())
    };
    assert_eq!(found(&namespace, &name, None), Some(b"latest".to_vec()));
    assert_eq!(found(&namespace, &name, Some("3")), Some(b"pinned".to_vec()));
    // Any other id, or a version the cache does not hold, finds nothing; nor does the buffer
    // keep anything of the key written before.
    assert_eq!(found(&namespace, &SecretName::new("DB2").unwrap(), None), None);
    assert_eq!(found(&Namespace::new("company").unwrap(), &name, None), None);
    assert_eq!(found(&namespace, &name, Some("4")), None);
    assert_eq!(found(&namespace, &name, None), Some(b"latest".to_vec()));
}
