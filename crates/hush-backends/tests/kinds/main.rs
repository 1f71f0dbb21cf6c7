//! Every kind as config sees it, one module per kind (one test binary: each binary links every
//! vendor SDK, so one is much cheaper to build than one per kind), and the README's tables of
//! kinds.

mod aws;
mod azure;
mod doppler;
mod esc;
mod gcp;
mod readme;
mod vault;
