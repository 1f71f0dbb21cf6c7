//! `hush`: the command line for operators and developers.
//!
//! Every command maps hush's error kinds onto documented exit codes (see [`exit`]), prints a
//! one-line message on stderr when it fails, and never prints a secret except where asked
//! (`get` and `render` write the value to stdout).

mod audit;
mod bench;
mod cli;
mod exit;
mod explain;
mod keys;
mod ops;
mod setup;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator, as in hushd: `hush bench`'s client, `get` and
/// `render` copy each value out of a reply into a buffer of its own, and glibc's malloc/free
/// were about a tenth of the client's CPU under `hush bench` (a 64-name `secrets()` cost the
/// client 28.7 µs of CPU with glibc, 23.8 µs with mimalloc: README, "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with exit 0, usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { exit::OK });
        }
    };
    hush_backends::install_tls_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hush: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let code = exit::code_for(&error);
            eprintln!("hush: {}", exit::one_line(&error));
            ExitCode::from(code)
        }
    }
}
