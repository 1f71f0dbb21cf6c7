//! The `BackendFactory` trait: how a backend kind turns its config table into a backend.
//!
//! Each backend crate exports one factory from its `lib.rs` (`hush_backend_env::EnvFactory`);
//! `hush-backends` keeps a list of them, reads each `[backends.<name>]` table into the
//! factory's [`Config`](BackendFactory::Config), and never names a kind anywhere else. The
//! contract follows the External Secrets Operator's provider interface (validate the store,
//! then build a client) and OpenDAL's builders: the kind owns its options, their problems and
//! their defaults; everything a kind shares with the others (timeout, retry, concurrency,
//! default tags, bindings) is a layer built around it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use crate::backend::{Capabilities, Scope, SharedBackend};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::SecretName;
use crate::seal::AtRestCipher;

/// One problem of a configuration: the key path and what is wrong there.
///
/// Displays as `tenants.acme.namespaces."company.team".backend: unknown backend "vlt"`.
/// Messages never repeat a configured value that may be a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key path, dotted; parts holding characters other than `[A-Za-z0-9_-]` are quoted.
    /// Empty for a problem of the whole input.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigProblem {
    /// A problem at the key path made of `parts`.
    pub fn new<S: AsRef<str>>(parts: &[S], message: impl Into<String>) -> Self {
        Self { path: key_path(parts), message: message.into() }
    }

    /// The same problem with `parts` in front of its path: a backend reports
    /// `request_timeout`, `hush-backends` shows `backends.vault.request_timeout`.
    pub fn under<S: AsRef<str>>(self, parts: &[S]) -> Self {
        let outer = key_path(parts);
        let path = match (outer.is_empty(), self.path.is_empty()) {
            (true, _) => self.path,
            (false, true) => outer,
            (false, false) => format!("{outer}.{}", self.path),
        };
        Self { path, message: self.message }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

/// Joins key parts with dots, quoting the parts that hold anything but `[A-Za-z0-9_-]`.
pub fn key_path<S: AsRef<str>>(parts: &[S]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        let part = part.as_ref();
        if !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            out.push_str(part);
        } else {
            out.push_str(&format!("{part:?}"));
        }
    }
    out
}

/// `Ok` when `problems` is empty, else one `ConfigInvalid` error naming the backend and
/// every problem: what a build handed a config with problems returns (`hush config check`
/// reports them one per line, with full key paths, before that happens).
pub fn refuse_problems(backend: &str, problems: &[ConfigProblem]) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    Err(Error::new(ErrorKind::ConfigInvalid, text.join("; ")).with_context("backend", backend))
}

/// The default bound on one backend call (`backends.<name>.timeout`), and so the default of
/// every vendor client's own request timeout. With the default retry policy (3 attempts, at
/// most 500 ms apart) a backend call ends within 7 s, inside the resolver's default request
/// timeout (8 s), inside the clients' (10 s).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// What building a backend gets besides its own table.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BuildContext {
    /// The configured instance name (`[backends.<name>]`): errors and audit events name it.
    pub name: String,
    /// The bound on one call (the timeout layer's `backends.<name>.timeout`): a vendor client's
    /// own request timeout defaults to it and must not exceed it.
    pub call_timeout: Duration,
    /// The at-rest key ring, when `keys.at_rest` is set: for kinds that seal values themselves.
    pub at_rest: Option<Arc<dyn AtRestCipher>>,
}

impl BuildContext {
    /// A context for the backend `name` with calls bounded by `call_timeout` and no key ring.
    pub fn new(name: impl Into<String>, call_timeout: Duration) -> Self {
        Self { name: name.into(), call_timeout, at_rest: None }
    }

    /// With the at-rest key ring.
    pub fn with_at_rest(mut self, cipher: Option<Arc<dyn AtRestCipher>>) -> Self {
        self.at_rest = cipher;
        self
    }

    /// The key ring, or a `ConfigInvalid` error naming this backend, which needs one.
    pub fn at_rest_cipher(&self) -> Result<Arc<dyn AtRestCipher>> {
        self.at_rest.clone().ok_or_else(|| {
            Error::new(
                ErrorKind::ConfigInvalid,
                format!("backend {:?} seals values at rest: set keys.at_rest (see `hush keys init`)", self.name),
            )
        })
    }
}

/// What a `hush rekey` run over one store did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RekeyReport {
    /// The key id rows were re-sealed under (the cipher's newest).
    pub key_id: u32,
    /// Rows found under an older key or an older AAD format.
    pub examined: u64,
    /// Rows re-sealed under the newest key and the current AAD format.
    pub resealed: u64,
    /// Of the re-sealed rows, those that were stored in AAD format 1 (tags not bound), also
    /// when their key was the newest already: their tags are bound from now on.
    pub migrated: u64,
    /// Rows changed or deleted by a concurrent write between read and re-seal (a write
    /// seals under the newest key already, so nothing is left to do).
    pub skipped: u64,
    /// Rows that did not open (tampered, or sealed by a key missing from the ring); they
    /// keep their old key and stay unreadable.
    pub failed: u64,
}

/// A store that seals values at rest with hush's key ring (the SQL store), for the key
/// operations: `hush rekey` and `hush keys retire-at-rest`.
#[async_trait]
pub trait SealedStore: Send + Sync + fmt::Debug {
    /// Re-seals every stored version under the ring's newest key, `batch_size` rows at a time.
    async fn rekey(&self, batch_size: usize) -> Result<RekeyReport>;

    /// Stored versions per at-rest key id.
    async fn key_usage(&self) -> Result<BTreeMap<u32, u64>>;

    /// Releases the store's connections.
    async fn close(&self) {}
}

/// A backend kind's own options: the whole `[backends.<name>]` table minus the keys every kind
/// shares (`kind`, `default_tags`, `timeout`, `retry`, `max_concurrency`), read with unknown keys
/// refused. `prefix` belongs here: each kind says what it means.
pub trait KindConfig: DeserializeOwned + Send + Sync + 'static {
    /// Every problem a build would trip over, with key paths relative to the table
    /// (`["auth", "role"]`), never repeating a value.
    fn problems(&self) -> Vec<ConfigProblem> {
        Vec::new()
    }

    /// Problems that matter only when hush writes through the backend (an option only `put`
    /// needs, such as a folder or template id), with key paths like [`problems`](Self::problems).
    /// `hush config check` reports them when some binding of the backend is not read-only.
    fn write_problems(&self) -> Vec<ConfigProblem> {
        Vec::new()
    }

    /// Makes the relative paths of these options (a CA file, a token file, a SQLite file)
    /// relative to `config_dir`, the directory of the config file, like every other path hush
    /// reads.
    fn resolve_paths(&mut self, config_dir: &Path) {
        let _ = config_dir;
    }

    /// The vendor client's own request timeout, if the kind has one: at most the backend's
    /// `timeout` ([`BuildContext::call_timeout`]), which it defaults to.
    fn request_timeout(&self) -> Option<Duration> {
        None
    }

    /// Where a backend with these options keeps secret `name` of `scope`, in the vendor's own
    /// terms (a Vault KV path, an AWS secret name, an environment variable, SQL row columns),
    /// from the options alone, offline: what `hush explain` prints. It must be the mapping the
    /// backend's calls use (the same function, where it can be). `None`: the kind does not say.
    fn key_for(&self, scope: &Scope, name: &SecretName) -> Option<String> {
        let _ = (scope, name);
        None
    }
}

/// How one backend kind is built.
///
/// # Contract
/// - [`Config`](Self::Config) holds the kind's options and their checks ([`KindConfig`]).
/// - [`build`](Self::build) does no retrying and no waiting beyond one attempt: retries,
///   timeouts and reconnecting are layers. An unreachable server is
///   [`ErrorKind::Unavailable`], so hushd starts and serves the backend as unavailable
///   until it opens.
/// - A vendor client's own request timeout is at most [`BuildContext::call_timeout`].
#[async_trait]
pub trait BackendFactory: Send + Sync + 'static {
    /// The kind's own options.
    type Config: KindConfig;

    /// The kind, as written in config: `kind = "vault"`.
    const KIND: &'static str;

    /// What a backend of this config can do, known before it is built.
    fn capabilities(&self, config: &Self::Config) -> Capabilities;

    /// Whether this kind seals values with hush's at-rest key ring, so it cannot be built
    /// without `keys.at_rest` (`hush config check` says so).
    const SEALS_AT_REST: bool = false;

    /// Builds the backend: one attempt, no layers.
    async fn build(&self, config: Self::Config, context: &BuildContext) -> Result<SharedBackend>;

    /// Opens the store for the key operations, if this kind seals values with hush's key
    /// ring; `None` for every kind whose values another system keeps.
    async fn open_sealed_store(
        &self,
        config: Self::Config,
        context: &BuildContext,
    ) -> Result<Option<Arc<dyn SealedStore>>> {
        let _ = (config, context);
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_quote_parts_with_dots_or_spaces() {
        assert_eq!(key_path(&["cache", "ttl_"]), "cache.ttl_");
        assert_eq!(
            key_path(&["tenants", "acme", "namespaces", "company.team", "backend"]),
            "tenants.acme.namespaces.\"company.team\".backend"
        );
        assert_eq!(key_path(&["tenants", "acme corp"]), "tenants.\"acme corp\"");
        let problem = ConfigProblem::new(&["tenants", "acme"], "oops");
        assert_eq!(problem.to_string(), "tenants.acme: oops");
        assert_eq!(ConfigProblem::new::<&str>(&[], "oops").to_string(), "oops");
    }

    #[test]
    fn a_backend_problem_moves_under_its_table() {
        let problem = ConfigProblem::new(&["auth", "role"], "missing").under(&["backends", "v.1"]);
        assert_eq!(problem.to_string(), "backends.\"v.1\".auth.role: missing");
        let whole = ConfigProblem::new::<&str>(&[], "bad table").under(&["backends", "v"]);
        assert_eq!(whole.to_string(), "backends.v: bad table");
        let bare = ConfigProblem::new(&["x"], "m").under::<&str>(&[]);
        assert_eq!(bare.path, "x");
    }

    #[test]
    fn problems_refuse_a_build_and_name_the_backend() {
        assert!(refuse_problems("v", &[]).is_ok());
        let problems = [ConfigProblem::new(&["address"], "missing"), ConfigProblem::new(&["auth", "role"], "empty")];
        let error = refuse_problems("v", &problems).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConfigInvalid);
        let text = error.to_string();
        assert_eq!(text, "invalid configuration: address: missing; auth.role: empty (backend=v)");
    }

    #[test]
    fn a_missing_key_ring_names_the_backend() {
        let error = BuildContext::new("local", Duration::from_secs(1)).at_rest_cipher().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConfigInvalid);
        assert!(error.to_string().contains("\"local\""), "{error}");
    }
}
