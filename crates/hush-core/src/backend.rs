//! The `SecretBackend` trait: the one contract every backend crate implements.
//!
//! Modelled on OpenDAL's accessor: [`SecretBackend::info`] first, then one method per
//! operation, each with a `# Behavior` section that the shared behaviour suite checks.
//! Handles are [`SharedBackend`] (`Arc<dyn SecretBackend>`), so layers can wrap any backend.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::ids::{Namespace, SecretName, TenantId, VersionId};
use crate::value::{Secret, SecretMeta, SecretValue, Tags};

/// A shared handle to a backend, possibly wrapped in layers.
pub type SharedBackend = Arc<dyn SecretBackend>;

/// Where a secret lives: a tenant and a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    /// The tenant.
    pub tenant: TenantId,
    /// The namespace.
    pub namespace: Namespace,
}

impl Scope {
    /// A scope from its parts.
    pub fn new(tenant: TenantId, namespace: Namespace) -> Self {
        Self { tenant, namespace }
    }

    /// `<tenant>S<segment>S...S<segment>S` for separator `S` (`/` for a path, `.` for a dotted
    /// name): what the joined key ([`joined_key`](Self::joined_key)) of every secret of this
    /// scope, and of its descendants, starts with, and of no other. Ids hold neither `/` nor
    /// `.`, so the joining is injective and [`split_joined_key`](Self::split_joined_key) inverts it.
    pub fn joined_folder(&self, separator: char) -> String {
        let mut folder = String::with_capacity(self.tenant.as_str().len() + self.namespace.as_str().len() + 2);
        folder.push_str(self.tenant.as_str());
        folder.push(separator);
        for segment in self.namespace.segments() {
            folder.push_str(segment);
            folder.push(separator);
        }
        folder
    }

    /// `<tenant>S<segment>S...S<name>`: the key of `name` in this scope as one string of parts
    /// joined by `separator` (`/` or `.`), as backends whose keys are paths or dotted names
    /// write it (behind their own prefix).
    pub fn joined_key(&self, name: &SecretName, separator: char) -> String {
        let mut key = self.joined_folder(separator);
        key.push_str(name.as_str());
        key
    }

    /// The scope and name whose [`joined_key`](Self::joined_key) is `key`, or `None` when `key`
    /// is not one (too few parts, a part that is not a valid id).
    pub fn split_joined_key(key: &str, separator: char) -> Option<(Scope, SecretName)> {
        let mut parts: Vec<&str> = key.split(separator).collect();
        // A tenant, at least one namespace segment, and a name; each part one id, no '.'
        // (`Namespace` would read it as a separator).
        if parts.len() < 3 || parts.iter().any(|part| part.contains('.')) {
            return None;
        }
        let name = SecretName::new(parts.pop()?).ok()?;
        let tenant = TenantId::new(parts.remove(0)).ok()?;
        let namespace = Namespace::from_segments(&parts).ok()?;
        Some((Scope::new(tenant, namespace), name))
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.tenant, self.namespace)
    }
}

/// What a backend can do. The resolver and the behaviour suite read this; a backend
/// that cannot do a thing returns [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported),
/// never a silent success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Capabilities {
    /// `get` works.
    pub read: bool,
    /// `put` and `delete` work.
    pub write: bool,
    /// `list` works.
    pub list: bool,
    /// Tags are stored and returned.
    pub tags: bool,
    /// Versions can be pinned on `get`.
    pub versions: bool,
}

impl Capabilities {
    /// Read-only: get and list, no tags, no versions.
    pub const fn read_only() -> Self {
        Self { read: true, write: false, list: true, tags: false, versions: false }
    }

    /// Everything.
    pub const fn full() -> Self {
        Self { read: true, write: true, list: true, tags: true, versions: true }
    }

    /// With `write` set to `write`.
    pub const fn with_write(mut self, write: bool) -> Self {
        self.write = write;
        self
    }

    /// With `tags` set to `tags`.
    pub const fn with_tags(mut self, tags: bool) -> Self {
        self.tags = tags;
        self
    }

    /// With `versions` set to `versions`.
    pub const fn with_versions(mut self, versions: bool) -> Self {
        self.versions = versions;
        self
    }

    /// With `list` set to `list`.
    pub const fn with_list(mut self, list: bool) -> Self {
        self.list = list;
        self
    }
}

/// What a backend is: its kind (`sql`), the configured instance name (`local`), and
/// what it can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendInfo {
    /// The backend kind, as written in config (`sql`, `vault`, ...).
    pub kind: &'static str,
    /// The configured instance name.
    pub name: String,
    /// What it can do.
    pub capabilities: Capabilities,
}

/// Which secrets a `list` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only secrets whose tags include all these pairs.
    pub tags: Tags,
    /// Also secrets of descendant namespaces.
    pub recursive: bool,
}

/// A secret manager hush can read from and, where it allows, write to.
///
/// Implementations map (prefix, tenant, namespace, name) to their own key format with one
/// documented, injective function; they never see an unvalidated name. Errors carry an
/// [`ErrorKind`](crate::ErrorKind) and a temporary flag; their text holds no value and no
/// credential.
#[async_trait]
pub trait SecretBackend: Send + Sync + Debug + 'static {
    /// What this backend is and can do.
    fn info(&self) -> &BackendInfo;

    /// Reads a secret.
    ///
    /// # Behavior
    /// - `version = None` reads the latest version.
    /// - A missing secret, or a missing version, is `NotFound`: never an empty value.
    /// - A pinned version on a backend without versions is `Unsupported`.
    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret>;

    /// Lists secrets of a namespace: metadata only, never values.
    ///
    /// # Behavior
    /// - An empty namespace lists as an empty vector, not `NotFound`.
    /// - With `filter.tags`, only secrets carrying all those pairs.
    /// - With `filter.recursive`, secrets of descendant namespaces too.
    /// - Sorted by namespace, then name.
    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let _ = (scope, filter);
        Err(self.unsupported("list"))
    }

    /// Writes a new version of a secret, creating it if needed, and returns its metadata.
    ///
    /// # Behavior
    /// - The tags given replace the secret's tags.
    /// - A failed write leaves the previous version readable and unchanged.
    /// - A backend without writes returns `Unsupported`, never a silent success.
    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        let _ = (scope, name, value, tags);
        Err(self.unsupported("put"))
    }

    /// Deletes a secret with every version and its metadata.
    ///
    /// # Behavior
    /// - Deleting a missing secret is `NotFound`.
    /// - A backend without writes returns `Unsupported`.
    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        let _ = (scope, name);
        Err(self.unsupported("delete"))
    }

    /// Checks credentials and reachability, for start-up and `hush config check`.
    async fn check(&self) -> Result<()>;

    /// The `Unsupported` error for `operation` on this backend.
    fn unsupported(&self, operation: &str) -> Error {
        let info = self.info();
        Error::unsupported(format!("backend {:?} (kind {}) does not support {operation}", info.name, info.kind))
    }
}

/// A backend that wraps another and forwards every call it does not change: what a layer
/// implements instead of [`SecretBackend`], overriding only the methods it changes (OpenDAL's
/// `LayeredAccess`). Every `ForwardingBackend` is a [`SecretBackend`].
///
/// ```
/// # use hush_core::{ForwardingBackend, SharedBackend, Scope, SecretName, SecretValue, Tags, SecretMeta, Result};
/// /// Counts writes: changes `put` only, forwards the rest.
/// #[derive(Debug)]
/// struct CountPuts { inner: SharedBackend, puts: std::sync::atomic::AtomicU64 }
///
/// #[async_trait::async_trait]
/// impl ForwardingBackend for CountPuts {
///     fn inner(&self) -> &SharedBackend { &self.inner }
///     async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
///         self.puts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         self.inner.put(scope, name, value, tags).await
///     }
/// }
/// ```
#[async_trait]
pub trait ForwardingBackend: Send + Sync + Debug + 'static {
    /// The wrapped backend.
    fn inner(&self) -> &SharedBackend;

    /// The wrapped backend's info.
    fn info(&self) -> &BackendInfo {
        self.inner().info()
    }

    /// Forwards [`SecretBackend::get`].
    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        self.inner().get(scope, name, version).await
    }

    /// Forwards [`SecretBackend::list`].
    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        self.inner().list(scope, filter).await
    }

    /// Forwards [`SecretBackend::put`].
    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        self.inner().put(scope, name, value, tags).await
    }

    /// Forwards [`SecretBackend::delete`].
    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        self.inner().delete(scope, name).await
    }

    /// Forwards [`SecretBackend::check`].
    async fn check(&self) -> Result<()> {
        self.inner().check().await
    }
}

#[async_trait]
impl<T: ForwardingBackend> SecretBackend for T {
    fn info(&self) -> &BackendInfo {
        ForwardingBackend::info(self)
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        ForwardingBackend::get(self, scope, name, version).await
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        ForwardingBackend::list(self, scope, filter).await
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        ForwardingBackend::put(self, scope, name, value, tags).await
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        ForwardingBackend::delete(self, scope, name).await
    }

    async fn check(&self) -> Result<()> {
        ForwardingBackend::check(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(tenant: &str, namespace: &str) -> Scope {
        Scope::new(TenantId::new(tenant).unwrap(), Namespace::new(namespace).unwrap())
    }

    #[test]
    fn joined_keys_split_back_and_foreign_ones_do_not() {
        let s = scope("acme", "company.team");
        let name = SecretName::new("DB_PASSWORD").unwrap();
        for separator in ['/', '.'] {
            let key = s.joined_key(&name, separator);
            assert!(key.starts_with(&s.joined_folder(separator)));
            assert_eq!(Scope::split_joined_key(&key, separator), Some((s.clone(), name.clone())));
        }
        assert_eq!(s.joined_key(&name, '/'), "acme/company/team/DB_PASSWORD");
        assert_eq!(s.joined_folder('.'), "acme.company.team.");
        for foreign in ["acme/N", "acme//N", "acme/a.b/N", "acme/a/", "acme/a/N+1", "/a/N"] {
            assert_eq!(Scope::split_joined_key(foreign, '/'), None, "{foreign}");
        }
    }
}
