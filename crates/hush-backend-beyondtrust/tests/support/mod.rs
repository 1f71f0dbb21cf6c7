//! Test harness: the Password Safe contract server (`contract.rs`), backends on it, and
//! BeyondTrust's own Python client (`beyondtrust-bips-library`, module `secrets_safe_library`)
//! for interoperability checks.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

pub mod contract;

use std::process::Command;
use std::time::Duration;

use contract::{API_KEY, Contract, RUN_AS};
use hush_backend_beyondtrust::{BeyondTrustBackend, BeyondTrustConfig};

/// The folder hush's secrets live in, in the tests.
pub const FOLDER: &str = "hush/prod";

/// The config of a backend on `server`, signing in with the API key as `RUN_AS`, folder
/// `hush/prod`.
pub fn config(server: &Contract) -> BeyondTrustConfig {
    BeyondTrustConfig::with_api_key(&server.address, API_KEY, RUN_AS, FOLDER)
        .with_request_timeout(Duration::from_secs(2))
}

/// A backend with `config`.
pub fn backend(config: BeyondTrustConfig) -> BeyondTrustBackend {
    install_tls_provider();
    BeyondTrustBackend::new("bt-test", config).expect("a backend")
}

/// Makes `ring` the rustls provider, as hush's binaries do at start.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether BeyondTrust's Python client can be imported (installed with pip when missing).
pub fn python_client() -> bool {
    hush_backend_behavior::python_client("secrets_safe_library", "beyondtrust-bips-library")
}

/// The version of `beyondtrust-bips-library` Python imports.
pub fn python_client_version() -> String {
    python_raw("import importlib.metadata as m\nprint(m.version('beyondtrust-bips-library'))")
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

/// Runs `script` with `python3`; its stdout, or its error output when it fails.
pub fn python_raw(script: &str) -> Result<String, String> {
    let out = Command::new("python3").arg("-c").arg(script).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Runs a Python snippet with `auth` (an `Authentication` on `api_url`, signed in with
/// `auth.get_api_access()`), `secrets` (a `SecretsSafe`), `folders` (a `Folder`) and `json`
/// in scope; `auth_args` are `Authentication`'s keyword arguments besides `api_url`.
pub fn python(api_url: &str, auth_args: &str, snippet: &str) -> Result<String, String> {
    let script = format!(
        "import json, requests\n\
         from secrets_safe_library import authentication, secrets_safe, folders as folders_module\n\
         session = requests.Session()\n\
         auth = authentication.Authentication(req=session, api_url={api_url:?}, verify_ca=False, {auth_args})\n\
         signed_in = auth.get_api_access()\n\
         assert signed_in.status_code == 200, signed_in.status_code\n\
         secrets = secrets_safe.SecretsSafe(auth)\n\
         folders = folders_module.Folder(auth)\n\
         {snippet}\n"
    );
    python_raw(&script)
}

/// `Authentication`'s arguments for the API key as `run_as` (the key field carries the run-as
/// user, as the library sends it after `PS-Auth key=`).
pub fn api_key_args(run_as: &str) -> String {
    format!("api_key={:?}", format!("{API_KEY}; runas={run_as};"))
}

pub use hush_backend_behavior::keys::{name, scope};
