//! Validation: every problem of a loaded configuration at once, each with its key path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use hush_core::{Namespace, Tags, TenantId};

use crate::model::{BindingConfig, HushConfig, NatsConfig, TenantConfig};
use crate::problem::ConfigProblem;

/// Longest grant lifetime a configuration may allow.
pub const MAX_GRANT_LIFETIME_LIMIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// The override of `config` for the longest configured namespace equal to or above `namespace`.
fn nearest_override<'a>(config: &'a TenantConfig, namespace: &str) -> Option<&'a BindingConfig> {
    let covers = |key: &str| namespace == key || namespace.strip_prefix(key).is_some_and(|r| r.starts_with('.'));
    config.namespaces.iter().filter(|(key, _)| covers(key)).max_by_key(|(key, _)| key.len()).map(|(_, binding)| binding)
}

/// NATS URL schemes hush connects with.
const NATS_SCHEMES: [&str; 4] = ["nats", "tls", "ws", "wss"];

impl HushConfig {
    /// The backends some binding writes through: a tenant default or namespace override that
    /// names it and is not `read_only`.
    pub fn written_backends(&self) -> BTreeSet<&str> {
        let defaults = self.tenants.values().filter(|t| !t.read_only).filter_map(|t| t.backend.as_deref());
        let overrides = self.tenants.values().flat_map(|t| t.namespaces.values()).filter(|b| !b.read_only);
        defaults.chain(overrides.map(|b| b.backend.as_str())).collect()
    }

    /// The binding that serves `namespace` of `tenant` as written in this file: the override
    /// of the longest configured namespace equal to or above it, else the tenant's default.
    /// `(backend name, read_only)`; `None` when the tenant is not configured or nothing serves
    /// the namespace.
    pub fn binding_for(&self, tenant: &str, namespace: &str) -> Option<(&str, bool)> {
        let config = self.tenants.get(tenant)?;
        match nearest_override(config, namespace) {
            Some(binding) => Some((binding.backend.as_str(), binding.read_only)),
            None => config.backend.as_deref().map(|backend| (backend, config.read_only)),
        }
    }

    /// The tag filter of the binding that serves `namespace` of `tenant` as written in this
    /// file (the same binding as [`binding_for`](Self::binding_for)): the nearest override's,
    /// else the tenant's own; `None` when the tenant is not configured.
    pub fn filter_tags_for(&self, tenant: &str, namespace: &str) -> Option<&BTreeMap<String, String>> {
        let config = self.tenants.get(tenant)?;
        Some(nearest_override(config, namespace).map_or(&config.filter_tags, |binding| &binding.filter_tags))
    }

    /// Every problem of this configuration, each with its key path: those met while
    /// reading it (unknown keys, bad types and durations) and those of its meaning.
    ///
    /// `known_kinds` are the backend kinds this build supports. Checked: tenant ids,
    /// namespace keys and tag keys (hush-core's rules); bindings naming an unknown backend;
    /// backends of an unknown kind; tenants with neither a default backend nor namespaces;
    /// zero cache sizes while the cache is enabled; NATS URL schemes; that key files exist
    /// (not their content); `resolver.max_grant_lifetime` at most 7 days; zero timeouts.
    /// An empty list means the configuration is usable.
    pub fn problems(&self, known_kinds: &[&str]) -> Vec<ConfigProblem> {
        let mut found = Found::default();
        check_nats(&self.nats, &mut found);
        self.check_keys(&mut found);
        self.check_cache(&mut found);
        self.check_resolver(&mut found);
        self.check_backends(known_kinds, &mut found);
        self.check_tenants(&mut found);
        self.check_gateway(&mut found);
        // A key already reported while reading it was dropped and defaulted: its
        // semantic problem would only repeat the first.
        let mut all = self.load_problems.clone();
        all.extend(found.0.into_iter().filter(|p| !self.load_problems.iter().any(|l| l.path == p.path)));
        all
    }

    fn check_keys(&self, found: &mut Found) {
        let keys = &self.keys;
        let single = [
            ("resolver_key", &keys.resolver_key),
            ("resolver_public_key", &keys.resolver_public_key),
            ("issuer_key", &keys.issuer_key),
            ("at_rest", &keys.at_rest),
            ("client_key", &keys.client_key),
        ];
        for (name, path) in single {
            if let Some(path) = path {
                check_file(&["keys", name], path, found);
            }
        }
        for (i, path) in keys.issuer_public_keys.iter().enumerate() {
            check_file(&["keys", "issuer_public_keys", &i.to_string()], path, found);
        }
        for (i, path) in keys.previous_resolver_keys.iter().enumerate() {
            check_file(&["keys", "previous_resolver_keys", &i.to_string()], path, found);
        }
    }

    fn check_gateway(&self, found: &mut Found) {
        let gateway = &self.gateway;
        if gateway.listen.parse::<std::net::SocketAddr>().is_err() {
            found.add(&["gateway", "listen"], "must be an IP address and port (\"0.0.0.0:8443\")");
        }
        if let Some(tls) = &gateway.tls {
            check_file(&["gateway", "tls", "cert"], &tls.cert, found);
            check_file(&["gateway", "tls", "key"], &tls.key, found);
        }
        if let Some(path) = &gateway.client_key {
            check_file(&["gateway", "client_key"], path, found);
        }
        for (tenant, path) in &gateway.client_ca {
            check_file(&["gateway", "client_ca", tenant], path, found);
            if !self.tenants.contains_key(tenant) {
                found.add(
                    &["gateway", "client_ca", tenant],
                    format!("names tenant {tenant:?}, which has no [tenants.{tenant}]"),
                );
            }
        }
        if gateway.max_body_bytes == 0 {
            found.add(&["gateway", "max_body_bytes"], "must be greater than 0");
        }
    }

    fn check_cache(&self, found: &mut Found) {
        let cache = &self.cache;
        if !cache.enabled {
            return;
        }
        let hint = "while the cache is enabled (set enabled = false to turn it off)";
        if cache.max_entries == 0 {
            found.add(&["cache", "max_entries"], format!("must be greater than 0 {hint}"));
        }
        if cache.max_bytes == 0 {
            found.add(&["cache", "max_bytes"], format!("must be greater than 0 {hint}"));
        }
        if cache.ttl.is_zero() {
            found.add(&["cache", "ttl"], format!("must be greater than 0 {hint}"));
        }
    }

    fn check_resolver(&self, found: &mut Found) {
        let resolver = &self.resolver;
        if resolver.max_grant_lifetime > MAX_GRANT_LIFETIME_LIMIT {
            found.add(
                &["resolver", "max_grant_lifetime"],
                format!(
                    "{} is longer than the limit of 7 days",
                    humantime::format_duration(resolver.max_grant_lifetime)
                ),
            );
        }
        positive(&["resolver", "max_grant_lifetime"], resolver.max_grant_lifetime, found);
        positive(&["resolver", "request_timeout"], resolver.request_timeout, found);
        if resolver.request_timeout >= self.nats.request_timeout {
            found.add(
                &["resolver", "request_timeout"],
                format!(
                    "is {}, not shorter than nats.request_timeout ({}), how long clients wait: a client would give \
                     up before the resolver answers and see \"no resolver answered\" instead of the reason",
                    humantime::format_duration(resolver.request_timeout),
                    humantime::format_duration(self.nats.request_timeout)
                ),
            );
        }
        if resolver.max_in_flight == 0 {
            found.add(&["resolver", "max_in_flight"], "must be greater than 0");
        }
        if resolver.worker_threads == 0 {
            found.add(&["resolver", "worker_threads"], "must be greater than 0");
        }
        if resolver.queue_group.is_empty() {
            found.add(&["resolver", "queue_group"], "is empty");
        }
        if !is_token(&resolver.service_name) {
            found.add(&["resolver", "service_name"], "must be 1 or more letters, digits, '_' or '-'");
        }
        positive(&["resolver", "replay_window"], resolver.replay_window, found);
        positive(&["resolver", "read_budget_window"], resolver.read_budget_window, found);
        if resolver.max_backend_reads_per_grant == 0 {
            found.add(&["resolver", "max_backend_reads_per_grant"], "must be greater than 0");
        }
        if !is_token(&resolver.replay_bucket) {
            found.add(
                &["resolver", "replay_bucket"],
                "must be 1 or more letters, digits, '_' or '-' (a JetStream bucket name)",
            );
        }
        if !is_token(&resolver.audit_stream) {
            found.add(
                &["resolver", "audit_stream"],
                "must be 1 or more letters, digits, '_' or '-' (a JetStream stream name)",
            );
        }
        positive(&["resolver", "audit_max_age"], resolver.audit_max_age, found);
        if resolver.audit_max_bytes == 0 {
            found.add(&["resolver", "audit_max_bytes"], "must be greater than 0");
        }
        if resolver.audit_required && !resolver.audit {
            found.add(
                &["resolver", "audit_required"],
                "is true while resolver.audit is false: hushd would refuse every request it cannot audit, and audit none",
            );
        }
        for (i, prefix) in resolver.reply_prefixes.iter().enumerate() {
            let at = ["resolver", "reply_prefixes", &i.to_string()];
            let trimmed = prefix.trim_end_matches('.');
            if trimmed.is_empty() || trimmed.contains(['*', '>', ' ']) || trimmed.split('.').any(str::is_empty) {
                found.add(&at, format!("{prefix:?} is not a NATS subject prefix"));
            } else if trimmed == "hush" || trimmed.starts_with("hush.") || trimmed.starts_with('$') {
                found.add(
                    &at,
                    format!("{prefix:?} would let requests make hushd publish onto hush's own or NATS system subjects"),
                );
            }
        }
    }

    fn check_backends(&self, known_kinds: &[&str], found: &mut Found) {
        let known = if known_kinds.is_empty() {
            "this build supports no backend kind".to_owned()
        } else {
            format!("known kinds: {}", known_kinds.join(", "))
        };
        for (name, backend) in &self.backends {
            let at = |key: &'static str| vec!["backends", name.as_str(), key];
            if !is_token(name) || name.len() > 63 {
                found.add(&["backends", name], "backend name must be 1 to 63 letters, digits, '_' or '-'");
            }
            if backend.kind.is_empty() {
                found.add(&at("kind"), format!("missing; {known}"));
            } else if !known_kinds.contains(&backend.kind.as_str()) {
                found.add(&at("kind"), format!("unknown kind {:?}; {known}", backend.kind));
            }
            check_tags(&at("default_tags"), &backend.default_tags, found);
            positive(&at("timeout"), backend.timeout, found);
            if backend.retry.max_attempts == 0 {
                found.add(&["backends", name, "retry", "max_attempts"], "must be at least 1 (1 = no retry)");
            }
            if backend.retry.min_delay > backend.retry.max_delay {
                found.add(&["backends", name, "retry", "min_delay"], "is longer than retry.max_delay");
            }
            let longest = backend.longest_call();
            if longest >= self.resolver.request_timeout && !backend.timeout.is_zero() {
                found.add(
                    &at("timeout"),
                    format!(
                        "{} attempt(s) of up to {} each, with up to {} between them (retry.max_delay), take up to {}, \
                         not less than resolver.request_timeout ({}): the resolver would give up before the backend \
                         does and could not say which backend failed; shorten timeout or retry, or lengthen \
                         resolver.request_timeout",
                        backend.retry.max_attempts.max(1),
                        humantime::format_duration(backend.timeout),
                        humantime::format_duration(backend.retry.max_delay),
                        humantime::format_duration(longest),
                        humantime::format_duration(self.resolver.request_timeout)
                    ),
                );
            }
            if backend.max_concurrency == Some(0) {
                found.add(&at("max_concurrency"), "must be greater than 0 (leave it out for no limit)");
            }
        }
    }

    fn check_tenants(&self, found: &mut Found) {
        for (id, tenant) in &self.tenants {
            if let Err(e) = TenantId::new(id.as_str()) {
                found.add(&["tenants", id], e.to_string());
            }
            match &tenant.backend {
                Some(backend) => self.check_backend_name(&["tenants", id, "backend"], backend, found),
                None if tenant.namespaces.is_empty() => found.add(
                    &["tenants", id],
                    "has neither a default `backend` nor `namespaces`: it would serve no secret",
                ),
                None => {
                    if tenant.read_only || !tenant.filter_tags.is_empty() {
                        let key = if tenant.read_only { "read_only" } else { "filter_tags" };
                        found.add(&["tenants", id, key], "applies to the default binding, but `backend` is not set");
                    }
                }
            }
            check_tags(&["tenants", id, "filter_tags"], &tenant.filter_tags, found);
            for (i, path) in tenant.issuer_public_keys.iter().enumerate() {
                check_file(&["tenants", id, "issuer_public_keys", &i.to_string()], path, found);
            }
            for (namespace, binding) in &tenant.namespaces {
                let at = ["tenants", id.as_str(), "namespaces", namespace.as_str()];
                if let Err(e) = Namespace::new(namespace.as_str()) {
                    found.add(&at, e.to_string());
                }
                let backend_at = [&at[..], &["backend"]].concat();
                if binding.backend.is_empty() {
                    found.add(&backend_at, "missing: a namespace binding names its backend");
                } else {
                    self.check_backend_name(&backend_at, &binding.backend, found);
                }
                check_tags(&[&at[..], &["filter_tags"]].concat(), &binding.filter_tags, found);
            }
        }
    }

    fn check_backend_name(&self, at: &[&str], backend: &str, found: &mut Found) {
        if self.backends.contains_key(backend) {
            return;
        }
        let configured = if self.backends.is_empty() {
            "no backends are configured".to_owned()
        } else {
            format!("configured: {}", self.backends.keys().map(String::as_str).collect::<Vec<_>>().join(", "))
        };
        found.add(at, format!("unknown backend {backend:?} ({configured})"));
    }
}

/// Problems found so far.
#[derive(Default)]
struct Found(Vec<ConfigProblem>);

impl Found {
    fn add(&mut self, path: &[&str], message: impl Into<String>) {
        self.0.push(ConfigProblem::new(path, message));
    }
}

fn check_nats(nats: &NatsConfig, found: &mut Found) {
    if nats.url.trim().is_empty() {
        found.add(&["nats", "url"], "is empty");
    }
    for url in nats.url.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        // The URL itself is not repeated: it may hold a password.
        match url.split_once("://") {
            Some((scheme, _)) if NATS_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) => {}
            Some((scheme, _)) => {
                found.add(&["nats", "url"], format!("scheme {scheme:?} is not one of nats://, tls://, ws://, wss://"))
            }
            None => found.add(&["nats", "url"], "must start with nats://, tls://, ws:// or wss://"),
        }
    }
    if let Some(path) = &nats.credentials {
        check_file(&["nats", "credentials"], path, found);
    }
    if let Some(tls) = &nats.tls {
        for (name, path) in [("ca", &tls.ca), ("cert", &tls.cert), ("key", &tls.key)] {
            if let Some(path) = path {
                check_file(&["nats", "tls", name], path, found);
            }
        }
        if tls.cert.is_some() != tls.key.is_some() {
            let missing = if tls.cert.is_some() { "key" } else { "cert" };
            found.add(&["nats", "tls", missing], "missing: a client certificate needs both `cert` and `key`");
        }
    }
    positive(&["nats", "request_timeout"], nats.request_timeout, found);
    positive(&["nats", "connect_timeout"], nats.connect_timeout, found);
}

/// A file the process must read exists, is a file, and opens (its content is the business of
/// the crate that uses it).
fn check_file(at: &[&str], path: &Path, found: &mut Found) {
    if path.is_file() {
        if let Err(e) = std::fs::File::open(path) {
            found.add(at, format!("{} is unreadable: {e}", path.display()));
        }
        return;
    }
    let what = if path.exists() { "is not a file" } else { "does not exist" };
    found.add(at, format!("{} {what}", path.display()));
}

fn check_tags(at: &[&str], tags: &BTreeMap<String, String>, found: &mut Found) {
    for (key, value) in tags {
        if let Err(e) = Tags::new().insert(key.as_str(), value.as_str()) {
            found.add(&[at, &[key.as_str()]].concat(), e.to_string());
        }
    }
}

fn positive(at: &[&str], duration: Duration, found: &mut Found) {
    if duration.is_zero() {
        found.add(at, "must be greater than 0");
    }
}

/// `[A-Za-z0-9_-]+`.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
