//! The suite checked against itself: the shared in-memory backend, which keeps the contract,
//! passes, and wrappers around it with one planted bug each fail the trial meant to catch it.

use std::sync::Arc;

use async_trait::async_trait;
use hush_backend_behavior::{MemoryBackend, SuiteOptions, SuiteReport, run, run_with};
use hush_core::{
    BackendInfo, Capabilities, ErrorKind, ListFilter, Result, Scope, Secret, SecretBackend, SecretMeta, SecretName,
    SecretValue, SharedBackend, Tags, VersionId,
};

/// One planted bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bug {
    /// Names are stored case-folded: `DB_PASSWORD` and `db_password` collide.
    FoldsCase,
    /// Recursive list matches by string prefix: `a.b` includes `a.bc`.
    PrefixRecursion,
    /// Claims no write capability but accepts puts silently.
    SilentReadOnlyPut,
    /// A missing secret reads as an empty value.
    EmptyForMissing,
    /// `get` panics.
    PanicsOnGet,
}

/// A [`MemoryBackend`] with `bug` planted in front of it.
#[derive(Debug)]
struct Planted {
    info: BackendInfo,
    bug: Bug,
    inner: MemoryBackend,
}

impl Planted {
    fn backend(bug: Bug) -> SharedBackend {
        let capabilities = if bug == Bug::SilentReadOnlyPut { Capabilities::read_only() } else { Capabilities::full() };
        let info = BackendInfo { kind: "planted", name: format!("{bug:?}"), capabilities };
        Arc::new(Self { info, bug, inner: MemoryBackend::new(format!("{bug:?}")) })
    }

    fn name(&self, name: &SecretName) -> SecretName {
        match self.bug {
            Bug::FoldsCase => SecretName::new(name.as_str().to_lowercase()).unwrap(),
            _ => name.clone(),
        }
    }
}

#[async_trait]
impl SecretBackend for Planted {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        assert!(self.bug != Bug::PanicsOnGet, "planted panic");
        match self.inner.get(scope, &self.name(name), version).await {
            Err(e) if e.kind() == ErrorKind::NotFound && self.bug == Bug::EmptyForMissing => {
                Ok(Secret { value: SecretValue::default(), version: None, tags: Tags::new() })
            }
            answer => answer,
        }
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        if !(filter.recursive && self.bug == Bug::PrefixRecursion) {
            return self.inner.list(scope, filter).await;
        }
        // Lists the parent's whole subtree and keeps whatever starts with the namespace's text.
        let wider = Scope::new(scope.tenant.clone(), scope.namespace.parent().unwrap_or(scope.namespace.clone()));
        let listed = self.inner.list(&wider, filter).await?;
        Ok(listed.into_iter().filter(|m| m.namespace.as_str().starts_with(scope.namespace.as_str())).collect())
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        if self.bug == Bug::SilentReadOnlyPut {
            let version = Some(VersionId::new("1").unwrap());
            return Ok(SecretMeta {
                namespace: scope.namespace.clone(),
                name: name.clone(),
                version,
                tags,
                updated_at: None,
            });
        }
        self.inner.put(scope, &self.name(name), value, tags).await
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        self.inner.delete(scope, &self.name(name)).await
    }

    async fn check(&self) -> Result<()> {
        self.inner.check().await
    }
}

fn failed(report: &SuiteReport) -> Vec<&'static str> {
    report.failures.iter().map(|f| f.trial).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_backend_passes_every_applicable_trial() {
    let memory = Arc::new(MemoryBackend::new("memory"));
    let report = run(memory.clone()).await;
    report.assert_ok();
    assert!(report.passed.len() >= 23, "{report}");
    assert!(report.passed.contains(&"concurrent_writers_on_one_name"));
    assert!(report.root.starts_with("behavior.r"));
    let calls = memory.calls();
    assert!(calls.gets > 0 && calls.lists > 0 && calls.puts > 0 && calls.deletes > 0 && calls.checks == 1, "{calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_only_memory_backend_passes_its_trials_on_seeded_secrets() {
    let memory = MemoryBackend::new("seeded").read_only();
    let scope = Scope::new("hush-behavior".parse().unwrap(), "seeded.team".parse().unwrap());
    let name: SecretName = "DB_PASSWORD".parse().unwrap();
    memory.insert(&scope, &name, "seeded value", Tags::new());
    let options = SuiteOptions::default().with_seeded(scope, name, "seeded value".into());
    let report = run_with(Arc::new(memory), options).await;
    report.assert_ok();
    for trial in ["writes_are_refused_without_write", "seeded_secrets_read_back", "seeded_secrets_are_listed"] {
        assert!(report.passed.contains(&trial), "{trial} did not run: {report}");
    }
    assert!(!report.passed.contains(&"put_then_get"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_bugs_are_caught_by_their_trials() {
    let cases = [
        (Bug::FoldsCase, "key_mapping_is_injective"),
        (Bug::PrefixRecursion, "list_recursion_follows_segments"),
        (Bug::SilentReadOnlyPut, "writes_are_refused_without_write"),
        (Bug::EmptyForMissing, "get_missing_is_not_found"),
    ];
    for (bug, trial) in cases {
        let report = run(Planted::backend(bug)).await;
        assert!(!report.is_ok(), "{bug:?} went unnoticed: {report}");
        assert!(failed(&report).contains(&trial), "{bug:?} did not fail {trial}: {report}");
        let text = report.to_string();
        assert!(text.contains(trial) && text.contains("FAILED"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_backend_fails_trials_without_stopping_the_run() {
    let report = run(Planted::backend(Bug::PanicsOnGet)).await;
    assert!(failed(&report).contains(&"put_then_get"), "{report}");
    assert!(report.failures.iter().any(|f| f.message.contains("panicked")), "{report}");
    // Trials that do not read still ran and passed.
    assert!(report.passed.contains(&"delete_missing_is_not_found"), "{report}");
}

#[test]
fn a_skip_prints_by_hand_and_fails_under_ci() {
    use hush_backend_behavior::skip_outcome;
    assert_eq!(skip_outcome("bao not found", false), Ok("skipped: bao not found".to_owned()));
    let failure = skip_outcome("bao not found", true).unwrap_err();
    assert!(failure.starts_with("bao not found") && failure.contains("CI=true"), "{failure}");
}
