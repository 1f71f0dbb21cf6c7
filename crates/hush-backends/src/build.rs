//! From config to a tree of layered bindings, and the operations over every backend.

use std::collections::BTreeMap;
use std::sync::Arc;

use hush_config::{BackendConfig, BindingConfig, ConfigProblem, HushConfig};
use hush_core::{
    BackendInfo, BindingTree, Capabilities, Error, ErrorKind, Namespace, Result, SealedStore, SharedBackend, Tags,
    TenantBindings, TenantId,
};
use hush_layers::{LayerStack, ReconnectingBackend, RetryLayer};

use crate::context::BackendContext;
use crate::kind::{BackendKind, ConfiguredBackend};

/// Every problem of `config`: the generic ones and each backend's own options, with key paths.
pub fn problems(config: &HushConfig) -> Vec<ConfigProblem> {
    let mut problems = config.problems(&crate::kind_names());
    let written = config.written_backends();
    for (name, table) in &config.backends {
        if let Some(kind) = crate::kind(&table.kind) {
            problems.extend(kind.check_table(name, table));
            if kind.seals_at_rest() && config.keys.at_rest.is_none() {
                problems.push(ConfigProblem::new(
                    &["backends", name.as_str()],
                    format!("kind {} seals values with the at-rest key ring: set keys.at_rest", table.kind),
                ));
            }
            if written.contains(name.as_str()) {
                problems.extend(kind.check_writes(name, table).into_iter().map(|p| ConfigProblem {
                    message: format!("{} (a binding that is not read_only writes through this backend)", p.message),
                    ..p
                }));
            }
        }
    }
    problems
}

/// The kind of backend `name`, or a `ConfigInvalid` error saying this build does not know it.
fn kind_of(name: &str, table: &BackendConfig) -> Result<&'static dyn BackendKind> {
    crate::kind(&table.kind).ok_or_else(|| {
        Error::new(
            ErrorKind::ConfigInvalid,
            format!(
                "backend {name:?} has kind {:?}, which this build does not know (it knows: {})",
                table.kind,
                crate::kind_names().join(", ")
            ),
        )
    })
}

/// Opens backend `name` without layers: one attempt, bounded by its longest call.
async fn open(
    config: &HushConfig,
    name: &str,
    table: &BackendConfig,
    context: &BackendContext,
) -> Result<SharedBackend> {
    let kind = kind_of(name, table)?;
    let bound = table.longest_call();
    let config_dir = config.config_dir();
    let backend = ConfiguredBackend { name, table, config_dir: &config_dir, at_rest: context.at_rest.clone() };
    let opening = kind.open(&backend);
    tokio::time::timeout(bound, opening).await.unwrap_or_else(|_| {
        Err(Error::unavailable(format!("backend {name:?} did not open within {}", humantime::format_duration(bound))))
    })
}

fn tags(map: &BTreeMap<String, String>) -> Result<Tags> {
    Ok(Tags::try_from(map.clone())?)
}

/// The layers a backend carries whatever binds it.
fn backend_layers(table: &BackendConfig) -> Result<LayerStack> {
    let retry = &table.retry;
    let mut stack = LayerStack::new()
        .timeout(table.timeout)
        .retry(RetryLayer::new(retry.max_attempts, retry.min_delay, retry.max_delay))
        .default_tags(tags(&table.default_tags)?);
    if let Some(max) = table.max_concurrency {
        stack = stack.concurrency_limit(max);
    }
    Ok(stack)
}

/// Opens one backend; when it is unreachable, a handle that opens it later.
async fn open_or_defer(
    config: &HushConfig,
    name: &str,
    table: &BackendConfig,
    context: &BackendContext,
) -> Result<SharedBackend> {
    match open(config, name, table, context).await {
        Ok(opened) => Ok(opened),
        Err(e) if e.kind() == ErrorKind::Unavailable => {
            tracing::warn!(backend = name, error = %e, "backend unreachable at start: serving it as unavailable until it opens");
            let kind = kind_of(name, table)?;
            let info = BackendInfo {
                kind: kind.kind(),
                name: name.to_owned(),
                capabilities: kind.capabilities_of(name, table).unwrap_or_else(Capabilities::full),
            };
            let (config, name, table, context) = (config.clone(), name.to_owned(), table.clone(), context.clone());
            let opener = Box::new(move || {
                let (config, name, table, context) = (config.clone(), name.clone(), table.clone(), context.clone());
                Box::pin(async move { open(&config, &name, &table, &context).await })
                    as std::pin::Pin<Box<dyn std::future::Future<Output = Result<SharedBackend>> + Send>>
            });
            Ok(Arc::new(ReconnectingBackend::new(info, &e, opener)))
        }
        Err(e) => Err(e.with_context("backend", name)),
    }
}

/// A binding's layers (read-only, tag filter, and the call observer, which labels its calls
/// with `observed_as`: `acme` for a tenant default, `acme/company.team` for an override) on
/// top of its backend's.
fn bind(
    backends: &BTreeMap<String, SharedBackend>,
    binding: &BindingConfig,
    (label, observed_as): (&str, String),
    context: &BackendContext,
) -> Result<SharedBackend> {
    let backend = backends.get(&binding.backend).ok_or_else(|| {
        Error::new(ErrorKind::ConfigInvalid, format!("{label}: unknown backend {:?}", binding.backend))
    })?;
    let mut stack = LayerStack::new().tag_filter(tags(&binding.filter_tags)?);
    if binding.read_only {
        stack = stack.read_only(label);
    }
    if let Some(observer) = &context.observer {
        stack = stack.observe(observer.clone(), observed_as);
    }
    Ok(stack.apply(backend.clone()))
}

/// Opens every configured backend and builds the binding tree.
pub async fn build_bindings(config: &HushConfig, context: &BackendContext) -> Result<BindingTree<SharedBackend>> {
    let mut backends = BTreeMap::new();
    for (name, table) in &config.backends {
        let opened = open_or_defer(config, name, table, context).await?;
        backends.insert(name.clone(), backend_layers(table)?.apply(opened));
    }
    let mut tree = BindingTree::new();
    for (tenant, tenant_config) in &config.tenants {
        let tenant_id = TenantId::new(tenant.as_str())?;
        let mut bindings = TenantBindings::default();
        if let Some(default) = tenant_config.default_binding() {
            let labels = (format!("tenants.{tenant}"), tenant.clone());
            bindings.default = Some(bind(&backends, &default, (&labels.0, labels.1), context)?);
        }
        for (namespace, binding) in &tenant_config.namespaces {
            let label = format!("tenants.{tenant}.namespaces.\"{namespace}\"");
            let bound = bind(&backends, binding, (&label, format!("{tenant}/{namespace}")), context)?;
            bindings.overrides.insert(Namespace::new(namespace.as_str())?, bound);
        }
        tree.insert_tenant(tenant_id, bindings);
    }
    Ok(tree)
}

/// Opens each backend and runs its check, each step bounded by the backend's longest call:
/// `hush config check`.
pub async fn check_backends(config: &HushConfig, context: &BackendContext) -> Vec<(String, Result<()>)> {
    let mut results = Vec::new();
    for (name, table) in &config.backends {
        let bound = table.longest_call();
        let checked = async {
            let backend = open(config, name, table, context).await?;
            tokio::time::timeout(bound, backend.check()).await.unwrap_or_else(|_| {
                Err(Error::unavailable(format!("no answer within {}", humantime::format_duration(bound))))
            })
        }
        .await;
        results.push((format!("{name} ({})", table.kind), checked));
    }
    results
}

/// Every backend whose kind seals values at rest, opened for the key operations.
async fn sealed_stores(config: &HushConfig, context: &BackendContext) -> Vec<(String, Result<Arc<dyn SealedStore>>)> {
    let mut stores = Vec::new();
    for (name, table) in &config.backends {
        let config_dir = config.config_dir();
        let backend = ConfiguredBackend { name, table, config_dir: &config_dir, at_rest: context.at_rest.clone() };
        let opened = match kind_of(name, table) {
            Ok(kind) => kind.open_sealed(&backend).await,
            Err(e) => Err(e),
        };
        match opened {
            Ok(Some(store)) => stores.push((name.clone(), Ok(store))),
            Ok(None) => {}
            Err(e) => stores.push((name.clone(), Err(e))),
        }
    }
    stores
}

/// Re-seals every value of every backend that seals at rest: `hush rekey`.
pub async fn rekey_all(
    config: &HushConfig,
    context: &BackendContext,
    batch_size: usize,
) -> Vec<(String, Result<String>)> {
    let mut reports = Vec::new();
    for (name, store) in sealed_stores(config, context).await {
        let report = match store {
            Ok(store) => {
                let report = store.rekey(batch_size).await;
                store.close().await;
                report
            }
            Err(e) => Err(e),
        };
        reports.push((name, report.and_then(describe_rekey)));
    }
    reports
}

/// A rekey report as one line; rows that did not open fail the run.
fn describe_rekey(report: hush_core::RekeyReport) -> Result<String> {
    if report.failed > 0 {
        return Err(Error::new(
            ErrorKind::Internal,
            format!(
                "{} row(s) did not open and were left as they were (changed in the database, or their key is \
                 missing from the ring)",
                report.failed
            ),
        ));
    }
    Ok(format!(
        "{} row(s) under older keys or the tagless AAD, {} re-sealed under key {} ({} migrated to the tag-binding \
         AAD), {} rewritten meanwhile by a write",
        report.examined, report.resealed, report.key_id, report.migrated, report.skipped
    ))
}

/// Stored rows per at-rest key id, for every backend that seals at rest (by backend name):
/// `hush keys retire-at-rest` retires a key only when no backend stores a row under it.
pub async fn key_usage_all(config: &HushConfig, context: &BackendContext) -> Vec<(String, Result<BTreeMap<u32, u64>>)> {
    let mut usage = Vec::new();
    for (name, store) in sealed_stores(config, context).await {
        let counted = match store {
            Ok(store) => {
                let counted = store.key_usage().await;
                store.close().await;
                counted
            }
            Err(e) => Err(e),
        };
        usage.push((name, counted));
    }
    usage
}
