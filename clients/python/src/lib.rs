//! The Python worker client: the `hush._native` extension module of the `hush` package.
//!
//! PyO3 bindings over [`hush_client`], so Python workers speak the same protocol with the same
//! cryptography as Rust workers, from one implementation. The package's pure-Python part
//! (`python/hush/`) re-exports these classes and defines `hush.HushError`.
//!
//! - [`Client`](client::Client): one NATS connection, one X25519 key pair and one tokio
//!   runtime per instance; every call blocks the calling thread with the GIL released.
//! - [`Session`](session::Session): one grant; `secret`, `secret_bytes`, `secrets`, `render`.
//! - [`Masker`](session::Masker): replaces what a session resolved with `******`.
//!
//! Every hush failure becomes `hush.HushError` with `kind` = [`hush_core::ErrorKind::as_str`]
//! and `message` = [`hush_core::Error::message`]; values and grants never appear in a repr.
//!
//! **Architecture invariant:** this crate holds no protocol or cryptography of its own: it
//! converts arguments, waits on [`hush_client`], and converts results and errors.

#![deny(missing_docs)]

mod client;
mod error;
mod keys;
mod runtime;
mod session;

use pyo3::prelude::*;

/// The extension module `hush._native`; the `hush` package re-exports what it holds.
#[pymodule]
#[pyo3(name = "_native")]
fn hush_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<client::Client>()?;
    module.add_class::<session::Session>()?;
    module.add_class::<session::Masker>()?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
