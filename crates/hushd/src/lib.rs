//! hushd as a library: what the binary runs, callable in-process by tests and benches.
//!
//! [`run`] refuses to start when the config has problems (listing all of them), connects to
//! NATS, opens the replay ledger (a JetStream key-value bucket) and the backends, serves
//! `/metrics`, `/healthz` and `/readyz` when `resolver.metrics_address` is set
//! ([`serve_metrics`]), and serves requests until the shutdown future completes.

#![deny(missing_docs)]

pub use hush_backends::install_tls_provider;
pub use metrics::{BackendCalls, serve_metrics};

mod metrics;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use anyhow::{Context, bail};
use hush_cache::{CacheSettings, SecretCache};
use hush_config::HushConfig;
use hush_core::TenantId;
use hush_crypto::{GrantVerifier, ResolverKeyPair};
use hush_resolver::{
    AuditSettings, BindingPolicy, JetStreamLedger, ReadBudget, ReplayLedger, ReplyPrefixes, Resolver, ResolverSettings,
};

/// Runs the resolver for `config` until `shutdown` completes.
pub async fn run(config: HushConfig, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    check_config(&config)?;
    let client = connect_nats(&config).await?;
    let ledger = open_replay_ledger(&client, &config).await?;
    // Backend calls are observed only when someone can read what is observed.
    let calls = config.resolver.metrics_address.map(|_| Arc::new(BackendCalls::default()));
    let observer = calls.clone().map(|calls| calls as Arc<dyn hush_layers::CallObserver>);
    let resolver = build_resolver_observed(&config, ledger, observer).await?;
    let endpoint = match (config.resolver.metrics_address, calls) {
        (Some(address), Some(calls)) => {
            Some(metrics::serve_metrics(address, resolver.clone(), client.clone(), calls).await?.1)
        }
        _ => None,
    };
    let served = hush_resolver::serve(resolver, client, shutdown).await;
    if let Some(endpoint) = endpoint {
        endpoint.abort();
    }
    served?;
    tracing::info!("hushd stopped");
    Ok(())
}

/// Opens (creating it when missing) the JetStream bucket `resolver.replay_bucket` where every
/// replica records the ids of admin requests.
pub async fn open_replay_ledger(
    client: &async_nats::Client,
    config: &HushConfig,
) -> anyhow::Result<Arc<dyn ReplayLedger>> {
    let resolver = &config.resolver;
    let ledger = JetStreamLedger::open(client, &resolver.replay_bucket, resolver.replay_window).await?;
    Ok(Arc::new(ledger))
}

fn check_config(config: &HushConfig) -> anyhow::Result<()> {
    let problems = hush_backends::problems(config);
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        bail!("the config has {} problem(s):\n{}", problems.len(), list.join("\n"));
    }
    Ok(())
}

/// The grant verifier of `config`: `keys.issuer_public_keys` for every tenant, narrowed to
/// `tenants.<id>.issuer_public_keys` where a tenant lists its own.
pub fn grant_verifier(config: &HushConfig) -> anyhow::Result<GrantVerifier> {
    let keys = &config.keys;
    let lifetime = config.resolver.max_grant_lifetime;
    let without_issuers: Vec<&String> =
        config.tenants.iter().filter(|(_, t)| t.issuer_public_keys.is_empty()).map(|(id, _)| id).collect();
    if keys.issuer_public_keys.is_empty() && !without_issuers.is_empty() {
        let names: Vec<&str> = without_issuers.iter().map(|s| s.as_str()).collect();
        bail!(
            "keys.issuer_public_keys is empty and tenant(s) {} list no issuer_public_keys of their own: hushd would trust no grant for them",
            names.join(", ")
        );
    }
    let mut verifier = if keys.issuer_public_keys.is_empty() {
        GrantVerifier::without_default_issuers(lifetime)
    } else {
        GrantVerifier::load(&keys.issuer_public_keys, lifetime).context("cannot read keys.issuer_public_keys")?
    };
    for (id, tenant) in &config.tenants {
        if tenant.issuer_public_keys.is_empty() {
            continue;
        }
        let tenant_id = TenantId::new(id.as_str())?;
        verifier = verifier
            .load_tenant_issuers(tenant_id, &tenant.issuer_public_keys)
            .with_context(|| format!("cannot read tenants.{id}.issuer_public_keys"))?;
    }
    Ok(verifier)
}

/// Checks `config`, opens its backends and builds the resolver, recording admin request ids
/// in `ledger` (without NATS otherwise).
pub async fn build_resolver(config: &HushConfig, ledger: Arc<dyn ReplayLedger>) -> anyhow::Result<Resolver> {
    build_resolver_observed(config, ledger, None).await
}

/// [`build_resolver`], with every backend call reported to `observer` when given.
pub async fn build_resolver_observed(
    config: &HushConfig,
    ledger: Arc<dyn ReplayLedger>,
    observer: Option<Arc<dyn hush_layers::CallObserver>>,
) -> anyhow::Result<Resolver> {
    check_config(config)?;
    let keys = &config.keys;
    let resolver_key_path =
        keys.resolver_key.as_ref().context("keys.resolver_key is not set: run `hush keys init DIR`")?;
    let resolver_key = ResolverKeyPair::load(resolver_key_path)
        .with_context(|| format!("cannot read the resolver key {}", resolver_key_path.display()))?;
    let mut resolver_keys = vec![resolver_key];
    for (i, path) in keys.previous_resolver_keys.iter().enumerate() {
        let key = ResolverKeyPair::load(path)
            .with_context(|| format!("cannot read keys.previous_resolver_keys.{i} {}", path.display()))?;
        if resolver_keys.iter().any(|known| known.key_id() == key.key_id()) {
            bail!("keys.previous_resolver_keys.{i} {} is a key hushd already holds", path.display());
        }
        resolver_keys.push(key);
    }
    let verifier = grant_verifier(config)?;
    let mut context = hush_backends::BackendContext::from_config(config).context("cannot prepare the backends")?;
    context.observer = observer;
    let bindings = hush_backends::build_bindings(config, &context).await.context("cannot open the backends")?;
    let cache = SecretCache::new(cache_settings(config));
    let settings = ResolverSettings {
        service_name: config.resolver.service_name.clone(),
        queue_group: config.resolver.queue_group.clone(),
        max_in_flight: config.resolver.max_in_flight,
        request_timeout: config.resolver.request_timeout,
        audit: audit_settings(config),
        instance: instance_name(),
        replay_window: config.resolver.replay_window,
        binding_policy: binding_policy(config)?,
        reply_prefixes: ReplyPrefixes::new(&config.resolver.reply_prefixes),
        read_budget: read_budget(config),
    };
    Ok(Resolver::new(bindings, cache, verifier, resolver_keys, ledger, settings))
}

/// `[cache]` as the cache takes it.
fn cache_settings(config: &HushConfig) -> CacheSettings {
    CacheSettings {
        enabled: config.cache.enabled,
        max_entries: config.cache.max_entries,
        max_bytes: config.cache.max_bytes,
        ttl: config.cache.ttl,
        negative_ttl: config.cache.negative_ttl,
        stale_if_error: config.cache.stale_if_error,
    }
}

/// The `resolver.audit*` keys as the resolver takes them.
fn audit_settings(config: &HushConfig) -> AuditSettings {
    AuditSettings {
        enabled: config.resolver.audit,
        required: config.resolver.audit_required,
        stream: config.resolver.audit_stream.clone(),
        max_age: config.resolver.audit_max_age,
        max_bytes: config.resolver.audit_max_bytes,
    }
}

/// `resolver.max_backend_reads_per_grant` per `resolver.read_budget_window`.
fn read_budget(config: &HushConfig) -> ReadBudget {
    ReadBudget {
        max_backend_reads: config.resolver.max_backend_reads_per_grant,
        window: config.resolver.read_budget_window,
    }
}

fn binding_policy(config: &HushConfig) -> anyhow::Result<BindingPolicy> {
    let mut tenants = HashMap::new();
    for (id, tenant) in &config.tenants {
        if let Some(required) = tenant.require_bound_grants {
            tenants.insert(TenantId::new(id.as_str())?, required);
        }
    }
    Ok(BindingPolicy { default: config.resolver.require_bound_grants, tenants })
}

fn instance_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
    format!("{}:{}", if host.is_empty() { "hushd" } else { &host }, std::process::id())
}

/// Connects to the NATS server of `config`.
pub async fn connect_nats(config: &HushConfig) -> anyhow::Result<async_nats::Client> {
    Ok(hush_nats::NatsOptions::from_config(&config.nats, "hushd").connect().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The libraries' own defaults (what tests and benches build) are the config's: one set of
    /// defaults, written twice, kept equal here.
    #[test]
    fn the_libraries_defaults_are_the_configs() {
        let config = HushConfig::default();
        assert_eq!(cache_settings(&config), CacheSettings::default());
        assert_eq!(audit_settings(&config), AuditSettings::default());
        assert_eq!(read_budget(&config), ReadBudget::default());
        let resolver = ResolverSettings::default();
        assert_eq!(config.resolver.service_name, resolver.service_name);
        assert_eq!(config.resolver.queue_group, resolver.queue_group);
        assert_eq!(config.resolver.max_in_flight, resolver.max_in_flight);
        assert_eq!(config.resolver.request_timeout, resolver.request_timeout);
        assert_eq!(config.resolver.replay_window, resolver.replay_window);
        assert_eq!(config.resolver.require_bound_grants, resolver.binding_policy.default);
    }

    #[tokio::test]
    async fn a_config_with_problems_is_refused_with_all_of_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.toml");
        std::fs::write(
            &path,
            "[cache]\nttl_ = \"5s\"\n[backends.local]\nkind = \"sql\"\n[tenants.acme]\nbackend = \"vlt\"\n",
        )
        .unwrap();
        let config = HushConfig::load(&path).unwrap();
        let error = build_resolver(&config, memory_ledger()).await.unwrap_err().to_string();
        assert!(error.contains("problem(s)"), "{error}");
        assert!(error.contains("cache.ttl_: unknown key"), "{error}");
        assert!(error.contains("tenants.acme.backend: unknown backend \"vlt\""), "{error}");
    }

    #[tokio::test]
    async fn a_missing_resolver_key_says_how_to_make_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.toml");
        std::fs::write(&path, "[backends.local]\nkind = \"env\"\n[tenants.acme]\nbackend = \"local\"\n").unwrap();
        let config = HushConfig::load(&path).unwrap();
        let error = build_resolver(&config, memory_ledger()).await.unwrap_err().to_string();
        assert!(error.contains("hush keys init"), "{error}");
    }

    fn memory_ledger() -> Arc<dyn ReplayLedger> {
        Arc::new(hush_resolver::MemoryLedger::new(std::time::Duration::from_secs(60)))
    }
}
