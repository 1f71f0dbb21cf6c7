//! The `doppler` backend: the secrets of one Doppler config, read, written, deleted and
//! listed through Doppler's v3 REST API, one request per call.

use std::fmt;

use async_trait::async_trait;
use hush_core::{
    BackendInfo, Capabilities, DEFAULT_CALL_TIMEOUT, Error, ErrorKind, KindConfig, ListFilter, Result, Scope, Secret,
    SecretBackend, SecretMeta, SecretName, SecretValue, Tags, TlsConfig, VersionId, refuse_problems,
};
use hush_rest::{RestClient, credential};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};

use crate::KIND;
use crate::config::DopplerConfig;
use crate::error::{Call, call_error};
use crate::mapping::{checked_secret_name, parse_secret_name};

/// Where the token comes from when `token` is empty, as for Doppler's CLI and SDK examples.
pub const TOKEN_VARIABLE: &str = "DOPPLER_TOKEN";

/// What this backend can do: read, write and list; no tags, no versions.
pub const CAPABILITIES: Capabilities = Capabilities::full().with_tags(false).with_versions(false);

/// Secrets of one Doppler config.
///
/// Key mapping: secret `NAME` of tenant `t` and namespace `a.b` is the Doppler secret
/// `<prefix>__T__A_2B__NAME` (see [`crate::secret_name`] and `docs.md`). Values are Doppler's
/// strings: UTF-8 as is, other bytes as `hush-base64:` + base64. Nothing is sent at
/// construction.
pub struct DopplerBackend {
    info: BackendInfo,
    client: RestClient,
    /// `{api_url}/v3/configs/config`.
    base: String,
    project: String,
    config: String,
    /// `project/config`, for messages.
    config_path: String,
    /// `Bearer <token>`, marked sensitive.
    authorization: HeaderValue,
    prefix: String,
}

impl DopplerBackend {
    /// A backend for `config`; sends nothing yet.
    ///
    /// Fails with `ConfigInvalid` when the configuration has problems (they are listed), no
    /// token is set, or the HTTP client cannot be built.
    pub fn new(name: &str, config: DopplerConfig) -> Result<Self> {
        refuse_problems(name, &config.problems())?;
        let timeout = config.request_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT);
        let token = credential::configured_or_env(name, "token", &config.token, TOKEN_VARIABLE)?;
        let authorization = credential::authorization("Bearer", &token)?;
        let client = RestClient::new("Doppler", timeout, &TlsConfig::default())?.redacting(&token);
        let base = format!("{}/v3/configs/config", config.api_url.trim_end_matches('/'));
        let info = BackendInfo { kind: KIND, name: name.to_owned(), capabilities: CAPABILITIES };
        Ok(Self {
            info,
            client,
            base,
            config_path: config.config_path(),
            project: config.project,
            config: config.config,
            authorization,
            prefix: config.prefix,
        })
    }

    /// `?project=&config=` (slugs and Doppler names need no escaping).
    fn query(&self) -> String {
        format!("project={}&config={}", self.project, self.config)
    }

    /// Sends `request` with the token; the answer's body, or the mapped error.
    async fn send(&self, call: Call, request: reqwest::RequestBuilder) -> Result<Vec<u8>> {
        let request = request.header(AUTHORIZATION, self.authorization.clone()).header(ACCEPT, "application/json");
        let doing = call.doing(&self.config_path);
        let answer = self.client.send(request, &doing).await?;
        if answer.is_success() {
            Ok(answer.body)
        } else {
            Err(call_error(call, &self.config_path, &self.client.failure(&answer, &doing)))
        }
    }

    /// The error for an answer Doppler should not give to `call`.
    fn unexpected(&self, call: Call, what: &str) -> Error {
        self.client.unexpected_answer(&call.doing(&self.config_path), what)
    }

    /// Like [`Self::send`], with a 404 as the secret's `NotFound`.
    async fn send_for(
        &self,
        call: Call,
        scope: &Scope,
        name: &SecretName,
        doppler: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Vec<u8>> {
        self.send(call, request).await.map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                Error::secret_not_found(scope, name, None)
                    .with_context("doppler_name", doppler)
                    .with_context("config", &self.config_path)
            } else {
                e
            }
        })
    }

    /// `GET .../secrets/names`: every secret name of the config.
    async fn names(&self) -> Result<Vec<String>> {
        let url = format!("{}/secrets/names?{}", self.base, self.query());
        let body = self.send(Call::List, self.client.http().get(url)).await?;
        let answer: Value = serde_json::from_slice(&body).map_err(|_| self.unexpected(Call::List, "no JSON"))?;
        match answer.get("names") {
            Some(Value::Array(names)) => Ok(names.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect()),
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(_) => Err(self.unexpected(Call::List, "names that are not a list")),
        }
    }
}

impl fmt::Debug for DopplerBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DopplerBackend")
            .field("name", &self.info.name)
            .field("config", &self.config_path)
            .field("base", &self.base)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SecretBackend for DopplerBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        if version.is_some() {
            return Err(self.unsupported("reading a pinned version"));
        }
        let doppler = checked_secret_name(&self.prefix, scope, name)?;
        let url = format!("{}/secret?{}&name={doppler}", self.base, self.query());
        let body = self.send_for(Call::Get, scope, name, &doppler, self.client.http().get(url)).await?;
        let answer: Value = serde_json::from_slice(&body).map_err(|_| self.unexpected(Call::Get, "no JSON"))?;
        // `computed` is the value with references resolved, what Doppler hands applications.
        let value = answer.get("value");
        let text = value
            .and_then(|v| v.get("computed").and_then(Value::as_str).or_else(|| v.get("raw").and_then(Value::as_str)))
            .ok_or_else(|| self.unexpected(Call::Get, "no value"))?;
        Ok(Secret { value: SecretValue::from_stored_text(text), version: None, tags: Tags::new() })
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let names = self.names().await?;
        if !filter.tags.is_empty() {
            // No secret here has tags, so none carries the filter's pairs.
            return Ok(Vec::new());
        }
        let mut found: Vec<(Scope, SecretName)> = names
            .iter()
            .filter_map(|n| parse_secret_name(&self.prefix, n))
            .filter(|(s, _)| {
                s.tenant == scope.tenant
                    && (s.namespace == scope.namespace
                        || (filter.recursive && scope.namespace.is_self_or_ancestor_of(&s.namespace)))
            })
            .collect();
        found.sort_by(|a, b| (a.0.namespace.as_str(), a.1.as_str()).cmp(&(b.0.namespace.as_str(), b.1.as_str())));
        Ok(found.into_iter().map(|(s, name)| SecretMeta::new(s.namespace, name)).collect())
    }

    async fn put(&self, scope: &Scope, name: &SecretName, value: SecretValue, tags: Tags) -> Result<SecretMeta> {
        if !tags.is_empty() {
            return Err(self.unsupported("tags"));
        }
        let doppler = checked_secret_name(&self.prefix, scope, name)?;
        let body = json!({
            "project": self.project,
            "config": self.config,
            "secrets": { doppler.as_str(): value.to_stored_text() },
        });
        let request =
            self.client.http().post(format!("{}/secrets", self.base)).header(CONTENT_TYPE, "application/json");
        self.send_for(Call::Update, scope, name, &doppler, request.body(body.to_string())).await?;
        Ok(SecretMeta::new(scope.namespace.clone(), name.clone()).with_tags(tags))
    }

    async fn delete(&self, scope: &Scope, name: &SecretName) -> Result<()> {
        let doppler = checked_secret_name(&self.prefix, scope, name)?;
        let url = format!("{}/secret?{}&name={doppler}", self.base, self.query());
        self.send_for(Call::Delete, scope, name, &doppler, self.client.http().delete(url)).await.map(|_| ())
    }

    async fn check(&self) -> Result<()> {
        self.names().await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_config_is_refused_without_the_token() {
        let err = DopplerBackend::new("dp", DopplerConfig::new("", "c", "dp.st.SECRET TOKEN")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
        assert!(err.to_string().contains("project"), "{err}");
        assert!(!format!("{err} {err:?}").contains("SECRET"), "{err:?}");
    }

    #[test]
    fn debug_shows_no_token() {
        // reqwest needs rustls's process provider, which the binaries install.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let backend = DopplerBackend::new("dp", DopplerConfig::new("p", "c", "dp.st.SECRET")).unwrap();
        let text = format!("{backend:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("p/c"), "{text}");
        assert_eq!(backend.info().capabilities, CAPABILITIES);
        const { assert!(CAPABILITIES.write && CAPABILITIES.list && !CAPABILITIES.tags && !CAPABILITIES.versions) };
    }
}
