//! A credential from config, else from the environment variable the vendor's own tools read
//! (`DOPPLER_TOKEN`, `PULUMI_ACCESS_TOKEN`, ...), and as a sensitive header value.

use hush_core::{Error, ErrorKind, Result, SecretValue};
use reqwest::header::HeaderValue;

/// `configured` when set, else the trimmed value of `variable` (read with `read`, so tests
/// need not touch the process's environment). `ConfigInvalid` naming the key and the variable
/// (never a value) when neither is set.
pub fn configured_or_variable(
    backend: &str,
    key: &str,
    configured: &str,
    variable: &str,
    read: impl FnOnce(&str) -> Option<String>,
) -> Result<SecretValue> {
    let credential = if configured.is_empty() {
        read(variable).map(|v| v.trim().to_owned()).unwrap_or_default()
    } else {
        configured.to_owned()
    };
    if credential.is_empty() {
        return Err(Error::new(
            ErrorKind::ConfigInvalid,
            format!("backend {backend:?}: {key} is not set and {variable} is empty"),
        ));
    }
    Ok(SecretValue::from(credential.as_str()))
}

/// [`configured_or_variable`] over the process's environment.
pub fn configured_or_env(backend: &str, key: &str, configured: &str, variable: &str) -> Result<SecretValue> {
    configured_or_variable(backend, key, configured, variable, |v| std::env::var(v).ok())
}

/// What is wrong with a configured credential that goes into an HTTP header (spaces or
/// control characters), for `hush config check`; the message never quotes the credential.
pub fn header_problem(credential: &str) -> Option<&'static str> {
    credential.chars().any(|c| c.is_control() || c == ' ').then_some("holds spaces or control characters")
}

/// `<scheme> <credential>` (`Bearer x`, `token x`) as a header value marked sensitive, so
/// reqwest and hyper never print it. `ConfigInvalid` (without the credential) when it holds
/// bytes a header cannot.
pub fn authorization(scheme: &str, credential: &SecretValue) -> Result<HeaderValue> {
    let mut bytes = Vec::with_capacity(scheme.len() + 1 + credential.len());
    bytes.extend_from_slice(scheme.as_bytes());
    bytes.push(b' ');
    bytes.extend_from_slice(credential.expose());
    let value = SecretValue::new(bytes);
    let mut header = HeaderValue::from_bytes(value.expose())
        .map_err(|_| Error::new(ErrorKind::ConfigInvalid, "the credential is not usable in an HTTP header"))?;
    header.set_sensitive(true);
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_first_then_the_variable() {
        let from = |configured: &str, variable: Option<&str>| {
            configured_or_variable("b", "token", configured, "VENDOR_TOKEN", |_| variable.map(str::to_owned))
        };
        assert_eq!(from("a", Some("b")).unwrap().expose(), b"a");
        assert_eq!(from("", Some(" b\n")).unwrap().expose(), b"b");
        for missing in [None, Some(""), Some("  ")] {
            let err = from("", missing).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
            assert!(err.to_string().contains("token is not set and VENDOR_TOKEN is empty"), "{err}");
        }
    }

    #[test]
    fn configured_credentials_fit_a_header() {
        assert_eq!(header_problem("dp.st.abc"), None);
        assert_eq!(header_problem("a SECRET"), Some("holds spaces or control characters"));
        assert_eq!(header_problem("a\n"), Some("holds spaces or control characters"));
    }

    #[test]
    fn headers_are_sensitive_and_checked() {
        let header = authorization("Bearer", &SecretValue::from("abc")).unwrap();
        assert!(header.is_sensitive());
        assert_eq!(header.as_bytes(), b"Bearer abc");
        let err = authorization("Bearer", &SecretValue::from("a\nSECRET")).unwrap_err();
        assert!(!err.to_string().contains("SECRET"));
    }
}
