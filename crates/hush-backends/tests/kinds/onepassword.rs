//! The `onepassword` kind as config sees it: its options are checked with key paths (the
//! token never in messages), and the example in config/full.toml is valid.
#![cfg(feature = "onepassword")]

use crate::{full_toml, load};
use hush_backends::{KINDS, problems};

#[test]
fn onepassword_is_a_kind() {
    assert!(KINDS.iter().any(|k| k.kind() == "onepassword"));
}

#[test]
fn onepassword_options_are_checked_with_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        r#"
[backends.op-main]
kind = "onepassword"
address = "op-connect:8080"
vault_id = "short"
token = "SEKRIT token"
prefix = "has\"quote"

[backends.op-typo]
kind = "onepassword"
vault = "abcdefghijklmnopqrstuvwxyz"
"#,
        &[],
    );
    let text: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
    let text = text.join("\n");
    for expected in
        ["backends.op-main.address", "backends.op-main.vault_id", "backends.op-main.prefix", "backends.op-typo"]
    {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    assert!(!text.contains("SEKRIT"), "{text}");
}

#[test]
fn the_onepassword_example_of_full_toml_is_valid() {
    let config = full_toml();
    let op = config.backends.get("op-main").expect("config/full.toml has [backends.op-main]");
    assert_eq!(op.kind, "onepassword");
    let found: Vec<String> =
        problems(&config).iter().filter(|p| p.path.starts_with("backends.op-main")).map(ToString::to_string).collect();
    assert!(found.is_empty(), "{found:?}");
}
