//! The `kubernetes` kind as config sees it: its options are checked with key paths, and the
//! example in config/full.toml is valid.
#![cfg(feature = "kubernetes")]

use crate::{full_toml, load};
use hush_backends::{KINDS, problems};

#[test]
fn kubernetes_is_a_kind() {
    assert!(KINDS.iter().any(|k| k.kind() == "kubernetes"));
}

#[test]
fn kubernetes_options_are_checked_with_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        r#"
[backends.k8s-main]
kind = "kubernetes"
namespace = "Not_A_Namespace"
label_selector = "tier in (a, b)"

[backends.k8s-typo]
kind = "kubernetes"
namepsace = "hush"
"#,
        &[],
    );
    let text: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
    let text = text.join("\n");
    for expected in ["backends.k8s-main.namespace", "backends.k8s-main.label_selector", "backends.k8s-typo"] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
}

#[test]
fn the_kubernetes_example_of_full_toml_is_valid() {
    let config = full_toml();
    let k8s = config.backends.get("k8s-main").expect("config/full.toml has [backends.k8s-main]");
    assert_eq!(k8s.kind, "kubernetes");
    let found: Vec<String> =
        problems(&config).iter().filter(|p| p.path.starts_with("backends.k8s-main")).map(ToString::to_string).collect();
    assert!(found.is_empty(), "{found:?}");
}
