//! TLS: the server certificate, and client certificates per tenant (mutual TLS).
//!
//! A tenant listed in `gateway.client_ca` requires a client certificate issued by its CA on
//! every request for it. The handshake asks every client for a certificate, accepts a
//! connection without one, and verifies any certificate presented against the union of the
//! tenants' CAs; each request is then checked against its own tenant's CA, so a certificate
//! of tenant A's CA opens nothing of tenant B.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hush_config::GatewayTlsConfig;
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;

use crate::error::{GatewayError, Refusal};
use crate::serve::ConnectionCertificates;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, GatewayError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| GatewayError::Tls(format!("{}: not a PEM certificate file: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(GatewayError::Tls(format!("{}: holds no PEM certificate", path.display())));
    }
    Ok(certs)
}

fn roots(paths: impl IntoIterator<Item = PathBuf>) -> Result<RootCertStore, GatewayError> {
    let mut roots = RootCertStore::empty();
    for path in paths {
        for cert in certificates(&path)? {
            roots
                .add(cert)
                .map_err(|e| GatewayError::Tls(format!("{}: unusable CA certificate: {e}", path.display())))?;
        }
    }
    Ok(roots)
}

/// Per tenant, the verifier of its client certificates.
#[derive(Debug, Default)]
pub struct TenantClientCas {
    by_tenant: BTreeMap<String, Arc<dyn ClientCertVerifier>>,
    files: Vec<PathBuf>,
}

impl TenantClientCas {
    /// Loads `gateway.client_ca` (tenant → CA PEM file).
    pub fn load(client_ca: &BTreeMap<String, PathBuf>) -> Result<TenantClientCas, GatewayError> {
        let mut cas = TenantClientCas::default();
        for (tenant, path) in client_ca {
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots([path.clone()])?), provider())
                .build()
                .map_err(|e| GatewayError::Tls(format!("gateway.client_ca.{tenant}: {e}")))?;
            cas.by_tenant.insert(tenant.clone(), verifier);
            cas.files.push(path.clone());
        }
        Ok(cas)
    }

    /// No tenant requires a client certificate.
    pub fn is_empty(&self) -> bool {
        self.by_tenant.is_empty()
    }

    /// Refuses a request for `tenant` whose connection lacks a certificate from the tenant's
    /// CA (when the tenant has one).
    pub(crate) fn check(&self, tenant: &str, connection: &ConnectionCertificates) -> Result<(), Refusal> {
        let Some(verifier) = self.by_tenant.get(tenant) else {
            return Ok(());
        };
        let Some((end_entity, intermediates)) = connection.chain().split_first() else {
            return Err(Refusal::forbidden(format!("tenant {tenant} requires a client certificate")));
        };
        verifier
            .verify_client_cert(end_entity, intermediates, UnixTime::now())
            .map(|_| ())
            .map_err(|_| Refusal::forbidden(format!("the client certificate is not one of tenant {tenant}'s")))
    }
}

/// The server's TLS configuration: `gateway.tls`'s certificate and key, HTTP/1.1, and, when
/// some tenant requires client certificates, a handshake that asks for one (optional) and
/// verifies it against every tenant CA.
pub fn server_tls(tls: &GatewayTlsConfig, cas: &TenantClientCas) -> Result<rustls::ServerConfig, GatewayError> {
    let chain = certificates(&tls.cert)?;
    let key = PrivateKeyDer::from_pem_file(&tls.key)
        .map_err(|e| GatewayError::Tls(format!("{}: not a PEM private key: {e}", tls.key.display())))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| GatewayError::Tls(e.to_string()))?;
    let builder = if cas.is_empty() {
        builder.with_no_client_auth()
    } else {
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(cas.files.clone())?), provider())
            .allow_unauthenticated()
            .build()
            .map_err(|e| GatewayError::Tls(format!("gateway.client_ca: {e}")))?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| GatewayError::Tls(format!("gateway.tls: the certificate and key do not go together: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
