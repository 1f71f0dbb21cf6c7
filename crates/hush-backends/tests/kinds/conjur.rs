//! The `conjur` kind as config sees it: its options are checked with key paths (the API key
//! never in messages), and the example in config/full.toml is valid.
#![cfg(feature = "conjur")]

use crate::{full_toml, load};
use hush_backends::{KINDS, problems};

#[test]
fn conjur_is_a_kind() {
    assert!(KINDS.iter().any(|k| k.kind() == "conjur"));
}

#[test]
fn conjur_options_are_checked_with_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        r#"
[backends.conjur-main]
kind = "conjur"
address = "conjur.example.com"
account = ""
login = "host/hush"
api_key = "SEKRIT with space"
tls = { ca_file = "", skip_verify = true }

[backends.conjur-typo]
kind = "conjur"
adress = "https://conjur.example.com"
"#,
        &[],
    );
    let text: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
    let text = text.join("\n");
    for expected in [
        "backends.conjur-main.address",
        "backends.conjur-main.account",
        "backends.conjur-main.tls.ca_file",
        "backends.conjur-main.tls.skip_verify",
        "backends.conjur-typo",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    assert!(!text.contains("SEKRIT"), "{text}");
}

#[test]
fn the_conjur_example_of_full_toml_is_valid() {
    let config = full_toml();
    let conjur = config.backends.get("conjur-main").expect("config/full.toml has [backends.conjur-main]");
    assert_eq!(conjur.kind, "conjur");
    let found: Vec<String> = problems(&config)
        .iter()
        .filter(|p| p.path.starts_with("backends.conjur-main"))
        .map(ToString::to_string)
        .collect();
    assert!(found.is_empty(), "{found:?}");
}
