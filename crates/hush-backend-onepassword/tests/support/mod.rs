//! Test harness: the 1Password Connect contract server (`contract.rs`), backends on it, and
//! the official Python SDK (`onepasswordconnectsdk`) for interoperability checks.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

pub mod contract;

use std::process::Command;
use std::time::Duration;

use contract::{Contract, TOKEN, VAULT};
use hush_backend_onepassword::{OnePasswordBackend, OnePasswordConfig};

/// The config of a backend on `server` with `TOKEN`, every tenant in `VAULT`.
pub fn config(server: &Contract) -> OnePasswordConfig {
    OnePasswordConfig::new(&server.address, TOKEN, VAULT).with_request_timeout(Duration::from_secs(2))
}

/// A backend with `config`.
pub fn backend(config: OnePasswordConfig) -> OnePasswordBackend {
    install_tls_provider();
    OnePasswordBackend::new("op-test", config).expect("a backend")
}

/// Makes `ring` the rustls provider, as hush's binaries do at start.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether the official Python SDK (`onepasswordconnectsdk`) can be imported (installed with
/// pip when missing).
pub fn python_client() -> bool {
    hush_backend_behavior::python_client("onepasswordconnectsdk", "onepasswordconnectsdk")
}

/// The version of the official Python SDK installed, e.g. `2.1.1`.
pub fn python_client_version() -> String {
    let out = Command::new("python3")
        .args(["-c", "import importlib.metadata as m; print(m.version('onepasswordconnectsdk'))"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    if out.is_empty() { "unknown".to_owned() } else { out }
}

/// Runs a Python snippet with `client` (the SDK's `new_client(address, token)`), `VAULT`,
/// `json` and the SDK's models imported; returns its stdout, or the error output when it fails.
pub fn python(address: &str, token: &str, snippet: &str) -> Result<String, String> {
    let script = format!(
        "import json\n\
         from onepasswordconnectsdk.client import new_client\n\
         from onepasswordconnectsdk.models import Item, ItemVault, Field\n\
         client = new_client({address:?}, {token:?})\n\
         VAULT = {VAULT:?}\n{snippet}\n"
    );
    let out = Command::new("python3").arg("-c").arg(script).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

pub use hush_backend_behavior::keys::{name, scope};
