//! The vocabulary of hush, shared by every other crate.
//!
//! This crate owns the types that name things (`TenantId`, `Namespace`, `SecretName`,
//! `VersionId`, `Tags`), the value type that keeps plaintext out of logs (`SecretValue`),
//! the one error type every backend reports (`Error` with an `ErrorKind`), the
//! `SecretBackend` trait each backend crate implements and the `BackendFactory` that builds it
//! from its config table (with `ConfigProblem`, the one type of config problem), the binding tree that says which
//! backend serves a namespace (`BindingTree`), and the JSON path syntax (`SecretPath`).
//!
//! **Architecture invariant:** `hush-core` depends on no other hush crate and on no I/O
//! crate (no NATS, no SQL, no HTTP). Everything here is plain data and pure functions, so a
//! backend crate can depend on it and on its vendor SDK and nothing else.

#![deny(missing_docs)]

mod backend;
mod error;
mod factory;
mod grant;
mod hierarchy;
mod ids;
mod path;
mod seal;
mod tls;
mod value;

pub use backend::{BackendInfo, Capabilities, ForwardingBackend, ListFilter, Scope, SecretBackend, SharedBackend};
pub use error::{Error, ErrorKind, Result};
pub use factory::{
    BackendFactory, BuildContext, ConfigProblem, DEFAULT_CALL_TIMEOUT, KindConfig, RekeyReport, SealedStore, key_path,
    refuse_problems,
};
pub use grant::{GrantClaims, GrantScope};
pub use hierarchy::{BindingTree, TenantBindings};
pub use ids::{IdError, Namespace, SecretName, TenantId, VersionId};
pub use ids::{MAX_NAME_LEN, MAX_NAMESPACE_DEPTH, MAX_NAMESPACE_LEN, MAX_SEGMENT_LEN, MAX_TENANT_LEN};
pub use path::{PathError, PathSegment, SecretPath};
pub use seal::{AtRestAad, AtRestCipher, AtRestFormat, SealedRecord};
pub use tls::TlsConfig;
pub use value::{BASE64_TEXT_MARKER, Secret, SecretMeta, SecretValue, TagError, Tags};
