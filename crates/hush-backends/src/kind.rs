//! [`BackendKind`]: a [`BackendFactory`] with its config type erased, so every kind this
//! build knows fits in one list.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use hush_config::BackendConfig;
use hush_core::{
    AtRestCipher, BackendFactory, BuildContext, Capabilities, ConfigProblem, Error, ErrorKind, KindConfig, Result,
    Scope, SealedStore, SecretName, SharedBackend, refuse_problems,
};

/// One backend kind, as `hush-backends` uses it: every method takes the backend's
/// `[backends.<name>]` table as configured, reads the kind's own options from it and reports
/// problems with full key paths. Implemented for every [`BackendFactory`].
#[async_trait]
pub trait BackendKind: Send + Sync {
    /// The kind, as written in config.
    fn kind(&self) -> &'static str;

    /// Every problem of the kind's options of backend `name`, with full key paths: options
    /// that do not parse, the kind's own checks, and a vendor request timeout longer than the
    /// backend's `timeout`.
    fn check_table(&self, name: &str, table: &BackendConfig) -> Vec<ConfigProblem>;

    /// The problems of backend `name`'s options that matter only for writes
    /// ([`KindConfig::write_problems`](hush_core::KindConfig::write_problems)), with full key
    /// paths; none when the options do not parse (`check_table` reports that).
    fn check_writes(&self, name: &str, table: &BackendConfig) -> Vec<ConfigProblem>;

    /// Whether the kind seals values with the at-rest key ring (needs `keys.at_rest`).
    fn seals_at_rest(&self) -> bool;

    /// What backend `name` can do; `None` when its options do not parse.
    fn capabilities_of(&self, name: &str, table: &BackendConfig) -> Option<Capabilities>;

    /// Where backend `name` keeps secret `secret` of `scope`
    /// ([`KindConfig::key_for`](hush_core::KindConfig::key_for)); `None` when its options do
    /// not parse or the kind does not say.
    fn key_for(&self, name: &str, table: &BackendConfig, scope: &Scope, secret: &SecretName) -> Option<String>;

    /// Builds the backend: one attempt, no layers.
    async fn open(&self, backend: &ConfiguredBackend<'_>) -> Result<SharedBackend>;

    /// Opens the backend for the key operations, if its kind seals values at rest.
    async fn open_sealed(&self, backend: &ConfiguredBackend<'_>) -> Result<Option<Arc<dyn SealedStore>>>;
}

/// One `[backends.<name>]` table and what opening it needs besides.
#[derive(Debug, Clone)]
pub struct ConfiguredBackend<'a> {
    /// The backend's name.
    pub name: &'a str,
    /// Its table.
    pub table: &'a BackendConfig,
    /// The config file's directory: relative paths in the table are taken from it.
    pub config_dir: &'a Path,
    /// The at-rest key ring, when `keys.at_rest` is set.
    pub at_rest: Option<Arc<dyn AtRestCipher>>,
}

/// The options of `table` as `F::Config` (when they parse) and every problem of them, with
/// full key paths.
fn parse_checked<F: BackendFactory>(
    _factory: &F,
    name: &str,
    table: &BackendConfig,
) -> (Option<F::Config>, Vec<ConfigProblem>) {
    let config: F::Config = match table.parse_options(name) {
        Ok(config) => config,
        Err(problems) => return (None, problems),
    };
    let under = ["backends", name];
    let mut problems: Vec<ConfigProblem> = config.problems().into_iter().map(|p| p.under(&under)).collect();
    if let Some(request_timeout) = config.request_timeout()
        && request_timeout > table.timeout
    {
        problems.push(ConfigProblem::new(
            &["backends", name, "request_timeout"],
            format!(
                "is {}, longer than the backend's timeout ({}), which ends every call first: make it at most that, \
                 or leave it out to use it",
                humantime::format_duration(request_timeout),
                humantime::format_duration(table.timeout),
            ),
        ));
    }
    (Some(config), problems)
}

/// The options of `backend` as `F::Config`, paths resolved, and the context to build with;
/// any problem refuses the build.
fn prepare<F: BackendFactory>(factory: &F, backend: &ConfiguredBackend<'_>) -> Result<(F::Config, BuildContext)> {
    let name = backend.name;
    let (config, problems) = parse_checked(factory, name, backend.table);
    refuse_problems(name, &problems)?;
    let Some(mut config) = config else {
        return Err(Error::new(ErrorKind::ConfigInvalid, format!("backend {name:?}: options do not parse")));
    };
    config.resolve_paths(backend.config_dir);
    Ok((config, BuildContext::new(name, backend.table.timeout).with_at_rest(backend.at_rest.clone())))
}

#[async_trait]
impl<F: BackendFactory> BackendKind for F {
    fn kind(&self) -> &'static str {
        F::KIND
    }

    fn check_table(&self, name: &str, table: &BackendConfig) -> Vec<ConfigProblem> {
        parse_checked(self, name, table).1
    }

    fn seals_at_rest(&self) -> bool {
        F::SEALS_AT_REST
    }

    fn check_writes(&self, name: &str, table: &BackendConfig) -> Vec<ConfigProblem> {
        let Ok(config) = table.parse_options::<F::Config>(name) else { return Vec::new() };
        config.write_problems().into_iter().map(|p| p.under(&["backends", name])).collect()
    }

    fn capabilities_of(&self, name: &str, table: &BackendConfig) -> Option<Capabilities> {
        let config: F::Config = table.parse_options(name).ok()?;
        Some(self.capabilities(&config))
    }

    fn key_for(&self, name: &str, table: &BackendConfig, scope: &Scope, secret: &SecretName) -> Option<String> {
        let config: F::Config = table.parse_options(name).ok()?;
        config.key_for(scope, secret)
    }

    async fn open(&self, backend: &ConfiguredBackend<'_>) -> Result<SharedBackend> {
        let (config, context) = prepare(self, backend)?;
        self.build(config, &context).await
    }

    async fn open_sealed(&self, backend: &ConfiguredBackend<'_>) -> Result<Option<Arc<dyn SealedStore>>> {
        let (config, context) = prepare(self, backend)?;
        self.open_sealed_store(config, &context).await
    }
}
