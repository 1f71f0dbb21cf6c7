//! What commands share: the config, a client, and a session with a grant.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use hush_client::{ClientOptions, HushClient, Session};
use hush_config::HushConfig;
use hush_core::{Error, ErrorKind, GrantScope, Namespace, TenantId};
use hush_crypto::{GrantIssuer, GrantRequest};

use crate::cli::Location;
use crate::exit::Usage;

/// Lifetime of the grants the CLI mints for its own requests.
const OWN_GRANT_TTL: Duration = Duration::from_secs(300);

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Loads the config file; a missing or unparseable file is invalid input.
pub fn load_config(path: &Path) -> anyhow::Result<HushConfig> {
    HushConfig::load(path).map_err(|e| anyhow::Error::new(Error::new(ErrorKind::ConfigInvalid, e.to_string())))
}

fn config_error(message: String) -> anyhow::Error {
    anyhow::Error::new(Error::new(ErrorKind::ConfigInvalid, message))
}

/// Connects a client as the config says.
pub async fn client(config: &HushConfig) -> anyhow::Result<HushClient> {
    Ok(HushClient::connect(ClientOptions::from_config(config, "hush-cli")?).await?)
}

/// The issuer key of the config.
pub fn issuer(config: &HushConfig) -> anyhow::Result<GrantIssuer> {
    let path = config.keys.issuer_key.as_ref().ok_or_else(|| {
        config_error("keys.issuer_key is not set: pass --grant, or set the issuer key to mint grants".into())
    })?;
    GrantIssuer::load(path).map_err(|e| config_error(format!("keys.issuer_key {}: {e}", path.display())))
}

/// Tenant and namespace from the flags, validated.
pub fn location(location: &Location) -> anyhow::Result<(TenantId, Namespace)> {
    let tenant = location.tenant.as_deref().ok_or_else(|| Usage("--tenant is required".into()))?;
    let namespace = location.namespace.as_deref().ok_or_else(|| Usage("--namespace is required".into()))?;
    Ok((TenantId::new(tenant).map_err(Error::from)?, Namespace::new(namespace).map_err(Error::from)?))
}

/// A session: with `--grant` when given (its tenant and namespace must match the flags, if
/// any), else with a 5-minute grant minted from the issuer key and bound to this client's key.
pub async fn session(
    config_path: &Path,
    grant: Option<&str>,
    location: &Location,
    scope: GrantScope,
) -> anyhow::Result<Session> {
    let session = match grant {
        Some(token) => {
            let client = client(&load_config(config_path)?).await?;
            let session = client.session(token)?;
            if let Some(t) = location.tenant.as_deref().filter(|t| *t != session.tenant().as_str()) {
                let message = format!("--tenant {t} differs from the grant's tenant {}", session.tenant());
                return Err(Usage(message).into());
            }
            if let Some(n) = location.namespace.as_deref().filter(|n| *n != session.namespace().as_str()) {
                let message = format!("--namespace {n} differs from the grant's namespace {}", session.namespace());
                return Err(Usage(message).into());
            }
            session
        }
        None => return minted_session(config_path, location, scope, "hush-cli").await,
    };
    Ok(session)
}

/// A session with a 5-minute grant minted from the issuer key, bound to this client's key,
/// carrying `execution_id` (hushd's audit events show it; grants minted in the same second
/// differ only by it).
pub async fn minted_session(
    config_path: &Path,
    location: &Location,
    scope: GrantScope,
    execution_id: &str,
) -> anyhow::Result<Session> {
    let config = load_config(config_path)?;
    let client = client(&config).await?;
    let (tenant, namespace) = self::location(location)?;
    let token = own_grant(&issuer(&config)?, &client, (&tenant, &namespace), scope, execution_id)?;
    Ok(client.session(token)?)
}

/// A grant for the CLI's own requests: minted with `issuer` for `tenant` and `namespace`,
/// living 5 minutes, bound to `client`'s key, carrying `execution_id`.
pub fn own_grant(
    issuer: &GrantIssuer,
    client: &HushClient,
    (tenant, namespace): (&TenantId, &Namespace),
    scope: GrantScope,
    execution_id: &str,
) -> anyhow::Result<String> {
    let token = issuer
        .issue(&GrantRequest {
            tenant: tenant.clone(),
            namespace: namespace.clone(),
            scope,
            ttl: OWN_GRANT_TTL,
            execution_id: Some(execution_id.into()),
            cnf: Some(client.public_key()),
            now: now(),
        })
        .map_err(Error::from)
        .context("cannot mint a grant")?;
    Ok(token)
}
