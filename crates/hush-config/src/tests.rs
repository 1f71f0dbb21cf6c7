//! Tests of loading and validation with inline TOML.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;

use crate::{ConfigError, HushConfig};

const KINDS: &[&str] = &["sql", "vault"];

/// The reference shape of DESIGN.md section 6b, verbatim.
const DESIGN_EXAMPLE: &str = r#"
[nats]
url = "nats://127.0.0.1:4222"
# credentials = "worker.creds"   # NATS user credentials file; tls = { ca = "...", ... }

[keys]                           # written by `hush keys init DIR`
resolver_key = "keys/resolver.key"          # X25519 private key (hushd only)
resolver_public_key = "keys/resolver.pub"   # pinned by clients
issuer_public_keys = ["keys/issuer.pub"]    # Ed25519 keys whose grants hushd trusts
issuer_key = "keys/issuer.key"              # where this process mints grants (CLI, dev)
at_rest = "keys/at-rest.keyring"            # key ring for backends that seal at rest

[cache]
enabled = true
max_entries = 10000
ttl = "60s"
negative_ttl = "5s"
stale_if_error = "0s"

[backends.local]                 # a named backend instance
kind = "sql"
url = "sqlite://hush.db"

[backends.vault-main]
kind = "vault"
address = "http://127.0.0.1:8200"
root_engine = "secret"
prefix = ""
default_tags = { managed-by = "hush" }
auth = { method = "token", token = "..." }

[tenants.acme]                   # binding: the tenant default
backend = "local"

[tenants.acme.namespaces."company.team"]   # binding: override for this subtree
backend = "vault-main"
read_only = true
filter_tags = { team = "payments" }
"#;

fn parse(toml: &str) -> HushConfig {
    HushConfig::from_figment(Figment::from(Toml::string(toml)), Path::new("/etc/hush")).expect("parses")
}

fn problems(toml: &str) -> Vec<String> {
    parse(toml).problems(KINDS).iter().map(ToString::to_string).collect()
}

/// A minimal valid configuration to which a test adds its mistake.
const VALID: &str = r#"
[backends.local]
kind = "sql"
url = "sqlite://hush.db"

[tenants.acme]
backend = "local"
"#;

fn assert_has(problems: &[String], expected: &str) {
    assert!(problems.iter().any(|p| p.starts_with(expected)), "no problem starting with {expected:?} in {problems:#?}");
}

#[test]
fn design_example_parses_with_only_missing_key_files() {
    let config = parse(DESIGN_EXAMPLE);
    assert_eq!(config.cache.ttl, Duration::from_secs(60));
    assert_eq!(config.cache.max_bytes, 64 * 1024 * 1024);
    let vault = &config.backends["vault-main"];
    assert_eq!(vault.kind, "vault");
    assert_eq!(vault.default_tags["managed-by"], "hush");
    let option_keys: Vec<&String> = vault.options.keys().collect();
    assert_eq!(option_keys, ["address", "auth", "prefix", "root_engine"]);
    assert_eq!(config.backends["local"].options.keys().collect::<Vec<_>>(), ["url"]);
    let acme = &config.tenants["acme"];
    assert_eq!(acme.backend.as_deref(), Some("local"));
    let team = &acme.namespaces["company.team"];
    assert!(team.read_only);
    assert_eq!(team.backend, "vault-main");
    assert_eq!(team.filter_tags["team"], "payments");
    assert_eq!(config.keys.resolver_key.as_deref(), Some(Path::new("/etc/hush/keys/resolver.key")));

    let found = config.problems(KINDS);
    assert_eq!(found.len(), 5, "{found:#?}");
    assert!(found.iter().all(|p| p.path.starts_with("keys.") && p.message.ends_with("does not exist")), "{found:#?}");
    assert_eq!(found[0].to_string(), "keys.resolver_key: /etc/hush/keys/resolver.key does not exist");
}

#[test]
fn a_valid_config_has_no_problem_and_defaults_fill_the_rest() {
    let config = parse(VALID);
    assert_eq!(config.problems(KINDS), []);
    assert_eq!(config.nats.url, "nats://127.0.0.1:4222");
    assert_eq!(config.resolver.max_grant_lifetime, Duration::from_secs(86_400));
    assert_eq!(config.resolver.queue_group, "hush-resolver");
    assert_eq!(config.backends["local"].retry.max_attempts, 3);
    assert_eq!(config.backends["local"].timeout, Duration::from_secs(2));
    assert_eq!(config.backends["local"].longest_call(), Duration::from_secs(7));
    assert_eq!(config.resolver.request_timeout, Duration::from_secs(8));
    assert_eq!(config.nats.request_timeout, Duration::from_secs(10));
    assert_eq!(config.backends["local"].retry.min_delay, Duration::from_millis(50));
}

#[test]
fn unknown_keys_are_reported_with_their_path_and_the_rest_loads() {
    let toml = format!(
        "{VALID}\n[cach]\nttl = \"1s\"\n[cache]\nttl_ = \"30s\"\nnegative_ttl = \"7s\"\n\
         [nats.tls]\nrequire = true\n[tenants.acme.namespaces.\"company.team\"]\nbackend = \"local\"\nbackned = \"x\"\n"
    );
    let config = parse(&toml);
    let found: Vec<String> = config.problems(KINDS).iter().map(ToString::to_string).collect();
    assert_has(&found, "cach: unknown key");
    assert_has(&found, "cache.ttl_: unknown key (did you mean \"ttl\"?)");
    assert_has(&found, "nats.tls.require: unknown key (did you mean \"required\"?)");
    assert_has(&found, "tenants.acme.namespaces.\"company.team\".backned: unknown key");
    assert_eq!(found.len(), 4, "{found:#?}");
    // The good keys next to the bad ones still load.
    assert_eq!(config.cache.negative_ttl, Duration::from_secs(7));
    assert_eq!(config.tenants["acme"].namespaces["company.team"].backend, "local");
}

#[test]
fn bad_durations_and_types_are_problems_not_load_failures() {
    let toml = format!(
        "{VALID}\n[cache]\nttl = \"5 parsecs\"\nnegative_ttl = 30\nmax_entries = \"many\"\nmax_bytes = 1000\n\
         [resolver]\naudit = \"perhaps\"\n[backends.local.retry]\nmax_attempts = -1\n"
    );
    let config = parse(&toml);
    let found: Vec<String> = config.problems(KINDS).iter().map(ToString::to_string).collect();
    assert_has(&found, "cache.ttl: invalid value (a string), expected a duration; durations are strings such as");
    assert_has(&found, "cache.negative_ttl: expected a duration, found an integer; durations are strings");
    assert_has(&found, "cache.max_entries: expected u64, found a string");
    assert_has(&found, "resolver.audit: expected a boolean, found a string");
    assert_has(&found, "backends.local.retry.max_attempts: invalid value (an integer), expected u32");
    assert_eq!(found.len(), 5, "{found:#?}");
    // Bad keys fall back to their defaults; good ones are kept.
    assert_eq!(config.cache.ttl, Duration::from_secs(60));
    assert_eq!(config.cache.max_bytes, 1000);
}

#[test]
fn type_errors_never_repeat_the_value() {
    let toml = "[backends.v]\nkind = \"vault\"\ntimeout = \"s.hunter2\"\nprefix = [\"hunter2\"]\n";
    for problem in problems(toml) {
        assert!(!problem.contains("hunter2"), "{problem}");
    }
}

#[test]
fn identifiers_and_tag_keys_follow_hush_core() {
    let toml = format!(
        "{VALID}\n[tenants.\"acme corp\"]\nbackend = \"local\"\n\
         [tenants.acme.namespaces.\"company..team\"]\nbackend = \"local\"\n\
         [tenants.acme.namespaces.\"company.team\"]\nbackend = \"local\"\nfilter_tags = {{ \"\" = \"x\" }}\n\
         [backends.\"bad name\"]\nkind = \"sql\"\ndefault_tags = {{ \"a\\nb\" = \"x\" }}\n"
    );
    let found = problems(&toml);
    assert_has(&found, "tenants.\"acme corp\": tenant id \"acme corp\" holds ' '");
    assert_has(&found, "tenants.acme.namespaces.\"company..team\": namespace segment is empty");
    assert_has(
        &found,
        "tenants.acme.namespaces.\"company.team\".filter_tags.\"\": tag key \"\" must be 1 to 128 bytes",
    );
    assert_has(&found, "backends.\"bad name\": backend name must be");
    assert_has(&found, "backends.\"bad name\".default_tags.\"a\\nb\": tag \"a\\nb\" holds a control character");
    assert_eq!(found.len(), 5, "{found:#?}");
}

#[test]
fn bindings_must_name_configured_backends() {
    let toml = format!(
        "{VALID}\n[tenants.beta]\nbackend = \"nope\"\n\
         [tenants.acme.namespaces.\"company.team\"]\nbackend = \"vlt\"\n\
         [tenants.acme.namespaces.other]\nread_only = true\n"
    );
    let found = problems(&toml);
    assert_has(&found, "tenants.beta.backend: unknown backend \"nope\" (configured: local)");
    assert_has(&found, "tenants.acme.namespaces.\"company.team\".backend: unknown backend \"vlt\"");
    assert_has(&found, "tenants.acme.namespaces.other.backend: missing");
    assert_eq!(found.len(), 3, "{found:#?}");
}

#[test]
fn backend_kinds_must_be_known() {
    let toml = format!("{VALID}\n[backends.v]\nkind = \"vaul\"\n[backends.w]\naddress = \"x\"\n");
    let found = problems(&toml);
    assert_has(&found, "backends.v.kind: unknown kind \"vaul\"; known kinds: sql, vault");
    assert_has(&found, "backends.w.kind: missing; known kinds: sql, vault");
    assert_eq!(found.len(), 2, "{found:#?}");
}

#[test]
fn a_tenant_without_default_or_namespaces_is_a_problem() {
    let found = problems(&format!("{VALID}\n[tenants.empty]\n"));
    assert_eq!(found, ["tenants.empty: has neither a default `backend` nor `namespaces`: it would serve no secret"]);
    let found = problems(&format!(
        "{VALID}\n[tenants.half]\nread_only = true\n[tenants.half.namespaces.a]\nbackend = \"local\"\n"
    ));
    assert_eq!(found, ["tenants.half.read_only: applies to the default binding, but `backend` is not set"]);
}

#[test]
fn zero_cache_sizes_are_problems_only_while_enabled() {
    let found = problems(&format!("{VALID}\n[cache]\nmax_entries = 0\nmax_bytes = 0\n"));
    assert_has(&found, "cache.max_entries: must be greater than 0 while the cache is enabled");
    assert_has(&found, "cache.max_bytes: must be greater than 0");
    assert_eq!(found.len(), 2);
    assert_eq!(problems(&format!("{VALID}\n[cache]\nenabled = false\nmax_entries = 0\nmax_bytes = 0\n")).len(), 0);
}

#[test]
fn nats_urls_need_a_nats_scheme_and_are_not_repeated() {
    for good in ["nats://a:4222", "tls://a:4222", "ws://a:80", "wss://a:443", "nats://a:1, nats://b:2"] {
        assert_eq!(problems(&format!("{VALID}\n[nats]\nurl = \"{good}\"\n")), Vec::<String>::new(), "{good}");
    }
    let found = problems(&format!("{VALID}\n[nats]\nurl = \"http://bob:hunter2@a:4222\"\n"));
    assert_eq!(found, ["nats.url: scheme \"http\" is not one of nats://, tls://, ws://, wss://"]);
    let found = problems(&format!("{VALID}\n[nats]\nurl = \"127.0.0.1:4222\"\n"));
    assert_eq!(found, ["nats.url: must start with nats://, tls://, ws:// or wss://"]);
}

#[test]
fn key_files_are_checked_for_existence_relative_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("keys/issuer.pub"), "x").unwrap();
    std::fs::write(dir.path().join("worker.creds"), "x").unwrap();
    let toml = format!(
        "{VALID}\n[keys]\nissuer_public_keys = [\"keys/issuer.pub\", \"keys/other.pub\"]\nat_rest = \"keys\"\n\
         [nats]\ncredentials = \"worker.creds\"\ntls = {{ ca = \"/nowhere/ca.pem\", cert = \"c.pem\" }}\n"
    );
    let path = dir.path().join("hush.toml");
    std::fs::write(&path, toml).unwrap();
    let config = HushConfig::load_with_env(&path, Vec::<(String, String)>::new()).unwrap();
    assert_eq!(config.source.as_deref(), Some(path.as_path()));
    assert_eq!(config.config_dir(), dir.path());
    assert_eq!(config.keys.issuer_public_keys[0], dir.path().join("keys/issuer.pub"));
    assert_eq!(config.nats.credentials.as_deref(), Some(dir.path().join("worker.creds").as_path()));
    assert_eq!(config.nats.tls.as_ref().unwrap().ca.as_deref(), Some(Path::new("/nowhere/ca.pem")));
    assert_eq!(config.resolve_path(Path::new("hush.db")), dir.path().join("hush.db"));
    assert_eq!(config.resolve_path(Path::new("/abs/hush.db")), PathBuf::from("/abs/hush.db"));

    let found: Vec<String> = config.problems(KINDS).iter().map(ToString::to_string).collect();
    let other = dir.path().join("keys/other.pub");
    assert_has(&found, &format!("keys.issuer_public_keys.1: {} does not exist", other.display()));
    assert_has(&found, "keys.at_rest: ");
    assert!(found.iter().any(|p| p.starts_with("keys.at_rest") && p.ends_with("is not a file")), "{found:#?}");
    assert_has(&found, "nats.tls.ca: /nowhere/ca.pem does not exist");
    assert_has(&found, "nats.tls.cert: ");
    assert_has(&found, "nats.tls.key: missing: a client certificate needs both `cert` and `key`");
    assert_eq!(found.len(), 5, "{found:#?}");
}

#[test]
fn tenant_issuer_keys_and_security_settings_are_checked_with_their_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    std::fs::create_dir(dir.path().join("keys/a-directory.pub")).unwrap();
    let toml = format!(
        "{VALID}issuer_public_keys = [\"keys/missing.pub\", \"keys/a-directory.pub\"]\nrequire_bound_grants = false\n\
         [resolver]\nreply_prefixes = [\"_INBOX_acme\", \"hush.v1.audit\", \"$SYS\", \"a..b\"]\n\
         replay_window = \"0s\"\nreplay_bucket = \"no.dots\"\nmax_backend_reads_per_grant = 0\n\
         audit = false\naudit_required = true\naudit_stream = \"a.b\"\naudit_max_age = \"0s\"\naudit_max_bytes = 0\n"
    );
    let path = dir.path().join("hush.toml");
    std::fs::write(&path, toml).unwrap();
    let config = HushConfig::load_with_env(&path, Vec::<(String, String)>::new()).unwrap();
    let tenant = &config.tenants["acme"];
    assert_eq!(tenant.require_bound_grants, Some(false));
    assert_eq!(tenant.issuer_public_keys[0], dir.path().join("keys/missing.pub"), "relative to the file");
    let found: Vec<String> = config.problems(KINDS).iter().map(ToString::to_string).collect();
    let missing = dir.path().join("keys/missing.pub");
    assert_has(&found, &format!("tenants.acme.issuer_public_keys.0: {} does not exist", missing.display()));
    assert!(found.iter().any(|p| p.starts_with("tenants.acme.issuer_public_keys.1") && p.ends_with("is not a file")));
    assert_has(&found, "resolver.reply_prefixes.1: \"hush.v1.audit\" would let requests make hushd publish");
    assert_has(&found, "resolver.reply_prefixes.2: \"$SYS\" would let");
    assert_has(&found, "resolver.reply_prefixes.3: \"a..b\" is not a NATS subject prefix");
    assert_has(&found, "resolver.replay_window: must be greater than 0");
    assert_has(&found, "resolver.replay_bucket: must be 1 or more letters");
    assert_has(&found, "resolver.max_backend_reads_per_grant: must be greater than 0");
    assert_has(&found, "resolver.audit_stream: must be 1 or more letters");
    assert_has(&found, "resolver.audit_max_age: must be greater than 0");
    assert_has(&found, "resolver.audit_max_bytes: must be greater than 0");
    assert_has(&found, "resolver.audit_required: is true while resolver.audit is false");
    assert!(!found.iter().any(|p| p.starts_with("resolver.reply_prefixes.0")), "{found:#?}");
}

#[test]
fn grant_lifetime_is_at_most_seven_days() {
    assert_eq!(problems(&format!("{VALID}\n[resolver]\nmax_grant_lifetime = \"7days\"\n")).len(), 0);
    let found = problems(&format!("{VALID}\n[resolver]\nmax_grant_lifetime = \"8days\"\n"));
    assert_eq!(found, ["resolver.max_grant_lifetime: 8days is longer than the limit of 7 days"]);
}

#[test]
fn zero_timeouts_and_retry_mistakes_are_problems() {
    let toml = format!(
        "{VALID}\n[backends.local.retry]\nmax_attempts = 0\nmin_delay = \"3s\"\n\
         [backends.vault]\nkind = \"vault\"\ntimeout = \"0s\"\nmax_concurrency = 0\n[nats]\nrequest_timeout = \"0s\"\n"
    );
    let found = problems(&toml);
    assert_has(&found, "backends.local.retry.max_attempts: must be at least 1");
    assert_has(&found, "backends.local.retry.min_delay: is longer than retry.max_delay");
    assert_has(&found, "backends.vault.timeout: must be greater than 0");
    assert_has(&found, "backends.vault.max_concurrency: must be greater than 0");
    assert_has(&found, "nats.request_timeout: must be greater than 0");
    assert_has(&found, "resolver.request_timeout: is 8s, not shorter than nats.request_timeout (0s)");
    assert_eq!(found.len(), 6, "{found:#?}");
}

#[test]
fn a_call_longer_than_a_duration_holds_is_a_problem_not_a_panic() {
    // 100 attempts of 5e17 s overflowed `Duration` in `longest_call`: `hush config check` and
    // hushd panicked on this file (seen while writing the `config` fuzz target of fuzz/, whose
    // binary panicked on it; its runs had not reached it by themselves).
    let toml = format!(
        "{VALID}\n[backends.slow]\nkind = \"sql\"\ntimeout = \"500000000000000000s\"\n\
         [backends.slow.retry]\nmax_attempts = 100\nmax_delay = \"500000000000000000s\"\n"
    );
    let config = parse(&toml);
    assert_eq!(config.backends["slow"].longest_call(), Duration::MAX);
    let found: Vec<String> = config.problems(KINDS).iter().map(ToString::to_string).collect();
    assert_has(&found, "backends.slow.timeout: 100 attempt(s) of up to");
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn the_deadline_chain_is_checked_with_key_paths() {
    // Defaults: 3 × 2s + 2 × 500ms = 7s < resolver 8s < clients 10s.
    assert_eq!(problems(VALID).len(), 0);
    // Backend calls that outlast the resolver: the backend's timeout is the problem.
    let slow = problems(&format!("{VALID}\n[backends.slow]\nkind = \"sql\"\ntimeout = \"3s\"\n"));
    assert_eq!(slow.len(), 1, "{slow:#?}");
    assert!(
        slow[0].starts_with(
            "backends.slow.timeout: 3 attempt(s) of up to 3s each, with up to 500ms between them (retry.max_delay), \
             take up to 10s, not less than resolver.request_timeout (8s)"
        ),
        "{slow:#?}"
    );
    let retried = problems(&format!("{VALID}\n[backends.local.retry]\nmax_attempts = 4\n"));
    assert_eq!(retried.len(), 1, "{retried:#?}");
    assert!(retried[0].starts_with("backends.local.timeout: 4 attempt(s)"), "{retried:#?}");
    // Fewer retries fit a longer timeout.
    let fits = format!("{VALID}\n[backends.slow]\nkind = \"sql\"\ntimeout = \"3s\"\nretry = {{ max_attempts = 2 }}\n");
    assert_eq!(problems(&fits).len(), 0);
    // A resolver that outlasts its clients.
    let late = problems(&format!("{VALID}\n[resolver]\nrequest_timeout = \"12s\"\n"));
    assert_eq!(late.len(), 1, "{late:#?}");
    assert!(late[0].starts_with("resolver.request_timeout: is 12s, not shorter than nats.request_timeout (10s)"));
}

#[test]
fn env_overrides_win_and_other_hush_variables_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.toml");
    std::fs::write(&path, DESIGN_EXAMPLE).unwrap();
    let vars = [
        ("HUSH_CACHE__TTL", "30s"),
        ("HUSH_CACHE__MAX_ENTRIES", "500"),
        ("HUSH_CACHE__ENABLED", "false"),
        ("HUSH_NATS__URL", "tls://nats.example:4222"),
        ("HUSH_BACKENDS__VAULT_MAIN__AUTH__TOKEN", "12345"),
        ("HUSH_BACKENDS__VAULT_MAIN__RETRY__MAX_ATTEMPTS", "2"),
        ("HUSH_TENANTS__ACME__NAMESPACES__COMPANY_TEAM__READ_ONLY", "false"),
        ("HUSH_KEYS__ISSUER_PUBLIC_KEYS", "[a.pub, /abs/b.pub]"),
        ("HUSH_CONFIG", "/somewhere/else.toml"),
        ("HUSH_GRANT", "hush1.abc.def"),
        ("HUSH_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1/x"),
        ("HOME", "/root"),
    ];
    let config = HushConfig::load_with_env(&path, vars).unwrap();
    assert_eq!(config.cache.ttl, Duration::from_secs(30));
    assert_eq!(config.cache.max_entries, 500);
    assert!(!config.cache.enabled);
    assert_eq!(config.nats.url, "tls://nats.example:4222");
    let vault = &config.backends["vault-main"];
    assert_eq!(vault.retry.max_attempts, 2);
    assert!(!config.backends.contains_key("vault_main"));
    #[derive(Deserialize)]
    struct Auth {
        method: String,
        token: String,
    }
    let auth: Auth = vault.options["auth"].deserialize().unwrap();
    assert_eq!((auth.method.as_str(), auth.token.as_str()), ("token", "12345"));
    assert!(!config.tenants["acme"].namespaces["company.team"].read_only);
    assert_eq!(config.keys.issuer_public_keys, [dir.path().join("a.pub"), PathBuf::from("/abs/b.pub")]);
    let found = config.problems(KINDS);
    assert!(found.iter().all(|p| p.path.starts_with("keys.")), "{found:#?}");
}

#[test]
#[allow(clippy::result_large_err, reason = "figment::Jail's closure type returns figment::Error")]
fn load_reads_the_process_environment() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("hush.toml", VALID)?;
        jail.set_env("HUSH_CACHE__TTL", "15m");
        jail.set_env("HUSH_CONFIG", "hush.toml");
        let config = HushConfig::load(Path::new("hush.toml")).map_err(|e| e.to_string())?;
        assert_eq!(config.cache.ttl, Duration::from_secs(900));
        assert_eq!(config.problems(KINDS), []);
        assert_eq!(config.config_dir(), jail.directory());
        Ok(())
    });
}

#[test]
fn a_missing_file_names_its_path() {
    let err = HushConfig::load(Path::new("/nonexistent/dir/hush.toml")).unwrap_err();
    assert!(matches!(err, ConfigError::Missing { ref path } if path == Path::new("/nonexistent/dir/hush.toml")));
    assert_eq!(err.to_string(), "config file /nonexistent/dir/hush.toml does not exist");
}

#[test]
fn unparseable_toml_fails_to_load_without_quoting_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.toml");
    std::fs::write(&path, "[backends.v]\nkind = \"vault\"\ntoken = \"hunter2\n").unwrap();
    let err = HushConfig::load_with_env(&path, Vec::<(String, String)>::new()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ConfigError::Parse { .. }), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("line 3"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn backend_options_parse_into_a_kind_type_with_key_paths() {
    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct VaultOptions {
        address: String,
        root_engine: String,
        kv_version: u8,
        auth: VaultAuth,
    }
    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct VaultAuth {
        method: String,
        token: String,
    }
    let good = "[backends.v]\nkind = \"vault\"\naddress = \"http://a\"\nroot_engine = \"secret\"\nkv_version = 2\n\
                auth = { method = \"token\", token = \"t\" }\n";
    let options: VaultOptions = parse(good).backends["v"].parse_options("v").unwrap();
    assert_eq!(options.kv_version, 2);
    assert_eq!(options.auth.token, "t");

    let bad = "[backends.vault-main]\nkind = \"vault\"\naddress = \"http://a\"\nroot_engin = \"secret\"\n\
               kv_version = \"two\"\nauth = { method = \"token\", tokn = \"hunter2\" }\n";
    let found: Vec<String> = parse(bad).backends["vault-main"]
        .parse_options::<VaultOptions>("vault-main")
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_has(&found, "backends.vault-main.auth.tokn: unknown key (did you mean \"token\"?)");
    assert!(found.iter().all(|p| !p.contains("hunter2")), "{found:#?}");
    assert!(found.len() >= 2, "{found:#?}");
}

#[test]
fn written_backends_are_those_of_bindings_that_are_not_read_only() {
    let config = parse(
        r#"
[backends.a]
kind = "sql"
[backends.b]
kind = "sql"
[backends.c]
kind = "sql"
[backends.d]
kind = "sql"

[tenants.acme]
backend = "a"
namespaces."x" = { backend = "b", read_only = true }
namespaces."y" = { backend = "c" }

[tenants.globex]
backend = "d"
read_only = true
namespaces."z" = { backend = "b", read_only = true }
"#,
    );
    assert_eq!(config.written_backends().into_iter().collect::<Vec<_>>(), ["a", "c"]);
}

#[test]
fn the_gateway_section_parses_resolves_paths_and_reports_its_problems() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gateway.crt"), "pem").unwrap();
    let path = dir.path().join("hush.toml");
    std::fs::write(
        &path,
        r#"
[tenants.acme]
backend = "local"
[backends.local]
kind = "sql"
[gateway]
listen = "0.0.0.0:8443"
tls = { cert = "gateway.crt", key = "gateway.key" }
client_key = "keys/gateway.key"
client_ca = { acme = "acme-ca.pem", other = "other-ca.pem" }
"#,
    )
    .unwrap();
    let config = HushConfig::load(&path).unwrap();
    let gateway = &config.gateway;
    assert_eq!(gateway.listen, "0.0.0.0:8443");
    assert_eq!(gateway.tls.as_ref().unwrap().cert, dir.path().join("gateway.crt"));
    assert_eq!(gateway.client_ca["acme"], dir.path().join("acme-ca.pem"));
    assert_eq!(gateway.max_body_bytes, 64 * 1024);
    let found: Vec<String> = config.problems(KINDS).iter().map(ToString::to_string).collect();
    assert_has(&found, "gateway.tls.key");
    assert_has(&found, "gateway.client_key");
    assert_has(&found, "gateway.client_ca.acme");
    assert_has(&found, "gateway.client_ca.other: names tenant \"other\", which has no [tenants.other]");
    assert!(!found.iter().any(|p| p.starts_with("gateway.tls.cert")), "{found:?}");

    let bad = problems("[gateway]\nlisten = \"localhost\"\nmax_body_bytes = 0\nport = 1\n");
    assert_has(&bad, "gateway.listen: must be an IP address and port");
    assert_has(&bad, "gateway.max_body_bytes: must be greater than 0");
    assert_has(&bad, "gateway.port");
    assert!(problems("").iter().all(|p| !p.starts_with("gateway")), "the default gateway section is valid");
}

#[test]
fn the_binding_of_a_namespace_is_its_nearest_override_else_the_default() {
    let config = parse(
        r#"
[backends.local]
kind = "sql"
[backends.team]
kind = "sql"
[tenants.acme]
backend = "local"
filter_tags = { env = "prod" }
[tenants.acme.namespaces."company.team"]
backend = "team"
read_only = true
filter_tags = { team = "payments" }
[tenants.only-overrides.namespaces.a]
backend = "team"
"#,
    );
    let tags = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(config.filter_tags_for("acme", "company"), Some(&tags(&[("env", "prod")])));
    assert_eq!(config.filter_tags_for("acme", "company.team.etl"), Some(&tags(&[("team", "payments")])));
    assert_eq!(config.filter_tags_for("only-overrides", "b"), Some(&tags(&[])), "the tenant's own, empty");
    assert_eq!(config.filter_tags_for("nobody", "a"), None);
    assert_eq!(config.binding_for("acme", "company"), Some(("local", false)));
    assert_eq!(config.binding_for("acme", "company.team"), Some(("team", true)));
    assert_eq!(config.binding_for("acme", "company.team.etl"), Some(("team", true)));
    assert_eq!(config.binding_for("acme", "company.teams"), Some(("local", false)), "a prefix is not a parent");
    assert_eq!(config.binding_for("only-overrides", "b"), None);
    assert_eq!(config.binding_for("nobody", "a"), None);
}
