//! The `pulumi-esc` backend: one environment, opened as a session that is reused until
//! shortly before it ends, whose top-level values are the secrets.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use hush_core::{
    BackendInfo, Capabilities, DEFAULT_CALL_TIMEOUT, Error, ErrorKind, KindConfig, ListFilter, Result, Scope, Secret,
    SecretBackend, SecretMeta, SecretName, Tags, TlsConfig, VersionId, refuse_problems,
};
use hush_rest::{RestClient, credential};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::KIND;
use crate::config::{DEFAULT_SESSION_DURATION, EscConfig};
use crate::error::{Call, call_error};
use crate::mapping::{plain_json, property_name, secret_name, value_bytes};

/// Where the token comes from when `access_token` is empty, as for the official SDKs.
pub const TOKEN_VARIABLE: &str = "PULUMI_ACCESS_TOKEN";

/// Longest time before a session's end at which it is replaced by a new one.
const MAX_RENEW_MARGIN: Duration = Duration::from_secs(60);

/// An opened session: its id and when to stop using it.
struct Session {
    id: String,
    renew_at: Instant,
}

/// Read-only secrets from the top-level values of one Pulumi ESC environment.
///
/// Key mapping: secret `NAME` of any tenant and namespace is top-level property
/// `<prefix>NAME` of the opened environment (see `docs.md`). A string value reads as its
/// bytes, anything else as compact JSON, after unwrapping ESC's `{value, secret, ...}`
/// wrappers. Nothing is fetched at construction: the first request opens a session.
pub struct EscBackend {
    info: BackendInfo,
    client: RestClient,
    /// `{api_url}/environments/{org}/{project}/{env}/open`.
    open_url: String,
    /// `org/project/env`, for messages.
    environment: String,
    /// `token <access_token>`, marked sensitive.
    authorization: HeaderValue,
    prefix: String,
    session_duration: Duration,
    session: Mutex<Option<Session>>,
}

/// `duration` as Go's `time.ParseDuration` reads it (the `?duration=` of an open).
fn go_duration(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

impl EscBackend {
    /// A backend for `config`; sends nothing yet.
    ///
    /// Fails with `ConfigInvalid` when the configuration has problems (they are listed) or
    /// the HTTP client cannot be built.
    pub fn new(name: &str, config: EscConfig) -> Result<Self> {
        refuse_problems(name, &config.problems())?;
        let timeout = config.request_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT);
        let access_token = credential::configured_or_env(name, "access_token", &config.access_token, TOKEN_VARIABLE)?;
        let authorization = credential::authorization("token", &access_token)?;
        let client = RestClient::new("Pulumi ESC", timeout, &TlsConfig::default())?.redacting(&access_token);
        let open_url = format!(
            "{}/environments/{}/{}/{}/open",
            config.api_url.trim_end_matches('/'),
            config.organization,
            config.project,
            config.environment
        );
        let info = BackendInfo { kind: KIND, name: name.to_owned(), capabilities: Capabilities::read_only() };
        Ok(Self {
            info,
            client,
            open_url,
            environment: config.environment_path(),
            authorization,
            prefix: config.prefix,
            session_duration: config.session_duration.unwrap_or(DEFAULT_SESSION_DURATION),
            session: Mutex::new(None),
        })
    }

    /// Sends `request` with the token; the answer's body, or the mapped error.
    async fn send(&self, call: Call, request: reqwest::RequestBuilder) -> Result<Vec<u8>> {
        let request = request.header(AUTHORIZATION, self.authorization.clone()).header(ACCEPT, "application/json");
        let doing = call.doing(&self.environment);
        let answer = self.client.send(request, &doing).await?;
        if answer.is_success() {
            Ok(answer.body)
        } else {
            Err(call_error(call, &self.environment, &self.client.failure(&answer, &doing)))
        }
    }

    /// The error for an answer ESC should not give to `call`.
    fn unexpected(&self, call: Call, what: &str) -> Error {
        self.client.unexpected_answer(&call.doing(&self.environment), what)
    }

    /// `POST .../open?duration=`: a new session.
    async fn open(&self) -> Result<Session> {
        let started = Instant::now();
        let url = format!("{}?duration={}", self.open_url, go_duration(self.session_duration));
        let body = self.send(Call::Open, self.client.http().post(url)).await?;
        let answer: Value = serde_json::from_slice(&body).map_err(|_| self.unexpected(Call::Open, "no JSON"))?;
        let id = match answer.get("id") {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(id)) => id.to_string(),
            _ => return Err(self.unexpected(Call::Open, "no session id")),
        };
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')) {
            return Err(self.unexpected(Call::Open, "a session id that is not URL-safe"));
        }
        let margin = (self.session_duration / 10).min(MAX_RENEW_MARGIN);
        Ok(Session { id, renew_at: started + self.session_duration - margin })
    }

    /// The current session's id, opening one when there is none or it is about to end.
    /// Concurrent callers wait for one open.
    async fn session_id(&self) -> Result<String> {
        let mut slot = self.session.lock().await;
        if let Some(session) = slot.as_ref().filter(|s| Instant::now() < s.renew_at) {
            return Ok(session.id.clone());
        }
        let session = self.open().await?;
        let id = session.id.clone();
        *slot = Some(session);
        Ok(id)
    }

    /// Drops session `id` (not a newer one), so that the next request opens a new one.
    async fn forget(&self, id: &str) {
        let mut slot = self.session.lock().await;
        if slot.as_ref().is_some_and(|s| s.id == id) {
            *slot = None;
        }
    }

    /// `GET .../open/{id}`: the opened environment's top-level properties (ESC `Value`s).
    async fn properties(&self) -> Result<Map<String, Value>> {
        let id = self.session_id().await?;
        let url = format!("{}/{id}", self.open_url);
        let body = match self.send(Call::Read, self.client.http().get(url)).await {
            Ok(body) => body,
            Err(e) => {
                // A session the service refuses or no longer knows is not used again.
                if matches!(e.kind(), ErrorKind::PermissionDenied | ErrorKind::Unavailable) {
                    self.forget(&id).await;
                }
                return Err(e);
            }
        };
        let mut answer: Value = serde_json::from_slice(&body).map_err(|_| self.unexpected(Call::Read, "no JSON"))?;
        match answer.get_mut("properties").map(Value::take) {
            Some(Value::Object(properties)) => Ok(properties),
            None | Some(Value::Null) => Ok(Map::new()),
            Some(_) => Err(self.unexpected(Call::Read, "properties that are not an object")),
        }
    }
}

impl fmt::Debug for EscBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EscBackend")
            .field("name", &self.info.name)
            .field("environment", &self.environment)
            .field("open_url", &self.open_url)
            .field("prefix", &self.prefix)
            .field("session_duration", &self.session_duration)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SecretBackend for EscBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn get(&self, scope: &Scope, name: &SecretName, version: Option<&VersionId>) -> Result<Secret> {
        if version.is_some() {
            return Err(self.unsupported("reading a pinned version"));
        }
        let property = property_name(&self.prefix, name);
        let mut properties = self.properties().await?;
        let Some(value) = properties.remove(&property) else {
            return Err(Error::secret_not_found(scope, name, None)
                .with_context("property", &property)
                .with_context("environment", &self.environment));
        };
        if value.get("unknown").and_then(Value::as_bool) == Some(true) {
            return Err(Error::unavailable(format!(
                "property {property} of environment {} has no known value (ESC could not evaluate it)",
                self.environment
            ))
            .set_temporary(false));
        }
        Ok(Secret { value: value_bytes(&plain_json(value)), version: None, tags: Tags::new() })
    }

    async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let properties = self.properties().await?;
        if !filter.tags.is_empty() {
            // No secret here has tags, so none carries the filter's pairs.
            return Ok(Vec::new());
        }
        let mut names: Vec<SecretName> = properties.keys().filter_map(|p| secret_name(&self.prefix, p)).collect();
        names.sort();
        Ok(names.into_iter().map(|name| SecretMeta::new(scope.namespace.clone(), name)).collect())
    }

    async fn check(&self) -> Result<()> {
        self.properties().await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_go_durations() {
        assert_eq!(go_duration(Duration::from_secs(3600)), "3600s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn a_bad_config_is_refused_without_the_token() {
        let err = EscBackend::new("esc", EscConfig::new("", "p", "e", "pul-SECRET TOKEN")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
        assert!(err.to_string().contains("organization"), "{err}");
        assert!(!format!("{err} {err:?}").contains("SECRET"), "{err:?}");
    }

    #[test]
    fn debug_shows_no_token() {
        // reqwest needs rustls's process provider, which the binaries install.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let backend = EscBackend::new("esc", EscConfig::new("o", "p", "e", "pul-SECRET")).unwrap();
        let text = format!("{backend:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("o/p/e"), "{text}");
        assert_eq!(backend.info().capabilities, Capabilities::read_only());
    }
}
