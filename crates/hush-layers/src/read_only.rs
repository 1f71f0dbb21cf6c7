//! Read-only bindings: writes are refused before they reach the backend.

use std::sync::Arc;

use async_trait::async_trait;
use hush_core::{
    BackendInfo, Error, ErrorKind, ForwardingBackend, Result, Scope, SecretMeta, SecretName, SecretValue,
    SharedBackend, Tags,
};

use crate::Layer;

/// Refuses `put` and `delete` with [`ErrorKind::ReadOnly`]; reads pass through.
#[derive(Debug, Clone)]
pub struct ReadOnlyLayer {
    binding: String,
}

impl ReadOnlyLayer {
    /// A read-only layer; `binding` names the binding in the refusal
    /// (`tenant acme, namespace company.team`).
    pub fn new(binding: impl Into<String>) -> Self {
        Self { binding: binding.into() }
    }
}

impl Layer for ReadOnlyLayer {
    fn layer(&self, inner: SharedBackend) -> SharedBackend {
        let mut info = inner.info().clone();
        info.capabilities = info.capabilities.with_write(false);
        Arc::new(ReadOnlyBackend { inner, info, binding: self.binding.clone() })
    }
}

/// A backend behind a [`ReadOnlyLayer`]. Its `info()` reports `write = false`.
#[derive(Debug)]
pub struct ReadOnlyBackend {
    inner: SharedBackend,
    info: BackendInfo,
    binding: String,
}

impl ReadOnlyBackend {
    fn refuse(&self, operation: &str, scope: &Scope, name: &SecretName) -> Error {
        Error::new(
            ErrorKind::ReadOnly,
            format!("{operation} of {name} in {scope} refused: binding {} is read-only", self.binding),
        )
        .with_context("backend", &self.info.name)
    }
}

#[async_trait]
impl ForwardingBackend for ReadOnlyBackend {
    fn inner(&self) -> &SharedBackend {
        &self.inner
    }

    fn info(&self) -> &BackendInfo {
        &self.info
    }

    /// Always [`ErrorKind::ReadOnly`]; the backend is not called.
    async fn put(&self, scope: &Scope, name: &SecretName, _value: SecretValue, _tags: Tags) -> Result<SecretMeta> {
        Err(self.refuse("put", scope, name))
    }

    /// Always [`ErrorKind::ReadOnly`]; the backend is not called.
    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        Err(self.refuse("delete", scope, name))
    }
}
