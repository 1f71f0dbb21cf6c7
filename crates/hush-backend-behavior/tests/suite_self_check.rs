//! The suite checked against itself: an in-memory backend that keeps the contract passes,
//! and variants with one planted bug each fail the trial meant to catch it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use hush_backend_behavior::{SuiteReport, run};
use hush_core::{
    BackendInfo, Capabilities, Error, ListFilter, Result, Scope, Secret, SecretBackend, SecretMeta, SecretName,
    SecretValue, Tags, VersionId,
};

/// One planted bug, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bug {
    None,
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

type Key = (String, String, String);

#[derive(Debug)]
struct Memory {
    info: BackendInfo,
    bug: Bug,
    data: Mutex<BTreeMap<Key, Vec<(SecretValue, Tags)>>>,
}

impl Memory {
    fn new(bug: Bug) -> Arc<Self> {
        let capabilities = if bug == Bug::SilentReadOnlyPut { Capabilities::read_only() } else { Capabilities::full() };
        Arc::new(Self {
            info: BackendInfo { kind: "memory", name: format!("{bug:?}"), capabilities },
            bug,
            data: Mutex::default(),
        })
    }

    fn key(&self, scope: &Scope, name: &SecretName) -> Key {
        let name = if self.bug == Bug::FoldsCase { name.as_str().to_lowercase() } else { name.to_string() };
        (scope.tenant.to_string(), scope.namespace.to_string(), name)
    }
}

#[async_trait]
impl SecretBackend for Memory {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        assert!(self.bug != Bug::PanicsOnGet, "planted panic");
        let data = self.data.lock().unwrap();
        let Some(versions) = data.get(&self.key(scope, name)) else {
            if self.bug == Bug::EmptyForMissing {
                return Ok(Secret { value: SecretValue::default(), version: None, tags: Tags::new() });
            }
            return Err(Error::not_found("missing"));
        };
        let index = match version {
            None => versions.len(),
            Some(v) => v.as_str().parse::<usize>().map_err(|_| Error::not_found("no such version"))?,
        };
        let (value, tags) = versions.get(index.wrapping_sub(1)).ok_or_else(|| Error::not_found("no such version"))?;
        let version = Some(VersionId::new(index.to_string()).unwrap());
        Ok(Secret { value: value.clone(), version, tags: tags.clone() })
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let data = self.data.lock().unwrap();
        let mut out = Vec::new();
        for ((tenant, namespace, name), versions) in data.iter() {
            let ns: hush_core::Namespace = namespace.parse().unwrap();
            let inside = match (filter.recursive, self.bug) {
                (false, _) => ns == scope.namespace,
                (true, Bug::PrefixRecursion) => namespace.starts_with(scope.namespace.as_str()),
                (true, _) => scope.namespace.is_self_or_ancestor_of(&ns),
            };
            let tags = &versions.last().unwrap().1;
            if *tenant == scope.tenant.as_str() && inside && tags.contains_all(&filter.tags) {
                out.push(SecretMeta {
                    namespace: ns,
                    name: name.parse().unwrap(),
                    version: Some(VersionId::new(versions.len().to_string()).unwrap()),
                    tags: tags.clone(),
                    updated_at: None,
                });
            }
        }
        Ok(out)
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        let version = if self.bug == Bug::SilentReadOnlyPut {
            1
        } else {
            let mut data = self.data.lock().unwrap();
            let versions = data.entry(self.key(scope, name)).or_default();
            versions.push((value, tags.clone()));
            versions.len()
        };
        Ok(SecretMeta {
            namespace: scope.namespace.clone(),
            name: name.clone(),
            version: Some(VersionId::new(version.to_string()).unwrap()),
            tags,
            updated_at: None,
        })
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        match self.data.lock().unwrap().remove(&self.key(scope, name)) {
            Some(_) => Ok(()),
            None => Err(Error::not_found("missing")),
        }
    }

    async fn check(&self) -> Result<()> {
        Ok(())
    }
}

fn failed(report: &SuiteReport) -> Vec<&'static str> {
    report.failures.iter().map(|f| f.trial).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_backend_passes_every_applicable_trial() {
    let report = run(Memory::new(Bug::None)).await;
    report.assert_ok();
    assert!(report.passed.len() >= 23, "{report}");
    assert!(report.passed.contains(&"concurrent_writers_on_one_name"));
    assert!(report.root.starts_with("behavior.r"));
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
        let report = run(Memory::new(bug)).await;
        assert!(!report.is_ok(), "{bug:?} went unnoticed: {report}");
        assert!(failed(&report).contains(&trial), "{bug:?} did not fail {trial}: {report}");
        let text = report.to_string();
        assert!(text.contains(trial) && text.contains("FAILED"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_backend_fails_trials_without_stopping_the_run() {
    let report = run(Memory::new(Bug::PanicsOnGet)).await;
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
