//! `hushd`: the hush resolver service.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use hush_service::LogFormat;

/// mimalloc instead of the system allocator: a request makes a few dozen small, short-lived
/// allocations, and glibc's malloc/free were about a sixth of hushd's CPU under load. Built
/// without its transparent-huge-page advice (`no_thp`): with it, each 2 MiB page mimalloc
/// touched was resident whole, ~10 MiB more at start for nothing.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The hush resolver: answers `secret()` requests from workers over NATS.
///
/// Reads the config file (and `HUSH_`-prefixed environment overrides), opens every configured
/// backend, and serves `hush.v1.get.>` and `hush.v1.admin.>` in the queue group until
/// SIGTERM or Ctrl-C, then finishes the requests in flight. Logs go to stderr; set
/// `HUSH_LOG` (e.g. `HUSH_LOG=debug`) to change the level.
#[derive(Debug, Parser)]
#[command(name = "hushd", version, about, long_about)]
struct Args {
    /// Config file.
    #[arg(long, short, env = "HUSH_CONFIG", default_value = "config/hush.toml")]
    config: PathBuf,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn main() -> ExitCode {
    let args = Args::parse();
    hush_backends::install_tls_provider();
    // vaultrs and rustify log every Vault error answer (404s are routine in the namespace walk)
    // at ERROR; hush reports failures itself.
    hush_service::init_logs(args.log_format, "info,vaultrs=off,rustify=off");
    // The config is read before the runtime exists: it says how many threads to start.
    let config = match hush_config::HushConfig::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("hushd: cannot load config {}: {e}", args.config.display());
            return ExitCode::from(1);
        }
    };
    let runtime = match config.resolver.worker_threads {
        0 | 1 => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        threads => tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build(),
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hushd: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(hushd::run(config, hush_service::shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hushd: {e:#}");
            ExitCode::from(1)
        }
    }
}
