//! Test harness: a real `moto_server` on a free loopback port, boto3 (through `python3`) for
//! interoperability checks, and a recording HTTP stub for what moto does not check.
//!
//! The server is a [`LocalServer`]: gone when dropped or when the test process exits, so the
//! server shared by every test of a binary ([`shared`]) never outlives the binary.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hush_backend_aws::{AwsBackend, AwsConfig};
use hush_backend_behavior::local_server::{LocalServer, ServerSpec, program_on_path};
use hush_core::{Namespace, Scope, SecretName, TenantId};

/// The region every test uses.
pub const REGION: &str = "us-east-1";
/// The static access key id every test uses (moto checks no signature).
pub const ACCESS_KEY_ID: &str = "AKIDHUSHTEST";
/// The static secret access key every test uses.
pub const SECRET_ACCESS_KEY: &str = "hush-test-secret-key";

/// A running `moto_server`.
pub struct MotoServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    server: LocalServer,
}

impl MotoServer {
    /// Starts a server, or `None` when `moto_server` is not installed.
    pub fn start() -> Option<MotoServer> {
        program_on_path("moto_server")?;
        let spec = ServerSpec {
            name: "moto_server",
            command: "moto_server -H 127.0.0.1 -p \"$PORT\"",
            port_pair: false,
            ready_within: Duration::from_secs(60),
            attempts: 3,
        };
        let ready = |server: &LocalServer| matches!(http(server.port(), "POST", "/moto-api/reset"), Ok(200));
        let server = LocalServer::start(&spec, ready).unwrap_or_else(|e| panic!("{e}"));
        Some(MotoServer { endpoint: format!("http://127.0.0.1:{}", server.port()), server })
    }

    /// One plain HTTP request without a body; the status.
    pub fn http(&self, method: &str, path: &str) -> Result<u16, String> {
        http(self.server.port(), method, path)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// A config for this server with the test's static keys and `prefix`.
    pub fn config(&self, prefix: &str) -> AwsConfig {
        AwsConfig::new(REGION)
            .with_static_credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None)
            .with_endpoint(&self.endpoint)
            .with_prefix(prefix)
            .with_request_timeout(Duration::from_secs(20))
    }

    /// A backend for this server with `prefix` and the default recovery window.
    pub async fn backend(&self, prefix: &str) -> AwsBackend {
        AwsBackend::connect("aws-test", self.config(prefix)).await.expect("connect to moto")
    }

    /// Runs Python `code` with `sm`, a boto3 Secrets Manager client for this server, and
    /// `json` imported; its stdout, or the error output.
    pub fn boto3(&self, code: &str) -> Result<String, String> {
        let prelude = "import boto3, json, sys, base64\n\
                       sm = boto3.client('secretsmanager', endpoint_url=sys.argv[1], region_name=sys.argv[2], \
                       aws_access_key_id='testing', aws_secret_access_key='testing')\n";
        let output = Command::new("python3")
            .arg("-c")
            .arg(format!("{prelude}{code}"))
            .arg(&self.endpoint)
            .arg(REGION)
            .output()
            .map_err(|e| format!("cannot run python3: {e}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
        }
    }

    /// [`boto3`](Self::boto3), which must succeed.
    pub fn boto3_ok(&self, code: &str) -> String {
        self.boto3(code).unwrap_or_else(|e| panic!("boto3 failed: {e}"))
    }
}

/// The server shared by every test of this binary.
pub fn shared() -> Option<&'static MotoServer> {
    static SERVER: OnceLock<Option<MotoServer>> = OnceLock::new();
    SERVER.get_or_init(MotoServer::start).as_ref()
}

/// The shared server, or prints `skipped: moto_server not found` and returns `None`.
pub fn server_or_skip() -> Option<&'static MotoServer> {
    let server = shared();
    if server.is_none() {
        hush_backend_behavior::print_skip("moto_server not found (pip install 'moto[server]')");
    }
    server
}

/// Whether `python3` can import boto3; prints `skipped: ...` when not.
pub fn boto3_or_skip() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import boto3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        hush_backend_behavior::print_skip("python3 with boto3 not found (pip install boto3)");
    }
    ok
}

/// A prefix unique within this test process, so tests sharing the server never collide.
pub fn unique(stem: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{stem}{}-{}/", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A scope from text.
pub fn scope(tenant: &str, namespace: &str) -> Scope {
    Scope::new(TenantId::new(tenant).unwrap(), Namespace::new(namespace).unwrap())
}

/// A secret name from text.
pub fn name(text: &str) -> SecretName {
    SecretName::new(text).unwrap()
}

/// A stub HTTP server on a free loopback port that records each request's head and answers
/// every request with the same status, headers and body (or never answers, when `hang`).
pub struct StubServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The heads (request line and headers) received so far.
    pub heads: Arc<Mutex<Vec<String>>>,
}

impl StubServer {
    /// Starts the stub in a thread that lives as long as the test process.
    pub fn start(status: u16, headers: &[(&str, &str)], body: &str, hang: bool) -> StubServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let mut answer = format!("HTTP/1.1 {status} Stub\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
        for (name, value) in headers {
            answer.push_str(&format!("{name}: {value}\r\n"));
        }
        answer.push_str("\r\n");
        answer.push_str(body);
        let recorded = Arc::clone(&heads);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let recorded = Arc::clone(&recorded);
                let answer = answer.clone();
                std::thread::spawn(move || {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&buffer);
                    let head = text.split("\r\n\r\n").next().unwrap_or_default().to_owned();
                    recorded.lock().unwrap().push(head);
                    if hang {
                        std::thread::sleep(Duration::from_secs(30));
                        return;
                    }
                    let _ = stream.write_all(answer.as_bytes());
                });
            }
        });
        StubServer { endpoint, heads }
    }
}

/// One plain HTTP request without a body to 127.0.0.1:`port`; the status.
fn http(port: u16, method: &str, path: &str) -> Result<u16, String> {
    hush_backend_behavior::local_server::http_request(port, method, path, &[], "").map(|answer| answer.status)
}
