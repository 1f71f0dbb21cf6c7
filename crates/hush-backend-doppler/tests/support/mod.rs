//! Test harness: the Doppler contract server (`contract.rs`), backends on it, and the
//! official Python SDK (`doppler-sdk`) for interoperability checks.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

pub mod contract;

use std::process::Command;
use std::time::Duration;

use contract::{Contract, TOKEN};
use hush_backend_doppler::{DopplerBackend, DopplerConfig};

/// The project every test uses.
pub const PROJECT: &str = "payments";
/// The config.
pub const CONFIG: &str = "prd";

/// The config of a backend on `server`'s config `PROJECT/CONFIG` (created empty).
pub fn config(server: &Contract) -> DopplerConfig {
    server.config(PROJECT, CONFIG);
    DopplerConfig::new(PROJECT, CONFIG, TOKEN)
        .with_api_url(&server.api_url)
        .with_request_timeout(Duration::from_secs(2))
}

/// A backend with `config`.
pub fn backend(config: DopplerConfig) -> DopplerBackend {
    install_tls_provider();
    DopplerBackend::new("doppler-test", config).expect("a backend")
}

/// Makes `ring` the rustls provider, as hush's binaries do at start.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether the official Python SDK (`doppler-sdk`) can be imported (installed with pip when missing).
pub fn python_client() -> bool {
    hush_backend_behavior::python_client("dopplersdk", "doppler-sdk")
}

/// Runs a Python snippet with `sdk` (a `DopplerSDK` on `api_url` with `token`), `PROJECT` and
/// `CONFIG` defined; returns its stdout, or the error output when it fails.
pub fn python(api_url: &str, token: &str, snippet: &str) -> Result<String, String> {
    let script = format!(
        "import json\n\
         from dopplersdk import DopplerSDK\n\
         sdk = DopplerSDK()\n\
         sdk.set_base_url({api_url:?})\n\
         sdk.set_access_token({token:?})\n\
         PROJECT, CONFIG = {PROJECT:?}, {CONFIG:?}\n{snippet}\n"
    );
    let out = Command::new("python3").arg("-c").arg(script).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

pub use hush_backend_behavior::keys::{name, scope};
