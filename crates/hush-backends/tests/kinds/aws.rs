//! The `aws-secrets-manager` kind as config sees it: its options are checked with key paths
//! (credentials never in messages), and a good config has no problems.
#![cfg(feature = "aws")]

use crate::{full_toml, load};
use hush_backends::problems;

#[test]
fn aws_options_are_checked_with_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        r#"
[backends.aws-main]
kind = "aws-secrets-manager"
region = "eu west"
access_key_id = "AKIAEXAMPLE"
endpoint_override = "127.0.0.1:5055"
recovery_window_days = 3
prefix = "has space/"

[backends.aws-typo]
kind = "aws-secrets-manager"
regoin = "eu-west-1"
secret_access_key = "wJalrXUtnFEMI-sekrit"
"#,
        &[],
    );
    let found: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
    let text = found.join("\n");
    for expected in [
        "backends.aws-main.region:",
        "backends.aws-main.secret_access_key:",
        "backends.aws-main.endpoint_override:",
        "backends.aws-main.recovery_window_days:",
        "backends.aws-main.prefix:",
        "backends.aws-typo.regoin",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("sekrit"), "a credential reached a message:\n{text}");
}

#[test]
fn a_good_aws_config_has_no_problems() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(
        dir.path(),
        r#"
[backends.aws-main]
kind = "aws-secrets-manager"
region = "eu-west-1"
prefix = "hush/"
default_tags = { managed-by = "hush" }
recovery_window_days = 7
request_timeout = "1s"

[tenants.acme]
backend = "aws-main"
"#,
        &[],
    );
    assert!(hush_backends::kind_names().contains(&"aws-secrets-manager"));
    let found: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn the_aws_example_of_full_toml_is_valid() {
    let config = full_toml();
    let aws = config.backends.get("aws-main").expect("config/full.toml has [backends.aws-main]");
    assert_eq!(aws.kind, "aws-secrets-manager");
    assert_eq!(aws.options.get("prefix").and_then(|v| v.as_str()), Some("hush/"));
    let found: Vec<String> =
        problems(&config).iter().filter(|p| p.path.starts_with("backends.aws-main")).map(ToString::to_string).collect();
    assert!(found.is_empty(), "{found:?}");
}
