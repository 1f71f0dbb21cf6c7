//! What a cached entry really costs in memory, against what the cache counts it as.
//!
//! Its own test binary: dhat's allocator counts every allocation in the process, so no other
//! test may run beside this one.

use std::time::Duration;

use hush_cache::{CacheKey, CacheSettings, SecretCache};
use hush_core::{Namespace, Secret, SecretName, Tags, TenantId};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// Bytes held now: each block's size and, on average, the 8 bytes an allocator rounds a small
/// block up by (mimalloc's and glibc's size classes are 16 bytes apart at these sizes).
fn held() -> i64 {
    let stats = dhat::HeapStats::get();
    (stats.curr_bytes + 8 * stats.curr_blocks) as i64
}

#[tokio::test(flavor = "current_thread")]
async fn an_entry_costs_no_more_than_the_cache_counts_it() {
    let _profiler = dhat::Profiler::builder().testing().build();
    const ENTRIES: usize = 20_000;
    let cache = SecretCache::new(CacheSettings {
        max_entries: 1_000_000,
        ttl: Duration::from_secs(600),
        ..CacheSettings::default()
    });
    let tenant = TenantId::new("acme").unwrap();
    let namespace = Namespace::new("company.team.payments").unwrap();
    // What the resolver has from the request before it asks the cache.
    let names: Vec<SecretName> = (0..ENTRIES).map(|i| SecretName::new(format!("SECRET_{i:06}")).unwrap()).collect();
    let value = |i: usize| Secret { value: format!("{i:0100}").as_str().into(), version: None, tags: Tags::new() };
    let key = |name: &SecretName| CacheKey::new(&tenant, &namespace, name, None);
    let counted: u64 = names.iter().enumerate().map(|(i, name)| hush_cache::entry_size(&key(name), &value(i))).sum();
    // A first entry builds what the cache builds lazily; then its pending work is settled.
    let warm = SecretName::new("WARM").unwrap();
    cache.get_or_load(key(&warm), || async { Ok(value(0)) }).await.unwrap();
    cache.run_pending_tasks();

    let before = held();
    for (i, name) in names.iter().enumerate() {
        cache.get_or_load(key(name), || async move { Ok(value(i)) }).await.unwrap();
    }
    cache.run_pending_tasks();
    let held = (held() - before) as f64 / ENTRIES as f64;
    let counted = counted as f64 / ENTRIES as f64;
    eprintln!("an entry holds {held:.0} bytes; the cache counts it as {counted:.0}");
    assert_eq!(cache.stats().entries, ENTRIES as u64 + 1);
    assert!(held <= counted, "an entry holds {held:.0} bytes, more than the {counted:.0} it is counted as");
    assert!(counted <= held * 1.25, "an entry is counted as {counted:.0} bytes, far more than the {held:.0} it holds");
}
