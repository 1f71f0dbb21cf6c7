//! `hush-gateway`: hush over HTTPS for the External Secrets Operator and other HTTP callers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Parser;
use hush_config::HushConfig;
use hush_gateway::{Gateway, TenantClientCas, server_tls};
use hush_service::LogFormat;

/// The hush HTTPS gateway: `GET/POST/DELETE /v1/secrets/{tenant}/{namespace}/{name}` with
/// `Authorization: Bearer <grant>`, forwarded to hushd over NATS with the gateway's own client
/// key (grants for it are bound to that key).
///
/// Reads the same config file as hushd and the CLI, its `[gateway]` section for `listen`,
/// `tls = { cert, key }`, `client_key` and `client_ca` (per tenant). Serves until SIGTERM or
/// Ctrl-C, then finishes the requests in flight. Logs (one access line per request, never a
/// value or a grant) go to stderr; `HUSH_LOG` changes the level.
#[derive(Debug, Parser)]
#[command(name = "hush-gateway", version, about, long_about)]
struct Args {
    /// Config file.
    #[arg(long, short, env = "HUSH_CONFIG", default_value = "config/hush.toml")]
    config: PathBuf,
    /// Serve plain HTTP instead of HTTPS; refused unless `gateway.listen` is a loopback
    /// address (local development, or behind a TLS-terminating sidecar on the same host).
    #[arg(long)]
    plain_http: bool,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn main() -> ExitCode {
    let args = Args::parse();
    hush_service::init_logs(args.log_format, "info");
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hush-gateway: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hush-gateway: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = HushConfig::load(&args.config).with_context(|| format!("cannot load {}", args.config.display()))?;
    let problems: Vec<String> =
        config.problems(&[]).into_iter().filter(|p| p.path.starts_with("gateway")).map(|p| p.to_string()).collect();
    if !problems.is_empty() {
        bail!("the [gateway] section has problems:\n  {}", problems.join("\n  "));
    }
    let gateway_config = &config.gateway;
    let address: SocketAddr = gateway_config.listen.parse().context("gateway.listen")?;
    let tenant_cas = TenantClientCas::load(&gateway_config.client_ca)?;
    let tls = match (&gateway_config.tls, args.plain_http) {
        (Some(_), true) => bail!("--plain-http and gateway.tls are both set: choose one"),
        (None, false) => bail!(
            "gateway.tls is not set: give the gateway a certificate (tls = {{ cert = \"gateway.crt\", key = \
             \"gateway.key\" }}), or run with --plain-http on a loopback address for local development"
        ),
        (None, true) if !address.ip().is_loopback() => {
            bail!("--plain-http serves only a loopback address, and gateway.listen is {address}")
        }
        (None, true) => None,
        (Some(tls), false) => Some(tokio_rustls::TlsAcceptor::from(Arc::new(server_tls(tls, &tenant_cas)?))),
    };
    let gateway = Gateway::connect(&config, tenant_cas).await?;
    let listener =
        tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
    tracing::info!(
        %address,
        tls = tls.is_some(),
        client_certificate_tenants = gateway_config.client_ca.len(),
        "hush-gateway serving"
    );
    hush_gateway::serve(gateway.router(), listener, tls, hush_service::shutdown_signal()).await?;
    tracing::info!("hush-gateway stopped");
    Ok(())
}
