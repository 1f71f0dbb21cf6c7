//! The harness of hush's end-to-end tests: a real `nats-server` per test, key files in a
//! temporary directory, a config file, and resolver replicas running in-process exactly as
//! `hushd` runs them.
//!
//! Tests that cannot find `nats-server` print `skipped: <reason>` and return when run by hand;
//! under `CI=true` (how `.ci/run` runs them) they fail with the reason instead.
//!
//! [`RawClient`] builds requests by hand, as an attacker on NATS or a buggy client would.

#![deny(missing_docs)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hush_backend_behavior::local_server::{LocalServer, ServerSpec, program_on_path};
use hush_client::{ClientOptions, HushClient, Session};
use hush_config::HushConfig;
use hush_core::{GrantScope, Namespace, TenantId};
use hush_crypto::{
    ClientKeyPair, GrantIssuer, GrantRequest, KeyRing, ResolverKeyPair, TransportKey, random_request_id,
    resolver_key_id,
};
use hush_proto::message::{RequestBody, RequestEnvelope, ResponseEnvelope};
use hush_resolver::Resolver;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Says why a test cannot run: fails it under `CI=true`, else prints `skipped: <reason>`
/// ([`hush_backend_behavior::print_skip`], the one way every test skips).
///
/// # Panics
///
/// Under `CI=true`: a test whose server is unavailable must not pass there.
pub fn skip(reason: &str) {
    hush_backend_behavior::print_skip(reason);
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn nats_server_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HUSH_NATS_SERVER") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("nats-server")).find(|p| p.is_file())
}

/// Whether a NATS server answers on loopback `port`: it greets a new connection with its
/// `INFO` line. A port that merely accepts connections (another test's listener that took the
/// port before the server could bind it) does not count.
pub fn nats_answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut greeting = [0u8; 5];
    std::io::Read::read_exact(&mut stream, &mut greeting).is_ok() && &greeting == b"INFO "
}

/// A `nats-server` with JetStream on a free loopback port (its monitor on the next one), run
/// by [`LocalServer`] like every other test server: gone with the test.
#[derive(Debug)]
pub struct NatsServer {
    /// `nats://127.0.0.1:<port>`
    pub url: String,
    /// Held for its `Drop`, which stops the server.
    _server: LocalServer,
}

impl NatsServer {
    /// Starts one, or says why not.
    pub fn start() -> Result<NatsServer, String> {
        Self::start_with(&[], &[])
    }

    /// Starts one with extra arguments (a config file: `["-c", path]`) and environment
    /// (the passwords that config reads).
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Result<NatsServer, String> {
        let binary = nats_server_binary().ok_or("nats-server not found on PATH (run scripts/services.sh)")?;
        let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        let env: String = env.iter().map(|(name, value)| format!("{name}={} ", quote(value))).collect();
        let args: String = args.iter().map(|arg| format!(" {}", quote(arg))).collect();
        let command = format!(
            "{env}{}{args} -a 127.0.0.1 -p \"$PORT\" -m $((PORT + 1)) -js -sd \"$DIR\"",
            quote(&binary.display().to_string())
        );
        let spec = ServerSpec {
            name: "nats-server",
            command: &command,
            port_pair: true,
            ready_within: Duration::from_secs(10),
            attempts: 5,
        };
        let server = LocalServer::start(&spec, |server| nats_answers(server.port()))?;
        Ok(NatsServer { url: format!("nats://127.0.0.1:{}", server.port()), _server: server })
    }

    /// Starts one that takes messages of at most `max_payload` bytes.
    pub fn start_with_max_payload(max_payload: usize) -> Result<NatsServer, String> {
        // Read once, at start.
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let conf = dir.path().join("nats-server.conf");
        std::fs::write(&conf, format!("max_payload: {max_payload}\n")).map_err(|e| e.to_string())?;
        Self::start_with(&["-c", &conf.display().to_string()], &[])
    }

    /// The server's process id: the process named `nats-server` whose arguments name its port.
    pub fn pid(&self) -> Option<u32> {
        let port = self.url.rsplit(':').next()?;
        std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let mut args = cmdline.split(|&b| b == 0);
            let listens = args.any(|arg| arg == b"-p") && args.next() == Some(port.as_bytes());
            (comm.trim() == "nats-server" && listens).then_some(pid)
        })
    }
}

/// An OpenBao dev server (`bao server -dev`, root token `root`) on a free loopback port,
/// gone with the test.
#[derive(Debug)]
pub struct BaoServer {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    server: LocalServer,
}

impl BaoServer {
    /// Starts one, or says why not.
    pub fn start() -> Result<BaoServer, String> {
        Self::start_command(
            "bao server -dev -dev-root-token-id=root -dev-no-store-token -dev-listen-address=127.0.0.1:\"$PORT\"",
        )
    }

    /// Starts one whose file audit device logs every request it serves, one JSON object a
    /// line, to [`audit_log`](Self::audit_log). OpenBao enables audit devices only from its
    /// configuration file, not through the API.
    pub fn start_with_audit_log() -> Result<BaoServer, String> {
        Self::start_command(
            "printf 'audit \"file\" \"requests\" {\\n  options {\\n    file_path = \"%s/audit.log\"\\n  }\\n}\\n' \"$DIR\" >\"$DIR/audit.hcl\" && \
             bao server -dev -dev-root-token-id=root -dev-no-store-token -dev-listen-address=127.0.0.1:\"$PORT\" -config=\"$DIR/audit.hcl\"",
        )
    }

    /// The file audit device's log of a server from [`start_with_audit_log`](Self::start_with_audit_log).
    pub fn audit_log(&self) -> PathBuf {
        self.server.dir().join("audit.log")
    }

    fn start_command(command: &'static str) -> Result<BaoServer, String> {
        program_on_path("bao").ok_or("bao not found on PATH (run scripts/services.sh)")?;
        let spec = ServerSpec {
            name: "bao",
            command,
            // The dev server also listens on the next port (its cluster address).
            port_pair: true,
            ready_within: Duration::from_secs(30),
            attempts: 5,
        };
        let address = |server: &LocalServer| format!("http://127.0.0.1:{}", server.port());
        let server = LocalServer::start(&spec, |server| bao_cli(&address(server), server.dir(), &["status"]).is_ok())?;
        Ok(BaoServer { address: address(&server), server })
    }

    /// Runs the `bao` command line against this server with the root token; its stdout.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        bao_cli(&self.address, self.server.dir(), args)
    }
}

fn bao_cli(address: &str, home: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("bao")
        .args(args)
        .env("BAO_ADDR", address)
        .env("BAO_TOKEN", "root")
        .env("HOME", home)
        .output()
        .map_err(|e| format!("cannot run bao: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// A resolver replica running in this process.
#[derive(Debug)]
pub struct Replica {
    /// The resolver, for its metrics.
    pub resolver: Resolver,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Replica {
    /// Stops taking requests and waits for the ones in flight.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// NATS, keys, a config file and the means to start replicas and clients.
#[derive(Debug)]
pub struct Stack {
    /// The NATS server.
    pub nats: NatsServer,
    /// The directory holding keys, config and SQLite files.
    pub dir: TempDir,
    /// The config file.
    pub config_path: PathBuf,
    /// The grant issuer the resolvers trust.
    pub issuer: GrantIssuer,
    /// The resolver's public key, as workers pin it.
    pub resolver_public: [u8; 32],
    /// The URL the readiness probe connects with (a user allowed to send hush requests).
    pub probe_url: String,
}

/// A [`Stack`] body with one SQLite store (`local`) serving tenant `acme`.
pub const ONE_STORE: &str = r#"
[backends.local]
kind = "sql"
url = "sqlite://{dir}/local.db"

[tenants.acme]
backend = "local"
"#;

/// Writes into `dir` what `hush keys init` writes: a resolver key pair, a grant issuer key pair
/// and an at-rest key ring, under the same file names.
pub fn write_keys(dir: &Path) -> Result<(ResolverKeyPair, GrantIssuer), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let resolver = ResolverKeyPair::generate();
    resolver.save_new(&dir.join("resolver.key"), &dir.join("resolver.pub")).map_err(|e| e.to_string())?;
    let issuer = GrantIssuer::generate();
    issuer.save_new(&dir.join("issuer.key"), &dir.join("issuer.pub")).map_err(|e| e.to_string())?;
    KeyRing::generate().save_new(&dir.join("at-rest.keyring")).map_err(|e| e.to_string())?;
    Ok((resolver, issuer))
}

impl Stack {
    /// Writes keys and a config made of the `[nats]` and `[keys]` sections plus `body`
    /// (backends, tenants, cache...). `{dir}` in `body` is replaced by the stack's directory.
    pub fn new(body: &str) -> Result<Stack, String> {
        let nats = NatsServer::start()?;
        let url = nats.url.clone();
        Self::with_nats(nats, &url, body)
    }

    /// Like [`new`](Self::new) on a given server, hushd connecting with `hushd_url`
    /// (which may carry a user and password).
    pub fn with_nats(nats: NatsServer, hushd_url: &str, body: &str) -> Result<Stack, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let (resolver, issuer) = write_keys(&dir.path().join("keys"))?;
        let config = format!(
            "[nats]\nurl = \"{url}\"\nrequest_timeout = \"10s\"\n\n[keys]\nresolver_key = \"keys/resolver.key\"\n\
             resolver_public_key = \"keys/resolver.pub\"\nissuer_public_keys = [\"keys/issuer.pub\"]\n\
             issuer_key = \"keys/issuer.key\"\nat_rest = \"keys/at-rest.keyring\"\n\n{body}\n",
            url = hushd_url,
            body = body.replace("{dir}", &dir.path().display().to_string()),
        );
        let config_path = dir.path().join("hush.toml");
        std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let probe_url = nats.url.clone();
        Ok(Stack { nats, resolver_public: resolver.public(), dir, config_path, issuer, probe_url })
    }

    /// A stack on a NATS server that takes messages of at most `max_payload` bytes, or `None`
    /// after printing why it cannot run here.
    pub fn with_max_payload_or_skip(max_payload: usize, body: &str) -> Option<Stack> {
        let started = NatsServer::start_with_max_payload(max_payload).and_then(|nats| {
            let url = nats.url.clone();
            Self::with_nats(nats, &url, body)
        });
        match started {
            Ok(stack) => Some(stack),
            Err(reason) => {
                skip(&reason);
                None
            }
        }
    }

    /// The stack, or `None` after printing why it cannot run here.
    pub fn start_or_skip(body: &str) -> Option<Stack> {
        match Stack::new(body) {
            Ok(stack) => Some(stack),
            Err(reason) => {
                skip(&reason);
                None
            }
        }
    }

    /// The config as hushd reads it.
    pub fn config(&self) -> HushConfig {
        HushConfig::load(&self.config_path).expect("the test config loads")
    }

    /// Starts a replica with the stack's config and waits until it answers `$SRV.PING`.
    pub async fn replica(&self) -> Replica {
        self.replica_with(self.config()).await
    }

    /// Starts a replica with a given config, recording admin request ids in the stack's
    /// JetStream bucket as hushd does.
    pub async fn replica_with(&self, config: HushConfig) -> Replica {
        hushd::install_tls_provider();
        let client = hushd::connect_nats(&config).await.expect("NATS is reachable");
        let ledger = hushd::open_replay_ledger(&client, &config).await.expect("the replay ledger opens");
        let resolver = hushd::build_resolver(&config, ledger).await.expect("the resolver builds");
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = resolver.clone();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            hush_resolver::serve(serving, client, shutdown).await.expect("the resolver serves");
        });
        let probe = hush_client::NatsOptions::new(self.probe_url.clone()).connect().await.expect("NATS is reachable");
        let name = config.resolver.service_name.clone();
        let deadline = Instant::now() + Duration::from_secs(10);
        let before = resolver.metrics().requests;
        loop {
            // A request on a subject no one else answers: only this replica's own endpoint
            // counts it, so when its counter moves it is subscribed.
            let _ = tokio::time::timeout(
                Duration::from_millis(200),
                probe.request(format!("$SRV.PING.{name}"), Vec::new().into()),
            )
            .await;
            let _ = tokio::time::timeout(
                Duration::from_millis(200),
                probe.request("hush.v1.get.__probe.__probe".to_string(), Vec::new().into()),
            )
            .await;
            if resolver.metrics().requests > before || Instant::now() > deadline {
                break;
            }
        }
        assert!(resolver.metrics().requests > before, "the replica did not start serving within 10s");
        Replica { resolver, stop: Some(stop), task: Some(task) }
    }

    /// A client that pins the stack's resolver key.
    pub async fn client(&self) -> HushClient {
        HushClient::connect(ClientOptions::new(self.nats.url.clone(), vec![self.resolver_public]))
            .await
            .expect("the client connects")
    }

    /// A grant from the stack's issuer.
    pub fn grant(&self, tenant: &str, namespace: &str, scope: GrantScope) -> String {
        self.grant_with(tenant, namespace, scope, Duration::from_secs(600), None, now())
    }

    /// A grant with every field chosen.
    pub fn grant_with(
        &self,
        tenant: &str,
        namespace: &str,
        scope: GrantScope,
        ttl: Duration,
        cnf: Option<[u8; 32]>,
        now: i64,
    ) -> String {
        self.issuer
            .issue(&GrantRequest {
                tenant: TenantId::new(tenant).expect("tenant"),
                namespace: Namespace::new(namespace).expect("namespace"),
                scope,
                ttl,
                execution_id: Some("e2e".into()),
                cnf,
                now,
            })
            .expect("the grant is issued")
    }

    /// A 10-minute grant of the stack's issuer bound (`cnf`) to the client key `key`.
    pub fn bound_grant(&self, tenant: &str, namespace: &str, scope: GrantScope, key: [u8; 32]) -> String {
        self.grant_with(tenant, namespace, scope, Duration::from_secs(600), Some(key), now())
    }

    /// A session for `tenant`/`namespace` with a fresh grant bound to the client's key.
    pub async fn session(&self, tenant: &str, namespace: &str, scope: GrantScope) -> Session {
        let client = self.client().await;
        let grant = self.bound_grant(tenant, namespace, scope, client.public_key());
        client.session(grant).expect("the session opens")
    }

    /// The stack's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A client that builds its requests by hand, with its own key pair.
    pub async fn raw_client(&self) -> RawClient {
        RawClient::connect(&self.nats.url, self.resolver_public, ClientKeyPair::generate()).await
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Requests built by hand: the envelope as the real client builds it, which a test may then
/// edit, re-authenticate with another key, or send as captured bytes.
#[derive(Debug)]
pub struct RawClient {
    /// Its key pair.
    pub keys: ClientKeyPair,
    /// The transport key it shares with the resolver.
    pub transport: TransportKey,
    /// Its NATS connection (plain async-nats: no hush code in the way).
    pub nats: async_nats::Client,
    resolver_key_id: [u8; 8],
}

impl RawClient {
    /// Connects with `keys`, pinning `resolver_public`.
    pub async fn connect(url: &str, resolver_public: [u8; 32], keys: ClientKeyPair) -> RawClient {
        let transport = keys.transport_key(&resolver_public).expect("a usable resolver key");
        let nats = async_nats::ConnectOptions::new()
            .request_timeout(Some(Duration::from_secs(5)))
            .connect(url)
            .await
            .expect("NATS is reachable");
        RawClient { keys, transport, nats, resolver_key_id: resolver_key_id(&resolver_public) }
    }

    /// An envelope with a fresh id, sent now, authenticated with this client's key.
    pub fn envelope(&self, subject: &str, grant: &str, body: RequestBody) -> RequestEnvelope {
        self.envelope_with_id(subject, grant, random_request_id(), body)
    }

    /// [`envelope`](Self::envelope) with a chosen request id (a put's value is sealed to it).
    pub fn envelope_with_id(
        &self,
        subject: &str,
        grant: &str,
        request_id: [u8; 16],
        body: RequestBody,
    ) -> RequestEnvelope {
        let mut envelope = RequestEnvelope::new(request_id, self.keys.public(), self.resolver_key_id, now_ms(), body);
        self.authenticate(&mut envelope, subject, grant);
        envelope
    }

    /// Seals `grant` into the envelope and sets its MAC with this client's key (after a test
    /// edited it).
    pub fn authenticate(&self, envelope: &mut RequestEnvelope, subject: &str, grant: &str) {
        self.transport.authenticate(envelope, subject, grant).expect("the body encodes");
    }

    /// Sends an envelope and decodes the answer.
    pub async fn send(&self, subject: &str, envelope: &RequestEnvelope) -> ResponseEnvelope {
        self.send_bytes(subject, envelope.encode().expect("the envelope encodes")).await
    }

    /// Sends raw bytes (a captured request) and decodes the answer.
    pub async fn send_bytes(&self, subject: &str, payload: Vec<u8>) -> ResponseEnvelope {
        let reply = self.nats.request(subject.to_owned(), payload.into()).await.expect("the resolver answers");
        ResponseEnvelope::decode(&reply.payload).expect("the reply is a hush response")
    }
}
