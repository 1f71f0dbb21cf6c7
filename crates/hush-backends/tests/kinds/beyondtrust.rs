//! The `beyondtrust` kind as config sees it: its options are checked with key paths (the API
//! key never in messages), and the example in config/full.toml is valid.
#![cfg(feature = "beyondtrust")]

use crate::{full_toml, load};
use hush_backends::{KINDS, problems};

#[test]
fn beyondtrust_is_a_kind() {
    assert!(KINDS.iter().any(|k| k.kind() == "beyondtrust"));
}

#[test]
fn beyondtrust_options_are_checked_with_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        r#"
[backends.bt-main]
kind = "beyondtrust"
address = "pws.example.com"
api_key = "SEKRIT-KEY"
client_id = "app"

[backends.bt-typo]
kind = "beyondtrust"
adress = "https://pws.example.com"
"#,
        &[],
    );
    let text: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
    let text = text.join("\n");
    for expected in ["backends.bt-main.address", "backends.bt-main.client_id", "backends.bt-typo"] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    assert!(!text.contains("SEKRIT"), "{text}");
}

#[test]
fn the_beyondtrust_example_of_full_toml_is_valid() {
    let config = full_toml();
    let bt = config.backends.get("bt-main").expect("config/full.toml has [backends.bt-main]");
    assert_eq!(bt.kind, "beyondtrust");
    let found: Vec<String> =
        problems(&config).iter().filter(|p| p.path.starts_with("backends.bt-main")).map(ToString::to_string).collect();
    assert!(found.is_empty(), "{found:?}");
}
