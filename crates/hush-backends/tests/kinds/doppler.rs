//! The `doppler` kind as config sees it: its options are checked with key paths (the token
//! never in messages), and the example in config/full.toml is valid.
#![cfg(feature = "doppler")]

use crate::{full_toml, load};
use hush_backends::{KINDS, problems};

#[test]
fn doppler_is_a_kind() {
    assert!(KINDS.iter().any(|k| k.kind() == "doppler"));
}

#[test]
fn doppler_options_are_checked_with_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        r#"
[backends.doppler-main]
kind = "doppler"
project = "pay/ments"
api_url = "api.doppler.com"
token = "dp.st.SEKRIT with space"
prefix = "lower"

[backends.doppler-typo]
kind = "doppler"
projekt = "p"
"#,
        &[],
    );
    let text: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
    let text = text.join("\n");
    for expected in [
        "backends.doppler-main.api_url",
        "backends.doppler-main.project",
        "backends.doppler-main.config: is required",
        "backends.doppler-main.token",
        "backends.doppler-main.prefix",
        "backends.doppler-typo",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    assert!(!text.contains("SEKRIT"), "{text}");
}

#[test]
fn the_doppler_example_of_full_toml_is_valid() {
    let config = full_toml();
    let doppler = config.backends.get("doppler-main").expect("config/full.toml has [backends.doppler-main]");
    assert_eq!(doppler.kind, "doppler");
    let found: Vec<String> = problems(&config)
        .iter()
        .filter(|p| p.path.starts_with("backends.doppler-main"))
        .map(ToString::to_string)
        .collect();
    assert!(found.is_empty(), "{found:?}");
}
