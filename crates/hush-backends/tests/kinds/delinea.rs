//! The `delinea` kind as config sees it: its options are checked with key paths (the password
//! never in messages), the folder and template it writes with are required only when a binding
//! writes through it, and the example in config/full.toml is valid.
#![cfg(feature = "delinea")]

use crate::{full_toml, load};
use hush_backends::{KINDS, problems};

#[test]
fn delinea_is_a_kind() {
    assert!(KINDS.iter().any(|k| k.kind() == "delinea"));
}

#[test]
fn delinea_options_are_checked_with_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        r#"
[backends.delinea-main]
kind = "delinea"
address = "secretserver.example.com"
username = "svc"
password = "SEKRIT"
client_id = "app"

[backends.delinea-typo]
kind = "delinea"
adress = "https://ss.example.com"
"#,
        &[],
    );
    let text: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
    let text = text.join("\n");
    for expected in ["backends.delinea-main.address", "backends.delinea-main", "backends.delinea-typo"] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    assert!(!text.contains("SEKRIT"), "{text}");
}

#[test]
fn folder_and_template_are_required_only_where_a_binding_writes() {
    let dir = tempfile::tempdir().unwrap();
    let table = r#"
[backends.ss]
kind = "delinea"
address = "https://ss.example.com/SecretServer"
username = "svc"
password = "pw"
"#;
    let write_keys = |config: &hush_config::HushConfig| -> Vec<String> {
        problems(config)
            .iter()
            .filter(|p| p.path == "backends.ss.folder_id" || p.path == "backends.ss.secret_template_id")
            .map(ToString::to_string)
            .collect()
    };
    let read_only = load(dir.path(), &format!("{table}\n[tenants.acme]\nbackend = \"ss\"\nread_only = true\n"), &[]);
    assert!(write_keys(&read_only).is_empty(), "{:?}", write_keys(&read_only));
    let writable = load(dir.path(), &format!("{table}\n[tenants.acme]\nbackend = \"ss\"\n"), &[]);
    let found = write_keys(&writable);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found.iter().all(|p| p.contains("a binding that is not read_only writes through this backend")),
        "{found:?}"
    );
}

#[test]
fn the_delinea_example_of_full_toml_is_valid() {
    let config = full_toml();
    let delinea = config.backends.get("delinea-main").expect("config/full.toml has [backends.delinea-main]");
    assert_eq!(delinea.kind, "delinea");
    let found: Vec<String> = problems(&config)
        .iter()
        .filter(|p| p.path.starts_with("backends.delinea-main"))
        .map(ToString::to_string)
        .collect();
    assert!(found.is_empty(), "{found:?}");
}
