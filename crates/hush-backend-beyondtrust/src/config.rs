//! The BeyondTrust backend's configuration: address, how hush signs in (API key with a run-as
//! user, or OAuth client credentials), the Secrets Safe folder, TLS trust and request timeout.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use hush_core::{ConfigProblem, KindConfig, Scope, SecretName, TlsConfig};
use serde::Deserialize;

/// The path of Password Safe's public API v3 under its address.
pub const API_PATH: &str = "/BeyondTrust/api/public/v3";

/// Configuration of a `beyondtrust` backend.
///
/// ```toml
/// [backends.bt-main]
/// kind = "beyondtrust"
/// address = "https://pws.example.com"      # hush calls {address}/BeyondTrust/api/public/v3
/// run_as = "svc-hush"                       # the user the API registration runs as
/// # api_key: from HUSH_BACKENDS__BT_MAIN__API_KEY
/// # password = "..."                        # when the API registration requires the user's password
/// # client_id = "..." / client_secret = "..."   # OAuth instead of api_key and run_as
/// folder = "hush/prod"                      # or folder_id = "<uuid>"
/// # owner_id = 12                           # user id made owner of the secrets hush creates
/// # tls = { ca_file = "pws-ca.pem" }
/// request_timeout = "2s"                    # at most the backend's `timeout`
/// ```
///
/// `Debug` leaves out `api_key`, `password` and `client_secret`.
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BeyondTrustConfig {
    /// Password Safe's base URL (`https://pws.example.com`); hush appends
    /// `/BeyondTrust/api/public/v3` unless the address already ends with it. Required.
    pub address: String,
    /// The API registration's key (`PS-Auth key=...`). With `run_as`; or leave it empty and
    /// set `client_id` and `client_secret`. Never shown in `Debug`, errors or logs.
    pub api_key: String,
    /// The Password Safe user the API key runs as (`runas=...`). Required with `api_key`.
    pub run_as: String,
    /// The run-as user's password (`pwd=[...]`), when the API registration requires it.
    /// Never shown.
    pub password: String,
    /// The OAuth client id of an API-access-policy registration's application user.
    pub client_id: String,
    /// Its client secret. Never shown.
    pub client_secret: String,
    /// The Secrets Safe folder holding hush's secrets, by id (a UUID). One of `folder_id` and
    /// `folder` is required.
    pub folder_id: String,
    /// The Secrets Safe folder holding hush's secrets, by path from the top (`hush/prod`).
    pub folder: String,
    /// The Password Safe user id made owner of the text secrets hush creates
    /// (`OwnerId`, `OwnerType: User`, `Owners`). When unset hush sends no owner and Password
    /// Safe decides.
    pub owner_id: Option<u32>,
    /// Trust settings: `tls = { ca_file = "ca.pem" }` (alias `ca`), or `skip_verify = true`.
    pub tls: TlsConfig,
    /// Bound on one HTTP request to Password Safe, e.g. `"2s"`. Default: the backend's
    /// `timeout`.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
}

impl BeyondTrustConfig {
    /// Signs in with `api_key` as `run_as`, at `address`, to the folder at path `folder`.
    pub fn with_api_key(
        address: impl Into<String>,
        api_key: impl Into<String>,
        run_as: impl Into<String>,
        folder: impl Into<String>,
    ) -> Self {
        Self {
            address: address.into(),
            api_key: api_key.into(),
            run_as: run_as.into(),
            folder: folder.into(),
            ..Self::default()
        }
    }

    /// Signs in with OAuth client credentials, at `address`, to the folder at path `folder`.
    pub fn with_oauth(
        address: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        folder: impl Into<String>,
    ) -> Self {
        Self {
            address: address.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            folder: folder.into(),
            ..Self::default()
        }
    }

    /// With the run-as user's `password`.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = password.into();
        self
    }

    /// With the folder given by id instead of path.
    pub fn with_folder_id(mut self, folder_id: impl Into<String>) -> Self {
        self.folder_id = folder_id.into();
        self.folder = String::new();
        self
    }

    /// With `owner_id`.
    pub fn with_owner_id(mut self, owner_id: u32) -> Self {
        self.owner_id = Some(owner_id);
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

    /// `{address}/BeyondTrust/api/public/v3`, without a trailing `/`.
    pub fn api_url(&self) -> String {
        let address = self.address.trim_end_matches('/');
        let ends_with_api = address.len() >= API_PATH.len()
            && address.is_char_boundary(address.len() - API_PATH.len())
            && address[address.len() - API_PATH.len()..].eq_ignore_ascii_case(API_PATH);
        if ends_with_api { address.to_owned() } else { format!("{address}{API_PATH}") }
    }

    /// Whether hush signs in with OAuth client credentials (else with the API key).
    pub fn uses_oauth(&self) -> bool {
        self.api_key.is_empty() && (!self.client_id.is_empty() || !self.client_secret.is_empty())
    }
}

/// Whether `text` is a UUID (`8-4-4-4-12` hex digits), as Password Safe's folder ids are.
pub(crate) fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Whether `path` is folder names joined by `/`: none empty, none with control characters.
fn is_folder_path(path: &str) -> bool {
    !path.is_empty() && path.split('/').all(|name| !name.trim().is_empty() && !name.chars().any(char::is_control))
}

/// Whether a credential can go into the `PS-Auth` header as it is: no control characters and
/// none of the header's own separators.
fn is_header_part(text: &str, forbidden: &[char]) -> bool {
    !text.chars().any(|c| c.is_control() || forbidden.contains(&c))
}

impl KindConfig for BeyondTrustConfig {
    /// Every problem of this configuration, with the key it is at. Empty when it is usable.
    /// Credentials are named, never quoted.
    fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut add = |path: &[&str], message: &str| problems.push(ConfigProblem::new(path, message));
        if let Some(problem) = hush_rest::base_url_problem(&self.address, "https://pws.example.com") {
            add(&["address"], &problem);
        }
        let api_key = !self.api_key.is_empty();
        let oauth = !self.client_id.is_empty() || !self.client_secret.is_empty();
        match (api_key, oauth) {
            (false, false) => add(&["api_key"], "is required with run_as, or set client_id and client_secret (OAuth)"),
            (true, true) => add(&["client_id"], "is set next to api_key: keep one way to sign in"),
            (true, false) => {
                if self.run_as.is_empty() {
                    add(&["run_as"], "is required with api_key (the user the API registration runs as)");
                }
            }
            (false, true) => {
                if self.client_id.is_empty() {
                    add(&["client_id"], "is required with client_secret");
                }
                if self.client_secret.is_empty() {
                    add(&["client_secret"], "is required with client_id");
                }
                if !self.run_as.is_empty() {
                    add(&["run_as"], "goes with api_key only; OAuth signs in as the client's application user");
                }
                if !self.password.is_empty() {
                    add(&["password"], "goes with api_key only");
                }
            }
        }
        if !is_header_part(&self.api_key, &[';', ' ', '=']) {
            add(
                &["api_key"],
                "holds spaces, control characters, ';' or '=': set the key alone, and the user in run_as",
            );
        }
        if !is_header_part(&self.run_as, &[';']) {
            add(&["run_as"], "holds control characters or ';'");
        }
        if !is_header_part(&self.password, &[']']) {
            add(&["password"], "holds control characters or ']', which the PS-Auth header cannot carry");
        }
        if let Some(problem) = hush_rest::credential::header_problem(&self.client_id) {
            add(&["client_id"], problem);
        }
        if self.client_secret.chars().any(char::is_control) {
            add(&["client_secret"], "holds control characters");
        }
        match (self.folder_id.is_empty(), self.folder.is_empty()) {
            (true, true) => {
                add(&["folder"], "is required (the Secrets Safe folder path, e.g. hush/prod), or set folder_id")
            }
            (false, false) => add(&["folder_id"], "is set next to folder: keep one"),
            (false, true) if !is_uuid(&self.folder_id) => {
                add(&["folder_id"], "must be a folder's UUID, e.g. 3fa85f64-5717-4562-b3fc-2c963f66afa6");
            }
            (true, false) if !is_folder_path(&self.folder) => {
                add(&["folder"], "must be folder names joined by '/', e.g. hush/prod (no empty names)");
            }
            _ => {}
        }
        if self.owner_id == Some(0) {
            add(&["owner_id"], "must be a user id from 1");
        }
        if self.request_timeout.is_some_and(|t| t.is_zero()) {
            add(&["request_timeout"], "must be longer than 0s");
        }
        problems.extend(self.tls.problems().into_iter().map(|p| p.under(&["tls"])));
        problems
    }

    fn resolve_paths(&mut self, config_dir: &Path) {
        self.tls.resolve_paths(config_dir);
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The secret's title ([`secret_title`](crate::secret_title)) in the configured Secrets
    /// Safe folder; the folder's and the secret's ids are looked up at run time.
    fn key_for(&self, scope: &Scope, name: &SecretName) -> Option<String> {
        let title = crate::secret_title(scope, name);
        let folder = if self.folder_id.is_empty() {
            format!("folder {:?}", self.folder)
        } else {
            format!("folder id {}", self.folder_id)
        };
        let hashed = if title.starts_with(crate::HASHED_TITLE_PREFIX) { ", its key in the notes" } else { "" };
        Some(format!("Secrets Safe secret titled {title:?} in {folder}{hashed} (ids looked up at run time)"))
    }
}

impl fmt::Debug for BeyondTrustConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |s: &str| if s.is_empty() { "" } else { "***" };
        f.debug_struct("BeyondTrustConfig")
            .field("address", &self.address)
            .field("api_key", &hidden(&self.api_key))
            .field("run_as", &self.run_as)
            .field("password", &hidden(&self.password))
            .field("client_id", &self.client_id)
            .field("client_secret", &hidden(&self.client_secret))
            .field("folder_id", &self.folder_id)
            .field("folder", &self.folder)
            .field("owner_id", &self.owner_id)
            .field("tls", &self.tls)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_for_names_the_secret_the_calls_use() {
        let scope = Scope::new("acme".parse().unwrap(), "company.team".parse().unwrap());
        let name: SecretName = "DB_PASSWORD".parse().unwrap();
        let config = BeyondTrustConfig { folder: "hush/prod".into(), ..BeyondTrustConfig::default() };
        assert_eq!(
            config.key_for(&scope, &name).unwrap(),
            r#"Secrets Safe secret titled "acme.company.team.DB_PASSWORD" in folder "hush/prod" (ids looked up at run time)"#
        );
        let title = crate::secret_title(&scope, &name);
        assert!(config.key_for(&scope, &name).unwrap().starts_with(&format!("Secrets Safe secret titled {title:?} ")));
        let by_id = BeyondTrustConfig { folder_id: "0e6f3c2a-1b2c-4d5e-8f90-123456789abc".into(), ..config };
        assert!(by_id.key_for(&scope, &name).unwrap().contains(" in folder id 0e6f3c2a-1b2c-4d5e-8f90-123456789abc "));
    }

    const FOLDER_ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

    fn keys(config: &BeyondTrustConfig) -> Vec<String> {
        config.problems().into_iter().map(|p| p.path).collect()
    }

    fn ok() -> BeyondTrustConfig {
        BeyondTrustConfig::with_api_key("https://pws.example.com", "KEY", "svc-hush", "hush/prod")
    }

    #[test]
    fn an_address_a_key_a_user_and_a_folder_are_enough() {
        assert!(ok().problems().is_empty(), "{:?}", ok().problems());
        let oauth = BeyondTrustConfig::with_oauth("https://pws.example.com", "id", "SECRET", "hush");
        assert!(oauth.problems().is_empty(), "{:?}", oauth.problems());
        assert!(oauth.uses_oauth() && !ok().uses_oauth());
        assert!(ok().with_folder_id(FOLDER_ID).problems().is_empty());
        assert_eq!(keys(&BeyondTrustConfig::default()), ["address", "api_key", "folder"]);
    }

    #[test]
    fn exactly_one_way_to_sign_in() {
        let both = BeyondTrustConfig { client_id: "id".into(), client_secret: "s".into(), ..ok() };
        assert_eq!(keys(&both), ["client_id"]);
        assert_eq!(keys(&BeyondTrustConfig { run_as: String::new(), ..ok() }), ["run_as"]);
        let half = BeyondTrustConfig::with_oauth("https://p", "id", "", "f");
        assert_eq!(keys(&half), ["client_secret"]);
        let other_half = BeyondTrustConfig::with_oauth("https://p", "", "SECRET", "f");
        assert_eq!(keys(&other_half), ["client_id"]);
        let mixed =
            BeyondTrustConfig { run_as: "u".into(), ..BeyondTrustConfig::with_oauth("https://p", "id", "s", "f") }
                .with_password("SECRETPWD");
        assert_eq!(keys(&mixed), ["run_as", "password"]);
        assert!(mixed.problems().iter().all(|p| !p.message.contains("SECRET")));
    }

    #[test]
    fn credentials_that_would_break_the_header_are_named_never_shown() {
        for bad in ["SECRET KEY", "SECRETKEY; runas=x", "SECRET\nKEY"] {
            let config = BeyondTrustConfig { api_key: bad.into(), ..ok() };
            assert_eq!(keys(&config), ["api_key"], "{bad:?}");
            assert!(config.problems().iter().all(|p| !p.message.contains("SECRET")));
        }
        assert_eq!(keys(&ok().with_password("SECRET]x")), ["password"]);
        assert!(ok().with_password("p@ss; w0rd=").problems().is_empty());
        assert_eq!(keys(&BeyondTrustConfig { run_as: "a;b".into(), ..ok() }), ["run_as"]);
    }

    #[test]
    fn addresses_folders_owners_and_timeouts() {
        for bad in ["pws.example.com", "ftp://h", "http://", "http://u:p@h", "https://h?x"] {
            assert_eq!(keys(&BeyondTrustConfig { address: bad.into(), ..ok() }), ["address"], "{bad}");
        }
        for bad in ["/hush", "hush/", "a//b", " "] {
            assert_eq!(keys(&BeyondTrustConfig { folder: bad.into(), ..ok() }), ["folder"], "{bad:?}");
        }
        assert_eq!(keys(&ok().with_folder_id("not-a-uuid")), ["folder_id"]);
        let both = BeyondTrustConfig { folder_id: FOLDER_ID.into(), ..ok() };
        assert_eq!(keys(&both), ["folder_id"]);
        assert_eq!(keys(&ok().with_owner_id(0)), ["owner_id"]);
        assert_eq!(keys(&ok().with_request_timeout(Duration::ZERO)), ["request_timeout"]);
        let mut tls = TlsConfig::with_ca_file("ca.pem");
        tls.skip_verify = true;
        assert_eq!(keys(&ok().with_tls(tls)), ["tls.skip_verify"]);
    }

    #[test]
    fn the_api_url_is_appended_once() {
        assert_eq!(ok().api_url(), "https://pws.example.com/BeyondTrust/api/public/v3");
        for address in ["https://p/BeyondTrust/api/public/v3/", "https://p/beyondtrust/api/public/v3"] {
            let config = BeyondTrustConfig { address: address.into(), ..ok() };
            assert!(config.api_url().to_lowercase().ends_with("p/beyondtrust/api/public/v3"), "{}", config.api_url());
            assert_eq!(config.api_url().matches("/api/").count(), 1);
        }
    }

    #[test]
    fn the_examples_of_the_docs_are_valid() {
        use figment::providers::Format as _;
        let docs = include_str!("../docs.md");
        let blocks: Vec<&str> = docs.split("```toml").skip(1).filter_map(|block| block.split("```").next()).collect();
        assert_eq!(blocks.len(), 2);
        for (example, name, credential) in [(blocks[0], "bt-main", "api_key"), (blocks[1], "bt-oauth", "client_secret")]
        {
            let figment = figment::Figment::from(figment::providers::Toml::string(example));
            let mut backend: figment::value::Dict = figment.extract_inner(&format!("backends.{name}")).unwrap();
            assert_eq!(backend.remove("kind").and_then(|k| k.into_string()).as_deref(), Some("beyondtrust"));
            // The credential comes from the environment, as the comment says.
            backend.insert(credential.to_owned(), "from-the-environment".into());
            let config: BeyondTrustConfig =
                figment::Figment::from(figment::providers::Serialized::defaults(backend)).extract().unwrap();
            assert!(config.problems().is_empty(), "{name}: {:?}", config.problems());
            assert_eq!(config.api_url(), "https://pws.example.com/BeyondTrust/api/public/v3");
        }
    }

    #[test]
    fn paths_resolve_and_debug_hides_credentials() {
        let mut config: BeyondTrustConfig = serde_json::from_value(serde_json::json!({
            "address": "https://p", "api_key": "SECRETKEY", "run_as": "svc", "password": "SECRETPWD",
            "folder_id": FOLDER_ID, "owner_id": 7, "request_timeout": "5s", "tls": {"ca": "ca.pem"}
        }))
        .unwrap();
        assert_eq!(config.request_timeout, Some(Duration::from_secs(5)));
        assert_eq!(config.owner_id, Some(7));
        config.resolve_paths(Path::new("/etc/hush"));
        assert_eq!(config.tls.ca_file.as_deref(), Some(Path::new("/etc/hush/ca.pem")));
        let oauth = BeyondTrustConfig::with_oauth("https://p", "client", "SECRETCLIENT", "f");
        let text = format!("{config:?} {oauth:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("api_key: \"***\"") && text.contains("client_id: \"client\""), "{text}");
        assert!(serde_json::from_value::<BeyondTrustConfig>(serde_json::json!({"token": "t"})).is_err());
    }
}
