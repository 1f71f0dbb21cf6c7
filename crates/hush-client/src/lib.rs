//! The worker SDK: what a flow worker links to call `secret("DB_PASSWORD")`.
//!
//! ```no_run
//! # async fn run(grant: String, resolver_key: [u8; 32]) -> hush_core::Result<()> {
//! use hush_client::{ClientOptions, HushClient};
//! let client = HushClient::connect(ClientOptions::new("nats://127.0.0.1:4222", vec![resolver_key])).await?;
//! let session = client.session(grant)?;          // one per task execution
//! let password = session.secret("DB_PASSWORD").await?;
//! let url = session.render(r#"postgres://app:{{ secret("DB_PASSWORD") }}@db/app"#).await?;
//! println!("{}", session.masker().mask("connecting to postgres://app:...@db/app"));
//! # let _ = (password, url); Ok(()) }
//! ```
//!
//! A [`HushClient`] holds one NATS connection and one X25519 key pair for the process; the
//! transport key with the pinned resolver key is derived once. A [`Session`] carries one grant
//! (one tenant, one namespace, one execution) and a [`Masker`] that learns every value the
//! session resolves.
//!
//! **Architecture invariant:** the client never depends on the resolver or on any backend; it
//! speaks only `hush-proto` and seals with `hush-crypto`.

#![deny(missing_docs)]

mod client;
mod masker;
mod session;
mod template;

pub use client::{ClientOptions, HushClient};
pub use hush_nats::{NatsOptions, TlsOptions, redact as redact_url};
pub use masker::{MASK, Masker};
pub use session::{Resolved, SecretRequest, Session};
