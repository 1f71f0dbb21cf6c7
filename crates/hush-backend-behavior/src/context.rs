//! The state one run shares between its trials: the backend, the random root, and what
//! was written (so it can be deleted at the end).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use hush_core::{
    Capabilities, ErrorKind, ListFilter, Namespace, Scope, Secret, SecretMeta, SecretName, SecretValue, SharedBackend,
    Tags, TenantId,
};

use crate::SuiteOptions;
use crate::trial::{Outcome, ok, same_value};

/// The tenant every trial writes to.
const TENANT: &str = "hush-behavior";
/// A second tenant, for the isolation trials.
const OTHER_TENANT: &str = "hush-behavior-other";

/// What one run shares between its trials.
pub(crate) struct Ctx {
    pub(crate) backend: SharedBackend,
    pub(crate) caps: Capabilities,
    pub(crate) options: SuiteOptions,
    pub(crate) tenant: TenantId,
    pub(crate) other_tenant: TenantId,
    /// `behavior.r<16 hex digits>`: every trial works below it.
    pub(crate) root: Namespace,
    /// The random part of the root, for names that must not collide across runs.
    pub(crate) run_id: String,
    written: Mutex<BTreeSet<(Scope, SecretName)>>,
}

impl Ctx {
    pub(crate) fn new(backend: SharedBackend, options: SuiteOptions) -> Self {
        let caps = backend.info().capabilities;
        let tenant = TenantId::new(TENANT).expect("constant tenant id is valid");
        let other_tenant = TenantId::new(OTHER_TENANT).expect("constant tenant id is valid");
        let run_id = random_hex();
        let root = Namespace::new(format!("behavior.r{run_id}")).expect("random root namespace is valid");
        Self { backend, caps, options, tenant, other_tenant, root, run_id, written: Mutex::new(BTreeSet::new()) }
    }

    /// The namespace `<root>.<path>`.
    pub(crate) fn ns(&self, path: &str) -> Result<Namespace, String> {
        Namespace::new(format!("{}.{path}", self.root)).map_err(|e| format!("bad test namespace {path:?}: {e}"))
    }

    /// The scope `<tenant>/<root>.<path>`.
    pub(crate) fn scope(&self, path: &str) -> Result<Scope, String> {
        Ok(Scope::new(self.tenant.clone(), self.ns(path)?))
    }

    /// The scope `<other tenant>/<root>.<path>`.
    pub(crate) fn other_scope(&self, path: &str) -> Result<Scope, String> {
        Ok(Scope::new(self.other_tenant.clone(), self.ns(path)?))
    }

    /// A name unique to this run: `<stem>_<run id>`, for backends that ignore namespaces.
    pub(crate) fn unique_name(&self, stem: &str) -> Result<SecretName, String> {
        name(&format!("{stem}_{}", self.run_id))
    }

    /// Remembers a secret for deletion at the end of the run.
    pub(crate) fn record(&self, scope: &Scope, name: &SecretName) {
        self.written.lock().unwrap_or_else(|e| e.into_inner()).insert((scope.clone(), name.clone()));
    }

    /// Writes a secret (remembering it for clean-up) and checks the metadata returned.
    pub(crate) async fn put(
        &self,
        scope: &Scope,
        name: &SecretName,
        value: impl Into<SecretValue>,
        tags: Tags,
    ) -> Result<SecretMeta, String> {
        self.record(scope, name);
        let meta = ok(format!("put {name} in {scope}"), self.backend.put(scope, name, value.into(), tags).await)?;
        if meta.name != *name || meta.namespace != scope.namespace {
            return Err(format!(
                "put {name} in {scope}: returned metadata names {}/{} instead",
                meta.namespace, meta.name
            ));
        }
        if self.caps.versions && meta.version.is_none() {
            return Err(format!("put {name} in {scope}: backend has versions but returned none"));
        }
        Ok(meta)
    }

    /// Reads the latest version of a secret.
    pub(crate) async fn get(&self, scope: &Scope, name: &SecretName) -> Result<Secret, String> {
        ok(format!("get {name} in {scope}"), self.backend.get(scope, name, None).await)
    }

    /// Reads the latest version of a secret and checks its value.
    pub(crate) async fn expect_value(&self, scope: &Scope, name: &SecretName, expected: &SecretValue) -> Outcome {
        let secret = self.get(scope, name).await?;
        same_value(format!("get {name} in {scope}"), expected, &secret.value)
    }

    /// Lists a scope, recursively or not, without tag filter.
    pub(crate) async fn list(&self, scope: &Scope, recursive: bool) -> Result<Vec<SecretMeta>, String> {
        let filter = ListFilter { recursive, ..ListFilter::default() };
        ok(format!("list {scope} (recursive: {recursive})"), self.backend.list(scope, &filter).await)
    }

    /// Deletes everything the run wrote; a secret already deleted by its trial is fine.
    pub(crate) async fn cleanup(&self) -> Result<(), String> {
        if !self.caps.write {
            return Ok(());
        }
        let written = std::mem::take(&mut *self.written.lock().unwrap_or_else(|e| e.into_inner()));
        let mut problems = Vec::new();
        for (scope, name) in written {
            match self.backend.delete(&scope, &name).await {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => problems.push(format!("delete {name} in {scope}: {e}")),
            }
        }
        if self.caps.list {
            for tenant in [&self.tenant, &self.other_tenant] {
                let scope = Scope::new(tenant.clone(), self.root.clone());
                match self.list(&scope, true).await {
                    Ok(left) if left.is_empty() => {}
                    Ok(left) => problems.push(format!(
                        "{} secrets left under {scope} after clean-up, e.g. {}/{}",
                        left.len(),
                        left[0].namespace,
                        left[0].name
                    )),
                    Err(e) => problems.push(e),
                }
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }
}

/// A secret name from a trial's constant text.
pub(crate) fn name(text: &str) -> Result<SecretName, String> {
    SecretName::new(text).map_err(|e| format!("bad test name {text:?}: {e}"))
}

/// Tags from constant pairs.
pub(crate) fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().copied().collect()
}

/// 16 random hex digits; the clock stands in should the OS refuse randomness.
fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
        bytes = (nanos as u64).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
