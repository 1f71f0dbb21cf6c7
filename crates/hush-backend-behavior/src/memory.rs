//! [`MemoryBackend`]: a backend in process memory that keeps the whole `SecretBackend`
//! contract, for tests of what sits above a backend (the suite's self-check, layers, the
//! resolver, benches).
//!
//! Besides the contract it has test knobs: it counts its calls ([`MemoryBackend::calls`]),
//! measures how many run at once ([`MemoryBackend::max_in_flight`]), and fails, hangs or
//! slows down on demand ([`Fault`]), either on every call ([`MemoryBackend::set_fault`]) or on
//! the next few ([`MemoryBackend::script`]). Delays follow tokio's clock, so under
//! `#[tokio::test(start_paused = true)]` they cost no real time.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use hush_core::{
    BackendInfo, Capabilities, Error, ErrorKind, ListFilter, Namespace, Result, Scope, Secret, SecretBackend,
    SecretMeta, SecretName, SecretValue, Tags, TenantId, VersionId,
};

/// Where one secret lives. The derived order (tenant, then namespace, then name, each as text)
/// is the order `list` answers in.
type Key = (TenantId, Namespace, SecretName);

/// What a call does before its normal work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers an error of this kind (temporary when the kind usually is, as
    /// [`Error::new`] decides), without touching the stored secrets.
    Fail(ErrorKind),
    /// Never answers: the call waits until its future is dropped (by a timeout layer, the
    /// resolver's request timeout, or the test).
    Hang,
    /// Waits this long on tokio's clock, then does its work.
    Delay(Duration),
}

/// How many calls of each operation a [`MemoryBackend`] received, failed ones included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    /// `get` calls.
    pub gets: u64,
    /// `list` calls.
    pub lists: u64,
    /// `put` calls.
    pub puts: u64,
    /// `delete` calls.
    pub deletes: u64,
    /// `check` calls.
    pub checks: u64,
}

#[derive(Default)]
struct Counters {
    gets: AtomicU64,
    lists: AtomicU64,
    puts: AtomicU64,
    deletes: AtomicU64,
    checks: AtomicU64,
}

#[derive(Default)]
struct Faults {
    /// Taken one per call, before `standing`.
    scripted: VecDeque<Fault>,
    /// Applies to every call that finds `scripted` empty.
    standing: Option<Fault>,
}

/// An in-memory [`SecretBackend`] with every capability (or all but writes), plus test knobs.
///
/// # Behavior
/// - Versions are numbered per secret from `1`; `put` returns the new one, `get` reads the
///   latest or a pinned one. `delete` removes every version, so a secret written again starts
///   at `1`.
/// - A missing secret or version is `NotFound` ([`Error::secret_not_found`]); deleting a
///   missing secret is `NotFound`.
/// - `list` filters by tags (of the latest version) and recursion by namespace segments, and
///   answers sorted by namespace, then name. `updated_at` is `None`.
/// - Built [`read_only`](Self::read_only), `put` and `delete` are `Unsupported`; fill it with
///   [`insert`](Self::insert).
/// - Every call is counted, then meets its [`Fault`], if any, then does its work.
///
/// Share it as `Arc<MemoryBackend>`: the same `Arc` coerces to a
/// [`SharedBackend`](hush_core::SharedBackend) and keeps the knobs at hand.
pub struct MemoryBackend {
    info: BackendInfo,
    secrets: Mutex<BTreeMap<Key, Vec<Secret>>>,
    counters: Counters,
    faults: Mutex<Faults>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("name", &self.info.name)
            .field("capabilities", &self.info.capabilities)
            .field("secrets", &lock(&self.secrets).len())
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}

/// Counts a call in flight while it lives.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Locks `mutex`, going on after a panic elsewhere (a test's planted panic must not
/// poison the fixture).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn key(scope: &Scope, name: &SecretName) -> Key {
    (scope.tenant.clone(), scope.namespace.clone(), name.clone())
}

/// The version id of the `index`-th version (0-based).
fn version_id(index: usize) -> VersionId {
    VersionId::new((index + 1).to_string()).expect("a decimal number is a valid version id")
}

impl MemoryBackend {
    /// The kind it reports in [`BackendInfo`].
    pub const KIND: &'static str = "memory";

    /// An empty backend named `name`, with every capability.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            info: BackendInfo { kind: Self::KIND, name: name.into(), capabilities: Capabilities::full() },
            secrets: Mutex::default(),
            counters: Counters::default(),
            faults: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        }
    }

    /// The same backend without writes: `put` and `delete` answer `Unsupported`. Reads, lists,
    /// tags and versions stay; [`insert`](Self::insert) still fills it.
    pub fn read_only(mut self) -> Self {
        self.info.capabilities = self.info.capabilities.with_write(false);
        self
    }

    /// Stores a new version directly, as someone writing to the backend behind hush's back:
    /// not counted, no fault, whatever the capabilities. Returns the new version.
    pub fn insert(&self, scope: &Scope, name: &SecretName, value: impl Into<SecretValue>, tags: Tags) -> VersionId {
        let mut secrets = lock(&self.secrets);
        let versions = secrets.entry(key(scope, name)).or_default();
        let version = version_id(versions.len());
        versions.push(Secret { value: value.into(), version: Some(version.clone()), tags });
        version
    }

    /// The latest version of a secret, read directly: not counted, no fault.
    pub fn stored(&self, scope: &Scope, name: &SecretName) -> Option<Secret> {
        lock(&self.secrets).get(&key(scope, name)).and_then(|versions| versions.last().cloned())
    }

    /// The calls received so far, by operation.
    pub fn calls(&self) -> Calls {
        let c = &self.counters;
        Calls {
            gets: c.gets.load(Ordering::SeqCst),
            lists: c.lists.load(Ordering::SeqCst),
            puts: c.puts.load(Ordering::SeqCst),
            deletes: c.deletes.load(Ordering::SeqCst),
            checks: c.checks.load(Ordering::SeqCst),
        }
    }

    /// Calls running now (a call dropped mid-way, by a timeout, no longer counts).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The most calls that ran at once so far.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Sets the fault every later call meets (`None`: none), until set again. Scripted faults
    /// come first.
    pub fn set_fault(&self, fault: Option<Fault>) {
        lock(&self.faults).standing = fault;
    }

    /// Makes every later call fail with `kind` (`None`: succeed again); shorthand for
    /// [`set_fault`](Self::set_fault) with [`Fault::Fail`].
    pub fn set_failure(&self, kind: Option<ErrorKind>) {
        self.set_fault(kind.map(Fault::Fail));
    }

    /// Queues faults for the next calls, one each, in order, ahead of the standing fault.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.faults).scripted.extend(faults);
    }

    /// Counts the call, then meets its fault. The guard counts it in flight until dropped.
    async fn begin(&self, counter: &AtomicU64) -> Result<InFlight<'_>> {
        counter.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let guard = InFlight(&self.in_flight);
        let fault = {
            let mut faults = lock(&self.faults);
            faults.scripted.pop_front().or(faults.standing)
        };
        match fault {
            None => {}
            Some(Fault::Fail(kind)) => {
                return Err(Error::new(kind, format!("memory backend {:?}: failure set by the test", self.info.name)));
            }
            Some(Fault::Hang) => std::future::pending::<()>().await,
            Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        }
        Ok(guard)
    }
}

#[async_trait]
impl SecretBackend for MemoryBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        let _call = self.begin(&self.counters.gets).await?;
        let secrets = lock(&self.secrets);
        let versions = secrets.get(&key(scope, name));
        let found = match version {
            None => versions.and_then(|v| v.last()),
            Some(pinned) => {
                let index = pinned.number().and_then(|n| usize::try_from(n - 1).ok());
                versions.zip(index).and_then(|(v, i)| v.get(i))
            }
        };
        found.cloned().ok_or_else(|| Error::secret_not_found(scope, name, version))
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let _call = self.begin(&self.counters.lists).await?;
        let secrets = lock(&self.secrets);
        let listed = secrets
            .iter()
            .filter(|((tenant, namespace, _), _)| {
                *tenant == scope.tenant
                    && if filter.recursive {
                        scope.namespace.is_self_or_ancestor_of(namespace)
                    } else {
                        *namespace == scope.namespace
                    }
            })
            .filter_map(|((_, namespace, name), versions)| {
                let latest = versions.last()?;
                latest.tags.contains_all(&filter.tags).then(|| SecretMeta {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    version: latest.version.clone(),
                    tags: latest.tags.clone(),
                    updated_at: None,
                })
            })
            .collect();
        Ok(listed)
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        let _call = self.begin(&self.counters.puts).await?;
        if !self.info.capabilities.write {
            return Err(self.unsupported("put"));
        }
        let version = self.insert(scope, name, value, tags.clone());
        Ok(SecretMeta {
            namespace: scope.namespace.clone(),
            name: name.clone(),
            version: Some(version),
            tags,
            updated_at: None,
        })
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        let _call = self.begin(&self.counters.deletes).await?;
        if !self.info.capabilities.write {
            return Err(self.unsupported("delete"));
        }
        match lock(&self.secrets).remove(&key(scope, name)) {
            Some(_) => Ok(()),
            None => Err(Error::secret_not_found(scope, name, None)),
        }
    }

    async fn check(&self) -> Result<()> {
        let _call = self.begin(&self.counters.checks).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(namespace: &str) -> Scope {
        Scope::new(TenantId::new("acme").unwrap(), Namespace::new(namespace).unwrap())
    }

    fn name(text: &str) -> SecretName {
        SecretName::new(text).unwrap()
    }

    #[tokio::test]
    async fn versions_count_from_one_and_restart_after_delete() {
        let memory = MemoryBackend::new("mem");
        let (s, n) = (scope("a"), name("DB"));
        let first = memory.put(&s, &n, "one".into(), Tags::new()).await.unwrap();
        let second = memory.put(&s, &n, "two".into(), Tags::new()).await.unwrap();
        assert_eq!((first.version.unwrap().as_str(), second.version.unwrap().as_str()), ("1", "2"));
        let pinned = memory.get(&s, &n, Some(&VersionId::new("1").unwrap())).await.unwrap();
        assert_eq!(pinned.value.expose(), b"one");
        for missing in ["0", "3", "01", "x"] {
            let err = memory.get(&s, &n, Some(&VersionId::new(missing).unwrap())).await.unwrap_err();
            assert_eq!(err.to_string(), format!("not found: version {missing} of secret DB not found in acme/a"));
        }
        memory.delete(&s, &n).await.unwrap();
        assert_eq!(memory.delete(&s, &n).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(memory.put(&s, &n, "again".into(), Tags::new()).await.unwrap().version.unwrap().as_str(), "1");
        assert_eq!(memory.calls(), Calls { gets: 5, lists: 0, puts: 3, deletes: 2, checks: 0 });
    }

    #[tokio::test]
    async fn read_only_refuses_writes_but_reads_what_was_inserted() {
        let memory = MemoryBackend::new("seeded").read_only();
        assert!(!memory.info().capabilities.write && memory.info().capabilities.versions);
        memory.insert(&scope("a"), &name("DB"), "v", Tags::new());
        let err = memory.put(&scope("a"), &name("DB"), "x".into(), Tags::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert_eq!(memory.delete(&scope("a"), &name("DB")).await.unwrap_err().kind(), ErrorKind::Unsupported);
        assert_eq!(memory.get(&scope("a"), &name("DB"), None).await.unwrap().value.expose(), b"v");
        assert_eq!(memory.stored(&scope("a"), &name("DB")).unwrap().value.expose(), b"v");
    }

    #[tokio::test]
    async fn list_filters_recurses_by_segment_and_sorts() {
        let memory = MemoryBackend::new("mem");
        let team: Tags = [("team", "pay")].into_iter().collect();
        for (ns, n) in [("a.bc", "Y"), ("a.b", "X"), ("a", "W"), ("a.b.c", "Z"), ("a.b", "B")] {
            memory.insert(&scope(ns), &name(n), "v", team.clone());
        }
        memory.insert(&scope("a.b"), &name("UNTAGGED"), "v", Tags::new());
        let other_tenant = Scope::new(TenantId::new("other").unwrap(), Namespace::new("a.b").unwrap());
        memory.insert(&other_tenant, &name("X"), "v", team.clone());

        let listed = |ns: &'static str, recursive: bool, tags: Tags| {
            let memory = &memory;
            async move {
                let filter = ListFilter { tags, recursive };
                let metas = memory.list(&scope(ns), &filter).await.unwrap();
                metas.iter().map(|m| format!("{}/{}", m.namespace, m.name)).collect::<Vec<_>>()
            }
        };
        assert_eq!(listed("a.b", false, Tags::new()).await, ["a.b/B", "a.b/UNTAGGED", "a.b/X"]);
        assert_eq!(listed("a.b", true, team.clone()).await, ["a.b/B", "a.b/X", "a.b.c/Z"]);
        assert_eq!(listed("a", true, team).await, ["a/W", "a.b/B", "a.b/X", "a.b.c/Z", "a.bc/Y"]);
        assert!(listed("a.b.c.d", true, Tags::new()).await.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn faults_apply_scripted_first_then_standing() {
        let memory = MemoryBackend::new("mem");
        let (s, n) = (scope("a"), name("DB"));
        memory.insert(&s, &n, "v", Tags::new());
        memory.script([Fault::Fail(ErrorKind::RateLimited), Fault::Delay(Duration::from_secs(5))]);
        memory.set_failure(Some(ErrorKind::Unavailable));

        let err = memory.get(&s, &n, None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert!(err.is_temporary());
        let started = tokio::time::Instant::now();
        assert_eq!(memory.get(&s, &n, None).await.unwrap().value.expose(), b"v");
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        let err = memory.check().await.unwrap_err();
        assert_eq!(err.to_string(), "backend unavailable: memory backend \"mem\": failure set by the test");
        assert_eq!(memory.put(&s, &n, "x".into(), Tags::new()).await.unwrap_err().kind(), ErrorKind::Unavailable);
        assert_eq!(memory.stored(&s, &n).unwrap().value.expose(), b"v", "a failed put stores nothing");

        memory.set_fault(Some(Fault::Hang));
        let hung = tokio::time::timeout(Duration::from_secs(3600), memory.get(&s, &n, None)).await;
        assert!(hung.is_err(), "a hanging call never answers");
        assert_eq!(memory.in_flight(), 0, "the dropped call is no longer in flight");

        memory.set_failure(None);
        assert!(memory.get(&s, &n, None).await.is_ok());
        assert_eq!(memory.calls(), Calls { gets: 4, lists: 0, puts: 1, deletes: 0, checks: 1 });
        assert_eq!(memory.max_in_flight(), 1);
    }
}
