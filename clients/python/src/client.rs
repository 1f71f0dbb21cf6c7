//! `hush.Client`: the connection to the resolvers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hush_client::{ClientOptions, HushClient, TlsOptions, redact_url};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

use crate::error::to_py;
use crate::keys;
use crate::runtime::{new_runtime, wait};
use crate::session::Session;

/// A connection to the hush resolvers over NATS: one connection, one X25519 key pair and
/// one background thread. Create one per process (after any fork) and share it; every call
/// blocks the calling thread with the GIL released.
#[pyclass(module = "hush", name = "Client", frozen)]
#[derive(Debug)]
pub struct Client {
    // Dropped before the runtime that runs its connection.
    inner: HushClient,
    shown_url: String,
    runtime: Arc<Runtime>,
}

fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    match Duration::try_from_secs_f64(value) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(PyValueError::new_err(format!("{name} must be a positive number of seconds, not {value}"))),
    }
}

#[pymethods]
impl Client {
    /// Connects to NATS at `nats_url` (comma-separated URLs; `user:password@` allowed) and
    /// pins `resolver_public_keys`: base64 strings (a `resolver.pub` file's content), key
    /// file paths, or 32 raw bytes; a single key or a list. `client_key` is a key file made by
    /// `hush keys client PATH`, so grants can be bound to it before the process starts;
    /// without it the client makes a fresh key pair.
    #[new]
    #[pyo3(signature = (
        nats_url,
        resolver_public_keys,
        *,
        client_key = None,
        request_timeout = 10.0,
        connect_timeout = 5.0,
        nats_credentials = None,
        tls_ca = None,
        tls_cert = None,
        tls_key = None,
        inbox_prefix = None,
        name = "hush-python".to_owned(),
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        nats_url: String,
        resolver_public_keys: &Bound<'_, PyAny>,
        client_key: Option<PathBuf>,
        request_timeout: f64,
        connect_timeout: f64,
        nats_credentials: Option<PathBuf>,
        tls_ca: Option<PathBuf>,
        tls_cert: Option<PathBuf>,
        tls_key: Option<PathBuf>,
        inbox_prefix: Option<String>,
        name: String,
    ) -> PyResult<Self> {
        let mut options = ClientOptions::new(nats_url.clone(), keys::resolver_public_keys(py, resolver_public_keys)?);
        if let Some(path) = client_key {
            options = options.with_client_key(keys::client_key(py, path)?);
        }
        options.nats.request_timeout = seconds("request_timeout", request_timeout)?;
        options.nats.connect_timeout = seconds("connect_timeout", connect_timeout)?;
        options.nats.credentials = nats_credentials;
        options.nats.inbox_prefix = inbox_prefix;
        options.nats.connection_name = name;
        if tls_ca.is_some() || tls_cert.is_some() || tls_key.is_some() {
            options.nats.tls = Some(TlsOptions { ca: tls_ca, cert: tls_cert, key: tls_key, required: true });
        }
        let runtime = new_runtime(py)?;
        let inner = wait(py, &runtime, HushClient::connect(options))?;
        Ok(Client { inner, shown_url: redact_url(&nats_url), runtime })
    }

    /// This client's X25519 public key in base64: bind grants to it
    /// (`hush grant --bind-key KEY`), so a leaked grant is useless elsewhere.
    #[getter]
    fn public_key(&self) -> String {
        STANDARD.encode(self.inner.public_key())
    }

    /// A session for one grant (one tenant, one namespace, one execution). An unreadable
    /// grant raises `HushError(kind="unauthorized")`; the resolver checks the rest.
    fn session(&self, py: Python<'_>, grant: String) -> PyResult<Session> {
        let session = self.inner.session(grant).map_err(|e| to_py(py, e))?;
        Ok(Session::new(session, self.runtime.clone()))
    }

    /// Sends what is buffered and closes the NATS connection; later calls raise
    /// `HushError(kind="unavailable")`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let nats = self.inner.nats().clone();
        wait(py, &self.runtime, async move {
            nats.drain().await.map_err(|e| hush_core::Error::unavailable(format!("closing the NATS connection: {e}")))
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("Client(nats_url={:?}, public_key={:?})", self.shown_url, self.public_key())
    }
}
