//! Coverage-guided fuzz targets of hush, run with afl.rs (AFL++) by `scripts/fuzz.sh`.
//!
//! Each target is a struct or function here and a binary in `src/bin/` that hands it
//! AFL++'s inputs. A panic is a crash: the targets assert properties (round trips, agreement
//! between checks, nothing secret in the output), not only that nothing panics.
//!
//! - `request`: the decoders of what arrives on NATS and the checks of a request before any
//!   backend read ([`request`]).
//! - `resolver` (cargo feature `resolver`): `Resolver::handle` itself, the whole request path
//!   over an in-memory backend ([`resolver`]).
//! - `grant`: grant tokens through the parser and the verifier, before and after the
//!   signature check ([`grant`]).
//! - `path`: identifiers, namespaces, JSON paths, subjects and joined keys ([`path`]).
//! - `config`: a configuration file with `HUSH_` overrides, loaded and checked ([`config`]).
//!
//! The package is not a member of the main workspace: it is built only with `cargo afl
//! build` (its own lock file and target dir), so the instrumented build never touches the
//! workspace's build.

#![deny(missing_docs)]

pub mod config;
pub mod fixed_keys;
pub mod grant;
pub mod path;
pub mod request;
pub mod request_input;
#[cfg(feature = "resolver")]
pub mod resolver;
pub mod seeds;
