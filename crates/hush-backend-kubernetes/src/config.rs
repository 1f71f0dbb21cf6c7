//! The Kubernetes backend's configuration: where the API server and its credentials come from
//! (in-cluster service account or a kubeconfig), which Kubernetes namespace holds a hush
//! tenant's or namespace's Secrets, the label selector, the data key and the request timeout.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hush_core::{ConfigProblem, KindConfig, Namespace, Scope, SecretName, TenantId};
use serde::Deserialize;

use crate::mapping::is_label_value;

/// The default `data_key`: the Secret data key holding a hush secret's value.
pub const DEFAULT_DATA_KEY: &str = "value";

/// Configuration of a `kubernetes` backend.
///
/// ```toml
/// [backends.k8s-main]
/// kind = "kubernetes"
/// # Credentials: in-cluster service account (the default), or a kubeconfig:
/// # kubeconfig = "/etc/hush/kubeconfig"   # relative to the config file
/// # context = "prod"                      # default: the kubeconfig's current-context
/// namespace = "hush"                      # default: the service account's / context's namespace
/// namespaces = { "acme" = "acme-secrets", "acme/payments" = "payments" }
/// label_selector = "app.kubernetes.io/part-of=hush"
/// data_key = "value"
/// request_timeout = "2s"
/// ```
///
/// `Debug` shows no credential (there is none in this table: tokens stay in their files).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct KubernetesConfig {
    /// The Kubernetes namespace of every Secret no `namespaces` entry places elsewhere.
    /// Default: the service account's namespace in-cluster, the kubeconfig context's
    /// namespace, else `default`.
    pub namespace: String,
    /// Kubernetes namespaces by hush tenant (`"acme"`) or tenant and namespace
    /// (`"acme/payments"`, which covers `payments` and every namespace under it); the most
    /// specific entry wins.
    pub namespaces: BTreeMap<String, String>,
    /// An equality-based label selector (`k=v`, `k==v`, `k!=v`, `k`, `!k`, comma-separated):
    /// only matching Secrets are visible; writes add its `k=v` labels.
    pub label_selector: String,
    /// The data key holding a secret's value. Default `value`.
    pub data_key: String,
    /// A kubeconfig file; when unset, the in-cluster service account is used.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context. Default: its `current-context`.
    pub context: String,
    /// Bound on one HTTP request, e.g. `"2s"`. Default: the backend's `timeout`.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        Self {
            namespace: String::new(),
            namespaces: BTreeMap::new(),
            label_selector: String::new(),
            data_key: DEFAULT_DATA_KEY.to_owned(),
            kubeconfig: None,
            context: String::new(),
            request_timeout: None,
        }
    }
}

impl KubernetesConfig {
    /// The defaults: in-cluster credentials, the service account's namespace.
    pub fn in_cluster() -> Self {
        Self::default()
    }

    /// The defaults with kubeconfig file `path` (its current context).
    pub fn from_kubeconfig(path: impl Into<PathBuf>) -> Self {
        Self { kubeconfig: Some(path.into()), ..Self::default() }
    }

    /// With `namespace`.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// With the `namespaces` entry `hush` (`tenant` or `tenant/namespace`) → `kubernetes`.
    pub fn with_mapping(mut self, hush: impl Into<String>, kubernetes: impl Into<String>) -> Self {
        self.namespaces.insert(hush.into(), kubernetes.into());
        self
    }

    /// With `label_selector`.
    pub fn with_label_selector(mut self, selector: impl Into<String>) -> Self {
        self.label_selector = selector.into();
        self
    }

    /// With `data_key`.
    pub fn with_data_key(mut self, key: impl Into<String>) -> Self {
        self.data_key = key.into();
        self
    }

    /// With `context`.
    pub fn with_context(mut self, context: impl Into<String>) -> Self {
        self.context = context.into();
        self
    }

    /// With `request_timeout`.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }
}

/// Whether `text` is a Kubernetes namespace name (DNS-1123 label).
pub(crate) fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && text.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Whether `text` is a data key of a Secret: `[-._a-zA-Z0-9]+`, at most 253.
pub(crate) fn is_data_key(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// Whether `text` is a label key: an optional DNS-subdomain prefix and `/`, then a name of at
/// most 63 `[A-Za-z0-9._-]` starting and ending alphanumeric.
pub(crate) fn is_label_key(text: &str) -> bool {
    let (prefix, name) = match text.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, text),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty() && p.len() <= 253 && p.split('.').all(is_dns_label) && !p.contains(char::is_uppercase)
    });
    prefix_ok && !name.is_empty() && is_label_value(name)
}

/// One term of an equality-based label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SelectorTerm {
    /// `k=v` or `k==v`.
    Equals(String, String),
    /// `k!=v`.
    NotEquals(String, String),
    /// `k`.
    Exists(String),
    /// `!k`.
    Absent(String),
}

impl SelectorTerm {
    /// Whether `labels` satisfy this term.
    pub(crate) fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            SelectorTerm::Equals(k, v) => labels.get(k) == Some(v),
            SelectorTerm::NotEquals(k, v) => labels.get(k) != Some(v),
            SelectorTerm::Exists(k) => labels.contains_key(k),
            SelectorTerm::Absent(k) => !labels.contains_key(k),
        }
    }
}

/// The terms of `selector`, or what is wrong with it (set-based terms are not supported).
pub(crate) fn parse_selector(selector: &str) -> Result<Vec<SelectorTerm>, String> {
    let mut terms = Vec::new();
    for raw in selector.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let term = if let Some((k, v)) = raw.split_once("!=") {
            SelectorTerm::NotEquals(k.trim().to_owned(), v.trim().to_owned())
        } else if let Some((k, v)) = raw.split_once("==").or_else(|| raw.split_once('=')) {
            SelectorTerm::Equals(k.trim().to_owned(), v.trim().to_owned())
        } else if let Some(k) = raw.strip_prefix('!') {
            SelectorTerm::Absent(k.trim().to_owned())
        } else {
            SelectorTerm::Exists(raw.to_owned())
        };
        let (key, value) = match &term {
            SelectorTerm::Equals(k, v) | SelectorTerm::NotEquals(k, v) => (k, Some(v)),
            SelectorTerm::Exists(k) | SelectorTerm::Absent(k) => (k, None),
        };
        if !is_label_key(key) || value.is_some_and(|v| !is_label_value(v)) {
            return Err(format!(
                "term {raw:?} is not an equality-based selector term (k=v, k==v, k!=v, k, !k; set-based terms are not supported)"
            ));
        }
        terms.push(term);
    }
    Ok(terms)
}

/// Where a `namespaces` key points: a tenant, or a tenant and a hush namespace.
fn parse_mapping_key(key: &str) -> Option<(TenantId, Option<Namespace>)> {
    match key.split_once('/') {
        Some((tenant, namespace)) => Some((TenantId::new(tenant).ok()?, Some(Namespace::new(namespace).ok()?))),
        None => Some((TenantId::new(key).ok()?, None)),
    }
}

/// The Kubernetes namespace of each hush scope, from `namespace` and `namespaces`.
#[derive(Debug, Clone)]
pub(crate) struct NamespaceMap {
    default: String,
    by_tenant: BTreeMap<TenantId, String>,
    by_namespace: BTreeMap<(TenantId, Namespace), String>,
}

impl NamespaceMap {
    /// The map of `config`, with `default` where `namespace` is empty. Keys that do not parse
    /// are left out (`problems` reports them).
    pub(crate) fn new(config: &KubernetesConfig, default: &str) -> Self {
        let mut map = Self {
            default: if config.namespace.is_empty() { default.to_owned() } else { config.namespace.clone() },
            by_tenant: BTreeMap::new(),
            by_namespace: BTreeMap::new(),
        };
        for (key, value) in &config.namespaces {
            match parse_mapping_key(key) {
                Some((tenant, Some(namespace))) => {
                    map.by_namespace.insert((tenant, namespace), value.clone());
                }
                Some((tenant, None)) => {
                    map.by_tenant.insert(tenant, value.clone());
                }
                None => {}
            }
        }
        map
    }

    /// The Kubernetes namespace holding `scope`'s Secrets: the entry of its nearest namespace
    /// (itself or an ancestor), else its tenant's, else the default.
    pub(crate) fn resolve(&self, scope: &Scope) -> &str {
        for namespace in scope.namespace.lineage() {
            if let Some(found) = self.by_namespace.get(&(scope.tenant.clone(), namespace)) {
                return found;
            }
        }
        self.by_tenant.get(&scope.tenant).unwrap_or(&self.default)
    }

    /// Every Kubernetes namespace that can hold the Secrets of `scope` (and, when `recursive`,
    /// of the namespaces under it), sorted, once each.
    pub(crate) fn candidates(&self, scope: &Scope, recursive: bool) -> Vec<String> {
        let mut all = vec![self.resolve(scope).to_owned()];
        if recursive {
            for ((tenant, namespace), value) in &self.by_namespace {
                if *tenant == scope.tenant && scope.namespace.is_self_or_ancestor_of(namespace) {
                    all.push(value.clone());
                }
            }
        }
        all.sort();
        all.dedup();
        all
    }

    /// The default Kubernetes namespace.
    pub(crate) fn default_namespace(&self) -> &str {
        &self.default
    }
}

impl KindConfig for KubernetesConfig {
    /// Every problem of this configuration, with the key it is at. Empty when it is usable.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if !self.namespace.is_empty() && !is_dns_label(&self.namespace) {
            problems.push(ConfigProblem::new(
                &["namespace"],
                format!("{:?} is not a Kubernetes namespace name (DNS-1123 label)", self.namespace),
            ));
        }
        for (key, value) in &self.namespaces {
            if parse_mapping_key(key).is_none() {
                problems.push(ConfigProblem::new(
                    &["namespaces", key],
                    "the key must be a hush tenant or <tenant>/<namespace>".to_owned(),
                ));
            } else if !is_dns_label(value) {
                problems.push(ConfigProblem::new(
                    &["namespaces", key],
                    format!("{value:?} is not a Kubernetes namespace name (DNS-1123 label)"),
                ));
            }
        }
        if let Err(problem) = parse_selector(&self.label_selector) {
            problems.push(ConfigProblem::new(&["label_selector"], problem));
        }
        if !is_data_key(&self.data_key) {
            problems.push(ConfigProblem::new(
                &["data_key"],
                format!("{:?} is not a Secret data key ([-._a-zA-Z0-9]+)", self.data_key),
            ));
        }
        if self.kubeconfig.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            problems.push(ConfigProblem::new(&["kubeconfig"], "is empty; leave it out for in-cluster credentials"));
        }
        if !self.context.is_empty() && self.kubeconfig.is_none() {
            problems.push(ConfigProblem::new(&["context"], "needs kubeconfig"));
        }
        if self.request_timeout.is_some_and(|t| t.is_zero()) {
            problems.push(ConfigProblem::new(&["request_timeout"], "must be longer than 0s"));
        }
        problems
    }

    fn resolve_paths(&mut self, config_dir: &Path) {
        if let Some(path) = &mut self.kubeconfig
            && !path.as_os_str().is_empty()
        {
            *path = config_dir.join(&*path);
        }
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The Secret ([`secret_name`](crate::secret_name)), its data key and the Kubernetes
    /// namespace `namespaces` and `namespace` resolve the scope to, as the calls do; when they
    /// leave it to the default, the credentials' namespace, read at run time.
    fn key_for(&self, scope: &Scope, name: &SecretName) -> Option<String> {
        let namespaces = NamespaceMap::new(self, "");
        let mut text = format!("Secret {:?} key {:?} in ", crate::secret_name(scope, name), self.data_key);
        match namespaces.resolve(scope) {
            "" if self.kubeconfig.is_some() => {
                text.push_str("the kubeconfig context's namespace (else \"default\"), read at run time");
            }
            "" => text.push_str("the service account's namespace (else \"default\"), read at run time"),
            namespace => text.push_str(&format!("namespace {namespace:?}")),
        }
        Some(text)
    }
}

impl fmt::Debug for KubernetesConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubernetesConfig")
            .field("namespace", &self.namespace)
            .field("namespaces", &self.namespaces)
            .field("label_selector", &self.label_selector)
            .field("data_key", &self.data_key)
            .field("kubeconfig", &self.kubeconfig)
            .field("context", &self.context)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use hush_backend_behavior::keys::scope;

    use super::*;

    #[test]
    fn key_for_names_the_secret_and_namespace_the_calls_use() {
        let (s, name) = (scope("acme", "company.team"), SecretName::new("DB_PASSWORD").unwrap());
        assert_eq!(
            KubernetesConfig::in_cluster().key_for(&s, &name).unwrap(),
            r#"Secret "acme.company.team.0d0b010p0a0s0s0w0o0r0d" key "value" in the service account's namespace (else "default"), read at run time"#
        );
        let config =
            KubernetesConfig::from_kubeconfig("kc").with_namespace("hush").with_mapping("acme/company", "company");
        let secret = crate::secret_name(&s, &name);
        let namespace = NamespaceMap::new(&config, "unused").resolve(&s).to_owned();
        assert_eq!(namespace, "company");
        assert_eq!(
            config.key_for(&s, &name).unwrap(),
            format!("Secret {secret:?} key \"value\" in namespace \"company\"")
        );
        let other = scope("other", "x");
        assert!(config.key_for(&other, &name).unwrap().ends_with(r#" in namespace "hush""#));
        let unset = KubernetesConfig::from_kubeconfig("kc").with_data_key("password");
        assert!(unset.key_for(&s, &name).unwrap().contains(r#" key "password" in the kubeconfig context's namespace"#));
    }

    fn keys(config: &KubernetesConfig) -> Vec<String> {
        config.problems().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn defaults_are_usable_and_problems_have_key_paths() {
        assert!(KubernetesConfig::in_cluster().problems().is_empty());
        let bad = KubernetesConfig::in_cluster()
            .with_namespace("Bad_NS")
            .with_mapping("acme/x..y", "ns")
            .with_mapping("acme", "UPPER")
            .with_label_selector("env in (a,b)")
            .with_data_key("a b")
            .with_context("c")
            .with_request_timeout(Duration::ZERO);
        let found = keys(&bad);
        for key in ["namespace", "label_selector", "data_key", "context", "request_timeout"] {
            assert!(found.iter().any(|k| k == key), "{key} in {found:?}");
        }
        assert_eq!(found.iter().filter(|k| k.starts_with("namespaces")).count(), 2, "{found:?}");
    }

    #[test]
    fn selectors_parse() {
        let terms = parse_selector("a=1, b==2,c!=3,d,!e,x.io/f=").unwrap();
        assert_eq!(terms.len(), 6);
        let labels: BTreeMap<String, String> = [("a", "1"), ("b", "2"), ("d", ""), ("x.io/f", "")]
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        assert!(terms.iter().all(|t| t.matches(&labels)));
        assert!(parse_selector("").unwrap().is_empty());
        for bad in ["a in (b)", "a=b c", "-a=b", "a=-b"] {
            assert!(parse_selector(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn namespaces_map_most_specific_first() {
        let config = KubernetesConfig::in_cluster()
            .with_mapping("acme", "acme-ns")
            .with_mapping("acme/payments", "pay")
            .with_mapping("acme/payments.eu", "pay-eu");
        let map = NamespaceMap::new(&config, "default");
        assert_eq!(map.resolve(&scope("acme", "payments.eu.x")), "pay-eu");
        assert_eq!(map.resolve(&scope("acme", "payments.us")), "pay");
        assert_eq!(map.resolve(&scope("acme", "search")), "acme-ns");
        assert_eq!(map.resolve(&scope("other", "payments")), "default");
        assert_eq!(map.candidates(&scope("acme", "payments"), true), ["pay", "pay-eu"]);
        assert_eq!(map.candidates(&scope("acme", "payments"), false), ["pay"]);
        let fixed = NamespaceMap::new(&KubernetesConfig::in_cluster().with_namespace("hush"), "default");
        assert_eq!(fixed.default_namespace(), "hush");
    }

    #[test]
    fn options_parse_and_paths_resolve() {
        let mut config: KubernetesConfig = serde_json::from_value(serde_json::json!({
            "kubeconfig": "kube.yaml", "context": "prod", "namespace": "hush", "request_timeout": "5s",
            "namespaces": {"acme": "acme"}
        }))
        .unwrap();
        assert_eq!(config.request_timeout, Some(Duration::from_secs(5)));
        config.resolve_paths(Path::new("/etc/hush"));
        assert_eq!(config.kubeconfig.as_deref(), Some(Path::new("/etc/hush/kube.yaml")));
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert!(format!("{config:?}").contains("prod"));
        assert!(serde_json::from_value::<KubernetesConfig>(serde_json::json!({"token": "x"})).is_err());
    }
}
