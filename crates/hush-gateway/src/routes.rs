//! The routes: read, write and delete one secret, and the health probes.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use hush_client::{SecretRequest, Session};
use hush_core::{Namespace, SecretPath, SecretValue, Tags, TenantId};
use serde::{Deserialize, Serialize};

use crate::Gateway;
use crate::error::Refusal;
use crate::serve::ConnectionCertificates;

/// The header a write's tags come in, one `key=value` per header.
pub const TAG_HEADER: &str = "x-hush-tag";

pub(crate) fn router(gateway: Gateway) -> Router {
    let limit = gateway.max_body_bytes;
    Router::new()
        .route("/v1/secrets/{tenant}/{namespace}/{name}", get(read).post(write).delete(remove))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(crate::access_log::record))
        .with_state(gateway)
}

/// A secret as `GET` answers it (and, without `value`, as `POST` does).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct SecretDocument {
    /// The name asked for.
    pub name: String,
    /// The namespace it was found in: the one asked for or the nearest ancestor that has it.
    pub namespace: String,
    /// Its version, where the backend has versions.
    pub version: Option<String>,
    /// The value: its text; with `?property=`, the JSON value the path selects (a string, a
    /// number, an object...); a value that is not UTF-8 text comes base64-encoded with
    /// `"encoding": "base64"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// `"base64"` when `value` is the base64 of a binary value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

/// `?version=` and `?property=`; empty means absent, as the ESO webhook's URL template
/// leaves them (`?version={{ .remoteRef.version }}`).
#[derive(Debug, Deserialize)]
struct ReadQuery {
    #[serde(default)]
    version: String,
    #[serde(default)]
    property: String,
}

/// The secret a URL names, once checked against the caller's grant and certificate.
struct Target {
    session: Session,
    name: String,
}

impl Target {
    fn resolve(
        gateway: &Gateway,
        (tenant, namespace, name): (String, String, String),
        headers: &HeaderMap,
        certificates: &ConnectionCertificates,
    ) -> Result<Target, Refusal> {
        let tenant = TenantId::new(tenant).map_err(|e| Refusal::bad_request(e.to_string()))?;
        let namespace = Namespace::new(namespace).map_err(|e| Refusal::bad_request(e.to_string()))?;
        gateway.tenant_cas.check(tenant.as_str(), certificates)?;
        let grant = bearer(headers)?;
        let session = gateway
            .client
            .session(grant)
            .map_err(|_| Refusal::unauthenticated("the bearer token is not a hush grant"))?;
        if session.tenant() != &tenant || session.namespace() != &namespace {
            return Err(Refusal::forbidden(format!(
                "the grant is for tenant {} namespace {}, not tenant {tenant} namespace {namespace}",
                session.tenant(),
                session.namespace()
            )));
        }
        Ok(Target { session, name })
    }
}

/// The grant of `Authorization: Bearer <grant>` (surrounding white space dropped: a grant kept
/// in a file often ends with a newline).
fn bearer(headers: &HeaderMap) -> Result<String, Refusal> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Refusal::unauthenticated("no Authorization: Bearer <grant> header"))?;
    let value = value.to_str().map_err(|_| Refusal::unauthenticated("the Authorization header is not text"))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(Refusal::unauthenticated("the Authorization header is not Bearer <grant>"));
    }
    Ok(token.to_owned())
}

async fn read(
    State(gateway): State<Gateway>,
    Path(path): Path<(String, String, String)>,
    Query(query): Query<ReadQuery>,
    Extension(certificates): Extension<ConnectionCertificates>,
    headers: HeaderMap,
) -> Result<axum::Json<SecretDocument>, Refusal> {
    let target = Target::resolve(&gateway, path, &headers, &certificates)?;
    let property = match query.property.as_str() {
        "" => None,
        text => Some(SecretPath::parse(text).map_err(|e| Refusal::bad_request(e.to_string()))?),
    };
    let mut request = SecretRequest::new(&target.name);
    if !query.version.is_empty() {
        request = request.version(query.version);
    }
    // The whole value is read and the property selected here, so a selected string and a
    // selected object stay apart in the JSON answer.
    let resolved =
        target.session.fetch(&[request]).await?.pop().ok_or_else(|| {
            Refusal::from(hush_core::Error::new(hush_core::ErrorKind::Internal, "no item answered"))
        })??;
    let (value, encoding) = match property {
        Some(path) => {
            let json: serde_json::Value = serde_json::from_slice(resolved.value.expose()).map_err(|_| {
                Refusal::bad_request(format!("the value of {} is not JSON, so ?property= cannot apply", target.name))
            })?;
            (path.select(&json).map_err(hush_core::Error::from)?, None)
        }
        None => text_or_base64(&resolved.value),
    };
    Ok(axum::Json(SecretDocument {
        name: target.name,
        namespace: resolved.namespace,
        version: resolved.version,
        value: Some(value),
        encoding,
    }))
}

fn text_or_base64(value: &SecretValue) -> (serde_json::Value, Option<String>) {
    match std::str::from_utf8(value.expose()) {
        Ok(text) => (serde_json::Value::String(text.to_owned()), None),
        Err(_) => (
            serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(value.expose())),
            Some("base64".to_owned()),
        ),
    }
}

async fn write(
    State(gateway): State<Gateway>,
    Path(path): Path<(String, String, String)>,
    Extension(certificates): Extension<ConnectionCertificates>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<SecretDocument>, Refusal> {
    let target = Target::resolve(&gateway, path, &headers, &certificates)?;
    let mut tags = Tags::new();
    for header in headers.get_all(TAG_HEADER) {
        let text = header.to_str().map_err(|_| Refusal::bad_request("an X-Hush-Tag header is not text"))?;
        let (key, value) = text
            .split_once('=')
            .ok_or_else(|| Refusal::bad_request(format!("X-Hush-Tag {text:?} is not key=value")))?;
        tags.insert(key.trim(), value.trim()).map_err(|e| Refusal::bad_request(e.to_string()))?;
    }
    let value = SecretValue::new(body.to_vec());
    let meta = target.session.put(&target.name, &value, &tags).await?;
    Ok(axum::Json(SecretDocument {
        name: target.name,
        namespace: meta.namespace.to_string(),
        version: meta.version.map(|v| v.to_string()),
        value: None,
        encoding: None,
    }))
}

async fn remove(
    State(gateway): State<Gateway>,
    Path(path): Path<(String, String, String)>,
    Extension(certificates): Extension<ConnectionCertificates>,
    headers: HeaderMap,
) -> Result<StatusCode, Refusal> {
    let target = Target::resolve(&gateway, path, &headers, &certificates)?;
    target.session.delete(&target.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ready when the NATS connection is up: a backend that is down is hushd's to report, per
/// request, not a reason to take the gateway out of service.
async fn ready(State(gateway): State<Gateway>) -> Response {
    match gateway.client.nats().connection_state() {
        async_nats::connection::State::Connected => (StatusCode::OK, "ready\n").into_response(),
        state => (StatusCode::SERVICE_UNAVAILABLE, format!("NATS connection is {state}\n")).into_response(),
    }
}
