//! Test harness: a real drongo server (Secret Manager REST v1) on a free loopback port,
//! killed on drop, and Google's Python client for interoperability checks.
//!
//! The server is a [`LocalServer`]: gone when dropped or when the test process exits.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

pub mod stub;

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hush_backend_behavior::local_server::{LocalServer, ServerSpec, program_on_path};
use hush_backend_gcp::{GcpBackend, GcpConfig};
use hush_core::{Namespace, Scope, SecretName, TenantId};

/// The project every test uses.
pub const PROJECT: &str = "hush-test";

/// A running `drongo server`.
pub struct Drongo {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    server: LocalServer,
}

impl Drongo {
    /// Starts a server, or `None` when `drongo` is not installed.
    pub fn start() -> Option<Drongo> {
        program_on_path("drongo")?;
        let spec = ServerSpec {
            name: "drongo",
            command: "drongo server --host 127.0.0.1 --port \"$PORT\"",
            port_pair: false,
            ready_within: Duration::from_secs(30),
            attempts: 3,
        };
        let ready = |server: &LocalServer| {
            matches!(http(server.port(), "GET", &format!("/v1/projects/{PROJECT}/secrets"), ""), Ok((200, _)))
        };
        let server = LocalServer::start(&spec, ready).unwrap_or_else(|e| panic!("{e}"));
        Some(Drongo { endpoint: format!("http://127.0.0.1:{}", server.port()), server })
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// One plain-HTTP request under `/v1/`: (status, body).
    pub fn http(&self, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
        http(self.server.port(), method, &format!("/v1/{path}"), body)
    }

    /// A backend on this server (anonymous credentials) with `prefix`.
    pub async fn backend(&self, prefix: &str) -> GcpBackend {
        let config = GcpConfig::new(PROJECT).with_endpoint(&self.endpoint).anonymous().with_prefix(prefix);
        GcpBackend::connect("gcp-test", config).await.expect("connect to drongo")
    }
}

/// One plain-HTTP/1.1 request to 127.0.0.1:`port`: (status, body).
pub fn http(port: u16, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
    let json = [("Content-Type", "application/json")];
    let answer = hush_backend_behavior::local_server::http_request(port, method, path, &json, body)?;
    Ok((answer.status, answer.body))
}

/// The server shared by every test of a binary, or `None` (after printing the skip) when
/// drongo is not installed. It lives until the process exits (its shell then kills it).
pub fn server_or_skip() -> Option<&'static Drongo> {
    install_tls_provider();
    static SERVER: OnceLock<Option<Drongo>> = OnceLock::new();
    let server = SERVER.get_or_init(Drongo::start).as_ref();
    if server.is_none() {
        hush_backend_behavior::print_skip("drongo not found (pip install drongo)");
    }
    server
}

/// A name unique in this process: `<stem><n>`.
pub fn unique(stem: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!("{stem}{}x{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A scope from text.
pub fn scope(tenant: &str, namespace: &str) -> Scope {
    Scope::new(TenantId::new(tenant).unwrap(), Namespace::new(namespace).unwrap())
}

/// A secret name from text.
pub fn name(text: &str) -> SecretName {
    SecretName::new(text).unwrap()
}

/// Whether Google's Python client is installed (`google-cloud-secret-manager`).
pub fn python_client() -> bool {
    Command::new("python3")
        .args(["-c", "import google.cloud.secretmanager, google.auth.credentials"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a Python snippet with `client` (a `SecretManagerServiceClient` on `endpoint`, REST
/// transport, anonymous credentials) and `project` defined; returns its stdout, or the
/// error output when it fails.
pub fn python(endpoint: &str, snippet: &str) -> Result<String, String> {
    let script = format!(
        "from google.cloud import secretmanager\n\
         from google.auth.credentials import AnonymousCredentials\n\
         client = secretmanager.SecretManagerServiceClient(credentials=AnonymousCredentials(), transport='rest', \
         client_options={{'api_endpoint': {endpoint:?}}})\n\
         project = 'projects/{PROJECT}'\n{snippet}\n"
    );
    let out = Command::new("python3").arg("-c").arg(script).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A service-account key (JSON text) with a throwaway RSA key made by `openssl`, or `None`
/// when `openssl` is missing.
pub fn throwaway_service_account_key() -> Option<String> {
    let out = Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let key = serde_json::json!({
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "0123456789abcdef",
        "private_key": String::from_utf8_lossy(&out.stdout),
        "client_email": "hush@hush-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    Some(key.to_string())
}

/// Makes `ring` the rustls provider, as hush's binaries do at start: the backend's HTTP
/// clients need a process provider and do not install one themselves.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
