//! The `env` backend's configuration.

use hush_core::{ConfigProblem, KindConfig, Scope, SecretName};
use serde::Deserialize;

/// Configuration of an `env` backend.
///
/// ```toml
/// [backends.env]
/// kind = "env"
/// prefix = "SECRET_"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct EnvConfig {
    /// What a variable's name starts with to be a secret; the rest is the secret's name.
    /// Default `SECRET_`. Must not be empty: every variable of the process would be a secret.
    pub prefix: String,
}

impl Default for EnvConfig {
    fn default() -> Self {
        Self { prefix: "SECRET_".to_owned() }
    }
}

impl EnvConfig {}

impl KindConfig for EnvConfig {
    /// Every problem of this config, with key paths relative to the backend's table.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.prefix.is_empty() {
            problems.push(ConfigProblem::new(
                &["prefix"],
                "must not be empty, or every variable of the process is a secret",
            ));
        }
        problems
    }

    /// The variable (`backend::variable_name`): the process's
    /// environment when the backend was built, for every tenant and namespace alike.
    fn key_for(&self, _scope: &Scope, name: &SecretName) -> Option<String> {
        Some(format!(
            "environment variable {} (base64; the same for every tenant and namespace)",
            crate::backend::variable_name(&self.prefix, name)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_fields() {
        let config: EnvConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config, EnvConfig::default());
        assert_eq!(config.prefix, "SECRET_");
        let custom: EnvConfig = serde_json::from_str(r#"{"prefix":"HUSH_SECRET_"}"#).unwrap();
        assert_eq!(custom.prefix, "HUSH_SECRET_");
        assert!(serde_json::from_str::<EnvConfig>(r#"{"prefx":"X"}"#).is_err());
        assert!(config.problems().is_empty());
        let empty = EnvConfig { prefix: String::new() };
        assert_eq!(
            empty.problems()[0].to_string(),
            "prefix: must not be empty, or every variable of the process is a secret"
        );
    }
}
