//! The command line, as clap reads it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  ok
  1  internal error
  2  usage: bad arguments or flags
  3  not found
  4  unauthorized (grant refused, or the backend refused hush's credentials)
  5  read-only or unsupported
  6  backend unavailable, or no resolver answering
  7  invalid input (bad name, path, value or config)";

/// hush: secrets for workflow workers, served over NATS.
///
/// Reads the same config file as hushd (`--config`, or `HUSH_CONFIG`, default
/// `config/hush.toml`). Commands that talk to hushd mint a short grant with the configured
/// issuer key, unless `--grant` (or `HUSH_GRANT`) gives one.
#[derive(Debug, Parser)]
#[command(name = "hush", version, about, long_about, after_help = EXIT_CODES)]
pub struct Cli {
    /// Config file.
    #[arg(long, short = 'c', global = true, env = "HUSH_CONFIG", default_value = "config/hush.toml")]
    pub config: PathBuf,
    /// Use this grant instead of minting one with the configured issuer key.
    #[arg(long, global = true, env = "HUSH_GRANT", hide_env_values = true)]
    pub grant: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and inspect keys.
    #[command(subcommand, after_help = EXIT_CODES)]
    Keys(KeysCommand),
    /// Mint a grant for a worker: prints the token on stdout.
    #[command(after_help = EXIT_CODES)]
    Grant(GrantArgs),
    /// Write a new version of a secret. The value comes from --value, --from-file, or stdin.
    #[command(after_help = EXIT_CODES)]
    Put(PutArgs),
    /// Print a secret's value on stdout (looked up in the namespace, then its ancestors).
    #[command(after_help = EXIT_CODES)]
    Get(GetArgs),
    /// List secrets of a namespace: names, versions and tags, never values.
    #[command(after_help = EXIT_CODES)]
    List(ListArgs),
    /// Delete a secret and all its versions.
    #[command(after_help = EXIT_CODES)]
    Delete(DeleteArgs),
    /// Render a template file (or `-` for stdin) whose `{{ secret("NAME") }}` calls are resolved.
    #[command(after_help = EXIT_CODES)]
    Render(RenderArgs),
    /// Check the config.
    #[command(subcommand, after_help = EXIT_CODES)]
    Config(ConfigCommand),
    /// Explain how hushd looks up NAME in a namespace: the levels it tries in order, the
    /// binding serving each (backend, kind, where it is configured, read-only, tag filter),
    /// where that backend keeps the secret; then, from hushd, where it is visible and where a
    /// read is answered from (admin grants minted with the issuer key; never prints a value).
    #[command(after_help = EXIT_CODES)]
    Explain(ExplainArgs),
    /// Read audit events back from the audit stream, where every hushd replica stores them.
    #[command(subcommand, after_help = EXIT_CODES)]
    Audit(AuditCommand),
    /// Re-seal every stored value whose at-rest key is not the newest, and migrate values
    /// sealed before tags were bound (SQL store).
    #[command(after_help = EXIT_CODES)]
    Rekey(RekeyArgs),
    /// Measure a bare NATS echo and a cached secret() through hushd, in one run.
    ///
    /// Without --tenant/--namespace (and --grant), it writes its secrets into a namespace of
    /// its own under the first tenant with a writable default backend and removes them after.
    /// It prints latency, throughput, the ratios to the echo, secrets() of 64 names, hushd's
    /// CPU per request and memory, and its own CPU per request: what a secret() costs the
    /// client beyond a bare request (read from /proc, Linux).
    ///
    /// With --backend NAME, it also measures the cold path of that backend: uncached secret()
    /// reads through hushd, and direct reads of the same secrets through the same backend
    /// built in this process as hushd builds it; the target is cold p50 ≤ 1.2 × (echo p50 +
    /// direct p50).
    #[command(after_help = EXIT_CODES)]
    Bench(BenchArgs),
    /// Answer echo requests (used by `hush bench` as its reference; not for humans).
    #[command(hide = true)]
    BenchEcho(BenchEchoArgs),
}

/// `hush keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write a new resolver key pair, grant issuer key pair and at-rest key ring into DIR
    /// (private files 0600). Refuses to overwrite.
    Init {
        /// Directory to write into (created if missing).
        dir: PathBuf,
    },
    /// Add a new key to the at-rest key ring; then run `hush rekey`.
    ///
    /// Holds an exclusive lock on `<ring>.lock` (created 0600) while it reads, changes and
    /// replaces the ring: a concurrent rotation or retirement waits, and no key is lost.
    RotateAtRest,
    /// Remove a key from the at-rest key ring once no stored value uses it.
    ///
    /// Refuses an unknown key id (exit 3), the newest key (it seals new writes: rotate first;
    /// exit 7), and a key under which any backend that seals at rest still stores rows (exit
    /// 7, with the count: `hush rekey` moves them); a backend that cannot be counted refuses
    /// it too (exit 6). Takes the same lock as rotate-at-rest.
    RetireAtRest {
        /// The key id to remove.
        #[arg(value_name = "KEYID")]
        key_id: u32,
    },
    /// Write a persistent client key pair: PATH.key (X25519 private key, 0600) and PATH.pub
    /// (base64, what `hush grant --bind-key` takes). Point a worker's or the CLI's
    /// `keys.client_key` at PATH.key, and bind its grants to PATH.pub. Refuses to overwrite.
    Client {
        /// Where to write: PATH.key and PATH.pub.
        path: PathBuf,
    },
    /// Write a new resolver key pair, PATH.key (0600) and PATH.pub, and print how to roll it
    /// out: hushd takes it as `keys.resolver_key` and keeps the old one in
    /// `keys.previous_resolver_keys`, so clients pinned to either key are answered; then
    /// clients pin PATH.pub; then the old key is removed. Refuses to overwrite.
    RotateResolver {
        /// Where to write: PATH.key and PATH.pub.
        path: PathBuf,
    },
}

/// Where a secret lives.
#[derive(Debug, Args)]
pub struct Location {
    /// Tenant.
    #[arg(long, short = 't')]
    pub tenant: Option<String>,
    /// Namespace (dotted: company.team).
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
}

/// `hush grant`
#[derive(Debug, Args)]
pub struct GrantArgs {
    /// Tenant.
    #[arg(long, short = 't')]
    pub tenant: String,
    /// Namespace (dotted).
    #[arg(long, short = 'n')]
    pub namespace: String,
    /// Allow put, delete and list, not only reads.
    #[arg(long)]
    pub admin: bool,
    /// Lifetime (e.g. 15m, 1h).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "15m")]
    pub ttl: Duration,
    /// Execution id to record in audit events.
    #[arg(long)]
    pub execution: Option<String>,
    /// Bind the grant to this client's X25519 public key (base64: the content of PATH.pub from
    /// `hush keys client PATH`): it is then useless to anyone without the private key.
    /// Resolvers refuse unbound grants unless `require_bound_grants = false`.
    #[arg(long, value_name = "BASE64")]
    pub bind_key: Option<String>,
}

/// `hush put`
#[derive(Debug, Args)]
pub struct PutArgs {
    #[command(flatten)]
    pub location: Location,
    /// Secret name.
    pub name: String,
    /// The value (visible in shell history and `ps`: prefer --from-file or stdin).
    #[arg(long, conflicts_with = "from_file")]
    pub value: Option<String>,
    /// Read the value from this file (bytes as they are).
    #[arg(long)]
    pub from_file: Option<PathBuf>,
    /// A tag, key=value; repeat for several.
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
}

/// `hush get`
#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(flatten)]
    pub location: Location,
    /// Secret name.
    pub name: String,
    /// JSON path into the value (credentials.password, servers[0]["host name"]).
    #[arg(long)]
    pub path: Option<String>,
    /// A pinned version.
    #[arg(long)]
    pub version: Option<String>,
}

/// `hush list`
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub location: Location,
    /// Only secrets with this tag, key=value; repeat for several (all must match).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Include descendant namespaces.
    #[arg(long)]
    pub recursive: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `hush delete`
#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub location: Location,
    /// Secret name.
    pub name: String,
}

/// `hush render`
#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub location: Location,
    /// Template file, or `-` for stdin.
    pub template: PathBuf,
}

/// `hush config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Report every problem of the config with its key path, then check that NATS and each
    /// backend are reachable.
    Check {
        /// Only validate the file; do not contact NATS or the backends.
        #[arg(long)]
        offline: bool,
    },
}

/// `hush explain`
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Tenant.
    #[arg(long, short = 't')]
    pub tenant: String,
    /// Namespace (dotted: company.team).
    #[arg(long, short = 'n')]
    pub namespace: String,
    /// Secret name.
    pub name: String,
    /// From the config alone: do not ask hushd.
    #[arg(long)]
    pub offline: bool,
}

/// `hush audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the audit events recorded since --since (default: the last 10 minutes), oldest
    /// first, one line each: time, tenant/namespace, operation, outcome, each secret named
    /// with its outcome (`NAME=ok@found-in/source`), request id, execution id, replica.
    ///
    /// Events come from the JetStream stream `resolver.audit_stream` (default HUSH_AUDIT),
    /// so those recorded while nobody was listening are there too, for as long as
    /// `resolver.audit_max_age` and `audit_max_bytes` keep them. Needs NATS permission to
    /// read that stream (the `admin` user of config/nats-server.conf has it). Never shows a
    /// value: events hold none.
    #[command(after_help = EXIT_CODES)]
    Tail(AuditTailArgs),
}

/// `hush audit tail`
#[derive(Debug, Args)]
pub struct AuditTailArgs {
    /// Only this tenant's events.
    #[arg(long, short = 't')]
    pub tenant: Option<String>,
    /// Start this long ago (e.g. 30s, 10m, 2h, 7days).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m")]
    pub since: Duration,
    /// Print each event as the JSON object hushd recorded, one per line.
    #[arg(long)]
    pub json: bool,
    /// Keep printing events as they are recorded, until interrupted.
    #[arg(long, short = 'f')]
    pub follow: bool,
}

/// `hush rekey`
#[derive(Debug, Args)]
pub struct RekeyArgs {
    /// Rows re-sealed per batch.
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
}

/// `hush bench`
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub location: Location,
    /// Requests per measurement.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// hushd's process id, to read its CPU time and memory from /proc (default: the one
    /// process named hushd on this machine).
    #[arg(long, value_name = "PID")]
    pub hushd_pid: Option<u32>,
    /// nats-server's process id, to read its CPU time per request from /proc (default: the one
    /// process named nats-server on this machine).
    #[arg(long, value_name = "PID")]
    pub nats_pid: Option<u32>,
    /// Also write N secrets of 100 bytes, read each once so hushd caches them, print hushd's
    /// resident memory, and delete them.
    #[arg(long, value_name = "N")]
    pub fill: Option<usize>,
    /// Also measure the cold path of configured backend NAME: write --cold-requests secrets of
    /// 100 bytes through hushd, read each once directly through NAME built in this process
    /// (hush's backend factory and layers, as hushd builds it), then once through hushd with
    /// secret() (a cache miss each: a write drops the name from hushd's cache), and delete
    /// them. Without --tenant/--namespace it writes under a namespace of its own below the
    /// first writable binding of NAME (a tenant default, else a namespace override); with
    /// them, NAME must serve that location through a writable binding. Not with --grant.
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
    /// Secrets --backend writes and reads once each way. At most
    /// resolver.max_backend_reads_per_grant: every cold read is a backend read charged to the
    /// bench's grant.
    #[arg(long, value_name = "N", default_value_t = 2_000, requires = "backend")]
    pub cold_requests: usize,
}

/// `hush bench-echo`
#[derive(Debug, Args)]
pub struct BenchEchoArgs {
    /// NATS URL.
    #[arg(long, env = "HUSH_BENCH_NATS_URL", hide_env_values = true)]
    pub nats_url: String,
    /// Subject to answer.
    #[arg(long)]
    pub subject: String,
}

impl Cli {
    /// Runs the command.
    pub async fn run(self) -> anyhow::Result<()> {
        let config = self.config.as_path();
        let grant = self.grant.as_deref();
        match self.command {
            Command::Keys(KeysCommand::Init { dir }) => crate::keys::init(&dir),
            Command::Keys(KeysCommand::RotateAtRest) => crate::keys::rotate_at_rest(config),
            Command::Keys(KeysCommand::RetireAtRest { key_id }) => crate::keys::retire_at_rest(config, key_id).await,
            Command::Keys(KeysCommand::Client { path }) => crate::keys::client(&path),
            Command::Keys(KeysCommand::RotateResolver { path }) => crate::keys::rotate_resolver(&path),
            Command::Grant(args) => crate::ops::grant(config, args),
            Command::Put(args) => crate::ops::put(config, grant, args).await,
            Command::Get(args) => crate::ops::get(config, grant, args).await,
            Command::List(args) => crate::ops::list(config, grant, args).await,
            Command::Delete(args) => crate::ops::delete(config, grant, args).await,
            Command::Render(args) => crate::ops::render(config, grant, args).await,
            Command::Config(ConfigCommand::Check { offline }) => crate::ops::config_check(config, offline).await,
            Command::Explain(args) => crate::explain::explain(config, grant, args).await,
            Command::Audit(AuditCommand::Tail(args)) => crate::audit::tail(config, args).await,
            Command::Rekey(args) => crate::ops::rekey(config, args).await,
            Command::Bench(args) => crate::bench::run(config, grant, args).await,
            Command::BenchEcho(args) => crate::bench::echo(args).await,
        }
    }
}
