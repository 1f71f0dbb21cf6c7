//! Authenticating to Conjur and keeping the short-lived access token.
//!
//! Conjur's access tokens live 8 minutes. An [`Authenticator`] keeps the current one behind a
//! tokio mutex with the instant it was obtained, and authenticates again when it is older than
//! [`REFRESH_AFTER`] (6 minutes, leaving 2 for requests in flight). Authentications take turns
//! under that mutex, so however many requests find the token stale, or refused, at once, hush
//! authenticates once and they all use the new token: a request refused with 401 asks
//! [`Authenticator::renew`] with the token it used, and gets the token another request
//! already obtained, or a new one; the backend then repeats the request once.
//!
//! - authn: `POST /authn/{account}/{login}/authenticate`, body the API key;
//! - authn-jwt: `POST /authn-jwt/{service_id}/{account}[/{login}]/authenticate`, form body
//!   `jwt=<token file contents>`, the file read again at every authentication.
//!
//! Both with `Accept-Encoding: base64`, so Conjur answers the token base64-encoded, which is
//! what `Authorization: Token token="…"` carries. No credential (API key, JWT, token) reaches
//! a message.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hush_core::{Error, Result, SecretValue};
use hush_rest::{Answer, RestClient, VendorFailure};
use reqwest::header::{ACCEPT_ENCODING, CONTENT_TYPE, HeaderValue};
use tokio::time::Instant;

use crate::error::{Call, call_error};
use crate::mapping::path_segment;

/// How long Conjur's access tokens live.
pub const TOKEN_LIFE: Duration = Duration::from_secs(8 * 60);

/// When hush authenticates again: a token older than this is replaced before it is used.
pub const REFRESH_AFTER: Duration = Duration::from_secs(6 * 60);

/// How hush proves who it is.
pub(crate) enum Method {
    /// authn: a login and its API key.
    ApiKey { login: String, api_key: SecretValue },
    /// authn-jwt: a JWT read from a file at each authentication; `login` names the host when
    /// the JWT does not.
    Jwt { service_id: String, login: String, token_file: PathBuf },
}

impl Method {
    /// Who authenticates, for messages.
    pub(crate) fn identity(&self) -> String {
        match self {
            Method::ApiKey { login, .. } => login.clone(),
            Method::Jwt { service_id, login, .. } if login.is_empty() => format!("the JWT of authn-jwt/{service_id}"),
            Method::Jwt { login, .. } => login.clone(),
        }
    }
}

/// One access token, as sent.
pub(crate) struct AccessToken {
    /// `Token token="<base64>"`, marked sensitive.
    header: HeaderValue,
    /// The base64 text, to redact from Conjur's messages.
    text: SecretValue,
    /// Which authentication it came from.
    generation: u64,
}

impl AccessToken {
    /// The `Authorization` header value.
    pub(crate) fn header(&self) -> HeaderValue {
        self.header.clone()
    }

    /// Conjur's failure `answer` to a call made with this token, as `client` reports it, with
    /// the token replaced by `***` (before the message is cut short, so no part of it stays).
    pub(crate) fn failure(&self, client: &RestClient, answer: &Answer, doing: &str) -> VendorFailure {
        client.failure_redacting(answer, doing, &[&self.text])
    }
}

/// The current token and when it was obtained.
struct Slot {
    token: Option<(Arc<AccessToken>, Instant)>,
    generation: u64,
}

/// The current access token of one backend, and how to get a new one.
pub(crate) struct Authenticator {
    /// `{address}`, without a trailing `/`.
    address: String,
    account: String,
    method: Method,
    refresh_after: Duration,
    /// Held while authenticating: authentications take turns.
    slot: tokio::sync::Mutex<Slot>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("account", &self.account)
            .field("identity", &self.method.identity())
            .field("refresh_after", &self.refresh_after)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator for `account` at `address`; authenticates at the first request.
    pub(crate) fn new(address: &str, account: &str, method: Method) -> Self {
        Self {
            address: address.trim_end_matches('/').to_owned(),
            account: account.to_owned(),
            method,
            refresh_after: REFRESH_AFTER,
            slot: tokio::sync::Mutex::new(Slot { token: None, generation: 0 }),
        }
    }

    /// Authenticate again when the token is older than `after`.
    pub(crate) fn set_refresh_after(&mut self, after: Duration) {
        self.refresh_after = after;
    }

    /// Who authenticates, for messages.
    pub(crate) fn identity(&self) -> String {
        self.method.identity()
    }

    /// A token young enough to use: the current one, or a new one.
    pub(crate) async fn token(&self, client: &RestClient) -> Result<Arc<AccessToken>> {
        let mut slot = self.slot.lock().await;
        if let Some((token, obtained)) = &slot.token
            && obtained.elapsed() < self.refresh_after
        {
            return Ok(Arc::clone(token));
        }
        self.authenticate_locked(client, &mut slot).await
    }

    /// After Conjur refused `refused` (401): the token another request obtained since, or a
    /// new one.
    pub(crate) async fn renew(&self, client: &RestClient, refused: &AccessToken) -> Result<Arc<AccessToken>> {
        let mut slot = self.slot.lock().await;
        if let Some((token, obtained)) = &slot.token
            && token.generation != refused.generation
            && obtained.elapsed() < self.refresh_after
        {
            return Ok(Arc::clone(token));
        }
        self.authenticate_locked(client, &mut slot).await
    }

    /// Authenticates and puts the new token in place; the caller holds the slot.
    async fn authenticate_locked(&self, client: &RestClient, slot: &mut Slot) -> Result<Arc<AccessToken>> {
        slot.token = None;
        let doing = Call::Authenticate.doing(&self.account);
        let account = path_segment(&self.account);
        let (request, jwt) = match &self.method {
            Method::ApiKey { login, api_key } => {
                let url = format!("{}/authn/{account}/{}/authenticate", self.address, path_segment(login));
                let request =
                    client.http().post(url).header(CONTENT_TYPE, "text/plain").body(api_key.expose().to_vec());
                (request, None)
            }
            Method::Jwt { service_id, login, token_file } => {
                let jwt = read_jwt(token_file).await?;
                let host = if login.is_empty() { String::new() } else { format!("/{}", path_segment(login)) };
                let url =
                    format!("{}/authn-jwt/{}/{account}{host}/authenticate", self.address, path_segment(service_id));
                let mut body = b"jwt=".to_vec();
                body.extend(percent_encoding::percent_encode(jwt.expose(), FORM_VALUE).flat_map(str::bytes));
                let request =
                    client.http().post(url).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body);
                (request, Some(jwt))
            }
        };
        let answer = client.send(request.header(ACCEPT_ENCODING, "base64"), &doing).await?;
        if !answer.is_success() {
            let failure = match &jwt {
                Some(jwt) => client.failure_redacting(&answer, &doing, &[jwt]),
                None => client.failure(&answer, &doing),
            };
            return Err(call_error(Call::Authenticate, &self.identity(), &failure));
        }
        let text = token_text(&answer.body).ok_or_else(|| client.unexpected_answer(&doing, "no access token"))?;
        let header = hush_rest::credential::authorization("Token", &SecretValue::new(format!("token=\"{text}\"")))?;
        slot.generation += 1;
        let token =
            Arc::new(AccessToken { header, text: SecretValue::from(text.as_str()), generation: slot.generation });
        slot.token = Some((Arc::clone(&token), Instant::now()));
        Ok(token)
    }
}

/// What is percent-encoded in a form value: everything but `[A-Za-z0-9_.~-]`.
const FORM_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'~').remove(b'-');

/// The JWT in `token_file`, trimmed. `Unavailable` (temporary: the file may be written any
/// moment, as a projected token is) when it cannot be read or is empty.
async fn read_jwt(token_file: &std::path::Path) -> Result<SecretValue> {
    let text = tokio::fs::read_to_string(token_file).await.map_err(|e| {
        Error::unavailable(format!("cannot read the authn_jwt token_file {}: {}", token_file.display(), e.kind()))
            .set_temporary(true)
    })?;
    let jwt = text.trim();
    if jwt.is_empty() {
        return Err(Error::unavailable(format!("the authn_jwt token_file {} is empty", token_file.display()))
            .set_temporary(true));
    }
    Ok(SecretValue::from(jwt))
}

/// The base64 token text of an authentication answer: the body itself (asked with
/// `Accept-Encoding: base64`), or the base64 of a JSON token (a server that ignored it). `None`
/// when it is neither.
fn token_text(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.starts_with('{') {
        return Some(base64::engine::general_purpose::STANDARD.encode(text));
    }
    let is_base64 = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    is_base64.then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_are_base64_or_json() {
        assert_eq!(token_text(b"eyJwcm90ZWN0ZWQiOiJ4In0=\n").as_deref(), Some("eyJwcm90ZWN0ZWQiOiJ4In0="));
        assert_eq!(token_text(br#"{"protected":"x"}"#).as_deref(), Some("eyJwcm90ZWN0ZWQiOiJ4In0="));
        assert_eq!(token_text(b""), None);
        assert_eq!(token_text(b"<html>"), None);
        assert_eq!(token_text(&[0xff]), None);
    }

    #[test]
    fn identities() {
        let api = Method::ApiKey { login: "host/h".into(), api_key: SecretValue::from("k") };
        assert_eq!(api.identity(), "host/h");
        let jwt = Method::Jwt { service_id: "k8s".into(), login: String::new(), token_file: "f".into() };
        assert_eq!(jwt.identity(), "the JWT of authn-jwt/k8s");
    }

    #[tokio::test]
    async fn a_missing_or_empty_jwt_file_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read_jwt(&dir.path().join("nope")).await.unwrap_err();
        assert_eq!((missing.kind(), missing.is_temporary()), (hush_core::ErrorKind::Unavailable, true));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        assert!(read_jwt(&empty).await.unwrap_err().to_string().contains("is empty"));
        let full = dir.path().join("jwt");
        std::fs::write(&full, "a.b.c\n").unwrap();
        assert_eq!(read_jwt(&full).await.unwrap().expose(), b"a.b.c");
    }
}
