//! Signing in to Secret Server (or Delinea Platform) and keeping the OAuth2 access token.
//!
//! - Secret Server: `POST {address}/oauth2/token`, form `username`, `password`,
//!   `grant_type=password` (and `domain` for a domain account), as python-tss-sdk's
//!   `PasswordGrantAuthorizer` sends it; the answer `{access_token, token_type, expires_in,
//!   refresh_token}`. Before the token expires hush asks for a new one with
//!   `grant_type=refresh_token`, and signs in with the password again when that is refused.
//! - Delinea Platform: `POST {address}/identity/api/oauth2/token/xpmplatform`, form
//!   `client_id`, `client_secret`, `grant_type=client_credentials`, `scope=xpmheadless`; then,
//!   once, `GET {address}/vaultbroker/api/vaults` with the token, whose default active vault's
//!   `connection.url` is the Secret Server the API calls go to (python-tss-sdk's
//!   `ensure_vault_url`, tss-sdk-go's `checkPlatformDetails`).
//!
//! An [`Authenticator`] keeps the current token behind a tokio mutex with the instant it was
//! obtained and replaces it [`REFRESH_MARGIN`] (at most a quarter of its life) before
//! `expires_in` ends. Sign-ins take turns under that mutex, so however many requests find the
//! token stale, or refused, at once, hush signs in once and they all use the new token: a
//! request refused with 401 asks [`Authenticator::renew`] with the token it used, and gets the
//! token another request already obtained, or a new one; the backend then repeats the request
//! once. No credential (password, client secret, access or refresh token) reaches a message.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hush_core::{Error, ErrorKind, Result, SecretValue};
use hush_rest::{Answer, RestClient, VendorFailure};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use tokio::time::Instant;

use crate::error::{Call, call_error};

/// How long before `expires_in` ends hush replaces the token (a quarter of its life when
/// that is shorter).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The token's life when the answer has no `expires_in` (Secret Server's default, 20 minutes).
pub const DEFAULT_TOKEN_LIFE: Duration = Duration::from_secs(20 * 60);

/// Secret Server's token path, below `address`.
pub const TOKEN_PATH: &str = "/oauth2/token";

/// Delinea Platform's token path, below `address`.
pub const PLATFORM_TOKEN_PATH: &str = "/identity/api/oauth2/token/xpmplatform";

/// Delinea Platform's vault-broker path, below `address`.
pub const VAULTS_PATH: &str = "/vaultbroker/api/vaults";

/// When a token that lives `life` is replaced: [`REFRESH_MARGIN`] before its end, or a quarter
/// of its life before it when that is shorter.
pub fn refresh_after(life: Duration) -> Duration {
    life.saturating_sub(REFRESH_MARGIN.min(life / 4))
}

/// How hush proves who it is.
pub(crate) enum Method {
    /// Secret Server: a user, its password, and the user's domain (empty for a local user).
    Password { username: String, password: SecretValue, domain: String },
    /// Delinea Platform: a service user's client id and secret.
    ClientCredentials { client_id: String, client_secret: SecretValue },
}

impl Method {
    /// Who signs in, for messages: `CORP\user`, `user` or the client id.
    pub(crate) fn identity(&self) -> String {
        match self {
            Method::Password { username, domain, .. } if domain.is_empty() => username.clone(),
            Method::Password { username, domain, .. } => format!("{domain}\\{username}"),
            Method::ClientCredentials { client_id, .. } => client_id.clone(),
        }
    }
}

/// One access token, as sent.
pub(crate) struct AccessToken {
    /// `Bearer <token>`, marked sensitive.
    header: HeaderValue,
    /// The access token and the refresh token, to redact from Delinea's messages.
    redact: Vec<SecretValue>,
    /// Which sign-in it came from.
    generation: u64,
    /// The API base the token is for: `{Secret Server}/api/v1`.
    api: Arc<str>,
}

impl AccessToken {
    /// The `Authorization` header value.
    pub(crate) fn header(&self) -> HeaderValue {
        self.header.clone()
    }

    /// `{Secret Server}/api/v1`, without a trailing `/`.
    pub(crate) fn api(&self) -> &str {
        &self.api
    }

    /// Delinea's failure `answer` to a call made with this token, as `client` reports it, with
    /// the tokens replaced by `***` (before the message is cut short, so no part of them stays).
    pub(crate) fn failure(&self, client: &RestClient, answer: &Answer, doing: &str) -> VendorFailure {
        let redact: Vec<&SecretValue> = self.redact.iter().collect();
        client.failure_redacting(answer, doing, &redact)
    }
}

/// The current token, when it was obtained and when it is to be replaced.
struct Current {
    token: Arc<AccessToken>,
    obtained: Instant,
    refresh_after: Duration,
}

impl Current {
    fn is_fresh(&self) -> bool {
        self.obtained.elapsed() < self.refresh_after
    }
}

/// What the authenticator holds between sign-ins.
struct Slot {
    current: Option<Current>,
    /// The refresh token of the last password grant.
    refresh_token: Option<SecretValue>,
    generation: u64,
    /// `{Secret Server}/api/v1`: known from `address`, or found by the vault broker.
    api: Option<Arc<str>>,
}

/// The current access token of one backend, and how to get a new one.
pub(crate) struct Authenticator {
    /// `{address}`, without a trailing `/`.
    address: String,
    method: Method,
    /// Held while signing in: sign-ins take turns.
    slot: tokio::sync::Mutex<Slot>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("address", &self.address)
            .field("identity", &self.method.identity())
            .finish_non_exhaustive()
    }
}

/// What is percent-encoded in a form value: everything but `[A-Za-z0-9_.~-]`.
const FORM_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'~').remove(b'-');

/// `pairs` as an `application/x-www-form-urlencoded` body.
fn form(pairs: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (n, (key, value)) in pairs.iter().enumerate() {
        if n > 0 {
            body.push(b'&');
        }
        body.extend(percent_encoding::percent_encode(key.as_bytes(), FORM_VALUE).flat_map(str::bytes));
        body.push(b'=');
        body.extend(percent_encoding::percent_encode(value, FORM_VALUE).flat_map(str::bytes));
    }
    body
}

impl Authenticator {
    /// An authenticator for `address`; signs in at the first request.
    pub(crate) fn new(address: &str, method: Method) -> Self {
        let address = address.trim_end_matches('/').to_owned();
        let api = match method {
            Method::Password { .. } => Some(Arc::from(format!("{address}/api/v1"))),
            Method::ClientCredentials { .. } => None,
        };
        Self {
            address,
            method,
            slot: tokio::sync::Mutex::new(Slot { current: None, refresh_token: None, generation: 0, api }),
        }
    }

    /// Who signs in, for messages.
    pub(crate) fn identity(&self) -> String {
        self.method.identity()
    }

    /// A token young enough to use: the current one, a refreshed one, or a new one.
    pub(crate) async fn token(&self, client: &RestClient) -> Result<Arc<AccessToken>> {
        let mut slot = self.slot.lock().await;
        if let Some(current) = &slot.current
            && current.is_fresh()
        {
            return Ok(Arc::clone(&current.token));
        }
        if let Some(refresh) = slot.refresh_token.take() {
            match self.sign_in_locked(client, &mut slot, Some(&refresh)).await {
                Ok(token) => return Ok(token),
                // A refresh token Secret Server no longer takes: sign in with the password.
                Err(e) if e.kind() == ErrorKind::PermissionDenied => {}
                Err(e) => {
                    slot.refresh_token = Some(refresh);
                    return Err(e);
                }
            }
        }
        self.sign_in_locked(client, &mut slot, None).await
    }

    /// After Delinea refused `refused` (401): the token another request obtained since, or a
    /// new one from a new sign-in.
    pub(crate) async fn renew(&self, client: &RestClient, refused: &AccessToken) -> Result<Arc<AccessToken>> {
        let mut slot = self.slot.lock().await;
        if let Some(current) = &slot.current
            && current.token.generation != refused.generation
            && current.is_fresh()
        {
            return Ok(Arc::clone(&current.token));
        }
        slot.refresh_token = None;
        self.sign_in_locked(client, &mut slot, None).await
    }

    /// Signs in (with `refresh`, a refresh token, when given) and puts the new token in place;
    /// finds the vault first when it is not known yet. The caller holds the slot.
    async fn sign_in_locked(
        &self,
        client: &RestClient,
        slot: &mut Slot,
        refresh: Option<&SecretValue>,
    ) -> Result<Arc<AccessToken>> {
        slot.current = None;
        let identity = self.identity();
        let doing = Call::Authenticate.doing(&self.address);
        let (url, body) = match (&self.method, refresh) {
            (Method::Password { .. }, Some(refresh)) => (
                format!("{}{TOKEN_PATH}", self.address),
                form(&[("grant_type", b"refresh_token"), ("refresh_token", refresh.expose())]),
            ),
            (Method::Password { username, password, domain }, None) => {
                let mut pairs: Vec<(&str, &[u8])> = vec![
                    ("username", username.as_bytes()),
                    ("password", password.expose()),
                    ("grant_type", b"password"),
                ];
                if !domain.is_empty() {
                    pairs.push(("domain", domain.as_bytes()));
                }
                (format!("{}{TOKEN_PATH}", self.address), form(&pairs))
            }
            (Method::ClientCredentials { client_id, client_secret }, _) => (
                format!("{}{PLATFORM_TOKEN_PATH}", self.address),
                form(&[
                    ("client_id", client_id.as_bytes()),
                    ("client_secret", client_secret.expose()),
                    ("grant_type", b"client_credentials"),
                    ("scope", b"xpmheadless"),
                ]),
            ),
        };
        let request = client
            .http()
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(body);
        let answer = client.send(request, &doing).await?;
        if !answer.is_success() {
            let also: Vec<&SecretValue> = refresh.into_iter().collect();
            let failure = client.failure_redacting(&answer, &doing, &also);
            return Err(call_error(Call::Authenticate, &identity, &failure));
        }
        // Secret Server answers some failures with 200 and an HTML page (python-tss-sdk).
        let grant = answer.json().ok_or_else(|| client.unexpected_answer(&doing, "no JSON grant"))?;
        let access = grant
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| client.unexpected_answer(&doing, "no access_token"))?;
        let access = SecretValue::from(access);
        let life = grant.get("expires_in").and_then(Value::as_u64).map_or(DEFAULT_TOKEN_LIFE, Duration::from_secs);
        let header = hush_rest::credential::authorization("Bearer", &access)?;
        let mut redact = vec![access];
        slot.refresh_token = match (&self.method, grant.get("refresh_token").and_then(Value::as_str)) {
            (Method::Password { .. }, Some(text)) if !text.is_empty() => {
                let refresh = SecretValue::from(text);
                redact.push(refresh.clone());
                Some(refresh)
            }
            _ => None,
        };
        let api = match &slot.api {
            Some(api) => Arc::clone(api),
            None => {
                let api: Arc<str> = Arc::from(self.discover(client, &header, &redact).await?);
                slot.api = Some(Arc::clone(&api));
                api
            }
        };
        slot.generation += 1;
        let token = Arc::new(AccessToken { header, redact, generation: slot.generation, api });
        slot.current =
            Some(Current { token: Arc::clone(&token), obtained: Instant::now(), refresh_after: refresh_after(life) });
        Ok(token)
    }

    /// Delinea Platform's default active vault: `{its connection url}/api/v1`.
    async fn discover(&self, client: &RestClient, header: &HeaderValue, redact: &[SecretValue]) -> Result<String> {
        let doing = Call::Discover.doing(&self.address);
        let request = client
            .http()
            .get(format!("{}{VAULTS_PATH}", self.address))
            .header(AUTHORIZATION, header.clone())
            .header(ACCEPT, "application/json");
        let answer = client.send(request, &doing).await?;
        if !answer.is_success() {
            let redact: Vec<&SecretValue> = redact.iter().collect();
            let failure = client.failure_redacting(&answer, &doing, &redact);
            return Err(call_error(Call::Discover, &self.identity(), &failure));
        }
        let vaults = answer.json().ok_or_else(|| client.unexpected_answer(&doing, "no JSON"))?;
        let default = vaults.get("vaults").and_then(Value::as_array).and_then(|vaults| {
            vaults.iter().find(|v| {
                v.get("isDefault").and_then(Value::as_bool) == Some(true)
                    && v.get("isActive").and_then(Value::as_bool) == Some(true)
            })
        });
        let Some(vault) = default else {
            return Err(Error::new(
                ErrorKind::ConfigInvalid,
                format!(
                    "Delinea Platform at {} has no default, active vault ({VAULTS_PATH}): make a Secret Server vault \
                     the default",
                    self.address
                ),
            ));
        };
        match vault.pointer("/connection/url").and_then(Value::as_str) {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                Ok(format!("{}/api/v1", url.trim_end_matches('/')))
            }
            _ => Err(client.unexpected_answer(&doing, "a default vault without a connection url")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_replaced_before_they_expire() {
        assert_eq!(refresh_after(Duration::from_secs(1200)), Duration::from_secs(1140));
        assert_eq!(refresh_after(Duration::from_secs(120)), Duration::from_secs(90));
        assert_eq!(refresh_after(Duration::from_secs(2)), Duration::from_millis(1500));
        assert_eq!(refresh_after(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn forms_are_percent_encoded() {
        assert_eq!(
            form(&[("username", b"a b"), ("password", b"p&=+\xc3\xa9")]),
            b"username=a%20b&password=p%26%3D%2B%C3%A9"
        );
    }

    #[test]
    fn identities() {
        let local =
            Method::Password { username: "svc".into(), password: SecretValue::from("p"), domain: String::new() };
        assert_eq!(local.identity(), "svc");
        let domain =
            Method::Password { username: "svc".into(), password: SecretValue::from("p"), domain: "CORP".into() };
        assert_eq!(domain.identity(), "CORP\\svc");
        let platform =
            Method::ClientCredentials { client_id: "hush-app".into(), client_secret: SecretValue::from("s") };
        assert_eq!(platform.identity(), "hush-app");
    }
}
