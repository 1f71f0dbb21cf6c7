//! One arm per backend kind: parse its options, open it, say what it can do.

use std::collections::BTreeMap;
use std::sync::Arc;

use hush_config::{BackendConfig, ConfigProblem, HushConfig, key_path};
use hush_core::{Capabilities, Error, ErrorKind, Result, SharedBackend};

use crate::context::BackendContext;

fn invalid(problems: Vec<ConfigProblem>) -> Error {
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    Error::new(ErrorKind::ConfigInvalid, text.join("; "))
}

/// What a backend can do, known before it is opened.
pub(crate) fn capabilities(backend: &BackendConfig) -> Capabilities {
    match backend.kind.as_str() {
        "env" => Capabilities::read_only(),
        #[cfg(feature = "vault")]
        hush_backend_vault::KIND => {
            let engine_version = backend
                .parse_options::<hush_backend_vault::VaultConfig>("")
                .map_or(2, |options| options.engine_version);
            hush_backend_vault::capabilities(engine_version)
        }
        #[cfg(feature = "aws")]
        hush_backend_aws::KIND => hush_backend_aws::capabilities(),
        #[cfg(feature = "gcp")]
        hush_backend_gcp::KIND => hush_backend_gcp::capabilities(),
        #[cfg(feature = "azure")]
        hush_backend_azure::KIND => hush_backend_azure::capabilities(),
        _ => Capabilities::full(),
    }
}

/// Problems of a backend's kind-specific options, with key paths.
pub(crate) fn option_problems(name: &str, backend: &BackendConfig) -> Vec<ConfigProblem> {
    match backend.kind.as_str() {
        #[cfg(feature = "sql")]
        hush_backend_sql::KIND => {
            let mut problems = backend.parse_options::<hush_backend_sql::SqlConfig>(name).err().unwrap_or_default();
            if !backend.prefix.is_empty() {
                problems.push(ConfigProblem {
                    path: key_path(&["backends", name, "prefix"]),
                    message: "the sql store keeps tenants apart by column and has no key prefix; use table_prefix"
                        .into(),
                });
            }
            problems
        }
        #[cfg(feature = "env")]
        hush_backend_env::KIND => backend.parse_options::<hush_backend_env::EnvConfig>(name).err().unwrap_or_default(),
        #[cfg(feature = "vault")]
        hush_backend_vault::KIND => vault_options(backend, name).map_or_else(
            |problems| problems,
            |options| under_backend(name, options.problems().into_iter().map(|p| (p.key, p.message))),
        ),
        #[cfg(feature = "aws")]
        hush_backend_aws::KIND => aws_options(backend, name).map_or_else(
            |problems| problems,
            |options| under_backend(name, options.problems().into_iter().map(|p| ([p.key], p.message))),
        ),
        #[cfg(feature = "azure")]
        hush_backend_azure::KIND => azure_options(backend, name).map_or_else(
            |problems| problems,
            |options| under_backend(name, options.problems().into_iter().map(|p| (p.key, p.message))),
        ),
        #[cfg(feature = "gcp")]
        hush_backend_gcp::KIND => gcp_options(backend, name).map_or_else(
            |problems| problems,
            |options| under_backend(name, options.problems().into_iter().map(|p| ([p.key], p.message))),
        ),
        _ => Vec::new(),
    }
}

/// A backend's own config problems, each under `backends.<name>` with its key path.
fn under_backend<'a, K>(name: &'a str, problems: impl IntoIterator<Item = (K, String)>) -> Vec<ConfigProblem>
where
    K: IntoIterator<Item = &'a str>,
{
    problems
        .into_iter()
        .map(|(key, message)| {
            let path: Vec<&str> = ["backends", name].into_iter().chain(key).collect();
            ConfigProblem::new(&path, message)
        })
        .collect()
}

/// `sqlite://relative.db` is relative to the config file's directory, like every other path.
#[cfg(feature = "sql")]
fn resolve_sqlite_url(config: &HushConfig, url: &str) -> String {
    match url.strip_prefix("sqlite://") {
        Some(rest) if !rest.starts_with('/') && !rest.starts_with(":memory:") && !rest.is_empty() => {
            format!("sqlite://{}", config.resolve_path(std::path::Path::new(rest)).display())
        }
        _ => url.to_owned(),
    }
}

/// The `vault` options of `backend`, with the common `prefix` copied in.
#[cfg(feature = "vault")]
fn vault_options(backend: &BackendConfig, name: &str) -> Result<hush_backend_vault::VaultConfig, Vec<ConfigProblem>> {
    let mut options: hush_backend_vault::VaultConfig = backend.parse_options(name)?;
    options.prefix = backend.prefix.clone();
    Ok(options)
}

/// The `aws-secrets-manager` options of `backend`, with the common `prefix` copied in.
#[cfg(feature = "aws")]
fn aws_options(backend: &BackendConfig, name: &str) -> Result<hush_backend_aws::AwsConfig, Vec<ConfigProblem>> {
    let mut options: hush_backend_aws::AwsConfig = backend.parse_options(name)?;
    options.prefix = backend.prefix.clone();
    Ok(options)
}

/// The `gcp-secret-manager` options of `backend`, with the common `prefix` copied in.
#[cfg(feature = "gcp")]
fn gcp_options(backend: &BackendConfig, name: &str) -> Result<hush_backend_gcp::GcpConfig, Vec<ConfigProblem>> {
    let mut options: hush_backend_gcp::GcpConfig = backend.parse_options(name)?;
    options.prefix = backend.prefix.clone();
    Ok(options)
}

/// The `azure-key-vault` options of `backend`, with the common `prefix` copied in.
#[cfg(feature = "azure")]
fn azure_options(backend: &BackendConfig, name: &str) -> Result<hush_backend_azure::AzureConfig, Vec<ConfigProblem>> {
    let mut options: hush_backend_azure::AzureConfig = backend.parse_options(name)?;
    options.prefix = backend.prefix.clone();
    Ok(options)
}

/// Opens the backend `name` as configured, without layers.
pub(crate) async fn open_backend(
    config: &HushConfig,
    name: &str,
    backend: &BackendConfig,
    context: &BackendContext,
) -> Result<SharedBackend> {
    match backend.kind.as_str() {
        #[cfg(feature = "sql")]
        hush_backend_sql::KIND => {
            let mut options: hush_backend_sql::SqlConfig = backend.parse_options(name).map_err(invalid)?;
            options.url = resolve_sqlite_url(config, &options.url);
            let cipher = context.cipher_for(name)?;
            Ok(Arc::new(hush_backend_sql::SqlBackend::connect(name, options, cipher).await?))
        }
        #[cfg(feature = "env")]
        hush_backend_env::KIND => {
            let mut options: hush_backend_env::EnvConfig = backend.parse_options(name).map_err(invalid)?;
            if !backend.prefix.is_empty() {
                options.prefix = backend.prefix.clone();
            }
            Ok(Arc::new(hush_backend_env::EnvBackend::from_process_env(name, options)?))
        }
        #[cfg(feature = "vault")]
        hush_backend_vault::KIND => {
            let mut options = vault_options(backend, name).map_err(invalid)?;
            // Files named in config are relative to the config file, like every other path.
            if let Some(ca_file) = &mut options.tls.ca_file {
                *ca_file = config.resolve_path(ca_file);
            }
            if let hush_backend_vault::AuthConfig::Kubernetes { jwt_file, .. } = &mut options.auth {
                *jwt_file = config.resolve_path(jwt_file);
            }
            Ok(Arc::new(hush_backend_vault::VaultBackend::connect(name, options).await?))
        }
        #[cfg(feature = "aws")]
        hush_backend_aws::KIND => {
            let options = aws_options(backend, name).map_err(invalid)?;
            Ok(Arc::new(hush_backend_aws::AwsBackend::connect(name, options).await?))
        }
        #[cfg(feature = "azure")]
        hush_backend_azure::KIND => {
            let mut options = azure_options(backend, name).map_err(invalid)?;
            // Files named in config are relative to the config file, like every other path.
            if let Some(ca_file) = &mut options.ca_file {
                *ca_file = config.resolve_path(ca_file);
            }
            if let hush_backend_azure::CredentialConfig::WorkloadIdentity { token_file: Some(token_file), .. } =
                &mut options.credential
            {
                *token_file = config.resolve_path(token_file);
            }
            Ok(Arc::new(hush_backend_azure::AzureBackend::connect(name, options).await?))
        }
        #[cfg(feature = "gcp")]
        hush_backend_gcp::KIND => {
            let mut options = gcp_options(backend, name).map_err(invalid)?;
            // Files named in config are relative to the config file, like every other path.
            if let Some(file) = &mut options.credentials_file {
                *file = config.resolve_path(file);
            }
            Ok(Arc::new(hush_backend_gcp::GcpBackend::connect(name, options).await?))
        }
        other => Err(Error::new(
            ErrorKind::ConfigInvalid,
            format!("backend {name:?} has kind {other:?}, which this build does not know"),
        )),
    }
}

/// Re-seals the values of backend `name` under the newest at-rest key, if its kind seals at rest.
pub(crate) async fn rekey_backend(
    config: &HushConfig,
    name: &str,
    backend: &BackendConfig,
    context: &BackendContext,
    batch_size: usize,
) -> Option<Result<String>> {
    match backend.kind.as_str() {
        #[cfg(feature = "sql")]
        hush_backend_sql::KIND => Some(async {
            let mut options: hush_backend_sql::SqlConfig = backend.parse_options(name).map_err(invalid)?;
            options.url = resolve_sqlite_url(config, &options.url);
            let cipher = context.cipher_for(name)?;
            let store = hush_backend_sql::SqlBackend::connect(name, options, cipher).await?;
            let report = store.rekey(batch_size).await?;
            if report.failed > 0 {
                return Err(Error::new(
                    ErrorKind::Internal,
                    format!("{} row(s) did not open and were left as they were (changed in the database, or their key is missing from the ring)", report.failed),
                ));
            }
            Ok(format!(
                "{} row(s) under older keys or the tagless AAD, {} re-sealed under key {} ({} migrated to the \
                 tag-binding AAD), {} rewritten meanwhile by a write",
                report.examined, report.resealed, report.key_id, report.migrated, report.skipped
            ))
        }
        .await),
        _ => {
            let _ = (config, context, batch_size);
            None
        }
    }
}

/// Stored rows per at-rest key id of backend `name`, if its kind seals at rest.
pub(crate) async fn key_usage_backend(
    config: &HushConfig,
    name: &str,
    backend: &BackendConfig,
    context: &BackendContext,
) -> Option<Result<BTreeMap<u32, u64>>> {
    match backend.kind.as_str() {
        #[cfg(feature = "sql")]
        hush_backend_sql::KIND => Some(
            async {
                let mut options: hush_backend_sql::SqlConfig = backend.parse_options(name).map_err(invalid)?;
                options.url = resolve_sqlite_url(config, &options.url);
                let cipher = context.cipher_for(name)?;
                let store = hush_backend_sql::SqlBackend::connect(name, options, cipher).await?;
                let usage = store.key_usage().await;
                store.close().await;
                usage
            }
            .await,
        ),
        _ => {
            let _ = (config, context);
            None
        }
    }
}
