//! The `elasticsearch` kind as config sees it: its options are checked with key paths (the
//! password never in messages), it needs `keys.at_rest`, and the example in config/full.toml is
//! valid.
#![cfg(feature = "elasticsearch")]

use crate::{full_toml, load};
use hush_backends::{KINDS, problems};

#[test]
fn elasticsearch_is_a_kind_that_seals_at_rest() {
    let kind = KINDS.iter().find(|k| k.kind() == "elasticsearch").expect("elasticsearch is a kind");
    assert!(kind.seals_at_rest());
}

#[test]
fn elasticsearch_options_are_checked_with_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        r#"
[backends.search-main]
kind = "elasticsearch"
url = "search.internal:9200"
index = "Hush Secrets"
username = "hush"
api_key = "SEKRIT-KEY"
prefix = "has:colon"

[backends.search-typo]
kind = "elasticsearch"
url = "https://search.internal:9200"
indx = "x"
"#,
        &[],
    );
    let text: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
    let text = text.join("\n");
    for expected in [
        "backends.search-main.url",
        "backends.search-main.index",
        "backends.search-main.api_key",
        "backends.search-main.prefix",
        "backends.search-typo",
        // No keys.at_rest in this config: a kind that seals cannot be built.
        "backends.search-main: kind elasticsearch seals values with the at-rest key ring: set keys.at_rest",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    assert!(!text.contains("SEKRIT"), "{text}");
}

#[test]
fn the_elasticsearch_example_of_full_toml_is_valid() {
    let config = full_toml();
    let search = config.backends.get("search-main").expect("config/full.toml has [backends.search-main]");
    assert_eq!(search.kind, "elasticsearch");
    let found: Vec<String> = problems(&config)
        .iter()
        .filter(|p| p.path.starts_with("backends.search-main"))
        .map(ToString::to_string)
        .collect();
    assert!(found.is_empty(), "{found:?}");
}
