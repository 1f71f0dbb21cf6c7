//! hush's configuration: the model of the one TOML file (DESIGN.md section 6b), `HUSH_`
//! environment overrides, and validation that reports every problem with its key path.
//!
//! - [`HushConfig::load`] reads the file and the environment. It fails only on input that
//!   cannot be read or parsed ([`ConfigError`]); every other problem is kept and reported,
//!   all at once, by [`HushConfig::problems`], so `hush config check` can list them.
//! - [`EnvOverrides`] maps `HUSH_CACHE__TTL=30s` onto `cache.ttl` (and
//!   `HUSH_BACKENDS__VAULT_MAIN__AUTH__TOKEN` onto `backends.vault-main.auth.token`); other
//!   `HUSH_` variables are ignored. Its docs state the name matching rules.
//! - A backend's kind-specific keys stay in [`BackendConfig::options`] and are parsed by
//!   [`BackendConfig::parse_options`] into the backend's own type, with key paths.
//! - Relative paths in `[keys]` and `[nats]` are resolved against the file's directory at
//!   load time; [`HushConfig::resolve_path`] does the same for backend options.
//!
//! **Architecture invariant:** this crate depends on `hush-core` (for its validators) and
//! on figment; it knows no backend kind, no NATS client, no cache, no crypto. It checks that
//! key files exist, never reads them. Problem messages never repeat a configured value.

#![deny(missing_docs)]

mod check;
mod env;
mod load;
mod model;
mod problem;

pub use check::MAX_GRANT_LIFETIME_LIMIT;
pub use env::EnvOverrides;
pub use load::ConfigError;
pub use model::{
    BackendConfig, BindingConfig, CacheConfig, GatewayConfig, GatewayTlsConfig, HushConfig, KeysConfig, NatsConfig,
    ResolverConfig, RetryConfig, SECTIONS, TenantConfig, TlsConfig,
};
pub use problem::{ConfigProblem, key_path};

/// The figment version this crate uses, for callers building their own [`HushConfig::from_figment`] input.
pub use figment;
/// A figment table: the type of [`BackendConfig::options`].
pub use figment::value::Dict;

#[cfg(test)]
mod tests;
