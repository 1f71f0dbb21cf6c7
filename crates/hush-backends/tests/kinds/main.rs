//! Every kind as config sees it, one module per kind (one test binary: each binary links every
//! vendor SDK, so one is much cheaper to build than one per kind), and the README's tables of
//! kinds.

mod aws;
mod azure;
mod beyondtrust;
mod conjur;
mod delinea;
mod doppler;
mod elasticsearch;
mod esc;
mod gcp;
mod kubernetes;
mod onepassword;
mod readme;
mod vault;

use std::path::Path;

use hush_config::HushConfig;

/// `toml` written as `dir/hush.toml` and loaded with `env` as the environment.
fn load(dir: &Path, toml: &str, env: &[(&str, &str)]) -> HushConfig {
    let path = dir.join("hush.toml");
    std::fs::write(&path, toml).unwrap();
    HushConfig::load_with_env(&path, env.iter().copied()).unwrap()
}

/// `config/full.toml`, the example of every key, loaded with no environment.
fn full_toml() -> HushConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/full.toml");
    HushConfig::load_with_env(&path, std::iter::empty::<(String, String)>()).unwrap()
}
