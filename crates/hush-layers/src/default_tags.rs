//! Default tags: added to every secret written, unless the writer set that key.

use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{ForwardingBackend, Result, Scope, SecretMeta, SecretName, SecretValue, SharedBackend, Tags};

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
impl ForwardingBackend for DefaultTagsBackend {
    fn inner(&self) -> &SharedBackend {
        &self.inner
    }

    /// Writes with `tags` plus every default tag whose key `tags` does not have.
    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        self.inner.put(scope, name, value, tags.with_defaults(&self.tags)).await
    }
}
