//! What the External Secrets Operator's webhook provider sends and how it reads the answers,
//! replayed from its source (`providers/v1/webhook` of external-secrets/external-secrets,
//! 2026-08): `GetSecret`, `GetSecretMap`, `SecretExists`, `PushSecret` and `DeleteSecret`.
//!
//! - The URL template is expanded with the remote ref's fields passed through Go's
//!   `url.QueryEscape`; headers and body with the raw fields; store `secrets` (Kubernetes
//!   Secrets labelled `external-secrets.io/type: webhook`) are template data under their
//!   `name`. `DeleteSecret` expands URL and headers with `remoteRef.remoteKey` only, without
//!   the store's secrets.
//! - Method: the store's, else GET to read and POST to push; DELETE to delete.
//! - 404 → `NoSecretError` (the ExternalSecret's deletion policy applies; a delete counts it
//!   as done); other non-2xx → an error naming the status.
//! - `result.jsonPath` applied to the JSON answer; `GetSecret` then turns the match into
//!   bytes as `extractSecretData` does; `GetSecretMap` parses a string match as JSON and
//!   requires an object.
//! - Push body: the store's `body`, else the raw value.
//!
//! Go's `text/template` is replayed for what the stores here use: `{{ .a.b }}` and
//! `{{ index .a .b.c }}`; a missing map key expands to "" (the maps are
//! `map[string]map[string]string`), and a field name that is not a Go identifier is a
//! template error, as in Go.

use std::collections::BTreeMap;

/// Template data: `remoteRef` and each store secret by name.
pub type Data = BTreeMap<String, BTreeMap<String, String>>;

/// A SecretStore's `spec.provider.webhook`.
#[derive(Clone)]
pub struct WebhookStore {
    pub url: String,
    pub method: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub json_path: String,
    /// `secrets:` by name: the data of the Kubernetes Secret each refers to.
    pub secrets: BTreeMap<String, BTreeMap<String, String>>,
    pub http: reqwest::Client,
}

/// How ESO's webhook provider fails.
#[derive(Debug, PartialEq)]
pub enum EsoError {
    /// `esv1.NoSecretError`: the endpoint answered 404.
    NoSecret,
    /// "endpoint gave error <status>" (or "delete endpoint gave error <status>").
    Endpoint(u16),
    /// Anything else (template, JSON, transport), with ESO's message.
    Other(String),
}

impl WebhookStore {
    fn data(&self, remote_ref: &[(&str, &str)], escape: bool, with_secrets: bool) -> Data {
        let mut data = Data::new();
        let fields = remote_ref
            .iter()
            .map(|(k, v)| ((*k).to_owned(), if escape { query_escape(v) } else { (*v).to_owned() }))
            .collect();
        data.insert("remoteRef".to_owned(), fields);
        if with_secrets {
            for (name, secret) in &self.secrets {
                data.insert(name.clone(), secret.clone());
            }
        }
        data
    }

    async fn execute(
        &self,
        method: &str,
        url: String,
        body: Vec<u8>,
        header_data: &Data,
    ) -> Result<Vec<u8>, (u16, String)> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, url).body(body);
        for (name, value) in &self.headers {
            let value = expand(value, header_data).map_err(|e| (0, format!("failed to parse header {name}: {e}")))?;
            request = request.header(name, value);
        }
        let answer = request.send().await.map_err(|e| (0, format!("failed to call endpoint: {e}")))?;
        let status = answer.status().as_u16();
        let bytes = answer.bytes().await.map_err(|e| (0, e.to_string()))?.to_vec();
        if (200..300).contains(&status) { Ok(bytes) } else { Err((status, String::new())) }
    }

    /// `GetWebhookData`: the answer's body for an ExternalSecret's `remoteRef`.
    async fn webhook_data(&self, key: &str, version: &str, property: &str) -> Result<Vec<u8>, EsoError> {
        let fields = [("key", key), ("version", version), ("property", property), ("namespace", "default")];
        let escaped = self.data(&fields, true, true);
        let raw = self.data(&fields, false, true);
        let url = expand(&self.url, &escaped).map_err(|e| EsoError::Other(format!("failed to parse url: {e}")))?;
        let body = expand(&self.body, &raw).map_err(|e| EsoError::Other(format!("failed to parse body: {e}")))?;
        let method = self.method.clone().unwrap_or_else(|| "GET".to_owned());
        self.execute(&method, url, body.into_bytes(), &raw).await.map_err(|(status, message)| match status {
            404 => EsoError::NoSecret,
            0 => EsoError::Other(message),
            status => EsoError::Endpoint(status),
        })
    }

    /// `GetSecret`: one value for `remoteRef.key` (+ version, property).
    pub async fn get_secret(&self, key: &str, version: &str, property: &str) -> Result<Vec<u8>, EsoError> {
        let answer = self.webhook_data(key, version, property).await?;
        let raw = self.data(&[("key", key), ("version", version), ("property", property)], false, true);
        let path = expand(&self.json_path, &raw).map_err(EsoError::Other)?;
        if path.is_empty() {
            return Ok(answer);
        }
        let json: serde_json::Value = serde_json::from_slice(&answer)
            .map_err(|e| EsoError::Other(format!("failed to parse response json: {e}")))?;
        extract_secret_data(json_path(&path, &json)?)
    }

    /// `GetSecretMap` (`dataFrom.extract`): the answer at `result.jsonPath` as a map.
    pub async fn get_secret_map(&self, key: &str) -> Result<BTreeMap<String, Vec<u8>>, EsoError> {
        let answer = self.webhook_data(key, "", "").await?;
        let json: serde_json::Value = serde_json::from_slice(&answer)
            .map_err(|e| EsoError::Other(format!("failed to parse response json: {e}")))?;
        let raw = self.data(&[("key", key), ("version", ""), ("property", "")], false, true);
        let path = expand(&self.json_path, &raw).map_err(EsoError::Other)?;
        let mut found = if path.is_empty() { json } else { json_path(&path, &json)?.clone() };
        if let serde_json::Value::String(text) = &found {
            found = serde_json::from_str(text)
                .map_err(|e| EsoError::Other(format!("failed to parse response json from jsonpath: {e}")))?;
        }
        let serde_json::Value::Object(map) = found else {
            return Err(EsoError::Other("failed to get response (wrong type)".to_owned()));
        };
        Ok(map
            .into_iter()
            .map(|(k, v)| {
                let bytes = match v {
                    serde_json::Value::String(s) => s.into_bytes(),
                    other => other.to_string().into_bytes(),
                };
                (k, bytes)
            })
            .collect())
    }

    /// `SecretExists`: a read of `remoteKey`; 404 means no.
    pub async fn secret_exists(&self, remote_key: &str) -> Result<bool, EsoError> {
        match self.webhook_data(remote_key, "", "").await {
            Ok(_) => Ok(true),
            Err(EsoError::NoSecret) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `PushSecret` / `PushWebhookData`: `value` (one key of the Kubernetes Secret, or the
    /// whole Secret JSON-encoded) to `remoteKey`.
    pub async fn push_secret(&self, remote_key: &str, secret_key: &str, value: &[u8]) -> Result<(), EsoError> {
        if remote_key.is_empty() {
            return Err(EsoError::Other("remote key must be defined".to_owned()));
        }
        let text = String::from_utf8_lossy(value).into_owned();
        let mut fields = vec![("remoteKey", remote_key)];
        if !secret_key.is_empty() {
            fields.push(("secretKey", secret_key));
        }
        let mut escaped = self.data(&fields, true, true);
        escaped.get_mut("remoteRef").unwrap().insert(remote_key.to_owned(), query_escape(&text));
        let mut raw = self.data(&fields, false, true);
        raw.get_mut("remoteRef").unwrap().insert(remote_key.to_owned(), text);
        let url = expand(&self.url, &escaped).map_err(|e| EsoError::Other(format!("failed to parse url: {e}")))?;
        let body_template =
            if self.body.is_empty() { format!("{{{{ .remoteRef.{remote_key} }}}}") } else { self.body.clone() };
        let body = expand(&body_template, &raw).map_err(|e| EsoError::Other(format!("failed to parse body: {e}")))?;
        let method = self.method.clone().unwrap_or_else(|| "POST".to_owned());
        self.execute(&method, url, body.into_bytes(), &raw).await.map(|_| ()).map_err(
            |(status, message)| match status {
                404 => EsoError::NoSecret,
                0 => EsoError::Other(message),
                status => EsoError::Endpoint(status),
            },
        )
    }

    /// `DeleteSecret`: DELETE on the URL expanded with `remoteKey` alone (unescaped), headers
    /// expanded with the same data: the store's `secrets` are not template data here.
    pub async fn delete_secret(&self, remote_key: &str) -> Result<(), EsoError> {
        let data = self.data(&[("remoteKey", remote_key)], false, false);
        let url = expand(&self.url, &data).map_err(|e| EsoError::Other(format!("failed to parse url: {e}")))?;
        match self.execute("DELETE", url, Vec::new(), &data).await {
            Ok(_) => Ok(()),
            Err((404, _)) => Ok(()),
            Err((0, message)) => Err(EsoError::Other(message)),
            Err((status, _)) => Err(EsoError::Endpoint(status)),
        }
    }
}

/// Go's `url.QueryEscape`: everything but `A-Za-z0-9-_.~` percent-encoded, space as `+`.
pub fn query_escape(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Expands a template: text, and actions `{{ .a.b }}` or `{{ index X Y }}`.
pub fn expand(template: &str, data: &Data) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").ok_or("unclosed action")? + start;
        let action = rest[start + 2..end].trim();
        let words: Vec<&str> = action.split_whitespace().collect();
        let value = match words.as_slice() {
            ["index", map, key] => {
                let map = lookup_map(map, data)?;
                let key = argument(key, data)?;
                map.and_then(|m| m.get(&key).cloned()).unwrap_or_default()
            }
            [field] => argument(field, data)?,
            _ => return Err(format!("the replay does not implement the action {action:?}")),
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn fields(path: &str) -> Result<Vec<&str>, String> {
    let path = path.strip_prefix('.').ok_or_else(|| format!("{path:?} is not a field chain"))?;
    let fields: Vec<&str> = path.split('.').collect();
    for field in &fields {
        let identifier = field.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && field.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !identifier {
            return Err(format!("template: bad character in field name {field:?}"));
        }
    }
    Ok(fields)
}

fn lookup_map<'a>(path: &str, data: &'a Data) -> Result<Option<&'a BTreeMap<String, String>>, String> {
    match fields(path)?.as_slice() {
        [name] => Ok(data.get(*name)),
        _ => Err(format!("{path:?} is not a map")),
    }
}

fn argument(word: &str, data: &Data) -> Result<String, String> {
    if let Some(quoted) = word.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
        return Ok(quoted.to_owned());
    }
    match fields(word)?.as_slice() {
        [map, key] => Ok(data.get(*map).and_then(|m| m.get(*key)).cloned().unwrap_or_default()),
        _ => Err(format!("the replay does not implement {word:?}")),
    }
}

/// `$.a.b` paths (what the stores here use).
fn json_path<'a>(path: &str, json: &'a serde_json::Value) -> Result<&'a serde_json::Value, EsoError> {
    let rest = path.strip_prefix("$.").ok_or_else(|| EsoError::Other(format!("unsupported jsonPath {path}")))?;
    rest.split('.').try_fold(json, |node, key| {
        node.get(key).ok_or_else(|| EsoError::Other(format!("failed to get response path {path}: unknown key {key}")))
    })
}

/// `extractSecretData`.
fn extract_secret_data(json: &serde_json::Value) -> Result<Vec<u8>, EsoError> {
    Ok(match json {
        serde_json::Value::Bool(b) => b.to_string().into_bytes(),
        serde_json::Value::Null => Vec::new(),
        // Go formats float64 with strconv.FormatFloat(v, 'f', 0, 64).
        serde_json::Value::Number(n) => format!("{:.0}", n.as_f64().unwrap_or_default()).into_bytes(),
        serde_json::Value::String(s) => s.clone().into_bytes(),
        serde_json::Value::Array(items) => match items.first() {
            Some(first) => return extract_secret_data(first),
            None => return Err(EsoError::Other("filter worked but didn't get any result".to_owned())),
        },
        serde_json::Value::Object(_) => json.to_string().into_bytes(),
    })
}
