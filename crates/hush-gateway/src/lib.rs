//! `hush-gateway`: hush over HTTPS, for the External Secrets Operator's webhook provider and
//! any other HTTP caller that holds a grant.
//!
//! ```text
//! GET    /v1/secrets/{tenant}/{namespace}/{name}[?version=V][&property=PATH]
//!        200 {"name", "namespace", "version", "value"}
//! POST   /v1/secrets/{tenant}/{namespace}/{name}     body = the value, X-Hush-Tag: k=v
//!        200 {"name", "namespace", "version"}
//! DELETE /v1/secrets/{tenant}/{namespace}/{name}     204, or 404 when there was nothing
//! GET    /healthz, /readyz
//! ```
//!
//! The gateway is a hush **client**, not a second resolver: it forwards each request to hushd
//! over NATS with the caller's grant (`Authorization: Bearer <grant>`) and its own persistent
//! client key, so grants minted for it are bound to that key (a grant copied out of the
//! cluster is refused anywhere but through this gateway) and every authorization decision
//! stays in hushd. What the gateway adds is HTTP: TLS (rustls), optional client
//! certificates per tenant, status codes, and an access log that never carries a value or a
//! grant.
//!
//! **Architecture invariant:** the gateway depends on `hush-client`, never on the resolver or
//! a backend.

#![deny(missing_docs)]

mod access_log;
mod error;
mod routes;
mod serve;
mod tls;

use std::sync::Arc;

use hush_client::{ClientOptions, HushClient};
use hush_config::HushConfig;
use hush_crypto::ClientKeyPair;

pub use error::GatewayError;
pub use routes::SecretDocument;
pub use serve::{ConnectionCertificates, serve};
pub use tls::{TenantClientCas, server_tls};

/// The gateway's state: the hush client it forwards with, and what each tenant requires of
/// a connection. Build it with [`Gateway::connect`], serve [`Gateway::router`] with [`serve`].
#[derive(Debug, Clone)]
pub struct Gateway {
    client: HushClient,
    tenant_cas: Arc<TenantClientCas>,
    max_body_bytes: usize,
}

impl Gateway {
    /// Connects to NATS as a hush client with the gateway's persistent key
    /// (`gateway.client_key`, else `keys.client_key`), pinning `keys.resolver_public_key`;
    /// `tenant_cas` are the per-tenant client CAs (`TenantClientCas::load` of
    /// `gateway.client_ca`, loaded once for this and for [`server_tls`]).
    pub async fn connect(config: &HushConfig, tenant_cas: TenantClientCas) -> Result<Gateway, GatewayError> {
        let key_path = config.gateway.client_key.as_ref().or(config.keys.client_key.as_ref()).ok_or_else(|| {
            GatewayError::Config(
                "gateway.client_key is not set: make a key with `hush keys client keys/gateway`, set \
                 gateway.client_key = \"keys/gateway.key\" and bind the gateway's grants to keys/gateway.pub \
                 (`hush grant --bind-key`)"
                    .to_owned(),
            )
        })?;
        let key = ClientKeyPair::load(key_path)
            .map_err(|e| GatewayError::Config(format!("gateway.client_key {}: {e}", key_path.display())))?;
        let options = ClientOptions::from_config(config, "hush-gateway")
            .map_err(|e| GatewayError::Config(e.to_string()))?
            .with_client_key(key);
        let client = HushClient::connect(options).await.map_err(|e| GatewayError::Nats(e.to_string()))?;
        Ok(Gateway::new(client, tenant_cas, config.gateway.max_body_bytes))
    }

    /// A gateway over an existing client (tests, embedding).
    pub fn new(client: HushClient, tenant_cas: TenantClientCas, max_body_bytes: usize) -> Gateway {
        Gateway { client, tenant_cas: Arc::new(tenant_cas), max_body_bytes }
    }

    /// The public key grants for this gateway are bound to (base64 of it is what
    /// `hush grant --bind-key` takes).
    pub fn public_key(&self) -> [u8; 32] {
        self.client.public_key()
    }

    /// The HTTP routes, with the access log.
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }
}
