//! hush's benchmarks. `cargo bench -p hush-benches` runs the criterion benches of the
//! resolver's CPU path; the over-NATS load generator is `hush bench` (crates/hush-cli).

#![deny(missing_docs)]
