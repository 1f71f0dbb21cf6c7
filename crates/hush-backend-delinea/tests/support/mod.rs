//! Test harness: the Secret Server contract server (`contract.rs`), backends on it, and the
//! official Python client (`python-tss-sdk`) for interoperability checks.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

pub mod contract;

use std::process::Command;
use std::time::Duration;

use contract::{CLIENT_ID, CLIENT_SECRET, Contract, FOLDER_ID, HUSH_TEMPLATE_ID, PASSWORD, USERNAME};
use hush_backend_delinea::{DelineaBackend, DelineaConfig};

/// The config of a backend on `server` as `USERNAME`, writing to `FOLDER_ID` with hush's
/// template.
pub fn config(server: &Contract) -> DelineaConfig {
    DelineaConfig::with_password(&server.address, USERNAME, PASSWORD)
        .with_folder_and_template(FOLDER_ID, HUSH_TEMPLATE_ID)
        .with_request_timeout(Duration::from_secs(2))
}

/// The config of a backend on the Platform contract server `server`.
pub fn platform_config(server: &Contract) -> DelineaConfig {
    DelineaConfig::with_client_credentials(&server.address, CLIENT_ID, CLIENT_SECRET)
        .with_folder_and_template(FOLDER_ID, HUSH_TEMPLATE_ID)
        .with_request_timeout(Duration::from_secs(2))
}

/// A backend with `config`.
pub fn backend(config: DelineaConfig) -> DelineaBackend {
    install_tls_provider();
    DelineaBackend::new("delinea-test", config).expect("a backend")
}

/// Makes `ring` the rustls provider, as hush's binaries do at start.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether the official Python client (`python-tss-sdk`, module `delinea.secrets.server`) can
/// be imported (installed with pip when missing).
pub fn python_client() -> bool {
    hush_backend_behavior::python_client("delinea.secrets.server", "python-tss-sdk")
}

/// Runs a Python snippet with `server` (a `delinea.secrets.server.SecretServer` on `address`
/// signed in with `PasswordGrantAuthorizer(address, user, password)`) and `json` imported;
/// returns its stdout, or the error output when it fails.
pub fn python(address: &str, user: &str, password: &str, snippet: &str) -> Result<String, String> {
    let script = format!(
        "import json\n\
         from delinea.secrets.server import PasswordGrantAuthorizer, SecretServer, SecretServerError\n\
         URL = {address:?}\n\
         authorizer = PasswordGrantAuthorizer(URL, {user:?}, {password:?})\n\
         server = SecretServer(URL, authorizer)\n\
         {snippet}\n"
    );
    let out = Command::new("python3").arg("-c").arg(script).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

pub use hush_backend_behavior::keys::{name, scope};
