//! The 1Password backend's configuration: Connect server address, token, vault (one, or one
//! per tenant), title prefix, value field label, TLS and request timeout.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use hush_core::{ConfigProblem, KindConfig, Scope, SecretName, TenantId, TlsConfig};
use serde::Deserialize;

/// The default `prefix`: every item title hush uses starts with `hush/`.
pub const DEFAULT_PREFIX: &str = "hush/";

/// The default `field`: the label of the field that holds a secret's value.
pub const DEFAULT_FIELD: &str = "value";

/// Longest `prefix` accepted, in bytes.
pub const MAX_PREFIX_LEN: usize = 64;

/// Length of a 1Password vault or item id: 26 characters of `[a-z0-9]` (what the official
/// SDKs check, and the Connect API's `^[\da-z]{26}$`).
pub const ID_LEN: usize = 26;

/// Configuration of a `onepassword` backend.
///
/// ```toml
/// [backends.op-main]
/// kind = "onepassword"
/// address = "https://op-connect.internal:8443"  # else OP_CONNECT_HOST
/// vault_id = "abcdefghijklmnopqrstuvwxyz"        # the vault of every tenant without its own
/// vault_ids = { globex = "zyxwvutsrqponmlkjihgfedcba" }
/// # token: from HUSH_BACKENDS__OP_MAIN__TOKEN, else OP_CONNECT_TOKEN
/// # prefix = "hush/"                              # items are titled hush/<tenant>/<namespace>/<NAME>
/// # field = "value"                               # the label of the concealed field holding the value
/// tls = { ca_file = "op-connect-ca.pem" }
/// request_timeout = "2s"                          # at most the backend's `timeout`
/// ```
///
/// `Debug` leaves out `token`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct OnePasswordConfig {
    /// The Connect server's URL (`http(s)://host[:port][/path]`, without `/v1`); when empty,
    /// `OP_CONNECT_HOST` at build, as the official SDKs read it.
    pub address: String,
    /// A Connect server access token with access to the vault(s); when empty,
    /// `OP_CONNECT_TOKEN` at build, and one of them is required. Never shown in `Debug`,
    /// errors or logs.
    pub token: String,
    /// The vault (its 26-character id) of every tenant that `vault_ids` does not name.
    /// Required unless `vault_ids` is set.
    pub vault_id: String,
    /// The vault of each tenant that has its own: tenant id → vault id.
    pub vault_ids: BTreeMap<String, String>,
    /// The first part of every item title hush uses. Default `hush/`. No `"`, `\` or control
    /// characters (so a title filter never needs escaping), at most 64 bytes.
    pub prefix: String,
    /// The label of the field that holds a secret's value. Default `value`.
    pub field: String,
    /// How the Connect server's certificate is trusted (`ca_file`, `skip_verify`).
    pub tls: TlsConfig,
    /// Bound on one HTTP request to the Connect server, e.g. `"2s"`. Default: the backend's
    /// `timeout`.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
}

impl Default for OnePasswordConfig {
    fn default() -> Self {
        Self {
            address: String::new(),
            token: String::new(),
            vault_id: String::new(),
            vault_ids: BTreeMap::new(),
            prefix: DEFAULT_PREFIX.to_owned(),
            field: DEFAULT_FIELD.to_owned(),
            tls: TlsConfig::default(),
            request_timeout: None,
        }
    }
}

impl OnePasswordConfig {
    /// The defaults, for the Connect server at `address` with token `token`, every tenant in
    /// vault `vault_id`.
    pub fn new(address: impl Into<String>, token: impl Into<String>, vault_id: impl Into<String>) -> Self {
        Self { address: address.into(), token: token.into(), vault_id: vault_id.into(), ..Self::default() }
    }

    /// With tenant `tenant`'s own vault `vault_id`.
    pub fn with_tenant_vault(mut self, tenant: impl Into<String>, vault_id: impl Into<String>) -> Self {
        self.vault_ids.insert(tenant.into(), vault_id.into());
        self
    }

    /// With `prefix`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// With `field`.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }

    /// With `tls`.
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = tls;
        self
    }

    /// With `request_timeout`.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// The vault of `tenant`: its own from `vault_ids`, else `vault_id`; `None` when neither
    /// is set.
    pub fn vault_for(&self, tenant: &str) -> Option<&str> {
        tenant_vault(&self.vault_ids, &self.vault_id, tenant)
    }
}

/// The vault of `tenant`: its own in `vault_ids`, else `vault_id` unless that is empty.
pub(crate) fn tenant_vault<'a>(
    vault_ids: &'a BTreeMap<String, String>,
    vault_id: &'a str,
    tenant: &str,
) -> Option<&'a str> {
    vault_ids.get(tenant).map(String::as_str).or((!vault_id.is_empty()).then_some(vault_id))
}

/// Whether `id` is a 1Password vault or item id: 26 characters of `[a-z0-9]`.
pub fn is_onepassword_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// What is wrong with `address` (an `http(s)://host[:port][/path]` URL), if anything.
pub(crate) fn address_problem(address: &str) -> Option<String> {
    hush_rest::base_url_problem(address, "http://op-connect:8080")
}

/// Whether `text` may be put between double quotes in a Connect filter as is.
pub(crate) fn is_filter_safe(text: &str) -> bool {
    !text.chars().any(|c| c.is_control() || matches!(c, '"' | '\\'))
}

impl KindConfig for OnePasswordConfig {
    /// Every problem of this configuration, with the key it is at. Empty when it is usable.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if !self.address.is_empty()
            && let Some(problem) = address_problem(&self.address)
        {
            problems.push(ConfigProblem::new(&["address"], problem));
        }
        if let Some(problem) = hush_rest::credential::header_problem(&self.token) {
            problems.push(ConfigProblem::new(&["token"], problem));
        }
        let id_problem = |id: &str| format!("{id:?} is not a 1Password vault id (26 characters of a-z and 0-9)");
        if self.vault_id.is_empty() {
            if self.vault_ids.is_empty() {
                problems
                    .push(ConfigProblem::new(&["vault_id"], "is required unless vault_ids names a vault per tenant"));
            }
        } else if !is_onepassword_id(&self.vault_id) {
            problems.push(ConfigProblem::new(&["vault_id"], id_problem(&self.vault_id)));
        }
        for (tenant, vault) in &self.vault_ids {
            if let Err(e) = TenantId::new(tenant.as_str()) {
                problems.push(ConfigProblem::new(&["vault_ids", tenant], format!("is not a tenant id: {e}")));
            }
            if !is_onepassword_id(vault) {
                problems.push(ConfigProblem::new(&["vault_ids", tenant], id_problem(vault)));
            }
        }
        if self.prefix.len() > MAX_PREFIX_LEN || !is_filter_safe(&self.prefix) {
            problems.push(ConfigProblem::new(
                &["prefix"],
                format!(
                    "{:?} must be at most {MAX_PREFIX_LEN} bytes without '\"', '\\' or control characters",
                    self.prefix
                ),
            ));
        }
        if self.field.is_empty() || self.field.chars().any(char::is_control) {
            problems.push(ConfigProblem::new(
                &["field"],
                format!("{:?} must be a field label: not empty, no control characters", self.field),
            ));
        }
        problems.extend(self.tls.problems().into_iter().map(|p| p.under(&["tls"])));
        if self.request_timeout.is_some_and(|t| t.is_zero()) {
            problems.push(ConfigProblem::new(&["request_timeout"], "must be longer than 0s"));
        }
        problems
    }

    fn resolve_paths(&mut self, config_dir: &Path) {
        self.tls.resolve_paths(config_dir);
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The item title ([`item_title`](crate::item_title)) in the tenant's vault (`tenant_vault`,
    /// as the calls pick it); the item's id is looked up by title at run time.
    fn key_for(&self, scope: &Scope, name: &SecretName) -> Option<String> {
        let title = crate::item_title(&self.prefix, scope, name);
        let field = &self.field;
        Some(match tenant_vault(&self.vault_ids, &self.vault_id, scope.tenant.as_str()) {
            Some(vault) => {
                format!("item titled {title:?} in vault {vault:?}, field {field:?} (item id looked up at run time)")
            }
            None => format!(
                "item titled {title:?}, field {field:?}, in no vault: set vault_ids.{} or vault_id",
                scope.tenant
            ),
        })
    }
}

impl fmt::Debug for OnePasswordConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnePasswordConfig")
            .field("address", &self.address)
            .field("token", &"***")
            .field("vault_id", &self.vault_id)
            .field("vault_ids", &self.vault_ids)
            .field("prefix", &self.prefix)
            .field("field", &self.field)
            .field("tls", &self.tls)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_for_names_the_item_and_vault_the_calls_use() {
        let scope = Scope::new("acme".parse().unwrap(), "company.team".parse().unwrap());
        let name: SecretName = "DB_PASSWORD".parse().unwrap();
        let vault = "a".repeat(26);
        let config = OnePasswordConfig { vault_id: vault.clone(), ..OnePasswordConfig::default() };
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            format!(
                r#"item titled "hush/acme/company.team/DB_PASSWORD" in vault "{vault}", field "value" (item id looked up at run time)"#
            )
        );
        let title = crate::item_title(DEFAULT_PREFIX, &scope, &name);
        assert!(config.key_for(&scope, &name).unwrap().starts_with(&format!("item titled {title:?} in vault ")));
        let own = "b".repeat(26);
        let config =
            OnePasswordConfig { vault_ids: [("acme".to_owned(), own.clone())].into(), ..OnePasswordConfig::default() };
        assert!(config.key_for(&scope, &name).unwrap().contains(&format!(" in vault {own:?}")));
        let other = Scope::new("globex".parse().unwrap(), "x".parse().unwrap());
        assert!(config.key_for(&other, &name).unwrap().ends_with("in no vault: set vault_ids.globex or vault_id"));
    }

    const VAULT: &str = "abcdefghijklmnopqrstuvwxy0";
    const OTHER: &str = "0123456789abcdefghijklmnop";

    fn keys(config: &OnePasswordConfig) -> Vec<String> {
        config.problems().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn an_address_a_token_and_a_vault_are_enough() {
        let config = OnePasswordConfig::new("http://op:8080", "eyJ.token", VAULT);
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert_eq!((config.prefix.as_str(), config.field.as_str()), (DEFAULT_PREFIX, DEFAULT_FIELD));
        // The address may come from OP_CONNECT_HOST and the token from OP_CONNECT_TOKEN.
        assert!(OnePasswordConfig::new("", "", VAULT).problems().is_empty());
        assert_eq!(keys(&OnePasswordConfig::default()), ["vault_id"]);
        assert_eq!(keys(&OnePasswordConfig::new("", "", "Vault-Name")), ["vault_id"]);
        assert_eq!(keys(&OnePasswordConfig::new("", "", &VAULT[1..])), ["vault_id"]);
    }

    #[test]
    fn tenants_get_their_own_vaults() {
        let per_tenant = OnePasswordConfig::new("http://op", "t", "").with_tenant_vault("acme", OTHER);
        assert!(per_tenant.problems().is_empty(), "{:?}", per_tenant.problems());
        assert_eq!(per_tenant.vault_for("acme"), Some(OTHER));
        assert_eq!(per_tenant.vault_for("globex"), None);
        let both = per_tenant.clone().with_tenant_vault("globex", VAULT);
        assert_eq!(both.vault_for("globex"), Some(VAULT));
        let defaulted = OnePasswordConfig::new("http://op", "t", VAULT).with_tenant_vault("acme", OTHER);
        assert_eq!((defaulted.vault_for("acme"), defaulted.vault_for("initech")), (Some(OTHER), Some(VAULT)));
        let bad =
            OnePasswordConfig::new("http://op", "t", VAULT).with_tenant_vault("a.b", OTHER).with_tenant_vault("x", "y");
        assert_eq!(keys(&bad), ["vault_ids.\"a.b\"", "vault_ids.x"]);
    }

    #[test]
    fn addresses_prefixes_fields_tls_and_timeouts() {
        let ok = OnePasswordConfig::new("http://op", "t", VAULT);
        assert!(ok.clone().with_prefix("").problems().is_empty());
        assert!(ok.clone().with_prefix("team a/").problems().is_empty());
        for bad in ["op:8080", "ftp://op", "http://", "http://u:p@op", "http://op?x=1"] {
            let config = OnePasswordConfig { address: bad.into(), ..ok.clone() };
            assert_eq!(keys(&config), ["address"], "{bad}");
        }
        for bad in ["a\"b/", "a\\b/", "a\nb", &"p".repeat(65)] {
            assert_eq!(keys(&ok.clone().with_prefix(bad)), ["prefix"], "{bad}");
        }
        for bad in ["", "a\tb"] {
            assert_eq!(keys(&ok.clone().with_field(bad)), ["field"], "{bad:?}");
        }
        let mut tls = TlsConfig::with_ca_file("ca.pem");
        tls.skip_verify = true;
        assert_eq!(keys(&ok.clone().with_tls(tls)), ["tls.skip_verify"]);
        assert_eq!(keys(&ok.clone().with_request_timeout(Duration::ZERO)), ["request_timeout"]);
        let spaced = OnePasswordConfig::new("http://op", "eyJ SECRET", VAULT);
        assert_eq!(keys(&spaced), ["token"]);
        assert!(spaced.problems().iter().all(|p| !p.message.contains("SECRET")));
    }

    #[test]
    fn the_example_of_the_docs_is_valid() {
        use figment::providers::Format as _;
        let docs = include_str!("../docs.md");
        let example = docs.split("```toml").nth(1).and_then(|block| block.split("```").next()).unwrap();
        let figment = figment::Figment::from(figment::providers::Toml::string(example));
        let mut backend: figment::value::Dict = figment.extract_inner("backends.op-main").unwrap();
        assert_eq!(backend.remove("kind").and_then(|k| k.into_string()).as_deref(), Some("onepassword"));
        let config: OnePasswordConfig =
            figment::Figment::from(figment::providers::Serialized::defaults(backend)).extract().unwrap();
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert_eq!(config.vault_for("globex"), Some("zyxwvutsrqponmlkjihgfedcba"));
        assert_eq!(config.vault_for("acme"), Some("abcdefghijklmnopqrstuvwxyz"));
        assert_eq!(config.request_timeout, Some(Duration::from_secs(2)));
    }

    #[test]
    fn debug_hides_the_token_options_parse_and_paths_resolve() {
        let mut config: OnePasswordConfig = serde_json::from_value(serde_json::json!({
            "address": "https://op", "token": "eyJ.SECRET", "vault_id": VAULT,
            "vault_ids": {"acme": OTHER}, "request_timeout": "5s", "prefix": "app/",
            "field": "secret", "tls": {"ca_file": "ca.pem"}
        }))
        .unwrap();
        assert_eq!(config.request_timeout, Some(Duration::from_secs(5)));
        assert_eq!(config.vault_for("acme"), Some(OTHER));
        let text = format!("{config:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("token: \"***\""), "{text}");
        config.resolve_paths(Path::new("/etc/hush"));
        assert_eq!(config.tls.ca_file.as_deref(), Some(Path::new("/etc/hush/ca.pem")));
        assert!(serde_json::from_value::<OnePasswordConfig>(serde_json::json!({"vault": "v"})).is_err());
    }
}
