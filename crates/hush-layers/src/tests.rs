//! Tests of each layer and of the stack's order, against the shared in-memory backend.
//! Time is tokio's paused clock, so backoff and timeouts run instantly and exactly.

use std::sync::Arc;
use std::time::Duration;

use hush_backend_behavior::{Fault, MemoryBackend};
use hush_core::{ErrorKind, ListFilter, Namespace, Scope, SecretBackend, SecretName, SharedBackend, Tags, TenantId};
use tokio::time::Instant;

use crate::{
    BackendCall, CallObserver, ConcurrencyLimitLayer, DefaultTagsLayer, Layer, LayerStack, ReadOnlyLayer, RetryLayer,
    TagFilterLayer, TimeoutLayer,
};

/// The shared in-memory backend: counts calls, follows a script of faults, measures how
/// many calls run at once.
fn memory() -> Arc<MemoryBackend> {
    Arc::new(MemoryBackend::new("mem"))
}

/// An in-memory backend whose every call first waits `delay`.
fn slow_memory(delay: Duration) -> Arc<MemoryBackend> {
    let memory = memory();
    memory.set_fault(Some(Fault::Delay(delay)));
    memory
}

fn store(memory: &MemoryBackend, name: &str, value: &str, tags: Tags) {
    memory.insert(&scope(), &secret_name(name), value, tags);
}

fn stored_tags(memory: &MemoryBackend, name: &str) -> Option<Tags> {
    memory.stored(&scope(), &secret_name(name)).map(|s| s.tags)
}

fn scope() -> Scope {
    Scope::new(TenantId::new("acme").unwrap(), Namespace::new("company.team").unwrap())
}

fn secret_name(name: &str) -> SecretName {
    SecretName::new(name).unwrap()
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().copied().collect()
}

fn shared(memory: &Arc<MemoryBackend>) -> SharedBackend {
    memory.clone()
}

fn retry(max_attempts: u32) -> RetryLayer {
    RetryLayer::new(max_attempts, Duration::from_millis(50), Duration::from_secs(1))
}

#[tokio::test(start_paused = true)]
async fn retry_retries_temporary_errors_until_success() {
    let memory = memory();
    store(&memory, "DB", "v", Tags::new());
    memory.script([Fault::Fail(ErrorKind::Unavailable), Fault::Fail(ErrorKind::RateLimited)]);
    let backend = retry(3).layer(shared(&memory));
    let started = Instant::now();
    let secret = backend.get(&scope(), &secret_name("DB"), None).await.unwrap();
    assert_eq!(secret.value.expose(), b"v");
    assert_eq!(memory.calls().gets, 3);
    assert!(started.elapsed() >= Duration::from_millis(100), "backoff waited {:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn retry_stops_at_max_attempts() {
    let memory = memory();
    memory.script((0..10).map(|_| Fault::Fail(ErrorKind::Unavailable)));
    let backend = retry(3).layer(shared(&memory));
    let err = backend.get(&scope(), &secret_name("DB"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(memory.calls().gets, 3);
}

#[tokio::test(start_paused = true)]
async fn retry_returns_permanent_errors_at_once() {
    let memory = memory();
    memory.script([Fault::Fail(ErrorKind::PermissionDenied)]);
    let backend = retry(5).layer(shared(&memory));
    let err = backend.get(&scope(), &secret_name("DB"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(memory.calls().gets, 1);
    let err = backend.get(&scope(), &secret_name("MISSING"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(memory.calls().gets, 2);
}

#[tokio::test(start_paused = true)]
async fn retry_retries_a_put_after_a_temporary_error_with_the_same_value() {
    let memory = memory();
    memory.script([Fault::Fail(ErrorKind::Unavailable)]);
    let backend = retry(3).layer(shared(&memory));
    backend.put(&scope(), &secret_name("DB"), "s3cret".into(), tags(&[("team", "a")])).await.unwrap();
    assert_eq!(memory.calls().puts, 2);
    let stored = memory.get(&scope(), &secret_name("DB"), None).await.unwrap();
    assert_eq!(stored.value.expose(), b"s3cret");
}

#[tokio::test(start_paused = true)]
async fn timeout_fails_a_slow_call_with_a_temporary_unavailable() {
    let memory = slow_memory(Duration::from_secs(30));
    let backend = TimeoutLayer::new(Duration::from_secs(5)).layer(shared(&memory));
    let started = Instant::now();
    let err = backend.get(&scope(), &secret_name("DB"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_temporary());
    assert_eq!(err.message(), "backend \"mem\" did not answer within 5s");
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert_eq!(memory.in_flight(), 0, "the timed-out call was dropped");
}

#[tokio::test(start_paused = true)]
async fn timeout_inside_retry_gives_each_attempt_its_own_bound() {
    let memory = memory();
    store(&memory, "DB", "v", Tags::new());
    memory.script([Fault::Delay(Duration::from_secs(60))]);
    let backend = LayerStack::new().retry(retry(3)).timeout(Duration::from_secs(1)).apply(shared(&memory));
    let started = Instant::now();
    let secret = backend.get(&scope(), &secret_name("DB"), None).await.unwrap();
    assert_eq!(secret.value.expose(), b"v");
    assert_eq!(memory.calls().gets, 2);
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn read_only_refuses_writes_without_calling_the_backend() {
    let memory = memory();
    store(&memory, "DB", "v", Tags::new());
    let backend = ReadOnlyLayer::new("tenant acme, namespace company.team").layer(shared(&memory));
    assert!(!backend.info().capabilities.write);
    assert!(backend.info().capabilities.read);

    let err = backend.put(&scope(), &secret_name("DB"), "x".into(), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReadOnly);
    assert_eq!(
        err.to_string(),
        "read-only: put of DB in acme/company.team refused: binding tenant acme, namespace company.team is \
         read-only (backend=mem)"
    );
    let err = backend.delete(&scope(), &secret_name("DB")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReadOnly);
    assert_eq!(memory.calls().puts, 0);
    assert_eq!(memory.calls().deletes, 0);
    assert_eq!(backend.get(&scope(), &secret_name("DB"), None).await.unwrap().value.expose(), b"v");
}

#[tokio::test]
async fn tag_filter_hides_secrets_outside_it_exactly_like_missing_ones() {
    let memory = memory();
    store(&memory, "PAY", "p", tags(&[("team", "payments"), ("env", "prod")]));
    store(&memory, "SEARCH", "s", tags(&[("team", "search")]));
    let backend = TagFilterLayer::new(tags(&[("team", "payments")])).layer(shared(&memory));

    assert_eq!(backend.get(&scope(), &secret_name("PAY"), None).await.unwrap().value.expose(), b"p");
    let hidden = backend.get(&scope(), &secret_name("SEARCH"), None).await.unwrap_err();
    let missing = backend.get(&scope(), &secret_name("NOPE"), None).await.unwrap_err();
    assert_eq!(hidden.kind(), ErrorKind::NotFound);
    assert_eq!(hidden.to_string(), "not found: secret SEARCH not found in acme/company.team");
    assert_eq!(hidden.to_string().replace("SEARCH", "NOPE"), missing.to_string());

    let listed = backend.list(&scope(), &ListFilter::default()).await.unwrap();
    assert_eq!(listed.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["PAY"]);
    let widened = ListFilter { tags: tags(&[("team", "search")]), recursive: false };
    assert!(backend.list(&scope(), &widened).await.unwrap().is_empty(), "a caller filter cannot widen the view");
    let narrowed = ListFilter { tags: tags(&[("env", "prod")]), recursive: false };
    assert_eq!(backend.list(&scope(), &narrowed).await.unwrap().len(), 1);
}

#[tokio::test]
async fn tag_filter_guards_writes() {
    let memory = memory();
    store(&memory, "SEARCH", "s", tags(&[("team", "search")]));
    let backend = TagFilterLayer::new(tags(&[("team", "payments")])).layer(shared(&memory));

    let err = backend.put(&scope(), &secret_name("NEW"), "x".into(), Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("team=payments"), "{err}");
    assert_eq!(memory.calls().puts, 0);

    backend.put(&scope(), &secret_name("NEW"), "x".into(), tags(&[("team", "payments")])).await.unwrap();
    assert_eq!(memory.calls().puts, 1);

    let err =
        backend.put(&scope(), &secret_name("SEARCH"), "x".into(), tags(&[("team", "payments")])).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(!err.is_temporary());
    assert_eq!(stored_tags(&memory, "SEARCH"), Some(tags(&[("team", "search")])), "the hidden secret is untouched");

    let err = backend.delete(&scope(), &secret_name("SEARCH")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(memory.calls().deletes, 0);
    backend.delete(&scope(), &secret_name("NEW")).await.unwrap();
    assert_eq!(stored_tags(&memory, "NEW"), None);
}

#[tokio::test]
async fn default_tags_are_added_without_overriding_the_writer() {
    let memory = memory();
    let backend = DefaultTagsLayer::new(tags(&[("team", "platform"), ("managed-by", "hush")])).layer(shared(&memory));
    backend.put(&scope(), &secret_name("DB"), "x".into(), tags(&[("team", "payments")])).await.unwrap();
    assert_eq!(stored_tags(&memory, "DB"), Some(tags(&[("team", "payments"), ("managed-by", "hush")])));
}

async fn max_concurrent_gets(backend: SharedBackend, memory: &MemoryBackend, calls: usize) -> usize {
    store(memory, "DB", "v", Tags::new());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..calls {
        let backend = backend.clone();
        tasks.spawn(async move { backend.get(&scope(), &secret_name("DB"), None).await.map(|_| ()) });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    memory.max_in_flight()
}

#[tokio::test(start_paused = true)]
async fn concurrency_limit_bounds_calls_in_flight() {
    let unlimited = slow_memory(Duration::from_millis(100));
    assert_eq!(max_concurrent_gets(shared(&unlimited), &unlimited, 20).await, 20, "the measure works");

    let memory = slow_memory(Duration::from_millis(100));
    let backend = ConcurrencyLimitLayer::new(3).layer(shared(&memory));
    let started = Instant::now();
    assert_eq!(max_concurrent_gets(backend, &memory, 20).await, 3);
    assert_eq!(memory.calls().gets, 20);
    assert!(started.elapsed() >= Duration::from_millis(700), "{:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn the_stack_applies_layers_in_the_documented_order() {
    let memory = memory();
    let stack = LayerStack::new()
        .timeout(Duration::from_secs(1))
        .retry(retry(3))
        .concurrency_limit(4)
        .default_tags(tags(&[("managed-by", "hush")]))
        .tag_filter(tags(&[("team", "payments")]));

    // Tag filter above default tags: the writer's tags must carry the filter, and the
    // defaults are added below it.
    let writable = stack.clone().apply(shared(&memory));
    writable.put(&scope(), &secret_name("DB"), "x".into(), tags(&[("team", "payments")])).await.unwrap();
    assert_eq!(stored_tags(&memory, "DB"), Some(tags(&[("team", "payments"), ("managed-by", "hush")])));

    // Read-only above everything: the refusal never reaches the backend.
    let read_only = stack.read_only("tenant acme").apply(shared(&memory));
    let err = read_only.put(&scope(), &secret_name("DB"), "y".into(), tags(&[("team", "payments")])).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReadOnly);
    assert_eq!(memory.calls().puts, 1);
    assert!(!read_only.info().capabilities.write);

    // Retry above timeout: a hung first attempt is cut and retried.
    memory.script([Fault::Delay(Duration::from_secs(60))]);
    assert_eq!(read_only.get(&scope(), &secret_name("DB"), None).await.unwrap().value.expose(), b"x");
    // One get for the tag filter's check before the put, two attempts for the read.
    assert_eq!(memory.calls().gets, 3);
}

/// One report of the call observer: backend, binding, operation, duration, outcome.
type Report = (String, String, &'static str, Duration, Result<(), ErrorKind>);

/// Records what the call observer reports.
#[derive(Debug, Default)]
struct Reports(std::sync::Mutex<Vec<Report>>);

impl CallObserver for Reports {
    fn observe(&self, call: &BackendCall<'_>) {
        self.0.lock().unwrap().push((
            call.backend.to_owned(),
            call.binding.to_owned(),
            call.operation,
            call.elapsed,
            call.outcome,
        ));
    }
}

#[tokio::test(start_paused = true)]
async fn the_call_observer_reports_each_call_once_as_the_caller_waited() {
    let memory = memory();
    let reports = Arc::new(Reports::default());
    let backend = LayerStack::new()
        .timeout(Duration::from_secs(1))
        .retry(retry(3))
        .observe(reports.clone(), "acme")
        .read_only("tenant acme")
        .apply(shared(&memory));
    store(&memory, "DB", "x", Tags::new());

    // A hung first attempt, cut by the timeout and retried: one report, of the whole wait.
    memory.script([Fault::Delay(Duration::from_secs(60))]);
    backend.get(&scope(), &secret_name("DB"), None).await.unwrap();
    assert_eq!(backend.get(&scope(), &secret_name("NOPE"), None).await.unwrap_err().kind(), ErrorKind::NotFound);
    // Refused by the binding above: the backend is not called, nothing is reported.
    assert_eq!(backend.delete(&scope(), &secret_name("DB")).await.unwrap_err().kind(), ErrorKind::ReadOnly);

    let reports = reports.0.lock().unwrap();
    assert_eq!(reports.len(), 2, "{reports:?}");
    let (name, binding, operation, elapsed, outcome) = &reports[0];
    assert_eq!(
        (name.as_str(), binding.as_str(), *operation, *outcome),
        (memory.info().name.as_str(), "acme", "get", Ok(()))
    );
    assert!(*elapsed >= Duration::from_secs(1), "the timed-out attempt and its retry: {elapsed:?}");
    assert_eq!((reports[1].2, reports[1].4), ("get", Err(ErrorKind::NotFound)));
}
