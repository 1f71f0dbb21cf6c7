//! Builds backends and bindings from config: the only crate that names backend kinds.
//!
//! Each configured backend is opened once and wrapped in its own layers (default tags,
//! concurrency limit, retry, timeout); each binding of it (a tenant default or a namespace
//! override) adds its layers on top (metrics, read-only, tag filter), in the order of
//! DESIGN.md section 6. The result is a [`BindingTree`] of [`SharedBackend`]s the resolver
//! uses without knowing what is behind them.
//!
//! A backend that is unreachable at start does not stop hushd: it is kept as a
//! [`Reconnecting`](reconnect) handle that answers "backend unavailable" and tries again, at
//! most once a second, until it opens.
//!
//! Adding a backend kind: a `hush-backend-<kind>` crate, a cargo feature here, one arm in
//! [`open`](open::open_backend) and one entry in [`KINDS`].

#![deny(missing_docs)]

mod build;
mod context;
mod open;
mod reconnect;

pub use build::{build_bindings, check_backends, key_usage_all, problems, rekey_all};
pub use context::BackendContext;

/// Every backend kind this build knows.
pub const KINDS: &[&str] = &[
    #[cfg(feature = "sql")]
    hush_backend_sql::KIND,
    #[cfg(feature = "env")]
    hush_backend_env::KIND,
    #[cfg(feature = "vault")]
    hush_backend_vault::KIND,
    #[cfg(feature = "aws")]
    hush_backend_aws::KIND,
    #[cfg(feature = "gcp")]
    hush_backend_gcp::KIND,
    #[cfg(feature = "azure")]
    hush_backend_azure::KIND,
];
