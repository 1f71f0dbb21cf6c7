//! [`RestClient`]: the reqwest client every REST backend builds the same way, and
//! [`Answer`], what one request brought back.

use std::fmt;
use std::time::Duration;

use hush_core::{Error, ErrorKind, Result, SecretValue, TlsConfig};
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::failure::{VendorFailure, transport_error, vendor_message};

/// Longest connect timeout, however long the request timeout is.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A vendor's REST API as a backend calls it: one reqwest client (the request timeout, no
/// redirects, hush's user agent, the TLS trust settings) and the credentials that must never
/// appear in an error.
pub struct RestClient {
    http: reqwest::Client,
    vendor: &'static str,
    credentials: Vec<SecretValue>,
}

/// What one request brought back: any status, its headers and its whole body.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The answer's headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON, or `None` when it is not JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The text of header `name`, when present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Reads the PEM bundle at `ca_file`: its certificates, at least one.
fn root_certificates(ca_file: &std::path::Path) -> Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(ca_file).map_err(|e| {
        Error::new(ErrorKind::ConfigInvalid, format!("cannot read tls.ca_file {}: {e}", ca_file.display()))
    })?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certificates) if !certificates.is_empty() => Ok(certificates),
        _ => Err(Error::new(
            ErrorKind::ConfigInvalid,
            format!("tls.ca_file {} holds no PEM certificate", ca_file.display()),
        )),
    }
}

impl RestClient {
    /// A client for `vendor` (its name as messages say it: "Doppler") whose requests end after
    /// `timeout`, trusting what `tls` says besides the system's roots.
    ///
    /// Fails with `ConfigInvalid` when `tls.ca_file` cannot be read or holds no certificate.
    pub fn new(vendor: &'static str, timeout: Duration, tls: &TlsConfig) -> Result<Self> {
        Self::trusting(vendor, timeout, tls, &[])
    }

    /// [`new`](Self::new), also trusting the CA certificates of the PEM bundle `extra_pem`
    /// (e.g. a kubeconfig's inline `certificate-authority-data`); nothing more when empty.
    ///
    /// Fails with `ConfigInvalid` as [`new`](Self::new) does, or when `extra_pem` is not empty
    /// and holds no PEM certificate.
    pub fn trusting(vendor: &'static str, timeout: Duration, tls: &TlsConfig, extra_pem: &[u8]) -> Result<Self> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
            // A redirect could carry a credential elsewhere; no vendor API needs one.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hush/", env!("CARGO_PKG_VERSION")));
        if let Some(ca_file) = &tls.ca_file {
            for certificate in root_certificates(ca_file)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if !extra_pem.is_empty() {
            match reqwest::Certificate::from_pem_bundle(extra_pem) {
                Ok(certificates) if !certificates.is_empty() => {
                    for certificate in certificates {
                        builder = builder.add_root_certificate(certificate);
                    }
                }
                _ => {
                    return Err(Error::new(
                        ErrorKind::ConfigInvalid,
                        "the CA certificate data holds no PEM certificate",
                    ));
                }
            }
        }
        if tls.skip_verify {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder
            .build()
            .map_err(|e| Error::new(ErrorKind::ConfigInvalid, format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { http, vendor, credentials: Vec::new() })
    }

    /// The same client, replacing `credential` by `***` wherever a vendor's message repeats it.
    pub fn redacting(mut self, credential: &SecretValue) -> Self {
        if !credential.expose().is_empty() {
            self.credentials.push(credential.clone());
        }
        self
    }

    /// Adds `credential` to what is redacted (a token obtained at run time).
    pub fn redact(&mut self, credential: &SecretValue) {
        if !credential.expose().is_empty() && !self.credentials.iter().any(|c| c.expose() == credential.expose()) {
            self.credentials.push(credential.clone());
        }
    }

    /// The reqwest client, to build requests with.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The vendor's name, as messages say it.
    pub fn vendor(&self) -> &'static str {
        self.vendor
    }

    /// Sends `request`; its answer whatever the status, or `Unavailable` (temporary) when no
    /// answer came (connect failure, timeout, broken body). `doing` says what the request was
    /// for ("reading a secret of config p/c").
    pub async fn send(&self, request: reqwest::RequestBuilder, doing: &str) -> Result<Answer> {
        let response = request.send().await.map_err(|e| transport_error(self.vendor, doing, &e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| transport_error(self.vendor, doing, &e))?;
        Ok(Answer { status, headers, body: body.to_vec() })
    }

    /// [`send`](Self::send), with any answer but a 2xx as the usual error
    /// ([`VendorFailure::error`]).
    pub async fn send_expecting_success(&self, request: reqwest::RequestBuilder, doing: &str) -> Result<Answer> {
        let answer = self.send(request, doing).await?;
        if answer.is_success() { Ok(answer) } else { Err(self.failure(&answer, doing).error()) }
    }

    /// The failure `answer` (not a 2xx) stands for, with the vendor's message redacted.
    pub fn failure(&self, answer: &Answer, doing: &str) -> VendorFailure {
        self.failure_redacting(answer, doing, &[])
    }

    /// [`failure`](Self::failure), redacting `also` besides the client's credentials: a token
    /// obtained at run time, which changes while the client is shared.
    pub fn failure_redacting(&self, answer: &Answer, doing: &str, also: &[&SecretValue]) -> VendorFailure {
        let credentials: Vec<&[u8]> =
            self.credentials.iter().chain(also.iter().copied()).map(SecretValue::expose).collect();
        VendorFailure {
            vendor: self.vendor,
            status: answer.status,
            doing: doing.to_owned(),
            said: vendor_message(&answer.body, &credentials),
        }
    }

    /// The error for an answer the vendor should not give (not JSON, a field missing):
    /// unavailable, temporary; `what` says what came ("no JSON").
    pub fn unexpected_answer(&self, doing: &str, what: &str) -> Error {
        Error::unavailable(format!("{} answered {doing} with {what}", self.vendor)).set_temporary(true)
    }
}

impl fmt::Debug for RestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestClient")
            .field("vendor", &self.vendor)
            .field("credentials", &format_args!("{} redacted", self.credentials.len()))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_pem_that_holds_no_certificate_is_refused() {
        let err =
            RestClient::trusting("V", Duration::from_secs(1), &TlsConfig::default(), b"not a certificate").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
        assert!(err.to_string().contains("holds no PEM certificate"), "{err}");
    }
}
