//! Default tags: added to every secret written, unless the writer set that key.

use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{
    BackendInfo, ListFilter, Result, Scope, Secret, SecretBackend, SecretMeta, SecretName, SecretValue, SharedBackend,
    Tags, VersionId,
};

use crate::Layer;

/// Adds the backend's `default_tags` to every `put`; a tag the writer gave wins.
#[derive(Debug, Clone)]
pub struct DefaultTagsLayer {
    tags: Tags,
}

impl DefaultTagsLayer {
    /// A layer adding `tags` to every write.
    pub fn new(tags: Tags) -> Self {
        Self { tags }
    }
}

impl Layer for DefaultTagsLayer {
    fn layer(&self, inner: SharedBackend) -> SharedBackend {
        Arc::new(DefaultTagsBackend { inner, tags: self.tags.clone() })
    }
}

/// A backend behind a [`DefaultTagsLayer`].
#[derive(Debug)]
pub struct DefaultTagsBackend {
    inner: SharedBackend,
    tags: Tags,
}

#[async_trait]
impl SecretBackend for DefaultTagsBackend {
    fn info(&self) -> &BackendInfo {
        self.inner.info()
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        self.inner.get(scope, name, version).await
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        self.inner.list(scope, filter).await
    }

    /// Writes with `tags` plus every default tag whose key `tags` does not have.
    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        self.inner.put(scope, name, value, tags.with_defaults(&self.tags)).await
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        self.inner.delete(scope, name).await
    }

    async fn check(&self) -> Result<()> {
        self.inner.check().await
    }
}
