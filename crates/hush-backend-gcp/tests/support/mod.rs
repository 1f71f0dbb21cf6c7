//! Test harness: a real drongo server (Secret Manager REST v1) on a free loopback port,
//! killed on drop, and Google's Python client for interoperability checks.
//!
//! The server runs under a small shell that kills it when its standard input closes: when
//! the [`Drongo`] is dropped, and also when the test process exits however it exits.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

pub mod stub;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use hush_backend_gcp::{GcpBackend, GcpConfig};
use hush_core::{Namespace, Scope, SecretName, TenantId};

/// The project every test uses.
pub const PROJECT: &str = "hush-test";

/// A running `drongo server`.
pub struct Drongo {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    port: u16,
    shell: Child,
    stdin: Option<ChildStdin>,
    dir: tempfile::TempDir,
}

/// A program on `PATH`, if any.
pub fn binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// A free loopback port.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

impl Drongo {
    /// Starts a server, or `None` when `drongo` is not installed.
    pub fn start() -> Option<Drongo> {
        binary("drongo")?;
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_start() {
                Ok(server) => return Some(server),
                Err(e) => last_error = e,
            }
        }
        panic!("drongo did not start: {last_error}");
    }

    fn try_start() -> Result<Drongo, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = free_port();
        let log = dir.path().join("drongo.log");
        let script = "drongo server --host 127.0.0.1 --port \"$DRONGO_PORT\" >\"$DRONGO_LOG\" 2>&1 & child=$!; \
                      read _ignored; kill $child; wait $child";
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("DRONGO_PORT", port.to_string())
            .env("DRONGO_LOG", &log)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot spawn sh: {e}"))?;
        let stdin = shell.stdin.take();
        let mut server = Drongo { endpoint: format!("http://127.0.0.1:{port}"), port, shell, stdin, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = server.shell.try_wait() {
                return Err(format!("drongo exited: {}", server.log()));
            }
            if matches!(server.http("GET", &format!("projects/{PROJECT}/secrets"), ""), Ok((200, _))) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("drongo did not answer within 30 s".to_owned())
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("drongo.log")).unwrap_or_default()
    }

    /// One plain-HTTP request under `/v1/`: (status, body).
    pub fn http(&self, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
        http(self.port, method, &format!("/v1/{path}"), body)
    }

    /// A backend on this server (anonymous credentials) with `prefix`.
    pub async fn backend(&self, prefix: &str) -> GcpBackend {
        let config = GcpConfig::new(PROJECT).with_endpoint(&self.endpoint).anonymous().with_prefix(prefix);
        GcpBackend::connect("gcp-test", config).await.expect("connect to drongo")
    }
}

impl Drop for Drongo {
    fn drop(&mut self) {
        // Closing stdin makes the shell kill drongo.
        drop(self.stdin.take());
        let _ = self.shell.wait();
    }
}

/// One plain-HTTP/1.1 request to 127.0.0.1:`port`: (status, body).
pub fn http(port: u16, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|e| e.to_string())?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, rest) = answer.split_once("\r\n\r\n").ok_or("no HTTP head")?;
    let status: u16 = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or("no status")?;
    Ok((status, rest.to_owned()))
}

/// The server shared by every test of a binary, or `None` (after printing the skip) when
/// drongo is not installed. It lives until the process exits (its shell then kills it).
pub fn server_or_skip() -> Option<&'static Drongo> {
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
