//! The `pulumi-esc` kind as config sees it: its options are checked with key paths (the token
//! never in messages), the token comes from `HUSH_BACKENDS__<NAME>__ACCESS_TOKEN`, and the
//! example in config/full.toml is valid.
#![cfg(feature = "esc")]

use crate::{full_toml, load};
use hush_backends::{KINDS, problems};

#[test]
fn esc_is_a_kind() {
    assert!(KINDS.iter().any(|k| k.kind() == "pulumi-esc"));
}

#[test]
fn esc_options_are_checked_with_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        r#"
[backends.esc-main]
kind = "pulumi-esc"
organization = "acme"
project = "pay/ments"
api_url = "api.pulumi.com"
access_token = "pul-SEKRIT with space"

[backends.esc-typo]
kind = "pulumi-esc"
organisation = "acme"
"#,
        &[("HUSH_BACKENDS__ESC_OK__ACCESS_TOKEN", "pul-x")],
    );
    let text: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
    let text = text.join("\n");
    for expected in [
        "backends.esc-main.api_url",
        "backends.esc-main.project",
        "backends.esc-main.environment: is required",
        "backends.esc-main.access_token",
        "backends.esc-typo",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    assert!(!text.contains("SEKRIT"), "{text}");
}

#[test]
fn the_esc_example_of_full_toml_is_valid() {
    let config = full_toml();
    let esc = config.backends.get("esc-main").expect("config/full.toml has [backends.esc-main]");
    assert_eq!(esc.kind, "pulumi-esc");
    let found: Vec<String> =
        problems(&config).iter().filter(|p| p.path.starts_with("backends.esc-main")).map(ToString::to_string).collect();
    assert!(found.is_empty(), "{found:?}");
}
