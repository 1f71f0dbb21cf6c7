//! Tag filters: only secrets carrying every tag of the filter are visible through a binding.
//!
//! # Behavior
//! - `get` of a secret outside the filter is `NotFound`, with exactly the message of a
//!   missing secret: this layer answers every not-found of `get` and `delete` with its own
//!   message (`secret NAME not found in tenant/namespace`), so the two cannot be told apart.
//! - `list` asks the backend for the filter's tags and keeps only secrets carrying them (and
//!   the caller's tags): a caller's filter can narrow the view, never widen it.
//! - `put` must carry every filter tag, else `InvalidInput`; and it must not replace a
//!   secret of the same name that exists outside the filter, else a permanent `Conflict`
//!   (checked with a `get` first, so best effort against a concurrent writer). Defaults
//!   are added below this layer, so the caller's own tags must carry the filter.
//! - `delete` of a secret outside the filter is `NotFound`, as if it did not exist.
//! - A backend without tags (capability `tags = false`) shows nothing through a non-empty filter.

use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{
    Error, ErrorKind, ForwardingBackend, ListFilter, Result, Scope, Secret, SecretMeta, SecretName, SecretValue,
    SharedBackend, Tags, VersionId,
};

use crate::Layer;

/// Hides every secret whose tags do not include all pairs of `tags`.
#[derive(Debug, Clone)]
pub struct TagFilterLayer {
    tags: Tags,
}

impl TagFilterLayer {
    /// A filter showing only secrets tagged with every pair of `tags`.
    pub fn new(tags: Tags) -> Self {
        Self { tags }
    }
}

impl Layer for TagFilterLayer {
    fn layer(&self, inner: SharedBackend) -> SharedBackend {
        Arc::new(TagFilterBackend { inner, tags: self.tags.clone() })
    }
}

/// A backend behind a [`TagFilterLayer`].
#[derive(Debug)]
pub struct TagFilterBackend {
    inner: SharedBackend,
    tags: Tags,
}

/// The one not-found error of this layer, for hidden and missing secrets alike.
fn not_found(scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Error {
    match version {
        Some(version) => Error::not_found(format!("secret {name} version {version} not found in {scope}")),
        None => Error::not_found(format!("secret {name} not found in {scope}")),
    }
}

impl TagFilterBackend {
    fn filter_text(&self) -> String {
        self.tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
    }

    /// The latest version of the secret, visible or not, or `None` when it does not exist.
    async fn lookup(&self, scope: &Scope, name: &SecretName) -> Result<Option<Secret>> {
        match self.inner.get(scope, name, None).await {
            Ok(secret) => Ok(Some(secret)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl ForwardingBackend for TagFilterBackend {
    fn inner(&self) -> &SharedBackend {
        &self.inner
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        match self.inner.get(scope, name, version).await {
            Ok(secret) if secret.tags.contains_all(&self.tags) => Ok(secret),
            Ok(_hidden) => Err(not_found(scope, name, version)),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(not_found(scope, name, version)),
            Err(e) => Err(e),
        }
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        // The binding's pairs win over the caller's on the same key; the caller's are
        // checked again below, so a conflicting caller filter lists nothing.
        let narrowed = ListFilter { tags: self.tags.clone().with_defaults(&filter.tags), recursive: filter.recursive };
        let mut metas = self.inner.list(scope, &narrowed).await?;
        metas.retain(|meta| meta.tags.contains_all(&self.tags) && meta.tags.contains_all(&filter.tags));
        Ok(metas)
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        if !tags.contains_all(&self.tags) {
            return Err(Error::invalid_input(format!(
                "writes through this binding must carry its filter tags ({})",
                self.filter_text()
            )));
        }
        if let Some(existing) = self.lookup(scope, name).await?
            && !existing.tags.contains_all(&self.tags)
        {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("secret {name} in {scope} exists outside this binding's tag filter ({})", self.filter_text()),
            )
            .set_temporary(false));
        }
        self.inner.put(scope, name, value, tags).await
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        match self.lookup(scope, name).await? {
            Some(existing) if existing.tags.contains_all(&self.tags) => match self.inner.delete(scope, name).await {
                Err(e) if e.kind() == ErrorKind::NotFound => Err(not_found(scope, name, None)),
                other => other,
            },
            _ => Err(not_found(scope, name, None)),
        }
    }
}
