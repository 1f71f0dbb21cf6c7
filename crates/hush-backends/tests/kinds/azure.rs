//! The `azure-key-vault` kind as config sees it: its options are checked with key paths
//! (credentials never in messages), and a good config has no problems.
#![cfg(feature = "azure")]

use crate::{full_toml, load};
use hush_backends::problems;

#[test]
fn azure_options_are_checked_with_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        r#"
[backends.azure-main]
kind = "azure-key-vault"
vault_name = "x"
prefix = "hush_"
api_version = "2016-10-01"
credential = { method = "client_secret", tenant_id = "t", client_id = "", client_secret = "sekrit-value" }

[backends.azure-typo]
kind = "azure-key-vault"
vault_nmae = "contoso"
"#,
        &[],
    );
    let found: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
    let text = found.join("\n");
    for expected in [
        "backends.azure-main.vault_name:",
        "backends.azure-main.prefix:",
        "backends.azure-main.api_version:",
        "backends.azure-main.credential.client_id:",
        "backends.azure-typo.vault_nmae",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("sekrit"), "a credential reached a message:\n{text}");
}

#[test]
fn the_azure_example_of_full_toml_is_valid() {
    assert!(hush_backends::kind_names().contains(&"azure-key-vault"));
    let config = full_toml();
    let azure = config.backends.get("azure-main").expect("config/full.toml has [backends.azure-main]");
    assert_eq!(azure.kind, "azure-key-vault");
    assert_eq!(azure.options.get("prefix").and_then(|v| v.as_str()), Some("hush-"));
    let found: Vec<String> = problems(&config)
        .iter()
        .filter(|p| p.path.starts_with("backends.azure-main"))
        .map(ToString::to_string)
        .collect();
    assert!(found.is_empty(), "{found:?}");
}
