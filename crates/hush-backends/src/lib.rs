//! Builds backends and bindings from config: the one list of the backend kinds this build
//! knows, and the generic code around it.
//!
//! Each kind is a `hush-backend-<kind>` crate exporting one
//! [`BackendFactory`](hush_core::BackendFactory); [`KINDS`] lists them, one cargo feature
//! each. Nothing else here names a kind: options are read into the factory's config type, its
//! problems get full key paths, relative paths follow the config file, and the factory builds
//! the backend (see [`BackendKind`]).
//!
//! Each configured backend is opened once and wrapped in its own layers (default tags,
//! concurrency limit, retry, timeout); each binding of it (a tenant default or a namespace
//! override) adds its layers on top (read-only, tag filter), in the order of DESIGN.md
//! section 6. The result is a [`BindingTree`](hush_core::BindingTree) of
//! [`SharedBackend`](hush_core::SharedBackend)s the resolver uses without knowing what is
//! behind them.
//!
//! A backend that is unreachable at start (or does not open within its
//! [`longest_call`](hush_config::BackendConfig::longest_call)) does not stop hushd: it is kept
//! as a [`ReconnectingBackend`](hush_layers::ReconnectingBackend) that answers "backend
//! unavailable" and tries again, at most once a second, until it opens.
//!
//! Adding a backend kind: a `hush-backend-<kind>` crate exporting its factory, and one line in
//! [`KINDS`] (with its cargo feature).

#![deny(missing_docs)]

mod build;
mod context;
mod kind;

pub use build::{build_bindings, check_backends, key_usage_all, problems, rekey_all};
pub use context::BackendContext;
pub use kind::{BackendKind, ConfiguredBackend};

/// Every backend kind this build knows, one cargo feature each.
pub static KINDS: &[&dyn BackendKind] = &[
    #[cfg(feature = "sql")]
    &hush_backend_sql::SqlFactory,
    #[cfg(feature = "env")]
    &hush_backend_env::EnvFactory,
    #[cfg(feature = "vault")]
    &hush_backend_vault::VaultFactory,
    #[cfg(feature = "aws")]
    &hush_backend_aws::AwsFactory,
    #[cfg(feature = "gcp")]
    &hush_backend_gcp::GcpFactory,
    #[cfg(feature = "azure")]
    &hush_backend_azure::AzureFactory,
    #[cfg(feature = "esc")]
    &hush_backend_esc::EscFactory,
    #[cfg(feature = "doppler")]
    &hush_backend_doppler::DopplerFactory,
    #[cfg(feature = "conjur")]
    &hush_backend_conjur::ConjurFactory,
    #[cfg(feature = "elasticsearch")]
    &hush_backend_elasticsearch::ElasticsearchFactory,
    #[cfg(feature = "onepassword")]
    &hush_backend_onepassword::OnePasswordFactory,
    #[cfg(feature = "delinea")]
    &hush_backend_delinea::DelineaFactory,
    #[cfg(feature = "beyondtrust")]
    &hush_backend_beyondtrust::BeyondTrustFactory,
    #[cfg(feature = "kubernetes")]
    &hush_backend_kubernetes::KubernetesFactory,
];

/// Makes `ring` the process's rustls crypto provider, unless one is installed already. The
/// HTTP clients of the vault, gcp, azure and REST kinds (pulumi-esc, doppler, conjur, ...) are built without a bundled provider (the
/// default, `aws-lc-rs`, would be a second crypto stack beside the `ring` sqlx uses), so a
/// binary calls this once at start, before it builds backends: hushd and `hush` do.
pub fn install_tls_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed one meanwhile: either provider is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The kinds this build knows, by name, as written in config.
pub fn kind_names() -> Vec<&'static str> {
    KINDS.iter().map(|kind| kind.kind()).collect()
}

/// The kind named `name`, if this build knows it.
pub fn kind(name: &str) -> Option<&'static dyn BackendKind> {
    KINDS.iter().copied().find(|kind| kind.kind() == name)
}
