//! `tls = { ca_file, skip_verify }`: how a backend that speaks HTTPS to its vendor trusts the
//! server, one table shape for every such kind.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ConfigProblem;

/// TLS settings of a backend's connection to its vendor:
/// `tls = { ca_file = "ca.pem", skip_verify = false }` (`ca` is accepted for `ca_file`, the
/// name Kestra's config uses).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TlsConfig {
    /// A PEM file of CA certificates trusted besides the system's roots; relative to the
    /// config file's directory.
    #[serde(alias = "ca")]
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate. Only for throwaway servers; off unless set to `true`.
    pub skip_verify: bool,
}

impl TlsConfig {
    /// Trust the CA certificates in `ca_file` besides the system's roots.
    pub fn with_ca_file(ca_file: impl Into<PathBuf>) -> Self {
        Self { ca_file: Some(ca_file.into()), skip_verify: false }
    }

    /// Accept any server certificate (throwaway servers only).
    pub fn insecure_skip_verify() -> Self {
        Self { ca_file: None, skip_verify: true }
    }

    /// What is wrong with these settings, at key paths relative to the `tls` table.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.ca_file.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            problems.push(ConfigProblem::new(&["ca_file"], "is empty; leave it out to use the system's roots"));
        }
        if self.skip_verify && self.ca_file.is_some() {
            problems.push(ConfigProblem::new(
                &["skip_verify"],
                "is true next to ca_file: with skip_verify no certificate is checked, so ca_file would be ignored; keep one",
            ));
        }
        problems
    }

    /// Makes a relative `ca_file` relative to `config_dir`.
    pub fn resolve_paths(&mut self, config_dir: &Path) {
        if let Some(ca_file) = &mut self.ca_file {
            *ca_file = config_dir.join(&*ca_file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_is_another_name_for_ca_file() {
        let tls: TlsConfig = serde_json::from_str(r#"{"ca":"ca.pem"}"#).unwrap();
        assert_eq!(tls, TlsConfig::with_ca_file("ca.pem"));
        assert!(serde_json::from_str::<TlsConfig>(r#"{"cafile":"ca.pem"}"#).is_err());
    }

    #[test]
    fn problems_and_paths() {
        assert!(TlsConfig::default().problems().is_empty());
        let empty = TlsConfig::with_ca_file("");
        assert_eq!(empty.problems()[0].path, "ca_file");
        let both = TlsConfig { ca_file: Some("ca.pem".into()), skip_verify: true };
        assert_eq!(both.problems()[0].path, "skip_verify");
        let mut relative = TlsConfig::with_ca_file("ca.pem");
        relative.resolve_paths(Path::new("/etc/hush"));
        assert_eq!(relative.ca_file.as_deref(), Some(Path::new("/etc/hush/ca.pem")));
    }
}
