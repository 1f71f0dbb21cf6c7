//! Test harness: the Conjur contract server (`contract.rs`), backends on it, and the official
//! Python client (`conjur-api`) for interoperability checks.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

pub mod contract;

use std::process::Command;
use std::time::Duration;

use contract::{ACCOUNT, API_KEY, Contract, LOGIN};
use hush_backend_conjur::{ConjurBackend, ConjurConfig};

/// The config of a backend on `server` as `LOGIN`.
pub fn config(server: &Contract) -> ConjurConfig {
    ConjurConfig::new(&server.address, ACCOUNT, LOGIN, API_KEY).with_request_timeout(Duration::from_secs(2))
}

/// A backend with `config`.
pub fn backend(config: ConjurConfig) -> ConjurBackend {
    install_tls_provider();
    ConjurBackend::new("conjur-test", config).expect("a backend")
}

/// Makes `ring` the rustls provider, as hush's binaries do at start.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether the official Python client (`conjur-api`) can be imported (installed with pip when
/// missing).
pub fn python_client() -> bool {
    hush_backend_behavior::python_client("conjur_api", "conjur-api")
}

/// Runs a Python snippet with `client` (a synchronous `conjur_api.Client` on `address` whose
/// `strategy` the Python in `auth` builds: [`authn`] or [`authn_jwt`]) and `json` imported;
/// returns its stdout, or the error output when it fails.
pub fn python(address: &str, auth: &str, snippet: &str) -> Result<String, String> {
    let script = format!(
        "import json\n\
         from conjur_api import Client\n\
         from conjur_api.models import ConjurConnectionInfo, CredentialsData, SslVerificationMode\n\
         from conjur_api.providers import AuthnAuthenticationStrategy, JWTAuthenticationStrategy, SimpleCredentialsProvider\n\
         URL, ACCOUNT = {address:?}, {ACCOUNT:?}\n\
         {auth}\n\
         client = Client(ConjurConnectionInfo(conjur_url=URL, account=ACCOUNT, service_id=SERVICE_ID), \
             authn_strategy=strategy, ssl_verification_mode=SslVerificationMode.INSECURE, async_mode=False)\n\
         {snippet}\n"
    );
    let out = Command::new("python3").arg("-c").arg(script).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Python building `strategy` for authn as `login` with `api_key`.
pub fn authn(login: &str, api_key: &str) -> String {
    format!(
        "SERVICE_ID = None\n\
         provider = SimpleCredentialsProvider()\n\
         provider.save(CredentialsData(machine=URL, username={login:?}, api_key={api_key:?}))\n\
         strategy = AuthnAuthenticationStrategy(provider)"
    )
}

/// Python building `strategy` for authn-jwt of `service_id` with `jwt`.
pub fn authn_jwt(service_id: &str, jwt: &str) -> String {
    format!("SERVICE_ID = {service_id:?}\nstrategy = JWTAuthenticationStrategy({jwt:?})")
}

pub use hush_backend_behavior::keys::{name, scope};
