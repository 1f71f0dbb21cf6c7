//! From config to a tree of layered bindings.

use std::collections::BTreeMap;
use std::sync::Arc;

use hush_config::{BackendConfig, BindingConfig, ConfigProblem, HushConfig};
use hush_core::{
    BackendInfo, BindingTree, Error, ErrorKind, Namespace, Result, SharedBackend, Tags, TenantBindings, TenantId,
};
use hush_layers::{BackendMetrics, LayerStack, RetryLayer};

use crate::KINDS;
use crate::context::BackendContext;
use crate::open::{capabilities, key_usage_backend, open_backend, option_problems, rekey_backend};
use crate::reconnect::Reconnecting;

/// Every problem of `config`: the generic ones and each backend's own options, with key paths.
pub fn problems(config: &HushConfig) -> Vec<ConfigProblem> {
    let mut problems = config.problems(KINDS);
    for (name, backend) in &config.backends {
        problems.extend(option_problems(name, backend));
    }
    problems
}

fn tags(map: &BTreeMap<String, String>) -> Result<Tags> {
    Ok(Tags::try_from(map.clone())?)
}

/// The layers a backend carries whatever binds it.
fn backend_layers(backend: &BackendConfig) -> Result<LayerStack> {
    let retry = &backend.retry;
    let mut stack = LayerStack::new()
        .timeout(backend.timeout)
        .retry(RetryLayer::new(retry.max_attempts, retry.min_delay, retry.max_delay))
        .default_tags(tags(&backend.default_tags)?);
    if let Some(max) = backend.max_concurrency {
        stack = stack.concurrency_limit(max);
    }
    Ok(stack)
}

/// Opens one backend; when it is unreachable, a handle that reopens it later.
async fn open_or_defer(
    config: &HushConfig,
    name: &str,
    backend: &BackendConfig,
    context: &BackendContext,
) -> Result<SharedBackend> {
    match open_backend(config, name, backend, context).await {
        Ok(opened) => Ok(opened),
        Err(e) if e.kind() == ErrorKind::Unavailable => {
            tracing::warn!(backend = name, error = %e, "backend unreachable at start: serving it as unavailable until it opens");
            let info = BackendInfo {
                kind: KINDS.iter().find(|k| **k == backend.kind).copied().unwrap_or("unknown"),
                name: name.to_owned(),
                capabilities: capabilities(backend),
            };
            let (config, name, backend, context) = (config.clone(), name.to_owned(), backend.clone(), context.clone());
            let open = Box::new(move || {
                let (config, name, backend, context) = (config.clone(), name.clone(), backend.clone(), context.clone());
                Box::pin(async move { open_backend(&config, &name, &backend, &context).await })
                    as futures::future::BoxFuture<'static, Result<SharedBackend>>
            });
            Ok(Arc::new(Reconnecting::new(info, &e, open)))
        }
        Err(e) => Err(e.with_context("backend", name)),
    }
}

fn bind(
    backends: &BTreeMap<String, (SharedBackend, BackendMetrics)>,
    binding: &BindingConfig,
    label: &str,
) -> Result<SharedBackend> {
    let (backend, metrics) = backends.get(&binding.backend).ok_or_else(|| {
        Error::new(ErrorKind::ConfigInvalid, format!("{label}: unknown backend {:?}", binding.backend))
    })?;
    let mut stack = LayerStack::new().metrics(metrics.clone()).tag_filter(tags(&binding.filter_tags)?);
    if binding.read_only {
        stack = stack.read_only(label);
    }
    Ok(stack.apply(backend.clone()))
}

/// Opens every configured backend and builds the binding tree.
pub async fn build_bindings(config: &HushConfig, context: &BackendContext) -> Result<BindingTree<SharedBackend>> {
    let mut backends = BTreeMap::new();
    for (name, backend) in &config.backends {
        let opened = open_or_defer(config, name, backend, context).await?;
        let layered = backend_layers(backend)?.apply(opened);
        backends.insert(name.clone(), (layered, BackendMetrics::new()));
    }
    let mut tree = BindingTree::new();
    for (tenant, tenant_config) in &config.tenants {
        let tenant_id = TenantId::new(tenant.as_str())?;
        let mut bindings = TenantBindings::default();
        if let Some(default) = tenant_config.default_binding() {
            bindings.default = Some(bind(&backends, &default, &format!("tenants.{tenant}"))?);
        }
        for (namespace, binding) in &tenant_config.namespaces {
            let label = format!("tenants.{tenant}.namespaces.\"{namespace}\"");
            bindings.overrides.insert(Namespace::new(namespace.as_str())?, bind(&backends, binding, &label)?);
        }
        tree.insert_tenant(tenant_id, bindings);
    }
    Ok(tree)
}

/// Opens each backend and runs its check, bounded by its timeout: `hush config check`.
pub async fn check_backends(config: &HushConfig, context: &BackendContext) -> Vec<(String, Result<()>)> {
    let mut results = Vec::new();
    for (name, backend) in &config.backends {
        let checked = tokio::time::timeout(backend.timeout.max(std::time::Duration::from_secs(1)) * 2, async {
            open_backend(config, name, backend, context).await?.check().await
        })
        .await
        .unwrap_or_else(|_| Err(Error::unavailable(format!("no answer within {:?}", backend.timeout * 2))));
        results.push((format!("{name} ({})", backend.kind), checked));
    }
    results
}

/// Re-seals every value of every backend that seals at rest: `hush rekey`.
pub async fn rekey_all(
    config: &HushConfig,
    context: &BackendContext,
    batch_size: usize,
) -> Vec<(String, Result<String>)> {
    let mut reports = Vec::new();
    for (name, backend) in &config.backends {
        if let Some(report) = rekey_backend(config, name, backend, context, batch_size).await {
            reports.push((name.clone(), report));
        }
    }
    reports
}

/// Stored rows per at-rest key id, for every backend that seals at rest (by backend name):
/// `hush keys retire-at-rest` retires a key only when no backend stores a row under it.
pub async fn key_usage_all(config: &HushConfig, context: &BackendContext) -> Vec<(String, Result<BTreeMap<u32, u64>>)> {
    let mut usage = Vec::new();
    for (name, backend) in &config.backends {
        if let Some(counted) = key_usage_backend(config, name, backend, context).await {
            usage.push((name.clone(), counted));
        }
    }
    usage
}
