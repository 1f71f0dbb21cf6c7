//! The `gcp-secret-manager` kind as config sees it: its options are checked with key paths
//! (credentials never in messages), the inline key comes from `HUSH_BACKENDS__<NAME>__CREDENTIALS_JSON`,
//! a credentials file is relative to the config file, and the example in config/full.toml is valid.
#![cfg(feature = "gcp")]

use crate::{full_toml, load};
use hush_backends::{BackendContext, check_backends, problems};
use hush_core::ErrorKind;

#[test]
fn gcp_options_are_checked_with_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        r#"
[backends.gcp-main]
kind = "gcp-secret-manager"
prefix = "hush/"
endpoint = "127.0.0.1:8095"
credentials_file = "sa.json"
anonymous = true

[backends.gcp-typo]
kind = "gcp-secret-manager"
projekt = "p"
credentials_json = "{\"private_key\": \"sekrit\"}"
"#,
        &[],
    );
    let text: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
    let text = text.join("\n");
    for expected in [
        "backends.gcp-main.project:",
        "backends.gcp-main.prefix:",
        "backends.gcp-main.endpoint:",
        "backends.gcp-main.credentials_json:",
        "backends.gcp-typo",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("sekrit"), "a credential reached a message:\n{text}");
}

#[tokio::test]
async fn the_inline_key_comes_from_the_environment_and_never_shows() {
    hush_backends::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    let toml = r#"
[backends.gcp]
kind = "gcp-secret-manager"
project = "my-project"
prefix = "hush_"
default_tags = { managed-by = "hush" }
"#;
    // A key that is JSON but not a usable service-account key: refused at open, unquoted.
    let json = r#"{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----sekrit"}"#;
    let config = load(dir.path(), toml, &[("HUSH_BACKENDS__GCP__CREDENTIALS_JSON", json)]);
    assert!(hush_backends::kind_names().contains(&"gcp-secret-manager"));
    let found: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
    assert!(found.is_empty(), "{found:?}");
    let context = BackendContext::from_config(&config).unwrap();
    let checked = check_backends(&config, &context).await;
    let err = checked[0].1.as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
    assert!(err.message().contains("credentials_json"), "{err}");
    assert!(!format!("{err} {err:?}").contains("sekrit"), "{err:?}");
}

#[tokio::test]
async fn a_credentials_file_is_relative_to_the_config_file() {
    hush_backends::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sa.json"), r#"{"type": "authorized_user"}"#).unwrap();
    let config = load(
        dir.path(),
        "[backends.gcp]\nkind = \"gcp-secret-manager\"\nproject = \"p\"\ncredentials_file = \"sa.json\"\n",
        &[],
    );
    let context = BackendContext::from_config(&config).unwrap();
    let checked = check_backends(&config, &context).await;
    let err = checked[0].1.as_ref().unwrap_err();
    // The file was found and read (a missing file says "cannot read"): it holds another kind.
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.message().contains("\"authorized_user\" credentials"), "{err}");
}

#[test]
fn the_gcp_example_of_full_toml_is_valid() {
    let config = full_toml();
    let gcp = config.backends.get("gcp-main").expect("config/full.toml has [backends.gcp-main]");
    assert_eq!(gcp.kind, "gcp-secret-manager");
    let found: Vec<String> =
        problems(&config).iter().filter(|p| p.path.starts_with("backends.gcp-main")).map(ToString::to_string).collect();
    assert!(found.is_empty(), "{found:?}");
}
