//! Signing in to Password Safe and keeping the session.
//!
//! Password Safe's public API keeps state in a server-side session: `POST /Auth/SignAppin`
//! with `Authorization: PS-Auth key=<api key>; runas=<user>; [pwd=[<password>];]` (or, with
//! OAuth, `Authorization: Bearer <access token>` from `POST /Auth/connect/token`,
//! `grant_type=client_credentials`) answers with a session cookie (`ASP.NET_SessionId`), which
//! every later call sends; `POST /Auth/Signout` ends it. The workspace's reqwest has no cookie
//! jar, so hush reads the `Set-Cookie` headers of the sign-in answer and sends `Cookie:` itself,
//! marked sensitive.
//!
//! A [`Sessions`] keeps the current session behind a tokio mutex; sign-ins take turns under it,
//! so however many requests find no session, or a refused one, at once, hush signs in once and
//! they all use the new session: a request refused with 401 (the session expired; Password Safe
//! ends idle sessions) asks [`Sessions::renew`] with the session it used and gets the session
//! another request already obtained, or a new one; the backend then repeats the request once.
//! No credential (API key, password, client secret, access token, cookie) reaches a message.

use std::fmt;
use std::sync::Arc;

use hush_core::{Result, SecretValue};
use hush_rest::{Answer, RestClient, VendorFailure};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, SET_COOKIE};

use crate::error::{Call, call_error};

/// How hush proves who it is.
pub(crate) enum Method {
    /// An API registration's key, run as a Password Safe user, with the user's password when
    /// the registration requires it.
    ApiKey { api_key: SecretValue, run_as: String, password: Option<SecretValue> },
    /// OAuth client credentials of an application user.
    OAuth { client_id: String, client_secret: SecretValue },
}

impl Method {
    /// Who signs in, for messages.
    pub(crate) fn identity(&self) -> String {
        match self {
            Method::ApiKey { run_as, .. } => format!("user {run_as}"),
            Method::OAuth { client_id, .. } => format!("OAuth client {client_id}"),
        }
    }
}

/// One signed-in session, as sent.
pub(crate) struct Session {
    /// `Cookie: name=value[; name=value]`, marked sensitive.
    cookie: HeaderValue,
    /// The cookies' values, to redact from Password Safe's messages.
    values: Vec<SecretValue>,
    /// Which sign-in it came from.
    generation: u64,
}

impl Session {
    /// The `Cookie` header value.
    pub(crate) fn cookie(&self) -> HeaderValue {
        self.cookie.clone()
    }

    /// Password Safe's failure `answer` to a call made in this session, as `client` reports it,
    /// with the session's cookie values replaced by `***`.
    pub(crate) fn failure(&self, client: &RestClient, answer: &Answer, doing: &str) -> VendorFailure {
        let values: Vec<&SecretValue> = self.values.iter().collect();
        client.failure_redacting(answer, doing, &values)
    }
}

/// The current session and how many sign-ins there were.
struct Slot {
    session: Option<Arc<Session>>,
    generation: u64,
}

/// The current session of one backend, and how to get a new one.
pub(crate) struct Sessions {
    /// `{address}/BeyondTrust/api/public/v3`.
    api_url: String,
    method: Method,
    /// Held while signing in: sign-ins take turns.
    slot: tokio::sync::Mutex<Slot>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions").field("identity", &self.method.identity()).finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions for `method` at `api_url`; signs in at the first request.
    pub(crate) fn new(api_url: &str, method: Method) -> Self {
        Self {
            api_url: api_url.to_owned(),
            method,
            slot: tokio::sync::Mutex::new(Slot { session: None, generation: 0 }),
        }
    }

    /// Who signs in, for messages.
    pub(crate) fn identity(&self) -> String {
        self.method.identity()
    }

    /// The current session, or a new one.
    pub(crate) async fn session(&self, client: &RestClient) -> Result<Arc<Session>> {
        let mut slot = self.slot.lock().await;
        if let Some(session) = &slot.session {
            return Ok(Arc::clone(session));
        }
        self.sign_in_locked(client, &mut slot).await
    }

    /// After Password Safe refused `refused` (401): the session another request obtained
    /// since, or a new one.
    pub(crate) async fn renew(&self, client: &RestClient, refused: &Session) -> Result<Arc<Session>> {
        let mut slot = self.slot.lock().await;
        if let Some(session) = &slot.session
            && session.generation != refused.generation
        {
            return Ok(Arc::clone(session));
        }
        self.sign_in_locked(client, &mut slot).await
    }

    /// Takes the current session away without waiting (for a sign-out while dropping): `None`
    /// when there is none or a sign-in is under way.
    pub(crate) fn take_now(&self) -> Option<Arc<Session>> {
        self.slot.try_lock().ok().and_then(|mut slot| slot.session.take())
    }

    /// Takes the current session away (for a sign-out).
    pub(crate) async fn take(&self) -> Option<Arc<Session>> {
        self.slot.lock().await.session.take()
    }

    /// `POST /Auth/Signout` for `session`, as built by `client`.
    pub(crate) fn sign_out_request(&self, client: &RestClient, session: &Session) -> reqwest::RequestBuilder {
        client.http().post(format!("{}/Auth/Signout", self.api_url)).header(reqwest::header::COOKIE, session.cookie())
    }

    /// Signs in and puts the new session in place; the caller holds the slot.
    async fn sign_in_locked(&self, client: &RestClient, slot: &mut Slot) -> Result<Arc<Session>> {
        slot.session = None;
        let doing = Call::SignIn.doing("");
        let identity = self.identity();
        let sign_in = client.http().post(format!("{}/Auth/SignAppin", self.api_url));
        let (request, token) = match &self.method {
            Method::ApiKey { api_key, run_as, password } => {
                let mut credential = b"key=".to_vec();
                credential.extend_from_slice(api_key.expose());
                credential.extend_from_slice(b"; runas=");
                credential.extend_from_slice(run_as.as_bytes());
                credential.push(b';');
                if let Some(password) = password {
                    credential.extend_from_slice(b" pwd=[");
                    credential.extend_from_slice(password.expose());
                    credential.extend_from_slice(b"];");
                }
                let header = hush_rest::credential::authorization("PS-Auth", &SecretValue::new(credential))?;
                (sign_in.header(AUTHORIZATION, header), None)
            }
            Method::OAuth { client_id, client_secret } => {
                let token = self.access_token(client, client_id, client_secret, &identity).await?;
                let header = hush_rest::credential::authorization("Bearer", &token)?;
                (sign_in.header(AUTHORIZATION, header), Some(token))
            }
        };
        let answer = client.send(request, &doing).await?;
        if !answer.is_success() {
            let also: Vec<&SecretValue> = token.iter().collect();
            return Err(call_error(Call::SignIn, &identity, &client.failure_redacting(&answer, &doing, &also)));
        }
        let (cookie, values) =
            session_cookie(&answer).ok_or_else(|| client.unexpected_answer(&doing, "no session cookie"))?;
        slot.generation += 1;
        let session = Arc::new(Session { cookie, values, generation: slot.generation });
        slot.session = Some(Arc::clone(&session));
        Ok(session)
    }

    /// `POST /Auth/connect/token` (`client_credentials`): the access token.
    async fn access_token(
        &self,
        client: &RestClient,
        client_id: &str,
        client_secret: &SecretValue,
        identity: &str,
    ) -> Result<SecretValue> {
        let doing = Call::SignIn.doing("");
        let mut body = b"client_id=".to_vec();
        body.extend(form_value(client_id.as_bytes()).bytes());
        body.extend_from_slice(b"&client_secret=");
        body.extend(form_value(client_secret.expose()).bytes());
        body.extend_from_slice(b"&grant_type=client_credentials");
        let request = client
            .http()
            .post(format!("{}/Auth/connect/token", self.api_url))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        let answer = client.send(request, &doing).await?;
        if !answer.is_success() {
            let failure = client.failure(&answer, &doing);
            return Err(call_error(Call::SignIn, identity, &failure));
        }
        answer
            .json()
            .and_then(|json| json.get("access_token").and_then(|t| t.as_str()).map(SecretValue::from))
            .filter(|token| !token.is_empty())
            .ok_or_else(|| client.unexpected_answer(&doing, "no access_token"))
    }
}

/// What is percent-encoded in a form value: everything but `[A-Za-z0-9_.~-]`.
const FORM_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'~').remove(b'-');

/// `bytes` as a form value.
fn form_value(bytes: &[u8]) -> String {
    percent_encoding::percent_encode(bytes, FORM_VALUE).to_string()
}

/// The `Cookie` header for the cookies a sign-in answer set (`name=value` of each
/// `Set-Cookie`, joined by `; `), marked sensitive, with the cookies' values; `None` when it
/// set none.
fn session_cookie(answer: &Answer) -> Option<(HeaderValue, Vec<SecretValue>)> {
    let mut pairs = Vec::new();
    let mut values = Vec::new();
    for set_cookie in answer.headers.get_all(SET_COOKIE) {
        let Some(pair) = set_cookie.as_bytes().split(|&b| b == b';').next() else { continue };
        let pair = pair.trim_ascii();
        let Some(equals) = pair.iter().position(|&b| b == b'=') else { continue };
        let value = pair[equals + 1..].trim_ascii();
        if equals == 0 || value.is_empty() {
            continue;
        }
        pairs.push(pair.to_vec());
        values.push(SecretValue::new(value.to_vec()));
    }
    if pairs.is_empty() {
        return None;
    }
    let mut header = HeaderValue::from_bytes(&pairs.join(&b"; "[..])).ok()?;
    header.set_sensitive(true);
    Some((header, values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn answer(cookies: &[&str]) -> Answer {
        let mut headers = HeaderMap::new();
        for cookie in cookies {
            headers.append(SET_COOKIE, HeaderValue::from_str(cookie).unwrap());
        }
        Answer { status: 200, headers, body: Vec::new() }
    }

    #[test]
    fn session_cookies_are_read_from_set_cookie() {
        let (header, values) = session_cookie(&answer(&[
            "ASP.NET_SessionId=abc123SECRET; path=/; secure; HttpOnly; SameSite=Lax",
            "BIGipServer=pool1; path=/",
        ]))
        .unwrap();
        assert_eq!(header.as_bytes(), b"ASP.NET_SessionId=abc123SECRET; BIGipServer=pool1");
        assert!(header.is_sensitive());
        assert_eq!(values.iter().map(SecretValue::expose).collect::<Vec<_>>(), [&b"abc123SECRET"[..], b"pool1"]);
        assert!(session_cookie(&answer(&[])).is_none());
        assert!(session_cookie(&answer(&["=x", "empty=; path=/"])).is_none());
    }

    #[test]
    fn identities_and_form_values() {
        let api = Method::ApiKey { api_key: SecretValue::from("k"), run_as: "svc".into(), password: None };
        assert_eq!(api.identity(), "user svc");
        let oauth = Method::OAuth { client_id: "c1".into(), client_secret: SecretValue::from("s") };
        assert_eq!(oauth.identity(), "OAuth client c1");
        assert_eq!(form_value(b"a b+c/=~"), "a%20b%2Bc%2F%3D~");
    }
}
