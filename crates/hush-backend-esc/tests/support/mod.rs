//! Test harness: the ESC contract server (`contract.rs`), backends on it, and the official
//! Python SDK (`pulumi-esc-sdk`) for interoperability checks.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

pub mod contract;

use std::process::Command;
use std::time::Duration;

use contract::{Contract, TOKEN};
use hush_backend_esc::{EscBackend, EscConfig};

/// The organization, project and environment every test uses.
pub const ORG: &str = "acme";
/// The project.
pub const PROJECT: &str = "payments";
/// The environment.
pub const ENV: &str = "prod";

/// The config of a backend on `server`'s environment `ORG/PROJECT/ENV`.
pub fn config(server: &Contract) -> EscConfig {
    EscConfig::new(ORG, PROJECT, ENV, TOKEN).with_api_url(&server.api_url).with_request_timeout(Duration::from_secs(2))
}

/// A backend on `server` with `config`.
pub fn backend(config: EscConfig) -> EscBackend {
    install_tls_provider();
    EscBackend::new("esc-test", config).expect("a backend")
}

/// Makes `ring` the rustls provider, as hush's binaries do at start: the backend's HTTP
/// client needs a process provider and does not install one itself.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether the official Python SDK (`pulumi-esc-sdk`) can be imported (installed with pip when missing).
pub fn python_client() -> bool {
    hush_backend_behavior::python_client("pulumi_esc_sdk", "pulumi-esc-sdk")
}

/// Runs a Python snippet with `esc` (the SDK module), `client` (an `EscClient` on
/// `endpoint` with the server's token), `ORG`, `PROJECT` and `ENV` defined; returns its
/// stdout, or the error output when it fails.
pub fn python(endpoint: &str, snippet: &str) -> Result<String, String> {
    let script = format!(
        "import json\n\
         import pulumi_esc_sdk as esc\n\
         client = esc.EscClient(esc.Configuration(host={endpoint:?}, access_token={TOKEN:?}))\n\
         ORG, PROJECT, ENV = {ORG:?}, {PROJECT:?}, {ENV:?}\n{snippet}\n"
    );
    let out = Command::new("python3").arg("-c").arg(script).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

pub use hush_backend_behavior::keys::{name, scope};
