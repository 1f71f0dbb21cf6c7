//! `hush bench --backend NAME`: the cold path of one configured backend.
//!
//! The bench writes N secrets through hushd (a write drops the name from every replica's
//! cache, and nothing reads these names before), then reads each once directly through
//! backend NAME built in this process exactly as hushd builds it
//! ([`hush_backends::build_bindings`]: the same factory, HTTP stack and layers, over a copy of
//! the config that keeps only NAME's bindings of the tenant, so nothing else is opened), then
//! once through hushd with `secret()`: each read a cache miss, one backend read. The target:
//! cold p50 ≤ [`COLD_TARGET`] × (echo p50 + direct p50), what hushd adds to a backend read
//! staying within a fifth of a bare NATS round trip and that read.
//!
//! Everything written is deleted at the end, whether the measurements succeeded or not.

use std::path::Path;

use anyhow::Context;
use hush_client::Session;
use hush_config::HushConfig;
use hush_core::{Error, ErrorKind, GrantScope, Namespace, Scope, SecretName, SecretValue, SharedBackend, TenantId};

use super::{Figures, Target, measure, remove, run_all, settle};
use crate::cli::Location;
use crate::exit::Usage;
use crate::setup;

/// The cold-path target: cold p50 ≤ `COLD_TARGET` × (echo p50 + direct p50).
pub(super) const COLD_TARGET: f64 = 1.2;
/// Bytes of each secret the cold path writes.
const VALUE_BYTES: usize = 100;
/// Direct reads before the measured ones, to open the in-process backend's connections (hushd's
/// are open from the writes). They leave hushd's cache alone.
const DIRECT_WARMUP: usize = 200;

/// What `--backend` measured.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cold {
    /// Secrets written and read once each way.
    pub secrets: usize,
    /// Reads through the backend built in this process.
    pub direct: Figures,
    /// Uncached `secret()` reads through hushd.
    pub cold: Figures,
}

impl Cold {
    /// cold p50 / (echo p50 + direct p50): at most [`COLD_TARGET`] meets the target.
    pub fn ratio(&self, echo: &Figures) -> f64 {
        self.cold.p50_us / (echo.p50_us + self.direct.p50_us)
    }
}

/// The configured backends, `name (kind)`, for messages.
fn configured_backends(config: &HushConfig) -> String {
    let names: Vec<String> = config.backends.iter().map(|(name, table)| format!("{name} ({})", table.kind)).collect();
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

fn read_only(message: String) -> anyhow::Error {
    Error::new(ErrorKind::ReadOnly, message).into()
}

/// Where `--backend NAME` measures. With `--tenant/--namespace`, that location, which NAME
/// must serve through a writable binding. Without them, a namespace of the bench's own
/// (`hush_bench_<pid>`) below the first writable binding of NAME, tenants in order: the
/// tenant's default when NAME is it, else a namespace override naming NAME (an override
/// serves its child namespaces too).
pub(super) fn target(
    config: &HushConfig,
    config_path: &Path,
    location: &Location,
    name: &str,
) -> anyhow::Result<Target> {
    let Some(table) = config.backends.get(name) else {
        return Err(Usage(format!(
            "--backend {name}: {} configures no backend of that name (configured: {})",
            config_path.display(),
            configured_backends(config)
        ))
        .into());
    };
    let backend = Some((name.to_owned(), table.kind.clone()));
    let target = |tenant: &str, namespace: String, own_namespace| -> anyhow::Result<Target> {
        let tags = super::binding_tags(config, tenant, &namespace)?;
        Ok(Target { tenant: tenant.to_owned(), namespace, backend: backend.clone(), own_namespace, tags })
    };
    let (tenant, namespace) = match (&location.tenant, &location.namespace) {
        (Some(tenant), Some(namespace)) => (tenant, namespace),
        (None, None) => return own_namespace(config, name, target),
        _ => return Err(Usage("pass both --tenant and --namespace, or neither".into()).into()),
    };
    match config.binding_for(tenant, namespace) {
        None if !config.tenants.contains_key(tenant) => {
            Err(Usage(format!("--tenant {tenant}: {} configures no such tenant", config_path.display())).into())
        }
        None => Err(Usage(format!("no binding of tenant {tenant} serves namespace {namespace}")).into()),
        Some((serving, _)) if serving != name => Err(Usage(format!(
            "{tenant}/{namespace} is served by backend {serving}, not {name}: pass a location {name} serves, or leave \
             out --tenant and --namespace"
        ))
        .into()),
        Some((_, true)) => Err(read_only(format!(
            "{tenant}/{namespace} is bound read_only to backend {name}: the bench writes the secrets it reads, so it \
             needs a writable binding"
        ))),
        Some((_, false)) => target(tenant, namespace.clone(), false),
    }
}

fn own_namespace(
    config: &HushConfig,
    name: &str,
    target: impl Fn(&str, String, bool) -> anyhow::Result<Target>,
) -> anyhow::Result<Target> {
    let own = format!("hush_bench_{}", std::process::id());
    let (mut read_only_bindings, mut unusable) = (Vec::new(), Vec::new());
    for (tenant, tenant_config) in &config.tenants {
        let default = (tenant_config.backend.as_deref() == Some(name))
            .then(|| (format!("tenants.{tenant}"), own.clone(), tenant_config.read_only));
        let overrides =
            tenant_config.namespaces.iter().filter(|(_, binding)| binding.backend == name).map(|(key, binding)| {
                (format!("tenants.{tenant}.namespaces.\"{key}\""), format!("{key}.{own}"), binding.read_only)
            });
        for (label, namespace, is_read_only) in default.into_iter().chain(overrides) {
            if is_read_only {
                read_only_bindings.push(label);
            } else if Namespace::new(namespace.as_str()).is_ok()
                && config.binding_for(tenant, &namespace) == Some((name, false))
            {
                return target(tenant, namespace, true);
            } else {
                // Too deep for one more segment, or a deeper override takes the bench's namespace.
                unusable.push(label);
            }
        }
    }
    if !unusable.is_empty() {
        return Err(Usage(format!(
            "backend {name}: no namespace of the bench's own fits below its writable bindings ({}): pass --tenant and \
             --namespace of a location it serves",
            unusable.join(", ")
        ))
        .into());
    }
    if !read_only_bindings.is_empty() {
        return Err(read_only(format!(
            "every binding of backend {name} is read_only ({}): the bench writes the secrets it reads, so it needs a \
             writable binding",
            read_only_bindings.join(", ")
        )));
    }
    Err(Usage(format!("backend {name} serves no binding: no tenant default or namespace override names it")).into())
}

/// Backend `name` as hushd builds it for `target`'s binding: [`hush_backends::build_bindings`]
/// over a copy of the config that keeps only that backend and its bindings of the target's
/// tenant, so no other backend is opened. The at-rest key ring is read only when the kind seals
/// with it.
pub(super) async fn open_direct(config: &HushConfig, target: &Target, name: &str) -> anyhow::Result<SharedBackend> {
    let mut only = config.clone();
    only.backends.retain(|backend, _| backend == name);
    only.tenants.retain(|tenant, _| *tenant == target.tenant);
    for tenant in only.tenants.values_mut() {
        if tenant.backend.as_deref() != Some(name) {
            tenant.backend = None;
        }
        tenant.namespaces.retain(|_, binding| binding.backend == name);
    }
    let seals =
        only.backends.get(name).and_then(|table| hush_backends::kind(&table.kind)).is_some_and(|k| k.seals_at_rest());
    let context = if seals { hush_backends::BackendContext::from_config(config)? } else { Default::default() };
    let tree = hush_backends::build_bindings(&only, &context)
        .await
        .with_context(|| format!("--backend {name}: cannot build the backend in this process"))?;
    let (tenant, namespace) = scope_parts(target)?;
    tree.effective(&tenant, &namespace).cloned().ok_or_else(|| {
        Error::new(
            ErrorKind::Internal,
            format!("backend {name} built, but no binding of it serves {tenant}/{namespace}"),
        )
        .into()
    })
}

fn scope_parts(target: &Target) -> anyhow::Result<(TenantId, Namespace)> {
    let tenant = TenantId::new(target.tenant.as_str()).map_err(Error::from)?;
    Ok((tenant, Namespace::new(target.namespace.as_str()).map_err(Error::from)?))
}

/// The value of the `i`th secret: 100 bytes, distinct per secret, no secret.
fn value(i: usize) -> SecretValue {
    let mut bytes = format!("hush-bench-cold-{i:08}-").into_bytes();
    bytes.resize(VALUE_BYTES, b'x');
    SecretValue::new(bytes)
}

fn check(name: &SecretName, got: &SecretValue, want: &SecretValue, how: &str) -> hush_core::Result<()> {
    if got.expose() == want.expose() {
        return Ok(());
    }
    Err(Error::new(ErrorKind::Internal, format!("{name} read {how} is not the value the bench wrote")))
}

/// Writes `secrets` secrets through hushd, reads each once through `direct` and once through
/// hushd, and deletes them (also when a step failed).
pub(super) async fn run(
    config_path: &Path,
    target: &Target,
    direct: &SharedBackend,
    secrets: usize,
    concurrency: usize,
    hushd: Option<u32>,
) -> anyhow::Result<Cold> {
    // A grant of its own: every cold read is a backend read charged to its grant
    // (resolver.max_backend_reads_per_grant), apart from what the cached measurements spent.
    let session = setup::minted_session(config_path, &target.location(), GrantScope::Admin, "hush-bench-cold").await?;
    let pid = std::process::id();
    let names = (0..secrets)
        .map(|i| SecretName::new(format!("HUSH_COLD_{pid}_{i}")))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::from)?;
    let values: Vec<SecretValue> = (0..secrets).map(value).collect();
    let measured = measure_cold(&session, target, direct, &names, &values, concurrency, hushd).await;
    let removed = remove(&session, &names, concurrency, target).await;
    let (direct, cold) = settle(measured, removed)?;
    Ok(Cold { secrets, direct, cold })
}

async fn measure_cold(
    session: &Session,
    target: &Target,
    direct: &SharedBackend,
    names: &[SecretName],
    values: &[SecretValue],
    concurrency: usize,
    hushd: Option<u32>,
) -> anyhow::Result<(Figures, Figures)> {
    let n = names.len();
    run_all(
        n,
        concurrency,
        |i| async move { session.put(names[i].as_str(), &values[i], &target.tags).await.map(drop) },
    )
    .await
    .context("--backend: writing its secrets through hushd")?;
    let (tenant, namespace) = scope_parts(target)?;
    let scope = Scope::new(tenant, namespace);
    let direct_read = |i: usize| {
        let scope = &scope;
        async move {
            let secret = direct.get(scope, &names[i], None).await?;
            check(&names[i], &secret.value, &values[i], "directly")
        }
    };
    run_all(n.min(DIRECT_WARMUP), concurrency, direct_read).await.context("--backend: direct reads (warm-up)")?;
    let direct_figures = measure(n, concurrency, None, None, |i| async move { Ok(direct_read(i).await?) })
        .await
        .context("--backend: direct reads")?;
    let cold_figures = measure(n, concurrency, hushd, None, |i| async move {
        let got = session.secret(names[i].as_str()).await?;
        Ok(check(&names[i], &got, &values[i], "through hushd")?)
    })
    .await
    .context("--backend: uncached reads through hushd")?;
    Ok((direct_figures, cold_figures))
}
