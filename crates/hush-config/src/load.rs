//! Reading a configuration: the TOML file, then `HUSH_` overrides, into [`HushConfig`].
//!
//! Loading fails only when the input cannot be read or parsed. Everything else (unknown
//! keys, values of the wrong type, bad durations) is kept as a [`ConfigProblem`] with its
//! key path and reported by [`HushConfig::problems`], so `hush config check` lists every
//! problem at once. A key with such a problem is dropped and its default used.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Value};
use serde::de::DeserializeOwned;

use crate::env::EnvOverrides;
use crate::model::{BackendConfig, HushConfig, RawConfig};
use crate::problem::{ConfigProblem, describe_parse_error, from_figment};

/// Why a configuration could not be loaded at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file does not exist.
    #[error("config file {} does not exist", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The input is not valid TOML (or another provider failed).
    #[error("cannot parse {origin}: {message}")]
    Parse {
        /// The file, or "configuration" for a caller-built figment.
        origin: String,
        /// What is wrong and where; never the text of the offending line.
        message: String,
    },
}

/// Most keys dropped while reading one table before giving up on it.
const MAX_DROPPED_KEYS: usize = 1000;

impl HushConfig {
    /// Loads `path` (TOML) with the process's `HUSH_` environment overrides (see
    /// [`EnvOverrides`]). Relative paths in `[keys]` and `[nats]` are resolved against the
    /// file's directory.
    ///
    /// Fails only when the file is missing, unreadable or not TOML; every other problem is
    /// reported by [`problems`](Self::problems).
    pub fn load(path: &Path) -> Result<HushConfig, ConfigError> {
        let file = read_file(path)?;
        let env = EnvOverrides::from_process(&file.1);
        Self::from_file_and_env(file, env)
    }

    /// Like [`load`](Self::load), with the environment given as (name, value) pairs.
    pub fn load_with_env<I, K, V>(path: &Path, vars: I) -> Result<HushConfig, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let file = read_file(path)?;
        let env = EnvOverrides::from_vars(vars, &file.1);
        Self::from_file_and_env(file, env)
    }

    fn from_file_and_env((path, file): (PathBuf, Dict), env: EnvOverrides) -> Result<HushConfig, ConfigError> {
        let figment = Figment::from(Serialized::defaults(file)).merge(env);
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut config = Self::from_figment(figment, &base_dir).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse { origin: path.display().to_string(), message },
            other => other,
        })?;
        config.source = Some(path);
        Ok(config)
    }

    /// Reads a configuration from any figment (tests, embedded defaults); relative paths
    /// are resolved against `base_dir`.
    pub fn from_figment(figment: Figment, base_dir: &Path) -> Result<HushConfig, ConfigError> {
        let root: Dict = figment.extract().map_err(|e| ConfigError::Parse {
            origin: "configuration".to_owned(),
            message: describe_parse_error(&e),
        })?;
        Ok(Self::from_dict(root, base_dir))
    }

    fn from_dict(root: Dict, base_dir: &Path) -> HushConfig {
        let mut problems = Vec::new();
        let raw: RawConfig = extract_lenient(root, &[], &mut problems).unwrap_or_default();
        let backends = raw
            .backends
            .into_iter()
            .map(|(name, table)| {
                let (common, options): (Dict, Dict) =
                    table.into_iter().partition(|(key, _)| BackendConfig::COMMON_KEYS.contains(&key.as_str()));
                let prefix = ["backends".to_owned(), name.clone()];
                let mut backend: BackendConfig = extract_lenient(common, &prefix, &mut problems).unwrap_or_default();
                backend.options = options;
                (name, backend)
            })
            .collect();
        let mut config = HushConfig {
            nats: raw.nats,
            keys: raw.keys,
            cache: raw.cache,
            resolver: raw.resolver,
            backends,
            tenants: raw.tenants,
            gateway: raw.gateway,
            source: None,
            base_dir: base_dir.to_path_buf(),
            load_problems: problems,
        };
        config.resolve_paths();
        config
    }

    /// The directory relative paths are resolved against: the config file's.
    pub fn config_dir(&self) -> PathBuf {
        self.base_dir.clone()
    }

    /// `p` if absolute, else `p` under [`config_dir`](Self::config_dir). For backends whose
    /// options hold paths (`sqlite://hush.db`).
    pub fn resolve_path(&self, p: &Path) -> PathBuf {
        self.base_dir.join(p)
    }

    fn resolve_paths(&mut self) {
        let base = self.base_dir.clone();
        let resolve = |p: &mut PathBuf| *p = base.join(&*p);
        let keys = &mut self.keys;
        [
            &mut keys.resolver_key,
            &mut keys.resolver_public_key,
            &mut keys.issuer_key,
            &mut keys.at_rest,
            &mut keys.client_key,
        ]
        .into_iter()
        .flatten()
        .for_each(resolve);
        keys.issuer_public_keys.iter_mut().for_each(resolve);
        keys.previous_resolver_keys.iter_mut().for_each(resolve);
        for tenant in self.tenants.values_mut() {
            tenant.issuer_public_keys.iter_mut().for_each(resolve);
        }
        self.nats.credentials.iter_mut().for_each(resolve);
        let gateway = &mut self.gateway;
        gateway.client_key.iter_mut().for_each(resolve);
        gateway.client_ca.values_mut().for_each(resolve);
        if let Some(tls) = &mut gateway.tls {
            resolve(&mut tls.cert);
            resolve(&mut tls.key);
        }
        if let Some(tls) = &mut self.nats.tls {
            [&mut tls.ca, &mut tls.cert, &mut tls.key].into_iter().flatten().for_each(resolve);
        }
    }
}

impl BackendConfig {
    /// Parses [`options`](Self::options) into a backend kind's own config type, reporting
    /// every problem with its key path under `backends.<backend_name>`. Give the type
    /// `#[serde(deny_unknown_fields)]` to have misspelt keys reported.
    ///
    /// Strings are converted where numbers or booleans are expected, as for the
    /// environment overrides.
    pub fn parse_options<T: DeserializeOwned>(&self, backend_name: &str) -> Result<T, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let prefix = ["backends".to_owned(), backend_name.to_owned()];
        match extract_lenient(self.options.clone(), &prefix, &mut problems) {
            Some(options) if problems.is_empty() => Ok(options),
            _ => Err(problems),
        }
    }
}

/// Reads and parses the TOML file, returning its absolute path and its table.
fn read_file(path: &Path) -> Result<(PathBuf, Dict), ConfigError> {
    let path = std::path::absolute(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ConfigError::Missing { path }),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    let dict = Figment::from(Toml::string(&text))
        .extract()
        .map_err(|e| ConfigError::Parse { origin: path.display().to_string(), message: describe_parse_error(&e) })?;
    Ok((path, dict))
}

/// Deserialises `dict` into `T`; on an error, records it at `prefix` + its path, drops the
/// offending key and tries again, so every bad key is reported and the rest still loads.
/// `None` only when an error cannot be pinned to a key.
fn extract_lenient<T: DeserializeOwned>(
    mut dict: Dict,
    prefix: &[String],
    problems: &mut Vec<ConfigProblem>,
) -> Option<T> {
    for _ in 0..MAX_DROPPED_KEYS {
        let error = match Figment::from(Serialized::defaults(&dict)).extract_lossy::<T>() {
            Ok(value) => return Some(value),
            Err(error) => error,
        };
        let mut dropped = false;
        for error in error {
            let path: Vec<String> = prefix.iter().cloned().chain(error.path.iter().cloned()).collect();
            problems.push(from_figment(&path, &error));
            // A missing key cannot be fixed by dropping one: stop rather than cascade.
            if !error.missing() {
                dropped |= remove_at(&mut dict, &error.path);
            }
        }
        if !dropped {
            return None;
        }
    }
    None
}

/// Removes the value at `path` (or the array holding it). Whether something was removed.
fn remove_at(dict: &mut Dict, path: &[String]) -> bool {
    let Some((first, rest)) = path.split_first() else { return false };
    if rest.is_empty() {
        return dict.remove(first).is_some();
    }
    match dict.get_mut(first) {
        Some(Value::Dict(_, inner)) => remove_at(inner, rest) || dict.remove(first).is_some(),
        Some(_) => dict.remove(first).is_some(),
        None => false,
    }
}
