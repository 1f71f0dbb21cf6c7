//! The request path: decode, authorize, resolve through the hierarchy and cache, seal, encode.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hush_cache::{CacheKey, Freshness};
use hush_core::{
    Error, ErrorKind, GrantClaims, GrantScope, ListFilter, Namespace, Scope, SecretName, SecretPath, SecretValue,
    SharedBackend, Tags, TenantId, VersionId,
};
use hush_crypto::{Direction, GrantNeed, SealAad, TransportKey};
use hush_proto::message::{
    AuditItem, ChangeEvent, DeleteRequest, GetItem, ListRequest, PutRequest, RequestBody, RequestEnvelope,
    ResolvedSecret, ResponseBody, ResponseEnvelope, WireError, sealed_item_label,
};
use hush_proto::subject::{self, AdminOp, RequestSubject};
use hush_proto::{MAX_ITEMS_PER_REQUEST, PROTOCOL_VERSION};

use crate::Resolver;
use crate::audit::AuditRecord;
use crate::metrics::Counters;

/// The outcome of one request: the reply to send and the events to publish.
#[derive(Debug)]
pub struct Handled {
    /// The encoded reply.
    pub reply: Vec<u8>,
    /// The audit event (subject, JSON), when auditing is on and the tenant is known.
    pub audit: Option<(String, Vec<u8>)>,
    /// The change event (subject, payload) after a successful write.
    pub change: Option<(String, Vec<u8>)>,
}

/// What a request asked, once its envelope and subject are checked.
struct Checked<'a> {
    subject: &'a str,
    tenant: TenantId,
    namespace: Namespace,
    request_id: [u8; 16],
    claims: Arc<GrantClaims>,
    transport: TransportKey,
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn unix_now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Resolver {
    /// Answers one request: `subject` and `payload` as received from NATS.
    ///
    /// Never panics on any input; every failure becomes an error reply. Bounded by the
    /// configured request timeout.
    pub async fn handle(&self, subject: &str, payload: &[u8]) -> Handled {
        let timeout = self.inner.settings.request_timeout;
        match tokio::time::timeout(timeout, self.handle_unbounded(subject, payload)).await {
            Ok(handled) => handled,
            Err(_) => {
                Counters::bump(&self.inner.metrics.failed_requests);
                let error =
                    Error::unavailable(format!("the request did not complete within {}s", timeout.as_secs_f32()));
                let request_id = RequestEnvelope::decode(payload).map(|e| e.request_id).unwrap_or_default();
                Handled { reply: self.error_reply(request_id, &error), audit: None, change: None }
            }
        }
    }

    async fn handle_unbounded(&self, subject: &str, payload: &[u8]) -> Handled {
        let inner = &self.inner;
        Counters::bump(&inner.metrics.requests);
        let envelope = match RequestEnvelope::decode(payload) {
            Ok(envelope) => envelope,
            Err(e) => return self.refuse([0; 16], &Error::invalid_input(e.to_string()), None),
        };
        let request_id = envelope.request_id;
        let target = match subject::parse_request(subject) {
            Ok(target) => target,
            Err(e) => return self.refuse(request_id, &Error::invalid_input(e.to_string()), None),
        };
        let operation = match (&target, &envelope.body) {
            (RequestSubject::Get { .. }, RequestBody::Get(_)) => "get",
            (RequestSubject::Admin { op: AdminOp::Put, .. }, RequestBody::Put(_)) => "put",
            (RequestSubject::Admin { op: AdminOp::Delete, .. }, RequestBody::Delete(_)) => "delete",
            (RequestSubject::Admin { op: AdminOp::List, .. }, RequestBody::List(_)) => "list",
            _ => {
                let e = Error::invalid_input("the request body does not match the subject's operation");
                return self.refuse(request_id, &e, None);
            }
        };
        let mut audit = AuditRecord::new(&target, operation, request_id, &inner.settings.instance);
        let scope = if operation == "get" { GrantScope::Read } else { GrantScope::Admin };
        let need = GrantNeed {
            tenant: target.tenant(),
            namespace: target.namespace(),
            scope,
            client_key: &envelope.client_key,
        };
        let claims = match inner.grants.authorize(&envelope.grant, &need, unix_now()) {
            Ok(claims) => claims,
            Err(e) => {
                Counters::bump(&inner.metrics.unauthorized);
                return self.refuse(request_id, &e, Some(audit));
            }
        };
        audit.execution_id = claims.execution_id.clone();
        let transport = match inner.transport.key_for(&envelope.resolver_key_id, &envelope.client_key) {
            Ok(key) => key,
            Err(e) => return self.refuse(request_id, &e, Some(audit)),
        };
        if !inner.bindings.has_tenant(target.tenant()) {
            let e = Error::not_found(format!("tenant {:?} not found", target.tenant().as_str()));
            return self.refuse(request_id, &e, Some(audit));
        }
        let checked = Checked {
            subject,
            tenant: target.tenant().clone(),
            namespace: target.namespace().clone(),
            request_id,
            claims,
            transport,
        };
        let outcome = match envelope.body {
            RequestBody::Get(get) => self.get(&checked, get.items, &mut audit).await.map(|b| (b, None)),
            // Admin operations are rare: boxed, so they do not grow every read's future.
            RequestBody::Put(put) => Box::pin(self.put(&checked, put, &mut audit)).await,
            RequestBody::Delete(delete) => Box::pin(self.delete(&checked, delete, &mut audit)).await,
            RequestBody::List(list) => Box::pin(self.list(&checked, list)).await.map(|b| (b, None)),
        };
        match outcome {
            Ok((body, change)) => {
                let response = ResponseEnvelope {
                    version: PROTOCOL_VERSION,
                    request_id,
                    resolver_key_id: self.key_id(),
                    body: Ok(body),
                };
                match response.encode() {
                    Ok(reply) => Handled { reply, audit: self.audit_event(audit, "ok"), change },
                    Err(e) => {
                        self.refuse(request_id, &Error::invalid_input(format!("reply too large: {e}")), Some(audit))
                    }
                }
            }
            Err(e) => self.refuse(request_id, &e, Some(audit)),
        }
    }

    fn key_id(&self) -> [u8; 8] {
        self.inner.transport.key_id()
    }

    fn error_reply(&self, request_id: [u8; 16], error: &Error) -> Vec<u8> {
        // An error envelope is a few hundred bytes at most: the encode cannot hit the limit.
        ResponseEnvelope::error(request_id, self.key_id(), error).encode().unwrap_or_default()
    }

    fn refuse(&self, request_id: [u8; 16], error: &Error, audit: Option<AuditRecord>) -> Handled {
        Counters::bump(&self.inner.metrics.failed_requests);
        match error.kind() {
            ErrorKind::Internal | ErrorKind::Unavailable => tracing::warn!(%error, "request failed"),
            _ => tracing::debug!(%error, "request refused"),
        }
        let audit = audit.and_then(|a| self.audit_event(a, error.kind().as_str()));
        Handled { reply: self.error_reply(request_id, error), audit, change: None }
    }

    fn audit_event(&self, record: AuditRecord, outcome: &str) -> Option<(String, Vec<u8>)> {
        self.inner.settings.audit.then(|| record.finish(outcome, unix_now_ms()))
    }

    fn binding(&self, tenant: &TenantId, namespace: &Namespace) -> Result<&SharedBackend, Error> {
        self.inner
            .bindings
            .effective(tenant, namespace)
            .ok_or_else(|| Error::not_found(format!("no backend serves namespace {namespace} of tenant {tenant}")))
    }

    async fn get(
        &self,
        checked: &Checked<'_>,
        items: Vec<GetItem>,
        audit: &mut AuditRecord,
    ) -> Result<ResponseBody, Error> {
        if items.is_empty() || items.len() > MAX_ITEMS_PER_REQUEST {
            return Err(Error::invalid_input(format!(
                "a request names 1 to {MAX_ITEMS_PER_REQUEST} secrets, this one names {}",
                items.len()
            )));
        }
        self.inner.metrics.items.fetch_add(items.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let lookups = items.iter().enumerate().map(|(index, item)| self.get_item(checked, index, item));
        let results = futures::future::join_all(lookups).await;
        let mut replies = Vec::with_capacity(results.len());
        for (item, result) in items.iter().zip(results) {
            match result {
                Ok((resolved, source)) => {
                    audit.items.push(AuditItem {
                        name: item.name.clone(),
                        outcome: "ok".into(),
                        found_in: Some(resolved.namespace.clone()),
                        version: resolved.version.clone(),
                        source: Some(source.into()),
                    });
                    replies.push(Ok(resolved));
                }
                Err(e) => {
                    audit.items.push(AuditItem {
                        name: item.name.clone(),
                        outcome: e.kind().as_str().into(),
                        found_in: None,
                        version: None,
                        source: None,
                    });
                    replies.push(Err(WireError::from(&e)));
                }
            }
        }
        Ok(ResponseBody::Get(replies))
    }

    /// Looks one secret up in the namespace, then each ancestor, nearest first. Only "not found"
    /// falls through to the parent: any other error stops the walk, so a backend that is down
    /// never reveals a parent's secret of the same name.
    async fn get_item(
        &self,
        checked: &Checked<'_>,
        index: usize,
        item: &GetItem,
    ) -> Result<(ResolvedSecret, &'static str), Error> {
        let name = SecretName::new(item.name.as_str())?;
        let version = item.version.as_deref().map(VersionId::new).transpose()?;
        let path = item.path.as_deref().map(SecretPath::parse).transpose()?;
        let inner = &self.inner;
        for level in checked.namespace.lineage() {
            let Some(backend) = inner.bindings.effective(&checked.tenant, &level) else { continue };
            let key = CacheKey {
                tenant: checked.tenant.clone(),
                namespace: level.clone(),
                name: name.clone(),
                version: version.clone(),
            };
            let scope = Scope::new(checked.tenant.clone(), level.clone());
            let load = || {
                Counters::bump(&inner.metrics.backend_reads);
                let (backend, name, version) = (backend.clone(), name.clone(), version.clone());
                async move { backend.get(&scope, &name, version.as_ref()).await }
            };
            let (secret, freshness) = match inner.cache.get_or_load(key, load).await {
                Ok(found) => found,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e.with_context("namespace", &level)),
            };
            let value = match &path {
                Some(path) => path.extract(&secret.value)?,
                None => secret.value.clone(),
            };
            let version = secret.version.as_ref().map(|v| v.as_str().to_owned());
            let label = sealed_item_label(index, name.as_str());
            let aad = SealAad {
                direction: Direction::ToClient,
                request_id: &checked.request_id,
                subject: checked.subject,
                name: &label,
                version: version.as_deref().unwrap_or(""),
            };
            let sealed_value = checked.transport.seal(&aad, value.expose());
            let (stale, source) = match freshness {
                Freshness::Fresh => (false, "backend"),
                Freshness::Cached => (false, "cache"),
                Freshness::Stale => {
                    Counters::bump(&inner.metrics.stale_served);
                    (true, "stale")
                }
            };
            let resolved = ResolvedSecret { namespace: level.to_string(), version, sealed_value, stale };
            return Ok((resolved, source));
        }
        Err(Error::not_found(format!("secret {name} not found in namespace {} or its ancestors", checked.namespace)))
    }

    fn remember_write(&self, checked: &Checked<'_>) -> Result<(), Error> {
        let seen = &self.inner.seen_writes;
        if seen.contains_key(&checked.request_id) {
            return Err(Error::new(ErrorKind::Unauthorized, "this write was already made: replayed request id"));
        }
        seen.insert(checked.request_id, ());
        Ok(())
    }

    fn change_event(&self, checked: &Checked<'_>, name: &SecretName) -> Option<(String, Vec<u8>)> {
        let event = ChangeEvent {
            version: PROTOCOL_VERSION,
            name: name.to_string(),
            request_id: checked.request_id,
            remember_until: checked.claims.expires_at,
        };
        event.encode().ok().map(|bytes| (subject::changed(&checked.tenant, &checked.namespace), bytes))
    }

    async fn after_write(&self, checked: &Checked<'_>, name: &SecretName) -> Option<(String, Vec<u8>)> {
        Counters::bump(&self.inner.metrics.writes);
        self.inner.cache.invalidate(&checked.tenant, &checked.namespace, name).await;
        self.change_event(checked, name)
    }

    async fn put(
        &self,
        checked: &Checked<'_>,
        put: PutRequest,
        audit: &mut AuditRecord,
    ) -> Result<(ResponseBody, Option<(String, Vec<u8>)>), Error> {
        let name = SecretName::new(put.name)?;
        audit.push_item(&name);
        let tags = Tags::try_from(put.tags)?;
        let backend = self.binding(&checked.tenant, &checked.namespace)?;
        self.remember_write(checked)?;
        let aad = SealAad {
            direction: Direction::ToResolver,
            request_id: &checked.request_id,
            subject: checked.subject,
            name: name.as_str(),
            version: "",
        };
        let value: SecretValue = checked
            .transport
            .open(&aad, &put.sealed_value)
            .map_err(|_| Error::invalid_input("the sealed value failed to open: it was not sealed for this request"))?;
        let scope = Scope::new(checked.tenant.clone(), checked.namespace.clone());
        let meta = backend.put(&scope, &name, value, tags).await?;
        audit.set_version(meta.version.as_ref().map(|v| v.to_string()));
        let change = self.after_write(checked, &name).await;
        Ok((ResponseBody::Put(meta), change))
    }

    async fn delete(
        &self,
        checked: &Checked<'_>,
        delete: DeleteRequest,
        audit: &mut AuditRecord,
    ) -> Result<(ResponseBody, Option<(String, Vec<u8>)>), Error> {
        let name = SecretName::new(delete.name)?;
        audit.push_item(&name);
        let backend = self.binding(&checked.tenant, &checked.namespace)?;
        self.remember_write(checked)?;
        let scope = Scope::new(checked.tenant.clone(), checked.namespace.clone());
        backend.delete(&scope, &name).await?;
        let change = self.after_write(checked, &name).await;
        Ok((ResponseBody::Delete, change))
    }

    async fn list(&self, checked: &Checked<'_>, list: ListRequest) -> Result<ResponseBody, Error> {
        let filter = ListFilter { tags: Tags::try_from(list.tags)?, recursive: list.recursive };
        let backend = self.binding(&checked.tenant, &checked.namespace)?;
        let scope = Scope::new(checked.tenant.clone(), checked.namespace.clone());
        Ok(ResponseBody::List(backend.list(&scope, &filter).await?))
    }

    /// Obeys a change event from any replica: drops the secret from the cache and remembers
    /// the write's request id so a replay of it is refused here too.
    pub async fn apply_change(&self, subject: &str, payload: &[u8]) -> Result<(), Error> {
        let (tenant, namespace) = subject::parse_changed(subject).map_err(|e| Error::invalid_input(e.to_string()))?;
        let event = ChangeEvent::decode(payload).map_err(|e| Error::invalid_input(e.to_string()))?;
        let name = SecretName::new(event.name)?;
        self.inner.cache.invalidate(&tenant, &namespace, &name).await;
        self.inner.seen_writes.insert(event.request_id, ());
        Ok(())
    }
}
