//! The `env` backend: a snapshot of `SECRET_<NAME>` variables, decoded from base64 on read.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hush_core::{
    BackendInfo, Capabilities, Error, ErrorKind, ListFilter, Result, Scope, Secret, SecretBackend, SecretMeta,
    SecretName, SecretValue, Tags, VersionId,
};

use crate::KIND;
use crate::config::EnvConfig;
use crate::error::parse_error;

/// Standard base64, padded or not: `base64 -w0` pads, hand-made values often do not.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One variable of the snapshot: its full name (for error messages) and its raw value.
struct Variable {
    variable: String,
    encoded: SecretValue,
}

/// The variable that holds secret `name`: `<prefix><name>`, whatever the tenant and namespace.
/// A snapshot keeps the variables whose name this gives for some secret name.
pub(crate) fn variable_name(prefix: &str, name: &SecretName) -> String {
    format!("{prefix}{name}")
}

/// Read-only secrets from `<prefix><NAME>` environment variables holding base64 values.
///
/// Key mapping: secret `NAME` of any tenant and namespace is variable `<prefix>NAME`
/// (default `SECRET_NAME`), case kept. Variables whose rest is not a valid secret name
/// (`[A-Za-z0-9_-]`, 1 to 128 bytes) are left out. The set is a snapshot taken at
/// construction; tenant and namespace are ignored.
pub struct EnvBackend {
    info: BackendInfo,
    prefix: String,
    secrets: BTreeMap<SecretName, Variable>,
}

impl EnvBackend {
    /// A backend over a snapshot of this process's environment, taken now.
    ///
    /// Variables whose name is not UTF-8 are left out. Fails with `ConfigInvalid` when the
    /// prefix is empty.
    pub fn from_process_env(name: &str, config: EnvConfig) -> Result<Self> {
        let vars = std::env::vars_os()
            .filter_map(|(key, value)| key.into_string().ok().map(|key| (key, value.into_encoded_bytes())));
        Self::from_vars(name, config, vars)
    }

    /// A backend over the given `(variable, value)` pairs, as if they were the environment.
    ///
    /// Fails with `ConfigInvalid` when the prefix is empty.
    pub fn from_vars<I, K, V>(name: &str, config: EnvConfig, vars: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Vec<u8>>,
    {
        if config.prefix.is_empty() {
            return Err(Error::new(
                ErrorKind::ConfigInvalid,
                format!("env backend {name:?}: prefix must not be empty, or every variable of the process is a secret"),
            ));
        }
        let mut secrets = BTreeMap::new();
        for (variable, value) in vars {
            let variable = variable.into();
            let Some(rest) = variable.strip_prefix(&config.prefix) else { continue };
            let Ok(secret_name) = SecretName::new(rest) else { continue };
            debug_assert_eq!(variable_name(&config.prefix, &secret_name), variable);
            secrets.insert(secret_name, Variable { variable, encoded: SecretValue::new(value) });
        }
        let info = BackendInfo { kind: KIND, name: name.to_owned(), capabilities: Capabilities::read_only() };
        Ok(Self { info, prefix: config.prefix, secrets })
    }

    /// How many secrets the snapshot holds.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether the snapshot holds no secret.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

impl fmt::Debug for EnvBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvBackend")
            .field("name", &self.info.name)
            .field("prefix", &self.prefix)
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

#[async_trait]
impl SecretBackend for EnvBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, _scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        if version.is_some() {
            return Err(self.unsupported("reading a pinned version"));
        }
        let entry = self.secrets.get(name).ok_or_else(|| {
            Error::not_found(format!("no environment variable {}", variable_name(&self.prefix, name)))
        })?;
        let compact = SecretValue::new(
            entry.encoded.expose().iter().copied().filter(|b| !b.is_ascii_whitespace()).collect::<Vec<u8>>(),
        );
        let decoded = BASE64.decode(compact.expose()).map_err(|e| parse_error(&entry.variable, &e))?;
        Ok(Secret { value: SecretValue::new(decoded), version: None, tags: Tags::new() })
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        if !filter.tags.is_empty() {
            // No secret here has tags, so none carries the filter's pairs.
            return Ok(Vec::new());
        }
        Ok(self.secrets.keys().map(|name| SecretMeta::new(scope.namespace.clone(), name.clone())).collect())
    }

    async fn check(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hush_core::{Namespace, TenantId};

    use super::*;

    fn scope(tenant: &str, namespace: &str) -> Scope {
        Scope::new(TenantId::new(tenant).unwrap(), Namespace::new(namespace).unwrap())
    }

    fn name(s: &str) -> SecretName {
        SecretName::new(s).unwrap()
    }

    fn backend(vars: &[(&str, &str)]) -> EnvBackend {
        EnvBackend::from_vars("env", EnvConfig::default(), vars.iter().copied()).unwrap()
    }

    #[tokio::test]
    async fn reads_base64_values_and_ignores_scope() {
        let b = backend(&[("SECRET_DB_PASSWORD", "aHVudGVyMg=="), ("PATH", "/usr/bin"), ("SECRET_API", "a2V5")]);
        for s in [scope("acme", "a"), scope("other", "x.y.z")] {
            let secret = b.get(&s, &name("DB_PASSWORD"), None).await.unwrap();
            assert_eq!(secret.value.expose(), b"hunter2");
            assert_eq!(secret.version, None);
            assert!(secret.tags.is_empty());
        }
        assert_eq!(b.get(&scope("acme", "a"), &name("API"), None).await.unwrap().value.expose(), b"key");
        assert_eq!(b.len(), 2);
    }

    #[tokio::test]
    async fn key_for_names_the_variable_get_reads() {
        use hush_core::KindConfig;
        let (s, n) = (scope("acme", "company.team"), name("DB_PASSWORD"));
        let explained = EnvConfig::default().key_for(&s, &n).unwrap();
        assert_eq!(
            explained,
            "environment variable SECRET_DB_PASSWORD (base64; the same for every tenant and namespace)"
        );
        let variable = variable_name("SECRET_", &n);
        assert!(explained.starts_with(&format!("environment variable {variable} ")));
        let b = backend(&[(variable.as_str(), "aHVudGVyMg==")]);
        assert_eq!(b.get(&s, &n, None).await.unwrap().value.expose(), b"hunter2");
        assert_eq!(b.secrets[&n].variable, variable);
        let missing = backend(&[]).get(&s, &n, None).await.unwrap_err();
        assert!(missing.message().contains(&variable), "{missing}");
    }

    #[tokio::test]
    async fn accepts_unpadded_and_wrapped_base64() {
        let b = backend(&[("SECRET_A", "aHVudGVyMg"), ("SECRET_B", "aHVu\ndGVy\nMg==\n")]);
        for n in ["A", "B"] {
            assert_eq!(b.get(&scope("t", "n"), &name(n), None).await.unwrap().value.expose(), b"hunter2");
        }
    }

    #[tokio::test]
    async fn binary_values_decode_exactly() {
        let b = backend(&[("SECRET_BIN", "AP/+gMMo")]);
        let secret = b.get(&scope("t", "n"), &name("BIN"), None).await.unwrap();
        assert_eq!(secret.value.expose(), [0x00, 0xFF, 0xFE, 0x80, 0xC3, 0x28]);
    }

    #[tokio::test]
    async fn invalid_base64_names_the_variable_not_the_value() {
        let b = backend(&[("SECRET_BAD", "not base64 at all: p@ssw0rd!")]);
        let err = b.get(&scope("t", "n"), &name("BAD"), None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let text = format!("{err} {err:?}");
        assert!(text.contains("SECRET_BAD"), "{text}");
        assert!(!text.contains("p@ssw0rd"), "{text}");
        assert!(!text.contains('@'), "{text}");
    }

    #[tokio::test]
    async fn missing_is_not_found_and_pinned_version_is_unsupported() {
        let b = backend(&[("SECRET_A", "YQ==")]);
        let missing = b.get(&scope("t", "n"), &name("B"), None).await.unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        assert!(missing.to_string().contains("SECRET_B"));
        let v1 = VersionId::new("1").unwrap();
        assert_eq!(b.get(&scope("t", "n"), &name("A"), Some(&v1)).await.unwrap_err().kind(), ErrorKind::Unsupported);
    }

    #[tokio::test]
    async fn writes_are_unsupported() {
        let b = backend(&[("SECRET_A", "YQ==")]);
        let s = scope("t", "n");
        let put = b.put(&s, &name("A"), SecretValue::from("x"), Tags::new()).await.unwrap_err();
        assert_eq!(put.kind(), ErrorKind::Unsupported);
        assert_eq!(b.delete(&s, &name("A")).await.unwrap_err().kind(), ErrorKind::Unsupported);
        assert_eq!(b.get(&s, &name("A"), None).await.unwrap().value.expose(), b"a");
        assert_eq!(b.info().capabilities, Capabilities::read_only());
        assert_eq!(b.info().kind, "env");
    }

    #[tokio::test]
    async fn list_shows_valid_names_sorted_and_honours_tag_filters() {
        let b = backend(&[
            ("SECRET_b", "YQ=="),
            ("SECRET_A", "YQ=="),
            ("SECRET_", "YQ=="),
            ("SECRET_has.dot", "YQ=="),
            ("OTHER_C", "YQ=="),
        ]);
        let s = scope("t", "team.etl");
        let listed = b.list(&s, &ListFilter::default()).await.unwrap();
        let names: Vec<&str> = listed.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["A", "b"]);
        assert!(listed.iter().all(|m| m.namespace == s.namespace && m.version.is_none() && m.tags.is_empty()));
        let filter = ListFilter { tags: [("team", "x")].into_iter().collect(), recursive: false };
        assert!(b.list(&s, &filter).await.unwrap().is_empty());
    }

    #[test]
    fn custom_prefix_and_empty_prefix() {
        let config = EnvConfig { prefix: "HUSH_".to_owned() };
        let b = EnvBackend::from_vars("e", config, [("HUSH_X", "YQ=="), ("SECRET_Y", "YQ==")]).unwrap();
        assert_eq!(b.len(), 1);
        let empty = EnvConfig { prefix: String::new() };
        let err = EnvBackend::from_vars("e", empty, [("X", "YQ==")]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    }

    #[test]
    fn debug_shows_no_value() {
        let b = backend(&[("SECRET_A", "aHVudGVyMg==")]);
        let text = format!("{b:?}");
        assert!(!text.contains("aHVudGVyMg"), "{text}");
        assert!(text.contains("secrets: 1"), "{text}");
    }

    #[test]
    fn process_env_snapshot_builds() {
        // The test process has no SECRET_ variables of its own; the snapshot must still build
        // and must only hold names that start with the prefix.
        let config = EnvConfig { prefix: "PATH".to_owned() };
        let b = EnvBackend::from_process_env("env", config).unwrap();
        assert!(b.secrets.values().all(|v| v.variable.starts_with("PATH")));
    }

    #[tokio::test]
    async fn behaviour_suite_read_only() {
        let b = backend(&[("SECRET_SEEDED_ONE", "c2VlZGVkIHZhbHVl"), ("SECRET_SEEDED_TWO", "AP8=")]);
        let options = hush_backend_behavior::SuiteOptions::default()
            .with_seeded(scope("acme", "company.team"), name("SEEDED_ONE"), SecretValue::from("seeded value"))
            .with_seeded(scope("other", "x"), name("SEEDED_TWO"), SecretValue::new(vec![0x00, 0xFF]));
        let report = hush_backend_behavior::run_with(Arc::new(b), options).await;
        report.assert_ok();
        for trial in ["writes_are_refused_without_write", "pinned_version_is_refused_without_versions"] {
            assert!(report.passed.contains(&trial), "{trial} did not run");
        }
        assert!(report.passed.contains(&"seeded_secrets_read_back"));
        assert!(report.skipped.iter().any(|s| s.trial == "put_then_get"));
    }
}
