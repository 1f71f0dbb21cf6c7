//! A real stack for the gateway: nats-server, a hushd replica, certificates made at test
//! time, and the `hush-gateway` binary started as an operator starts it.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hush_core::GrantScope;
use hush_crypto::ClientKeyPair;
use hush_e2e::{Replica, Stack};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};

/// The stack's config: one SQL store for tenant `acme`, a read-only binding, and tenant
/// `secure`, which requires client certificates.
pub const BODY: &str = r#"
[backends.local]
kind = "sql"
url = "sqlite://{dir}/local.db"

[tenants.acme]
backend = "local"

[tenants.acme.namespaces."prod.readonly"]
backend = "local"
read_only = true
"#;

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pub pem: String,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa { issuer: Issuer::new(params, key), pem }
    }

    /// A server certificate for 127.0.0.1 and localhost: (cert PEM, key PEM).
    pub fn server(&self) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        (params.signed_by(&key, &self.issuer).unwrap().pem(), key.serialize_pem())
    }

    /// A client certificate: (cert PEM + key PEM, as reqwest's `Identity::from_pem` takes).
    pub fn client(&self, name: &str) -> Vec<u8> {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.issuer).unwrap().pem();
        format!("{cert}{}", key.serialize_pem()).into_bytes()
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// hushd and a running gateway in front of it.
pub struct GatewayStack {
    pub stack: Stack,
    pub replica: Option<Replica>,
    pub gateway: GatewayProcess,
    pub ca: TestCa,
    pub secure_ca: TestCa,
    /// The gateway's client public key: grants for it are bound to this.
    pub gateway_key: [u8; 32],
    pub base_url: String,
}

impl GatewayStack {
    /// The stack, or `None` after printing why it cannot run here.
    pub async fn start_or_skip() -> Option<GatewayStack> {
        Self::start_with_or_skip(BODY).await
    }

    /// Like [`start_or_skip`](Self::start_or_skip) with another config body (backends, tenants).
    pub async fn start_with_or_skip(body: &str) -> Option<GatewayStack> {
        let ca = TestCa::new("hush gateway test CA");
        let secure_ca = TestCa::new("tenant secure clients");
        let port = free_port();
        let gateway_section = format!(
            "\n[gateway]\nlisten = \"127.0.0.1:{port}\"\ntls = {{ cert = \"gateway.crt\", key = \"gateway.key\" }}\n\
             client_key = \"keys/gateway.key\"\nclient_ca = {{ secure = \"secure-clients.pem\" }}\n"
        );
        let stack = Stack::start_or_skip(&format!("{body}\n[tenants.secure]\nbackend = \"local\"\n{gateway_section}"))?;
        let dir = stack.path();
        let (cert, key) = ca.server();
        std::fs::write(dir.join("gateway.crt"), cert).unwrap();
        std::fs::write(dir.join("gateway.key"), key).unwrap();
        std::fs::write(dir.join("ca.pem"), &ca.pem).unwrap();
        std::fs::write(dir.join("secure-clients.pem"), &secure_ca.pem).unwrap();
        let client_key = ClientKeyPair::generate();
        client_key.save_new(&dir.join("keys/gateway.key"), &dir.join("keys/gateway.pub")).unwrap();
        let replica = stack.replica().await;
        let gateway = GatewayProcess::start(&stack.config_path, &[]);
        let base_url = format!("https://127.0.0.1:{port}");
        gateway.wait_ready(&base_url, Some(&ca.pem)).await;
        Some(GatewayStack {
            gateway_key: client_key.public(),
            stack,
            replica: Some(replica),
            gateway,
            ca,
            secure_ca,
            base_url,
        })
    }

    /// A grant bound to the gateway's key, as an operator mints it for ESO.
    pub fn grant(&self, tenant: &str, namespace: &str, scope: GrantScope) -> String {
        self.stack.bound_grant(tenant, namespace, scope, self.gateway_key)
    }

    /// An HTTP client trusting the test CA (what ESO's `caBundle` does).
    pub fn http(&self) -> reqwest::Client {
        http_client(Some(&self.ca.pem), None)
    }

    /// `/v1/secrets/{tenant}/{namespace}/{name}`
    pub fn url(&self, tenant: &str, namespace: &str, name: &str) -> String {
        format!("{}/v1/secrets/{tenant}/{namespace}/{name}", self.base_url)
    }

    pub fn dir(&self) -> &Path {
        self.stack.path()
    }
}

pub fn http_client(ca_pem: Option<&str>, identity: Option<&[u8]>) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(15));
    if let Some(pem) = ca_pem {
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
    }
    if let Some(identity) = identity {
        builder = builder.identity(reqwest::Identity::from_pem(identity).unwrap());
    }
    builder.build().unwrap()
}

/// The `hush-gateway` binary, its stderr collected (the access log).
pub struct GatewayProcess {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl GatewayProcess {
    pub fn start(config: &Path, args: &[&str]) -> GatewayProcess {
        let mut child = Command::new(binary())
            .arg("--config")
            .arg(config)
            .args(args)
            .env("HUSH_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hush-gateway starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        GatewayProcess { child, log }
    }

    /// Waits until `/healthz` answers, failing with the gateway's log if it exits first.
    pub async fn wait_ready(&self, base_url: &str, ca_pem: Option<&str>) {
        let http = http_client(ca_pem, None);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(answer) = http.get(format!("{base_url}/healthz")).send().await
                && answer.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("hush-gateway did not answer /healthz within 20s; its log:\n{}", self.log().join("\n"));
    }

    /// Every line the gateway logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the exit status (at most 35 s).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(35);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "hush-gateway did not stop within 35s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for a gateway that is expected to refuse to start; its exit status and log.
    pub fn wait_exit(mut self) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.log().join("\n"));
            }
            assert!(Instant::now() < deadline, "hush-gateway kept running; its log:\n{}", self.log().join("\n"));
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hush-gateway"))
}
