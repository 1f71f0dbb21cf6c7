//! What hush's backends over a vendor's REST API share, so each of them is its calls and its
//! key mapping, nothing more.
//!
//! - [`RestClient`]: one reqwest client shape (the layer's timeout, no redirects, hush's user
//!   agent, the [`TlsConfig`](hush_core::TlsConfig) trust settings) whose
//!   [`send`](RestClient::send) turns a transport failure into `Unavailable` and hands back
//!   the [`Answer`] (status, headers, body).
//! - [`VendorFailure`]: an answer that is not a success, with the vendor's own message cut
//!   out of its body, shortened and with every credential replaced by `***`; its
//!   [`error`](VendorFailure::error) is the usual mapping onto hush's kinds (401/403
//!   permission denied, 404 not found, 429 rate limited, 408 and 5xx unavailable), which a
//!   backend overrides for the statuses its vendor uses otherwise.
//! - [`base_url_problem`]: the one check of a vendor's base URL in config, never quoting it.
//! - [`credential`]: a credential from config, else from the vendor's usual environment
//!   variable, as a sensitive header value.
//!
//! No retries and no timeouts of its own beyond the one per request: those are the layers'.
//!
//! **Architecture invariant:** depends on `hush-core` and reqwest only (reqwest over the
//! rustls provider the binaries install); a backend crate may depend on it, nothing else does.

#![deny(missing_docs)]

mod base_url;
mod client;
pub mod credential;
mod failure;

pub use base_url::base_url_problem;
pub use client::{Answer, RestClient};
pub use failure::{MAX_VENDOR_MESSAGE, VendorFailure, transport_error};
