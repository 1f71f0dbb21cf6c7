//! The connection to the resolvers: NATS, the process's key pair, the pinned resolver key.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_nats::RequestErrorKind;
use hush_core::{Error, ErrorKind, Result};
use hush_crypto::{ClientKeyPair, TransportKey, random_request_id, resolver_key_id};
use hush_proto::PROTOCOL_VERSION;
use hush_proto::message::{RequestBody, RequestEnvelope, ResponseBody, ResponseEnvelope};

use crate::session::Session;

/// TLS settings for the NATS connection.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// CA certificate (PEM) to trust.
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM), for mutual TLS.
    pub cert: Option<PathBuf>,
    /// Client key (PEM), for mutual TLS.
    pub key: Option<PathBuf>,
    /// Require TLS even when the server does not ask for it.
    pub required: bool,
}

/// How to reach the resolvers.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// NATS server URL(s), comma-separated.
    pub nats_url: String,
    /// NATS user credentials file.
    pub credentials: Option<PathBuf>,
    /// TLS.
    pub tls: Option<TlsOptions>,
    /// Pinned resolver public keys; values are sealed to the first.
    pub resolver_public_keys: Vec<[u8; 32]>,
    /// How long to wait for a resolver's answer.
    pub request_timeout: Duration,
    /// How long to wait for the NATS connection.
    pub connect_timeout: Duration,
    /// Connection name shown by NATS monitoring.
    pub connection_name: String,
    /// Inbox prefix for replies (e.g. `_INBOX_acme_worker`), so NATS permissions can let this
    /// user subscribe to its own inboxes only. Default `_INBOX`.
    pub inbox_prefix: Option<String>,
}

impl ClientOptions {
    /// Options with defaults: 5 s request and connect timeouts.
    pub fn new(nats_url: impl Into<String>, resolver_public_keys: Vec<[u8; 32]>) -> Self {
        Self {
            nats_url: nats_url.into(),
            credentials: None,
            tls: None,
            resolver_public_keys,
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            connection_name: "hush-client".into(),
            inbox_prefix: None,
        }
    }
}

/// A connection to the resolvers. Cheap to clone; share one per process.
#[derive(Clone, Debug)]
pub struct HushClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    nats: async_nats::Client,
    keys: ClientKeyPair,
    resolver_key_id: [u8; 8],
    transport: TransportKey,
    request_timeout: Duration,
}

fn unavailable(e: impl std::fmt::Display) -> Error {
    Error::unavailable(e.to_string())
}

impl HushClient {
    /// Connects to NATS and derives the transport key with the first pinned resolver key.
    pub async fn connect(options: ClientOptions) -> Result<HushClient> {
        let mut connect = async_nats::ConnectOptions::new()
            .name(&options.connection_name)
            .connection_timeout(options.connect_timeout)
            .request_timeout(Some(options.request_timeout));
        if let Some(prefix) = &options.inbox_prefix {
            connect = connect.custom_inbox_prefix(prefix.as_str());
        }
        if let Some(path) = &options.credentials {
            connect = connect.credentials_file(path).await.map_err(|e| {
                Error::new(ErrorKind::ConfigInvalid, format!("NATS credentials file {}: {e}", path.display()))
            })?;
        }
        if let Some(tls) = &options.tls {
            if let Some(ca) = &tls.ca {
                connect = connect.add_root_certificates(ca.clone());
            }
            if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
                connect = connect.add_client_certificate(cert.clone(), key.clone());
            }
            connect = connect.require_tls(tls.required);
        }
        let nats = tokio::time::timeout(options.connect_timeout, connect.connect(&options.nats_url))
            .await
            .map_err(|_| {
                Error::unavailable(format!(
                    "NATS at {} did not answer within {:?}",
                    options.nats_url, options.connect_timeout
                ))
            })?
            .map_err(|e| Error::unavailable(format!("cannot connect to NATS at {}: {e}", options.nats_url)))?;
        Self::with_nats(nats, &options.resolver_public_keys, options.request_timeout)
    }

    /// A client over an existing NATS connection.
    pub fn with_nats(
        nats: async_nats::Client,
        resolver_public_keys: &[[u8; 32]],
        request_timeout: Duration,
    ) -> Result<HushClient> {
        let resolver_public = resolver_public_keys
            .first()
            .ok_or_else(|| Error::new(ErrorKind::ConfigInvalid, "no resolver public key is pinned"))?;
        let keys = ClientKeyPair::generate();
        let transport = keys.transport_key(resolver_public).map_err(|e| {
            Error::new(ErrorKind::ConfigInvalid, format!("the pinned resolver public key is unusable: {e}"))
        })?;
        Ok(HushClient {
            inner: Arc::new(Inner {
                nats,
                keys,
                resolver_key_id: resolver_key_id(resolver_public),
                transport,
                request_timeout,
            }),
        })
    }

    /// This process's X25519 public key: mint grants bound to it (`cnf`) so a leaked grant
    /// is useless elsewhere.
    pub fn public_key(&self) -> [u8; 32] {
        self.inner.keys.public()
    }

    /// A session for one grant: one tenant, one namespace, one execution.
    pub fn session(&self, grant: impl Into<String>) -> Result<Session> {
        Session::new(self.clone(), grant.into())
    }

    /// The underlying NATS connection.
    pub fn nats(&self) -> &async_nats::Client {
        &self.inner.nats
    }

    pub(crate) fn transport(&self) -> &TransportKey {
        &self.inner.transport
    }

    /// Sends one request and returns the answer's body and the request id it was bound to.
    pub(crate) async fn request(
        &self,
        subject: String,
        grant: &str,
        body: RequestBody,
    ) -> Result<(ResponseBody, [u8; 16])> {
        self.request_with(subject, grant, |_| body).await
    }

    /// Like [`request`](Self::request), building the body from the request id (to seal to it).
    pub(crate) async fn request_with(
        &self,
        subject: String,
        grant: &str,
        body: impl FnOnce(&[u8; 16]) -> RequestBody,
    ) -> Result<(ResponseBody, [u8; 16])> {
        let request_id = random_request_id();
        let body = body(&request_id);
        let envelope = RequestEnvelope {
            version: PROTOCOL_VERSION,
            request_id,
            client_key: self.inner.keys.public(),
            resolver_key_id: self.inner.resolver_key_id,
            grant: grant.to_owned(),
            body,
        };
        let payload = envelope.encode().map_err(|e| Error::invalid_input(e.to_string()))?;
        let reply = self.inner.nats.request(subject.clone(), payload.into()).await.map_err(|e| match e.kind() {
            RequestErrorKind::NoResponders => Error::unavailable(format!("no hush resolver is serving {subject}")),
            RequestErrorKind::TimedOut => Error::unavailable(format!(
                "no hush resolver answered within {}s",
                self.inner.request_timeout.as_secs_f32()
            )),
            RequestErrorKind::InvalidSubject | RequestErrorKind::MaxPayloadExceeded => {
                Error::invalid_input(format!("NATS refused the request: {e}"))
            }
            _ => unavailable(e),
        })?;
        let response = ResponseEnvelope::decode(&reply.payload)
            .map_err(|e| Error::new(ErrorKind::Internal, format!("unreadable reply from the resolver: {e}")))?;
        let body = response.body.map_err(Error::from)?;
        if response.request_id != request_id {
            return Err(Error::new(ErrorKind::Internal, "the resolver answered a different request"));
        }
        Ok((body, request_id))
    }
}
