//! The `conjur` backend: the variables of one Conjur account under one policy branch, read
//! (latest or a pinned version), listed, read in batches and, where policy declared them,
//! set, through Conjur's REST API with a short-lived access token.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use hush_core::{
    BackendInfo, Capabilities, DEFAULT_CALL_TIMEOUT, Error, KindConfig, ListFilter, Result, Scope, Secret,
    SecretBackend, SecretMeta, SecretName, SecretValue, Tags, VersionId, refuse_problems,
};
use hush_rest::{Answer, RestClient, VendorFailure, credential};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

use crate::KIND;
use crate::auth::{Authenticator, Method};
use crate::batch::{Joined, ReadBatcher};
use crate::config::ConjurConfig;
use crate::error::{Call, call_error, undeclared_variable};
use crate::mapping::{namespace_folder, parse_variable_id, path_segment, qualified_variable_id, variable_id};

/// Where the API key comes from when `api_key` is empty, as for Conjur's CLI and SDKs.
pub const API_KEY_VARIABLE: &str = "CONJUR_AUTHN_API_KEY";

/// Resources asked for per page of a list: Conjur's default largest `limit`.
pub const LIST_PAGE_SIZE: usize = 1000;

/// What this backend can do: read (with pinned versions) and list. Not `write`: Conjur
/// variables are declared by policy, so `put` sets only variables a policy declared (others
/// are `Unsupported`, naming the policy to load) and `delete` is `Unsupported`; no tags.
pub const CAPABILITIES: Capabilities = Capabilities::read_only().with_versions(true);

/// Variables of one Conjur account.
///
/// Key mapping: secret `NAME` of tenant `t` and namespace `a.b` is the variable
/// `<prefix>/t/a/b/NAME` (see [`crate::variable_id`] and `docs.md`). Values are Conjur's
/// bytes as they are. Nothing is sent at construction.
pub struct ConjurBackend {
    info: BackendInfo,
    client: RestClient,
    /// `{address}`, without a trailing `/`.
    base: String,
    account: String,
    prefix: String,
    auth: Authenticator,
    /// Gathers concurrent reads of latest values into batch requests.
    batcher: ReadBatcher,
}

impl ConjurBackend {
    /// A backend for `config`; sends nothing yet.
    ///
    /// Fails with `ConfigInvalid` when the configuration has problems (they are listed), no
    /// API key is set (for authn), or the HTTP client cannot be built.
    pub fn new(name: &str, config: ConjurConfig) -> Result<Self> {
        refuse_problems(name, &config.problems())?;
        let timeout = config.request_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT);
        let mut client = RestClient::new("Conjur", timeout, &config.tls)?;
        let method = match config.authn_jwt {
            Some(jwt) => Method::Jwt { service_id: jwt.service_id, login: config.login, token_file: jwt.token_file },
            None => {
                let api_key = credential::configured_or_env(name, "api_key", &config.api_key, API_KEY_VARIABLE)?;
                client = client.redacting(&api_key);
                Method::ApiKey { login: config.login, api_key }
            }
        };
        let base = config.address.trim_end_matches('/').to_owned();
        let auth = Authenticator::new(&base, &config.account, method);
        let info = BackendInfo { kind: KIND, name: name.to_owned(), capabilities: CAPABILITIES };
        Ok(Self {
            info,
            client,
            base,
            account: config.account,
            prefix: config.prefix,
            auth,
            batcher: ReadBatcher::default(),
        })
    }

    /// The same backend, authenticating again once its token is older than `after` (default
    /// [`crate::REFRESH_AFTER`], 6 of the token's 8 minutes): for a Conjur whose tokens live
    /// shorter, and for tests.
    pub fn with_token_refresh_after(mut self, after: Duration) -> Self {
        self.auth.set_refresh_after(after);
        self
    }

    /// The Conjur variable id of `name` in `scope`.
    pub fn variable_id(&self, scope: &Scope, name: &SecretName) -> String {
        variable_id(&self.prefix, scope, name)
    }

    /// `{base}/secrets/{account}/variable/{id}`.
    fn secret_url(&self, id: &str) -> String {
        format!("{}/secrets/{}/variable/{}", self.base, path_segment(&self.account), path_segment(id))
    }

    /// Sends the request `build` makes with the access token; on a 401, once more with a
    /// renewed token. The answer when it is a 2xx, else Conjur's failure (redacted).
    async fn call(
        &self,
        call: Call,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<std::result::Result<Answer, VendorFailure>> {
        let doing = call.doing(&self.account);
        let mut token = self.auth.token(&self.client).await?;
        let mut answer = self.client.send(build().header(AUTHORIZATION, token.header()), &doing).await?;
        if answer.status == 401 {
            token = self.auth.renew(&self.client, &token).await?;
            answer = self.client.send(build().header(AUTHORIZATION, token.header()), &doing).await?;
        }
        if answer.is_success() { Ok(Ok(answer)) } else { Ok(Err(token.failure(&self.client, &answer, &doing))) }
    }

    /// [`Self::call`], with any failure as its error.
    async fn call_ok(&self, call: Call, build: impl Fn() -> reqwest::RequestBuilder) -> Result<Answer> {
        self.call(call, build).await?.map_err(|failure| call_error(call, &self.auth.identity(), &failure))
    }

    /// One page of `GET /resources/{account}?kind=variable`: the resources as JSON.
    async fn resources(&self, limit: usize, offset: usize) -> Result<Vec<Value>> {
        let url = format!(
            "{}/resources/{}?kind=variable&search={}&limit={limit}&offset={offset}",
            self.base,
            path_segment(&self.account),
            path_segment(&self.prefix)
        );
        let answer =
            self.call_ok(Call::List, || self.client.http().get(&url).header(ACCEPT, "application/json")).await?;
        match answer.json() {
            Some(Value::Array(resources)) => Ok(resources),
            _ => Err(self.client.unexpected_answer(&Call::List.doing(&self.account), "no list of resources")),
        }
    }

    /// Every variable under the prefix that holds a value: its id and latest version.
    async fn variables(&self) -> Result<Vec<(String, Option<u64>)>> {
        let own = qualified_variable_id(&self.account, "");
        let mut found = Vec::new();
        let mut offset = 0;
        loop {
            let page = self.resources(LIST_PAGE_SIZE, offset).await?;
            for resource in &page {
                let Some(id) = resource.get("id").and_then(Value::as_str).and_then(|id| id.strip_prefix(&own)) else {
                    continue;
                };
                let secrets = resource.get("secrets").and_then(Value::as_array);
                // A declared variable without a value reads as NotFound, so it is not listed.
                if secrets.is_some_and(Vec::is_empty) {
                    continue;
                }
                let latest =
                    secrets.and_then(|s| s.iter().filter_map(|v| v.get("version").and_then(Value::as_u64)).max());
                found.push((id.to_owned(), latest));
            }
            if page.len() < LIST_PAGE_SIZE {
                return Ok(found);
            }
            offset += page.len();
        }
    }

    /// The latest values of `keys`, in order, in one request (`GET /secrets?variable_ids=`,
    /// base64-encoded by Conjur so binary values come through). Concurrent `get`s of latest
    /// values are gathered into such requests already (`batch.rs`); this is for callers that
    /// hold a `ConjurBackend` and a list.
    ///
    /// Conjur answers a batch as a whole: when one variable is missing, has no value or may not
    /// be read, the batch fails (`NotFound`, `PermissionDenied`).
    pub async fn get_many(&self, keys: &[(Scope, SecretName)]) -> Result<Vec<SecretValue>> {
        let ids: Vec<String> = keys.iter().map(|(s, n)| self.variable_id(s, n)).collect();
        self.read_batch(&ids).await
    }

    /// The latest values of variables `ids` (unqualified), in order, in one request.
    async fn read_batch(&self, ids: &[String]) -> Result<Vec<SecretValue>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut unique: Vec<String> = ids.iter().map(|id| qualified_variable_id(&self.account, id)).collect();
        let qualified = unique.clone();
        unique.sort();
        unique.dedup();
        let list: Vec<String> = unique.iter().map(|id| path_segment(id)).collect();
        let url = format!("{}/secrets?variable_ids={}", self.base, list.join(","));
        let doing = Call::Batch.doing(&self.account);
        let answer = match self.call(Call::Batch, || self.client.http().get(&url).header(ACCEPT, "base64")).await? {
            Ok(answer) => answer,
            Err(failure) if failure.status == 404 => {
                return Err(failure.error_of(
                    hush_core::ErrorKind::NotFound,
                    format_args!("Conjur has no value for at least one of {} variables (404) {doing}", unique.len()),
                    false,
                ));
            }
            Err(failure) => return Err(call_error(Call::Batch, &self.auth.identity(), &failure)),
        };
        let encoded = answer.header("content-encoding").is_some_and(|e| e.eq_ignore_ascii_case("base64"));
        let Some(Value::Object(values)) = answer.json() else {
            return Err(self.client.unexpected_answer(&doing, "no JSON object"));
        };
        qualified
            .iter()
            .map(|id| {
                let text = values.get(id).and_then(Value::as_str).ok_or_else(|| {
                    self.client.unexpected_answer(&doing, "an answer without one of the variables asked for")
                })?;
                if !encoded {
                    return Ok(SecretValue::from(text));
                }
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map(SecretValue::new)
                    .map_err(|_| self.client.unexpected_answer(&doing, "a value that is not base64"))
            })
            .collect()
    }

    /// One variable's value (latest, or `version`) in one request.
    async fn read_one(
        &self,
        scope: &Scope,
        name: &SecretName,
        id: &str,
        version: Option<&VersionId>,
    ) -> Result<Secret> {
        let mut url = self.secret_url(id);
        if let Some(version) = version {
            url.push_str(&format!("?version={}", version_number(version)?));
        }
        match self.call(Call::Get, || self.client.http().get(&url)).await? {
            Ok(answer) => {
                Ok(Secret { value: SecretValue::new(answer.body), version: version.cloned(), tags: Tags::new() })
            }
            // Conjur's 404: no such variable, no value yet, or no such version.
            Err(failure) if failure.status == 404 => {
                Err(Error::secret_not_found(scope, name, version).with_context("variable", id))
            }
            Err(failure) => Err(call_error(Call::Get, &self.auth.identity(), &failure)),
        }
    }

    /// The latest value of variable `id`, read in a batch with the reads running beside it
    /// (`batch.rs`), or on its own when it is alone or the batch fails.
    async fn read_latest(&self, scope: &Scope, name: &SecretName, id: &str) -> Result<Secret> {
        let latest = |value| Secret { value, version: None, tags: Tags::new() };
        match self.batcher.join(id) {
            Joined::Follower(value) => match value.await {
                Ok(value) => Ok(latest(value)),
                Err(_) => self.read_one(scope, name, id, None).await,
            },
            Joined::Leader(leader) => {
                let followers = leader.followers().await;
                if followers.is_empty() {
                    return self.read_one(scope, name, id, None).await;
                }
                let ids: Vec<String> =
                    std::iter::once(id.to_owned()).chain(followers.iter().map(|(id, _)| id.clone())).collect();
                match self.read_batch(&ids).await {
                    Ok(values) => {
                        let mut values = values.into_iter();
                        let own = values.next().unwrap_or_default();
                        for ((_, reply), value) in followers.into_iter().zip(values) {
                            reply.send(value);
                        }
                        Ok(latest(own))
                    }
                    // The batch failed as a whole: every read asks on its own, for its own answer.
                    Err(_) => {
                        drop(followers);
                        self.read_one(scope, name, id, None).await
                    }
                }
            }
        }
    }
}

/// A pinned version as Conjur's version number (1, 2, ...); `InvalidInput` otherwise.
fn version_number(version: &VersionId) -> Result<u64> {
    match version.as_str().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(Error::invalid_input(format!("Conjur versions are numbers from 1; {version:?} is not one"))),
    }
}

impl fmt::Debug for ConjurBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConjurBackend")
            .field("name", &self.info.name)
            .field("base", &self.base)
            .field("account", &self.account)
            .field("prefix", &self.prefix)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SecretBackend for ConjurBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        let id = self.variable_id(scope, name);
        match version {
            Some(version) => self.read_one(scope, name, &id, Some(version)).await,
            None => self.read_latest(scope, name, &id).await,
        }
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let variables = self.variables().await?;
        if !filter.tags.is_empty() {
            // No secret here has tags, so none carries the filter's pairs.
            return Ok(Vec::new());
        }
        let folder = namespace_folder(&self.prefix, scope);
        let mut found: Vec<SecretMeta> = variables
            .into_iter()
            .filter(|(id, _)| id.starts_with(&folder))
            .filter_map(|(id, version)| parse_variable_id(&self.prefix, &id).map(|parsed| (parsed, version)))
            .filter(|((s, _), _)| filter.recursive || s.namespace == scope.namespace)
            .map(|((s, name), version)| SecretMeta {
                namespace: s.namespace,
                name,
                version: version.and_then(|v| VersionId::new(v.to_string()).ok()),
                tags: Tags::new(),
                updated_at: None,
            })
            .collect();
        found.sort_by(|a, b| (a.namespace.as_str(), a.name.as_str()).cmp(&(b.namespace.as_str(), b.name.as_str())));
        Ok(found)
    }

    /// Sets a new value of a variable a policy declared (Conjur keeps it as a new version).
    /// A variable no policy declared is `Unsupported`, naming the policy to load.
    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        if !tags.is_empty() {
            return Err(self.unsupported("tags"));
        }
        let id = self.variable_id(scope, name);
        let url = self.secret_url(&id);
        let request = || {
            self.client.http().post(&url).header(CONTENT_TYPE, "application/octet-stream").body(value.expose().to_vec())
        };
        match self.call(Call::Set, request).await? {
            Ok(_) => Ok(SecretMeta::new(scope.namespace.clone(), name.clone()).with_tags(tags)),
            Err(failure) if failure.status == 404 => Err(undeclared_variable(&self.prefix, &id, &failure)),
            Err(failure) => Err(call_error(Call::Set, &self.auth.identity(), &failure)),
        }
    }

    async fn delete(&self, _: &Scope, _: &SecretName) -> Result<()> {
        Err(self.unsupported("delete (Conjur variables are removed by loading a policy without them)"))
    }

    async fn check(&self) -> Result<()> {
        self.resources(1, 0).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hush_core::ErrorKind;

    #[test]
    fn a_bad_config_is_refused_without_the_api_key() {
        let config = ConjurConfig::new("", "o", "host/h", "SECRET KEY");
        let err = ConjurBackend::new("cj", config).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
        assert!(err.to_string().contains("address"), "{err}");
        assert!(!format!("{err} {err:?}").contains("SECRET"), "{err:?}");
    }

    #[test]
    fn debug_shows_no_api_key() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let backend = ConjurBackend::new("cj", ConjurConfig::new("https://c", "myorg", "host/h", "SECRETKEY")).unwrap();
        let text = format!("{backend:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("myorg") && text.contains("host/h"), "{text}");
        assert_eq!(backend.info().capabilities, CAPABILITIES);
        const { assert!(CAPABILITIES.read && CAPABILITIES.list && CAPABILITIES.versions) };
        const { assert!(!CAPABILITIES.write && !CAPABILITIES.tags) };
    }

    #[test]
    fn versions_are_numbers_from_one() {
        assert_eq!(version_number(&VersionId::new("3").unwrap()).unwrap(), 3);
        for bad in ["0", "v1", "1.2"] {
            let err = version_number(&VersionId::new(bad).unwrap()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }
}
