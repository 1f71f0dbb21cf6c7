//! The `config` target: loading a configuration file with `HUSH_` overrides and checking it,
//! as `hushd` and `hush config check` do.
//!
//! Input: the file's TOML text, optionally followed by a NUL byte and `NAME=value` lines (the
//! environment). The text is written to a file in a temporary directory and loaded with
//! `HushConfig::load_with_env`; then every problem is listed (`HushConfig::problems`) and each
//! question hushd asks of a loaded configuration is asked (bindings, tag filters, written
//! backends, each backend's longest call and options). Properties: nothing panics, and
//! loading the same input twice gives the same problems in the same order.

use std::path::PathBuf;

use hush_config::{Dict, HushConfig};

/// The backend kinds hushd builds (`hush_backends::KINDS`), named here rather than linked:
/// the backend crates would bring every vendor SDK into the instrumented build.
pub const KNOWN_KINDS: [&str; 14] = [
    "sql",
    "env",
    "vault",
    "aws-secrets-manager",
    "gcp-secret-manager",
    "azure-key-vault",
    "pulumi-esc",
    "doppler",
    "conjur",
    "elasticsearch",
    "onepassword",
    "delinea",
    "beyondtrust",
    "kubernetes",
];

/// A temporary directory holding the file each input is written to.
#[derive(Debug)]
pub struct ConfigTarget {
    dir: tempfile::TempDir,
    file: PathBuf,
}

impl Default for ConfigTarget {
    fn default() -> Self {
        Self::new()
    }
}

impl ConfigTarget {
    /// The target with its temporary directory.
    ///
    /// # Panics
    ///
    /// When no temporary directory can be made.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory for the config file");
        let file = dir.path().join("hush.toml");
        Self { dir, file }
    }

    /// Runs one input; panics when a property does not hold.
    pub fn run(&self, data: &[u8]) {
        let (text, env) = match data.iter().position(|&b| b == 0) {
            Some(at) => (&data[..at], &data[at + 1..]),
            None => (data, &[][..]),
        };
        let env: Vec<(String, String)> = String::from_utf8_lossy(env)
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        if std::fs::write(&self.file, text).is_err() {
            return;
        }
        let first = self.load_and_check(&env);
        let second = self.load_and_check(&env);
        assert_eq!(first, second, "the same file and environment load to different problems");
        debug_assert!(self.dir.path().exists());
    }

    /// Loads the file, asks what hushd asks of it, and returns its problems as text (or the
    /// load error).
    fn load_and_check(&self, env: &[(String, String)]) -> Result<Vec<String>, String> {
        let config = HushConfig::load_with_env(&self.file, env.iter().cloned()).map_err(|error| error.to_string())?;
        let problems: Vec<String> = config.problems(&KNOWN_KINDS).iter().map(ToString::to_string).collect();
        let _ = config.written_backends();
        for (tenant, tenant_config) in &config.tenants {
            let _ = tenant_config.default_binding();
            for namespace in tenant_config.namespaces.keys().map(String::as_str).chain(["company", "a.b.c"]) {
                let _ = config.binding_for(tenant, namespace);
                let _ = config.filter_tags_for(tenant, namespace);
            }
        }
        for (name, backend) in &config.backends {
            let _ = backend.longest_call();
            let _ = backend.parse_options::<Dict>(name);
        }
        Ok(problems)
    }
}
