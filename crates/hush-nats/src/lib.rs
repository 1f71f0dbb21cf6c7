//! Connecting to NATS: one routine for workers, the CLI and hushd.
//!
//! async-nats does not read a `user:password@` part of the server URL, so it is taken out
//! here and sent as user and password; every message shows the URL with the password
//! replaced by `***`.
//!
//! **Architecture invariant:** knows NATS and hush's config, nothing of the resolver or the
//! worker SDK, so hushd connects the same way as a worker without depending on `hush-client`.

#![deny(missing_docs)]

use std::path::PathBuf;
use std::time::Duration;

use hush_config::NatsConfig;
use hush_core::{Error, ErrorKind, Result};
use percent_encoding::percent_decode_str;

/// TLS settings for the NATS connection.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// CA certificate (PEM) to trust.
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM), for mutual TLS.
    pub cert: Option<PathBuf>,
    /// Client key (PEM), for mutual TLS.
    pub key: Option<PathBuf>,
    /// Require TLS even when the server does not ask for it.
    pub required: bool,
}

/// How to reach NATS.
#[derive(Clone)]
pub struct NatsOptions {
    /// Server URL(s), comma-separated; may carry `user:password@`.
    pub url: String,
    /// NATS user credentials file.
    pub credentials: Option<PathBuf>,
    /// TLS.
    pub tls: Option<TlsOptions>,
    /// How long a request waits for its reply.
    pub request_timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// Connection name shown by NATS monitoring.
    pub connection_name: String,
    /// Inbox prefix for replies (e.g. `_INBOX_acme_worker`), so NATS permissions can let this
    /// user subscribe to its own inboxes only. Default `_INBOX`.
    pub inbox_prefix: Option<String>,
}

impl std::fmt::Debug for NatsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsOptions")
            .field("url", &redact(&self.url))
            .field("credentials", &self.credentials)
            .field("tls", &self.tls)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("connection_name", &self.connection_name)
            .field("inbox_prefix", &self.inbox_prefix)
            .finish()
    }
}

/// `url` with every password replaced by `***`.
pub fn redact(url: &str) -> String {
    url.split(',')
        .map(|one| match url::Url::parse(one.trim()) {
            Ok(mut parsed) if parsed.password().is_some() => {
                let _ = parsed.set_password(Some("***"));
                parsed.to_string()
            }
            _ => one.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The URLs without user and password, and the first user and password found.
fn split_credentials(urls: &str) -> (String, Option<(String, String)>) {
    let mut credentials = None;
    let plain: Vec<String> = urls
        .split(',')
        .map(|one| match url::Url::parse(one.trim()) {
            Ok(mut parsed) if !parsed.username().is_empty() => {
                let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
                let user = decode(parsed.username());
                let pass = decode(parsed.password().unwrap_or(""));
                credentials.get_or_insert((user, pass));
                let _ = parsed.set_username("");
                let _ = parsed.set_password(None);
                parsed.to_string()
            }
            _ => one.trim().to_owned(),
        })
        .collect();
    (plain.join(","), credentials)
}

impl NatsOptions {
    /// Options for `url`: requests wait 10 s, connecting 5 s.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            credentials: None,
            tls: None,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            connection_name: "hush-client".into(),
            inbox_prefix: None,
        }
    }

    /// Options from the `[nats]` section of hush's config.
    pub fn from_config(config: &NatsConfig, connection_name: &str) -> Self {
        Self {
            url: config.url.clone(),
            credentials: config.credentials.clone(),
            tls: config.tls.as_ref().map(|tls| TlsOptions {
                ca: tls.ca.clone(),
                cert: tls.cert.clone(),
                key: tls.key.clone(),
                required: tls.required,
            }),
            request_timeout: config.request_timeout,
            connect_timeout: config.connect_timeout,
            connection_name: connection_name.to_owned(),
            inbox_prefix: config.inbox_prefix.clone(),
        }
    }

    /// Connects; an unreachable server is `Unavailable`, a bad credentials file `ConfigInvalid`.
    pub async fn connect(&self) -> Result<async_nats::Client> {
        let (urls, user_pass) = split_credentials(&self.url);
        let mut connect = async_nats::ConnectOptions::new()
            .name(&self.connection_name)
            .connection_timeout(self.connect_timeout)
            .request_timeout(Some(self.request_timeout));
        if let Some((user, pass)) = user_pass {
            connect = connect.user_and_password(user, pass);
        }
        if let Some(prefix) = &self.inbox_prefix {
            connect = connect.custom_inbox_prefix(prefix.as_str());
        }
        if let Some(path) = &self.credentials {
            connect = connect.credentials_file(path).await.map_err(|e| {
                Error::new(ErrorKind::ConfigInvalid, format!("NATS credentials file {}: {e}", path.display()))
            })?;
        }
        if let Some(tls) = &self.tls {
            if let Some(ca) = &tls.ca {
                connect = connect.add_root_certificates(ca.clone());
            }
            if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
                connect = connect.add_client_certificate(cert.clone(), key.clone());
            }
            connect = connect.require_tls(tls.required);
        }
        let shown = redact(&self.url);
        tokio::time::timeout(self.connect_timeout, connect.connect(urls.as_str()))
            .await
            .map_err(|_| {
                Error::unavailable(format!("NATS at {shown} did not answer within {:?}", self.connect_timeout))
            })?
            .map_err(|e| Error::unavailable(format!("cannot connect to NATS at {shown}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url_and_never_show() {
        let (plain, creds) = split_credentials("nats://worker-acme:p%40ss@127.0.0.1:4222,nats://127.0.0.1:4223");
        assert_eq!(plain, "nats://127.0.0.1:4222,nats://127.0.0.1:4223");
        assert_eq!(creds, Some(("worker-acme".into(), "p@ss".into())));
        assert_eq!(redact("nats://u:secret@h:1"), "nats://u:***@h:1");
        let options = NatsOptions::new("nats://u:secret@h:1");
        assert!(!format!("{options:?}").contains("secret"));
        assert_eq!(split_credentials("nats://127.0.0.1:4222").1, None);
    }
}
