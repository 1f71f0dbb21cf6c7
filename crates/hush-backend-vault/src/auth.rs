//! Logging in to Vault, keeping the token alive, and logging in again when it is gone.
//!
//! An [`Authenticator`] holds the current [`Session`] (a client carrying the token) behind
//! a lock that is only held to clone an `Arc`, so requests never wait for a login. Logins
//! and renewals take turns under one async mutex, so however many requests notice a revoked
//! token at once, hush logs in once.
//!
//! - At start: the `token` method looks its token up (`auth/token/lookup-self`); every other
//!   method logs in.
//! - Before the TTL runs out (at two thirds of it): a renewable token is renewed
//!   (`auth/token/renew-self`); a token that cannot be renewed, or whose renewals are being
//!   cut short by its max TTL, is replaced by a fresh login. A failed attempt is tried again
//!   after 1 s, 2 s, 4 s ... (at most 30 s).
//! - When a request is denied (403) with a token that may have been revoked or may have
//!   expired: hush looks the token up; if Vault no longer knows it, hush logs in again and
//!   repeats the request once with the new token. Requests in flight finish with the token
//!   they started with, or are repeated with the new one.
//!
//! Credentials (tokens, passwords, secret ids, service-account tokens) never reach a log
//! line or an error message.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use hush_core::{DEFAULT_CALL_TIMEOUT, Error, ErrorKind, Result};
use tokio::time::Instant;
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;

use crate::config::{AuthConfig, VaultConfig};
use crate::error::{is_permission_denied, parse_error};

/// A denied request is checked against the token at most this often: more denials within
/// this time are taken as the policy's answer.
const VERIFY_EVERY: Duration = Duration::from_secs(2);
/// Longest wait between two attempts to renew or log in after a failure.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);
/// How often the keep-alive task looks again when the token needs nothing.
const IDLE_CHECK: Duration = Duration::from_secs(60);

/// How to reach the server: everything of the client but the token.
pub(crate) struct Connection {
    address: String,
    namespace: Option<String>,
    ca_file: Option<PathBuf>,
    skip_verify: bool,
    request_timeout: Duration,
}

impl Connection {
    pub(crate) fn from_config(config: &VaultConfig) -> Self {
        Self {
            address: config.address.clone(),
            namespace: config.namespace.clone(),
            ca_file: config.tls.ca_file.clone(),
            skip_verify: config.tls.skip_verify,
            request_timeout: config.request_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT),
        }
    }

    /// A client sending `token` (none when empty). Every setting is given explicitly, so
    /// `VAULT_*` environment variables of the process are not picked up behind config's back.
    pub(crate) fn client(&self, token: &str) -> Result<VaultClient> {
        let mut builder = VaultClientSettingsBuilder::default();
        builder
            .address(&self.address)
            .token(token)
            .timeout(Some(self.request_timeout))
            .verify(!self.skip_verify)
            .ca_certs(self.ca_file.iter().map(|p| p.display().to_string()).collect::<Vec<_>>())
            .identity(None)
            .namespace(self.namespace.clone());
        let settings = builder
            .build()
            .map_err(|e| Error::new(ErrorKind::ConfigInvalid, format!("invalid Vault client settings: {e}")))?;
        VaultClient::new(settings).map_err(|e| parse_error(&e))
    }
}

/// A client with the current token, and which login it came from.
pub(crate) struct Session {
    /// The client, carrying the token.
    pub(crate) client: VaultClient,
    /// Bumped by every login, so a request knows whether the token changed since it started.
    generation: u64,
}

/// What is known of the current token's lease, and when to look after it next.
#[derive(Debug)]
struct Lease {
    /// Time to live when last logged in or renewed; zero for a token that never expires.
    ttl: Duration,
    renewable: bool,
    /// The TTL the last login gave: renewals well short of it mean the max TTL is near.
    login_ttl: Duration,
    /// When to renew or log in next; `None` when there is nothing to do.
    next_refresh: Option<Instant>,
    /// Failed attempts in a row, for the retry delay.
    failures: u32,
    /// When a denied request last found the token valid.
    verified_at: Option<Instant>,
}

impl Lease {
    fn new(ttl: Duration, renewable: bool) -> Self {
        let mut lease = Self { ttl, renewable, login_ttl: ttl, next_refresh: None, failures: 0, verified_at: None };
        lease.schedule();
        lease
    }

    fn renewed(&mut self, ttl: Duration, renewable: bool) {
        self.ttl = ttl;
        self.renewable = renewable;
        self.failures = 0;
        self.schedule();
    }

    /// The next refresh at two thirds of the TTL; none for a token that never expires.
    fn schedule(&mut self) {
        self.next_refresh = (!self.ttl.is_zero()).then(|| Instant::now() + self.ttl * 2 / 3);
    }

    fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
        let delay = Duration::from_secs(1u64 << self.failures.min(6).saturating_sub(1)).min(MAX_RETRY_DELAY);
        self.next_refresh = Some(Instant::now() + delay);
    }
}

/// The current token of one backend, and how to get a new one.
pub(crate) struct Authenticator {
    backend: String,
    connection: Connection,
    method: AuthConfig,
    session: RwLock<Arc<Session>>,
    /// Held while logging in or renewing: they take turns.
    lease: tokio::sync::Mutex<Lease>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("backend", &self.backend)
            .field("method", &self.method.method())
            .field("generation", &self.session().generation)
            .finish()
    }
}

impl Authenticator {
    /// Logs in (or looks the configured token up) and returns the authenticator.
    pub(crate) async fn start(backend: &str, connection: Connection, method: AuthConfig) -> Result<Arc<Self>> {
        let (client, lease) = match &method {
            AuthConfig::Token { token } => {
                let client = connection.client(token)?;
                let info = vaultrs::token::lookup_self(&client).await.map_err(|e| {
                    parse_error(&e).with_context("operation", "token lookup").with_context("method", "token")
                })?;
                (client, Lease::new(Duration::from_secs(info.ttl), info.renewable.unwrap_or(false)))
            }
            _ => {
                let (token, lease) = log_in(&connection, &method).await?;
                (connection.client(&token)?, lease)
            }
        };
        tracing::debug!(backend, method = method.method(), ttl = ?lease.ttl, renewable = lease.renewable, "authenticated to Vault");
        Ok(Arc::new(Self {
            backend: backend.to_owned(),
            connection,
            method,
            session: RwLock::new(Arc::new(Session { client, generation: 0 })),
            lease: tokio::sync::Mutex::new(lease),
        }))
    }

    /// The current session.
    pub(crate) fn session(&self) -> Arc<Session> {
        Arc::clone(&self.session.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Runs `request` with the current session; when Vault denies it and the token turns
    /// out to be revoked or expired, logs in again and runs it once more.
    pub(crate) async fn call<T, F, Fut>(&self, request: F) -> Result<T>
    where
        F: Fn(Arc<Session>) -> Fut,
        Fut: Future<Output = std::result::Result<T, ClientError>>,
    {
        let session = self.session();
        let generation = session.generation;
        match request(session).await {
            Err(e) if is_permission_denied(&e) && self.method.can_log_in() => {
                if self.recover(generation).await? {
                    request(self.session()).await.map_err(|e| parse_error(&e))
                } else {
                    Err(parse_error(&e))
                }
            }
            other => other.map_err(|e| parse_error(&e)),
        }
    }

    /// After a denial with the token of `seen`: whether a new token is in place (someone
    /// else logged in meanwhile, or this call did because the token is gone).
    async fn recover(&self, seen: u64) -> Result<bool> {
        let mut lease = self.lease.lock().await;
        let current = self.session();
        if current.generation != seen {
            return Ok(true);
        }
        if lease.verified_at.is_some_and(|at| at.elapsed() < VERIFY_EVERY) {
            return Ok(false);
        }
        match vaultrs::token::lookup_self(&current.client).await {
            Ok(_) => {
                lease.verified_at = Some(Instant::now());
                Ok(false)
            }
            Err(e) if is_permission_denied(&e) => {
                tracing::info!(backend = %self.backend, "the Vault token was revoked or expired: logging in again");
                self.log_in_locked(&mut lease).await?;
                Ok(true)
            }
            Err(e) => Err(parse_error(&e).with_context("operation", "token lookup")),
        }
    }

    /// Logs in and puts the new token in place; the caller holds the lease lock.
    async fn log_in_locked(&self, lease: &mut Lease) -> Result<()> {
        let (token, fresh) = log_in(&self.connection, &self.method).await?;
        let client = self.connection.client(&token)?;
        {
            let mut slot = self.session.write().unwrap_or_else(|e| e.into_inner());
            let generation = slot.generation + 1;
            *slot = Arc::new(Session { client, generation });
        }
        *lease = fresh;
        tracing::debug!(backend = %self.backend, ttl = ?lease.ttl, "logged in to Vault");
        Ok(())
    }

    /// Renews the token or logs in again, if it is time to.
    async fn refresh_if_due(&self) {
        let mut lease = self.lease.lock().await;
        if lease.next_refresh.is_none_or(|due| due > Instant::now()) {
            return;
        }
        let can_log_in = self.method.can_log_in();
        if lease.renewable {
            let session = self.session();
            match vaultrs::token::renew_self(&session.client, None).await {
                Ok(info) => {
                    let ttl = Duration::from_secs(info.lease_duration);
                    if !(can_log_in && ttl < lease.login_ttl / 2) {
                        lease.renewed(ttl, info.renewable);
                        tracing::debug!(backend = %self.backend, ?ttl, "renewed the Vault token");
                        return;
                    }
                    tracing::debug!(backend = %self.backend, ?ttl, "the Vault token nears its max TTL: logging in again");
                }
                Err(e) if !can_log_in => {
                    lease.failed();
                    tracing::warn!(backend = %self.backend, error = %parse_error(&e), "cannot renew the Vault token");
                    return;
                }
                Err(e) => {
                    tracing::debug!(backend = %self.backend, error = %parse_error(&e), "cannot renew the Vault token: logging in again");
                }
            }
        } else if !can_log_in {
            tracing::warn!(
                backend = %self.backend,
                ttl = ?lease.ttl,
                "the configured Vault token cannot be renewed: it expires at the end of its TTL"
            );
            lease.next_refresh = None;
            return;
        }
        if let Err(e) = self.log_in_locked(&mut lease).await {
            lease.failed();
            tracing::warn!(backend = %self.backend, error = %e, "cannot log in to Vault again; will retry");
        }
    }
}

/// Keeps the token of `auth` alive until the backend is dropped.
pub(crate) async fn keep_alive(auth: Weak<Authenticator>) {
    loop {
        let due = match auth.upgrade() {
            Some(auth) => auth.lease.lock().await.next_refresh,
            None => return,
        };
        tokio::time::sleep_until(due.unwrap_or_else(|| Instant::now() + IDLE_CHECK)).await;
        match auth.upgrade() {
            Some(auth) => auth.refresh_if_due().await,
            None => return,
        }
    }
}

/// Logs in with `method`, returning the token and its lease.
async fn log_in(connection: &Connection, method: &AuthConfig) -> Result<(String, Lease)> {
    let anonymous = connection.client("")?;
    let answer = match method {
        AuthConfig::Token { .. } => {
            return Err(Error::new(ErrorKind::Internal, "the token method cannot log in"));
        }
        AuthConfig::Userpass { username, password, mount } => {
            vaultrs::auth::userpass::login(&anonymous, mount, username, password).await
        }
        AuthConfig::Approle { role_id, secret_id, mount } => {
            vaultrs::auth::approle::login(&anonymous, mount, role_id, secret_id).await
        }
        AuthConfig::Kubernetes { role, mount, jwt_file } => {
            let jwt = read_jwt(jwt_file).await?;
            vaultrs::auth::kubernetes::login(&anonymous, mount, role, &jwt).await
        }
    };
    let info = answer.map_err(|e| {
        let err = parse_error(&e);
        // Vault answers a refused login with 400 ("invalid username or password"): to hush
        // that is the backend refusing its credentials.
        let err = if err.kind() == ErrorKind::InvalidInput {
            Error::new(
                ErrorKind::PermissionDenied,
                err.message().replacen("refused the request", "refused the login", 1),
            )
        } else {
            err
        };
        err.with_context("operation", "login").with_context("method", method.method())
    })?;
    let lease = Lease::new(Duration::from_secs(info.lease_duration), info.renewable);
    Ok((info.client_token, lease))
}

/// The service-account token, read afresh at every login (Kubernetes rotates it).
async fn read_jwt(file: &Path) -> Result<String> {
    let text = tokio::fs::read_to_string(file).await.map_err(|e| {
        Error::new(
            ErrorKind::ConfigInvalid,
            format!("cannot read the service-account token file {}: {}", file.display(), e.kind()),
        )
        .with_context("method", "kubernetes")
    })?;
    let jwt = text.trim();
    if jwt.is_empty() || !jwt.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::new(
            ErrorKind::ConfigInvalid,
            format!("the service-account token file {} holds no token", file.display()),
        )
        .with_context("method", "kubernetes"));
    }
    Ok(jwt.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_at_two_thirds_and_backs_off() {
        let lease = Lease::new(Duration::from_secs(30), true);
        let due = lease.next_refresh.unwrap() - Instant::now();
        assert!(due <= Duration::from_secs(20) && due > Duration::from_secs(19), "{due:?}");
        assert!(Lease::new(Duration::ZERO, false).next_refresh.is_none());
        let mut lease = Lease::new(Duration::from_secs(3), true);
        let delays: Vec<u64> = (0..8)
            .map(|_| {
                lease.failed();
                (lease.next_refresh.unwrap() - Instant::now()).as_secs_f64().round() as u64
            })
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[tokio::test]
    async fn unreadable_token_files_name_the_file_not_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let err = read_jwt(&missing).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
        assert!(err.to_string().contains("missing"), "{err}");
        let blank = dir.path().join("blank");
        std::fs::write(&blank, " \n").unwrap();
        assert_eq!(read_jwt(&blank).await.unwrap_err().kind(), ErrorKind::ConfigInvalid);
        let good = dir.path().join("token");
        std::fs::write(&good, "eyJ.payload.sig\n").unwrap();
        assert_eq!(read_jwt(&good).await.unwrap(), "eyJ.payload.sig");
    }
}
