//! The configuration model: one struct per table of the TOML file (DESIGN.md section 6b).
//!
//! Every struct takes `#[serde(default)]`, so a file only names what it changes, and
//! `deny_unknown_fields`, so a typo (`ttl_`) becomes a [`ConfigProblem`](crate::ConfigProblem)
//! instead of a silently ignored key. Durations are humantime strings (`"60s"`, `"15m"`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use figment::value::Dict;
use serde::Deserialize;

use crate::problem::ConfigProblem;

/// The whole configuration: what hushd, workers and the CLI read, each using the parts it needs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HushConfig {
    /// `[nats]`: how to reach NATS.
    pub nats: NatsConfig,
    /// `[keys]`: where the key files are.
    pub keys: KeysConfig,
    /// `[cache]`: the resolver's secret cache.
    pub cache: CacheConfig,
    /// `[resolver]`: the resolver service.
    pub resolver: ResolverConfig,
    /// `[backends.<name>]`: configured backend instances, by name.
    pub backends: BTreeMap<String, BackendConfig>,
    /// `[tenants.<id>]`: each tenant's bindings, by tenant id.
    pub tenants: BTreeMap<String, TenantConfig>,
    /// `[gateway]`: the HTTPS gateway (`hush-gateway`); hushd and workers ignore it.
    pub gateway: GatewayConfig,
    /// The file this configuration was loaded from, if any.
    pub source: Option<PathBuf>,
    /// The directory relative paths are resolved against.
    pub(crate) base_dir: PathBuf,
    /// Problems met while reading the input (unknown keys, bad types), reported by
    /// [`HushConfig::problems`](crate::HushConfig::problems) with the semantic ones.
    pub(crate) load_problems: Vec<ConfigProblem>,
}

impl Default for HushConfig {
    fn default() -> Self {
        Self {
            nats: NatsConfig::default(),
            keys: KeysConfig::default(),
            cache: CacheConfig::default(),
            resolver: ResolverConfig::default(),
            backends: BTreeMap::new(),
            tenants: BTreeMap::new(),
            gateway: GatewayConfig::default(),
            source: None,
            base_dir: PathBuf::from("."),
            load_problems: Vec::new(),
        }
    }
}

/// The top level as read from the input, before backends are split into their common
/// keys and their kind-specific options.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub nats: NatsConfig,
    pub keys: KeysConfig,
    pub cache: CacheConfig,
    pub resolver: ResolverConfig,
    pub backends: BTreeMap<String, Dict>,
    pub tenants: BTreeMap<String, TenantConfig>,
    pub gateway: GatewayConfig,
}

/// The top-level tables. Only `HUSH_` variables whose first segment is one of these are
/// taken as overrides.
pub const SECTIONS: [&str; 7] = ["nats", "keys", "cache", "resolver", "backends", "tenants", "gateway"];

/// `[nats]`: how to reach the NATS server.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct NatsConfig {
    /// Server URL(s), comma-separated: `nats://`, `tls://`, `ws://` or `wss://`.
    /// Default `nats://127.0.0.1:4222`.
    pub url: String,
    /// A NATS user credentials file (`.creds`).
    pub credentials: Option<PathBuf>,
    /// TLS settings.
    pub tls: Option<TlsConfig>,
    /// How long one request of a client (a worker, the CLI) waits for its reply. Default 10 s:
    /// longer than `resolver.request_timeout`, so the resolver's answer, an error naming the
    /// backend included, arrives before the client gives up.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// How long connecting may take. Default 5 s.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Reply inbox prefix of clients (workers, the CLI), e.g. `_INBOX_acme`: lets NATS
    /// permissions allow each user its own inboxes only. Default `_INBOX`.
    pub inbox_prefix: Option<String>,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".to_owned(),
            credentials: None,
            tls: None,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            inbox_prefix: None,
        }
    }
}

impl fmt::Debug for NatsConfig {
    /// Hides a password in the URL (`nats://user:***@host`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsConfig")
            .field("url", &redact_url_userinfo(&self.url))
            .field("credentials", &self.credentials)
            .field("tls", &self.tls)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("inbox_prefix", &self.inbox_prefix)
            .finish()
    }
}

/// Replaces the password of every `scheme://user:password@host` in a comma-separated list.
fn redact_url_userinfo(urls: &str) -> String {
    urls.split(',')
        .map(|url| {
            let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
            match rest.split_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split_once(':').map_or("***", |(user, _)| user);
                    format!("{scheme}://{user}:***@{host}")
                }
                None => url.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `[nats.tls]`: TLS to the NATS server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TlsConfig {
    /// CA certificate(s) to trust, PEM.
    pub ca: Option<PathBuf>,
    /// Client certificate, PEM (with `key`).
    pub cert: Option<PathBuf>,
    /// Client private key, PEM (with `cert`).
    pub key: Option<PathBuf>,
    /// Refuse a connection without TLS.
    pub required: bool,
}

/// `[keys]`: where key files are (written by `hush keys init DIR`). Paths only: reading
/// and parsing them is the job of the crates that use them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct KeysConfig {
    /// The resolver's X25519 private key (hushd only).
    pub resolver_key: Option<PathBuf>,
    /// The resolver's X25519 public key, pinned by clients.
    pub resolver_public_key: Option<PathBuf>,
    /// Older resolver private keys hushd still answers with during a rotation (`hush keys
    /// rotate-resolver`): clients that pinned one of their public keys keep working until they
    /// move to `resolver_public_key`. Remove them once `$SRV.STATS` shows no
    /// `requests_with_previous_keys`.
    pub previous_resolver_keys: Vec<PathBuf>,
    /// Ed25519 public keys whose grants the resolver trusts.
    pub issuer_public_keys: Vec<PathBuf>,
    /// The Ed25519 private key this process mints grants with (CLI, dev).
    pub issuer_key: Option<PathBuf>,
    /// The key ring of backends that seal values at rest.
    pub at_rest: Option<PathBuf>,
    /// This client's persistent X25519 private key (`hush keys client PATH` writes
    /// `PATH.key`): workers and the CLI send requests with it, so grants can be bound to its
    /// public key (`PATH.pub`). Unset: a fresh key pair per process.
    pub client_key: Option<PathBuf>,
}

/// `[cache]`: the resolver's in-memory secret cache (DESIGN.md section 5).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CacheConfig {
    /// Whether the resolver caches secrets. Default true.
    pub enabled: bool,
    /// Most entries. Default 10 000.
    pub max_entries: u64,
    /// Most bytes the cache holds: each entry counts its key, value and tags plus a fixed
    /// bookkeeping cost (`hush_cache::ENTRY_OVERHEAD`). Default 64 MiB.
    pub max_bytes: u64,
    /// How long a value is served from cache after it was read. Default 60 s.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// How long a "not found" answer is cached. Default 5 s; 0 turns negative caching off.
    #[serde(with = "humantime_serde")]
    pub negative_ttl: Duration,
    /// How long past `ttl` a cached value may still be served while its backend is down.
    /// Default 0 (off).
    #[serde(with = "humantime_serde")]
    pub stale_if_error: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_entries: 10_000,
            max_bytes: 64 * 1024 * 1024,
            ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(5),
            stale_if_error: Duration::ZERO,
        }
    }
}

/// `[resolver]`: the resolver service (hushd).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ResolverConfig {
    /// The NATS queue group replicas share. Default `hush-resolver`.
    pub queue_group: String,
    /// The name in the NATS services framework (`$SRV.PING.<name>`). Default `hush`.
    pub service_name: String,
    /// Longest grant lifetime accepted. Default 24 h, at most 7 days.
    #[serde(with = "humantime_serde")]
    pub max_grant_lifetime: Duration,
    /// Most requests handled at once by one replica. Default 1024.
    pub max_in_flight: usize,
    /// Whether audit events are published. Default true.
    pub audit: bool,
    /// Refuse to serve what cannot be audited, as Vault does when no audit device records: a
    /// reply waits until the audit stream has stored its event, and is replaced by an
    /// `unavailable` error when it was not; while the stream refuses, requests are refused
    /// before they are handled. Default false (an unrecorded event is counted and logged, and
    /// the request served). Needs `audit`.
    pub audit_required: bool,
    /// The JetStream stream that stores audit events (subjects `hush.v1.audit.>`), created or
    /// updated to `audit_max_age` and `audit_max_bytes` by each replica at start. Default
    /// `HUSH_AUDIT`.
    pub audit_stream: String,
    /// How long the audit stream keeps an event. Default 30 days.
    #[serde(with = "humantime_serde")]
    pub audit_max_age: Duration,
    /// Most bytes the audit stream holds; past it, the oldest events are dropped. Default
    /// 1 GiB.
    pub audit_max_bytes: u64,
    /// Upper bound on handling one request, backend calls included. Default 8 s: longer than
    /// every backend's longest call (7 s with the defaults), shorter than `nats.request_timeout`
    /// (10 s), so a slow backend is reported by name before anyone gives up.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Threads of hushd's async runtime. Default 1: a cached request costs a few microseconds,
    /// and one thread avoids cross-thread wake-ups (measured: 11–12 µs of CPU per cached request
    /// on one thread, 30 µs on two). Scale out with replicas in the queue group.
    pub worker_threads: usize,
    /// Refuse grants that are not bound to the client key (`cnf`). Default true; a tenant may
    /// override it (`tenants.<id>.require_bound_grants`).
    pub require_bound_grants: bool,
    /// How far an admin request's send time may be from hushd's clock, clock skew included.
    /// Default 60 s.
    #[serde(with = "humantime_serde")]
    pub replay_window: Duration,
    /// The JetStream key-value bucket where replicas record the ids of admin requests
    /// (replay protection across replicas and restarts). Default `hush_replay`.
    pub replay_bucket: String,
    /// Reply inbox prefixes hushd answers to besides `_INBOX` (each client's
    /// `nats.inbox_prefix`, e.g. `_INBOX_acme`). Requests with any other reply subject are
    /// dropped.
    pub reply_prefixes: Vec<String>,
    /// Backend reads one grant may cause per `read_budget_window` (cache hits are free); past
    /// it, its reads that would reach a backend are `rate_limited`. Default 10 000.
    pub max_backend_reads_per_grant: u64,
    /// Where hushd serves `/metrics` (Prometheus text), `/healthz` and `/readyz` over plain
    /// HTTP, e.g. `"127.0.0.1:9464"`. Off unless set. Nothing it serves is secret, but keep it
    /// off public networks: it tells who is busy with what.
    pub metrics_address: Option<std::net::SocketAddr>,
    /// The window of `max_backend_reads_per_grant`. Default 60 s.
    #[serde(with = "humantime_serde")]
    pub read_budget_window: Duration,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        Self {
            queue_group: "hush-resolver".to_owned(),
            service_name: "hush".to_owned(),
            max_grant_lifetime: Duration::from_secs(24 * 3600),
            max_in_flight: 1024,
            audit: true,
            audit_required: false,
            audit_stream: "HUSH_AUDIT".to_owned(),
            audit_max_age: Duration::from_secs(30 * 24 * 3600),
            audit_max_bytes: 1 << 30,
            request_timeout: Duration::from_secs(8),
            worker_threads: 1,
            require_bound_grants: true,
            replay_window: Duration::from_secs(60),
            replay_bucket: "hush_replay".to_owned(),
            reply_prefixes: Vec::new(),
            max_backend_reads_per_grant: 10_000,
            metrics_address: None,
            read_budget_window: Duration::from_secs(60),
        }
    }
}

/// `[gateway]`: `hush-gateway`, the HTTPS front of hush for the External Secrets Operator's
/// webhook provider and other HTTP callers. It is a hush client: it sends every request to
/// hushd over NATS with its own persistent client key, so grants given to it are bound to
/// that key and every authorization decision stays in hushd.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// The address to listen on (default `127.0.0.1:8443`; `0.0.0.0:8443` in a container).
    pub listen: String,
    /// The server certificate and key (PEM). Required unless the gateway runs with
    /// `--plain-http` on a loopback address.
    pub tls: Option<GatewayTlsConfig>,
    /// The gateway's persistent client key (`hush keys client PATH` writes `PATH.key` and
    /// `PATH.pub`): grants for the gateway are bound to `PATH.pub` with
    /// `hush grant --bind-key`.
    pub client_key: Option<PathBuf>,
    /// Per tenant, the CA (PEM) whose client certificates the gateway requires for that
    /// tenant's requests (mutual TLS); tenants not listed need no client certificate.
    pub client_ca: BTreeMap<String, PathBuf>,
    /// The largest request body (a value to write) accepted, in bytes (default 64 KiB, the
    /// largest request hush's protocol carries).
    pub max_body_bytes: usize,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8443".to_owned(),
            tls: None,
            client_key: None,
            client_ca: BTreeMap::new(),
            max_body_bytes: 64 * 1024,
        }
    }
}

/// `[gateway.tls]`: the gateway's server certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct GatewayTlsConfig {
    /// The certificate chain, PEM, leaf first.
    pub cert: PathBuf,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// `[backends.<name>]`: one configured backend instance.
///
/// The keys every backend shares are fields; everything else of the table is kept in
/// [`options`](Self::options) for the backend's own config type, parsed with
/// [`BackendConfig::parse_options`].
#[derive(Clone, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BackendConfig {
    /// The backend kind (`sql`, `vault`, ...).
    pub kind: String,
    /// Tags added to every secret written through this backend.
    pub default_tags: BTreeMap<String, String>,
    /// Bound on one backend call (the timeout layer), and the default of the kind's own
    /// `request_timeout`. Default 2 s. With the retries, the longest call
    /// ([`longest_call`](Self::longest_call)) must end before `resolver.request_timeout`.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries of temporary errors (the retry layer).
    pub retry: RetryConfig,
    /// Most calls in flight to this backend (the concurrency limit layer); none = unbounded.
    pub max_concurrency: Option<usize>,
    /// Every other key of the table, for the backend kind to parse. May hold credentials:
    /// `Debug` shows the keys only.
    #[serde(skip)]
    pub options: Dict,
}

impl BackendConfig {
    /// The longest one call through this backend's layers can take: every attempt running
    /// into the timeout, with the longest delay between attempts. The resolver's request
    /// timeout must be longer (`hush config check`). Saturates at `Duration::MAX`: a timeout
    /// of years times many attempts is a config problem, not an overflow.
    pub fn longest_call(&self) -> Duration {
        let attempts = self.retry.max_attempts.max(1);
        self.timeout.saturating_mul(attempts).saturating_add(self.retry.max_delay.saturating_mul(attempts - 1))
    }

    /// The keys read into fields; every other key goes to [`options`](Self::options).
    pub const COMMON_KEYS: [&'static str; 5] = ["kind", "default_tags", "timeout", "retry", "max_concurrency"];
}

impl Default for BackendConfig {
    fn default() -> Self {
        Self {
            kind: String::new(),
            default_tags: BTreeMap::new(),
            timeout: hush_core::DEFAULT_CALL_TIMEOUT,
            retry: RetryConfig::default(),
            max_concurrency: None,
            options: Dict::new(),
        }
    }
}

impl fmt::Debug for BackendConfig {
    /// Shows the option keys, never their values: they may be credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendConfig")
            .field("kind", &self.kind)
            .field("default_tags", &self.default_tags)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("max_concurrency", &self.max_concurrency)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// `[backends.<name>.retry]`: how temporary errors are retried.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Attempts in all, the first included; 1 = no retry. Default 3.
    pub max_attempts: u32,
    /// First delay between attempts (exponential backoff with jitter). Default 50 ms.
    #[serde(with = "humantime_serde")]
    pub min_delay: Duration,
    /// Longest delay between attempts. Default 500 ms.
    #[serde(with = "humantime_serde")]
    pub max_delay: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self { max_attempts: 3, min_delay: Duration::from_millis(50), max_delay: Duration::from_millis(500) }
    }
}

/// `[tenants.<id>]`: a tenant's default binding and its namespace overrides.
///
/// `backend`, `read_only` and `filter_tags` at this level form the tenant's default binding
/// ([`TenantConfig::default_binding`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TenantConfig {
    /// The backend serving every namespace without an override.
    pub backend: Option<String>,
    /// The default binding refuses writes.
    pub read_only: bool,
    /// Only secrets carrying all these tags are visible through the default binding.
    pub filter_tags: BTreeMap<String, String>,
    /// Overrides by namespace (`"company.team"`), each inherited by its descendants.
    pub namespaces: BTreeMap<String, BindingConfig>,
    /// Overrides `resolver.require_bound_grants` for this tenant.
    pub require_bound_grants: Option<bool>,
    /// Ed25519 public key files of the issuers that may mint grants for this tenant, in place
    /// of `keys.issuer_public_keys`. Empty: the default issuers.
    pub issuer_public_keys: Vec<PathBuf>,
}

impl TenantConfig {
    /// The tenant default as a binding, when `backend` is set.
    pub fn default_binding(&self) -> Option<BindingConfig> {
        self.backend.as_ref().map(|backend| BindingConfig {
            backend: backend.clone(),
            read_only: self.read_only,
            filter_tags: self.filter_tags.clone(),
        })
    }
}

/// `[tenants.<id>.namespaces."<namespace>"]`: which backend serves a namespace subtree.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BindingConfig {
    /// The backend's name, a key of `[backends]`.
    pub backend: String,
    /// Writes through this binding are refused.
    pub read_only: bool,
    /// Only secrets carrying all these tags are visible through this binding.
    pub filter_tags: BTreeMap<String, String>,
}

impl BindingConfig {
    /// A binding to `backend`, writable, without a tag filter.
    pub fn new(backend: impl Into<String>) -> Self {
        Self { backend: backend.into(), read_only: false, filter_tags: BTreeMap::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_hidden_from_debug() {
        let nats = NatsConfig { url: "nats://bob:hunter2@a:4222,tls://b:4222".into(), ..Default::default() };
        let shown = format!("{nats:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("nats://bob:***@a:4222,tls://b:4222"), "{shown}");
    }

    #[test]
    fn backend_options_show_keys_only() {
        let mut backend = BackendConfig { kind: "vault".into(), ..Default::default() };
        backend.options.insert("token".into(), "s.hunter2".into());
        let shown = format!("{backend:?}");
        assert!(shown.contains("\"token\""), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
