//! Test harness: the Doppler contract server (`contract.rs`), backends on it, and the
//! official Python SDK (`doppler-sdk`) for interoperability checks.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

pub mod contract;

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use contract::{Contract, TOKEN};
use hush_backend_doppler::{DopplerBackend, DopplerConfig};
use hush_core::{Namespace, Scope, SecretName, TenantId};

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

/// A scope from text.
pub fn scope(tenant: &str, namespace: &str) -> Scope {
    Scope::new(TenantId::new(tenant).unwrap(), Namespace::new(namespace).unwrap())
}

/// A secret name from text.
pub fn name(text: &str) -> SecretName {
    SecretName::new(text).unwrap()
}

/// Makes `ring` the rustls provider, as hush's binaries do at start.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn sdk_importable() -> bool {
    Command::new("python3")
        .args(["-c", "import dopplersdk"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the official Python SDK (`doppler-sdk`) can be imported, installing it with pip
/// once per test process when it is missing.
pub fn python_client() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        if sdk_importable() {
            return true;
        }
        let installed = Command::new("python3")
            .args(["-m", "pip", "install", "-q", "doppler-sdk"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        installed && sdk_importable()
    })
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
