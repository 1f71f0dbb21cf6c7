//! A session: one grant's reads and writes, and the masker that learns what it read.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_nats::Subject;
use hush_core::{
    Error, ErrorKind, GrantClaims, ListFilter, Namespace, Result, SecretMeta, SecretValue, Tags, TenantId,
};
use hush_crypto::{Direction, SealAad, SealedGrant, decode_claims_unverified};
use hush_proto::MAX_ITEMS_PER_REQUEST;
use hush_proto::codec::{self, MAX_RESPONSE_BYTES};
use hush_proto::message::{
    DeleteRequest, GetItem, GetRequest, ListRequest, PutRequest, ReadItems, RequestBody, ResolvedSecret, ResponseBody,
};
use hush_proto::subject::{self, AdminOp};
use zeroize::Zeroizing;

use crate::client::HushClient;
use crate::masker::Masker;

/// One secret to read: a name, and optionally a JSON path and a pinned version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRequest {
    /// The name.
    pub name: String,
    /// A path into a JSON value (`credentials.password`).
    pub path: Option<String>,
    /// A pinned version.
    pub version: Option<String>,
}

impl SecretRequest {
    /// The latest version of `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), path: None, version: None }
    }

    /// With a JSON path.
    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Pinned to a version.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }
}

impl From<SecretRequest> for GetItem {
    fn from(SecretRequest { name, path, version }: SecretRequest) -> Self {
        GetItem { name, path, version }
    }
}

impl From<&str> for SecretRequest {
    fn from(name: &str) -> Self {
        SecretRequest::new(name)
    }
}

/// A value read, with where it came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The value.
    pub value: SecretValue,
    /// The namespace it was found in.
    pub namespace: String,
    /// Its version, if the backend has versions.
    pub version: Option<String>,
    /// Served from the resolver's cache after its backend failed.
    pub stale: bool,
}

/// Reads and writes for one grant. Cheap to clone (a few reference counts); clones share the
/// masker.
///
/// The session seals its grant to the resolver once, when it is made, and keeps only the
/// sealed grant: every request carries those bytes, bound to it by the request MAC
/// (ARCHITECTURE.md "Request authentication").
///
/// `Debug` shows the sealed grant's length only.
#[derive(Clone)]
pub struct Session {
    client: HushClient,
    grant: Arc<SessionGrant>,
    masker: Masker,
}

/// What a session's requests carry: its grant sealed to the resolver, the tenant and namespace
/// it names, and the read subject built from them once, not per request.
struct SessionGrant {
    sealed: SealedGrant,
    tenant: TenantId,
    namespace: Namespace,
    get_subject: Subject,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("client", &self.client)
            .field("grant", &self.grant.sealed)
            .field("tenant", &self.grant.tenant)
            .field("namespace", &self.grant.namespace)
            .field("masker", &self.masker)
            .finish()
    }
}

impl Session {
    pub(crate) fn new(client: HushClient, grant: String) -> Result<Session> {
        // The token is a credential: wiped once sealed.
        let grant = Zeroizing::new(grant);
        let GrantClaims { tenant, namespace, .. } = decode_claims_unverified(&grant)
            .map_err(|e| Error::new(ErrorKind::Unauthorized, format!("the grant is unreadable: {e}")))?;
        let get_subject = subject::get(&tenant, &namespace).into();
        let sealed = client.transport().seal_grant(&grant);
        let grant = Arc::new(SessionGrant { sealed, tenant, namespace, get_subject });
        Ok(Session { client, grant, masker: Masker::new() })
    }

    /// The grant's tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.grant.tenant
    }

    /// The grant's namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.grant.namespace
    }

    /// The masker holding every value this session resolved.
    pub fn masker(&self) -> &Masker {
        &self.masker
    }

    /// The latest value of `name`, from this namespace or the nearest ancestor that has it.
    pub async fn secret(&self, name: &str) -> Result<SecretValue> {
        self.one(SecretRequest::new(name)).await
    }

    /// The part of a JSON secret at `path` (`secret_at("DB", "credentials.password")`).
    pub async fn secret_at(&self, name: &str, path: &str) -> Result<SecretValue> {
        self.one(SecretRequest::new(name).at(path)).await
    }

    /// What [`secrets`](Self::secrets) does for one request, without its lists.
    async fn one(&self, request: SecretRequest) -> Result<SecretValue> {
        let (mut results, items) = self.read_items(vec![request.into()], value_only).await?;
        let result = results.pop().ok_or_else(|| Error::new(ErrorKind::Internal, "the resolver answered no item"))?;
        value_of(&items[0], result)
    }

    /// Several secrets in one round trip (per 64). Fails with the first item's error, naming it.
    pub async fn secrets<I, R>(&self, requests: I) -> Result<Vec<SecretValue>>
    where
        I: IntoIterator<Item = R>,
        R: Into<SecretRequest>,
    {
        // Each request moves into the message as it is: no name is copied on the way.
        let mut items = requests.into_iter().map(|request| GetItem::from(request.into())).peekable();
        let mut values = Vec::with_capacity(items.size_hint().0);
        while items.peek().is_some() {
            let chunk: Vec<GetItem> = items.by_ref().take(MAX_ITEMS_PER_REQUEST).collect();
            let (results, chunk) = self.read_items(chunk, value_only).await?;
            for (item, result) in chunk.iter().zip(results) {
                values.push(value_of(item, result)?);
            }
        }
        Ok(values)
    }

    /// Several secrets with one result each, in request order.
    pub async fn fetch(&self, requests: &[SecretRequest]) -> Result<Vec<Result<Resolved>>> {
        let keep = |resolved: ResolvedSecret<'_>, value| Resolved {
            value,
            namespace: resolved.namespace.to_owned(),
            version: resolved.version.map(str::to_owned),
            stale: resolved.stale,
        };
        let mut all = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(MAX_ITEMS_PER_REQUEST) {
            let items = chunk.iter().cloned().map(GetItem::from).collect();
            all.extend(self.read_items(items, keep).await?.0);
        }
        Ok(all)
    }

    /// One round trip for up to [`MAX_ITEMS_PER_REQUEST`] items, which it hands back (their
    /// names name their errors). Each value found is copied once, out of the opened reply into
    /// its own wiped buffer, and taught to the masker; `keep` takes from the item what the caller
    /// wants beside it (`secret()` wants nothing more, so no namespace or version is copied).
    async fn read_items<T>(
        &self,
        items: Vec<GetItem>,
        keep: impl Fn(ResolvedSecret<'_>, SecretValue) -> T,
    ) -> Result<(Vec<Result<T>>, Vec<GetItem>)> {
        let asked = items.len();
        let subject = &self.grant.get_subject;
        let reply =
            self.client.read(subject.clone(), &self.grant.sealed, RequestBody::Get(GetRequest { items })).await?;
        let sealed = reply.sealed_items()?;
        let forged =
            || Error::new(ErrorKind::Internal, "the reply's sealed items failed to open (forged or corrupted reply)");
        // Opened into a buffer wiped when dropped; each value is copied out of it once.
        let opened =
            self.client.transport().open_reply(&reply.request.reply_aad(subject), sealed).map_err(|_| forged())?;
        let results: ReadItems<'_> = codec::decode_borrowed(&opened, MAX_RESPONSE_BYTES).map_err(|_| forged())?;
        if results.len() != asked {
            return Err(Error::new(ErrorKind::Internal, "the resolver answered a different number of items"));
        }
        let mut out = Vec::with_capacity(results.len());
        for result in results {
            out.push(match result {
                Err(wire) => Err(Error::from(wire)),
                Ok(resolved) => {
                    let value = SecretValue::new(resolved.value.to_vec());
                    self.masker.add(&value);
                    Ok(keep(resolved, value))
                }
            });
        }
        // The body sent was this read's; nothing else can come back.
        let RequestBody::Get(GetRequest { items }) = reply.sent else {
            return Err(Error::new(ErrorKind::Internal, "a read's reply handed back another request"));
        };
        Ok((out, items))
    }

    /// Writes a new version of `name` in the session's namespace (admin grant).
    /// The value is sealed to the resolver before it leaves the process.
    pub async fn put(&self, name: &str, value: &SecretValue, tags: &Tags) -> Result<SecretMeta> {
        let subject = Subject::from(subject::admin(AdminOp::Put, &self.grant.tenant, &self.grant.namespace));
        // The request id is chosen by `request`; the value must be sealed to it, so seal inside.
        let tags: BTreeMap<String, String> = tags.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        let reply = self
            .client
            .request_with(subject.clone(), &self.grant.sealed, |request_id| {
                let aad =
                    SealAad { direction: Direction::ToResolver, request_id, subject: &subject, name, version: "" };
                let sealed_value = self.client.transport().seal(&aad, value.expose());
                RequestBody::Put(PutRequest { name: name.to_owned(), sealed_value, tags })
            })
            .await?;
        match reply.body()? {
            ResponseBody::Put(meta) => Ok(meta),
            _ => Err(Error::new(ErrorKind::Internal, "the resolver answered with another operation")),
        }
    }

    /// Deletes `name` and all its versions from the session's namespace (admin grant).
    pub async fn delete(&self, name: &str) -> Result<()> {
        let subject = Subject::from(subject::admin(AdminOp::Delete, &self.grant.tenant, &self.grant.namespace));
        let body = RequestBody::Delete(DeleteRequest { name: name.to_owned() });
        match self.client.request(subject, &self.grant.sealed, body).await?.body()? {
            ResponseBody::Delete => Ok(()),
            _ => Err(Error::new(ErrorKind::Internal, "the resolver answered with another operation")),
        }
    }

    /// Lists metadata of the session's namespace (admin grant): names, versions, tags, never values.
    pub async fn list(&self, filter: &ListFilter) -> Result<Vec<SecretMeta>> {
        let subject = Subject::from(subject::admin(AdminOp::List, &self.grant.tenant, &self.grant.namespace));
        let tags = filter.tags.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        let body = RequestBody::List(ListRequest { tags, recursive: filter.recursive });
        match self.client.read(subject, &self.grant.sealed, body).await?.body()? {
            ResponseBody::List(items) => Ok(items),
            _ => Err(Error::new(ErrorKind::Internal, "the resolver answered with another operation")),
        }
    }
}

/// What `secret()` and `secrets()` keep of an item found: its value.
fn value_only(_: ResolvedSecret<'_>, value: SecretValue) -> SecretValue {
    value
}

/// The value `item` resolved to, or its error naming the secret.
fn value_of(item: &GetItem, result: Result<SecretValue>) -> Result<SecretValue> {
    result.map_err(|e| e.with_context("secret", &item.name))
}
