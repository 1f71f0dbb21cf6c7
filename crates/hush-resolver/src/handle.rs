//! The request path: decode, authorize, resolve through the hierarchy and cache, seal, encode.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hush_cache::{CacheKey, Freshness};
use hush_core::{
    Error, ErrorKind, GrantScope, ListFilter, Namespace, Scope, Secret, SecretName, SecretPath, SecretValue,
    SharedBackend, Tags, TenantId, VersionId,
};
use hush_crypto::{ChangeEventMacInput, Direction, GrantNeed, ReplyAad, SealAad, TransportKey};
use hush_proto::codec::{self, CodecError, MAX_RESPONSE_BYTES};
use hush_proto::message::{
    ChangeEvent, DeleteRequest, GetItem, ListRequest, PutRequest, RequestBody, RequestEnvelope, ResolvedSecret,
    ResponseBody, ResponseEnvelope, WireError,
};
use hush_proto::subject::{self, AdminOp, RequestSubject};
use hush_proto::{MAX_ITEMS_PER_REQUEST, PROTOCOL_VERSION};

use crate::Resolver;
use crate::audit::{AuditRecord, AuditedItem};
use crate::authz::{GrantId, SealedGrantRef};
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
    /// What the request log says of it.
    pub summary: Summary,
}

/// A request as the request log shows it: never a value, a grant or a key.
#[derive(Debug)]
pub struct Summary {
    /// The client's request id (0 when the request did not decode).
    pub request_id: [u8; 16],
    /// `get`, `put`, `delete`, `list`, or `unknown` before the body was matched.
    pub operation: &'static str,
    /// The names it asked for.
    pub items: usize,
    /// Why it was answered with an error as a whole: the kind and the error's text.
    pub failure: Option<(ErrorKind, String)>,
}

/// What a request asked, once its envelope, subject, grant and MAC are checked.
struct Checked<'a> {
    subject: &'a str,
    tenant: TenantId,
    namespace: Namespace,
    request_id: [u8; 16],
    /// The request's MAC, verified: a read's reply is sealed to it.
    request_mac: [u8; 32],
    /// When the request arrived: a cached name is fresh if it is fresh then.
    received: tokio::time::Instant,
    /// The grant's id: backend reads are charged to it.
    grant: GrantId,
    /// The resolver key the client sealed to: the reply names it.
    resolver_key_id: [u8; 8],
    /// Shared with the derived-key cache: cloning it would copy (and then wipe) AES round keys.
    transport: Arc<TransportKey>,
}

/// One secret a read found: the secret as the cache holds it (not copied), the part the item's
/// path selects, where it was found and whether it was served stale.
#[derive(Debug)]
pub(crate) struct Found {
    /// The ancestor it was found in; `None` for the request's own namespace, which is not
    /// copied for each name ([`namespace`](Self::namespace)).
    ancestor: Option<Namespace>,
    secret: Arc<Secret>,
    /// The part of the value the item's path selects, when it names one.
    extracted: Option<SecretValue>,
    stale: bool,
}

impl Found {
    /// The namespace it was found in: `requested` (the request's), or the ancestor.
    pub(crate) fn namespace<'a>(&'a self, requested: &'a Namespace) -> &'a str {
        self.ancestor.as_ref().unwrap_or(requested).as_str()
    }

    /// The version read, if the backend has versions.
    pub(crate) fn version(&self) -> Option<&str> {
        self.secret.version.as_ref().map(VersionId::as_str)
    }

    /// The item as it is sealed into the reply to a request in `requested`.
    fn resolved<'a>(&'a self, requested: &'a Namespace) -> ResolvedSecret<'a> {
        let value = self.extracted.as_ref().unwrap_or(&self.secret.value);
        ResolvedSecret {
            namespace: self.namespace(requested),
            version: self.version(),
            value: value.expose(),
            stale: self.stale,
        }
    }
}

/// A read's answer to each of its items, in request order.
pub(crate) type Reads = Vec<Result<Found, WireError>>;

/// `namespace`, then each ancestor, nearest first ([`Namespace::lineage`]): the request's own
/// namespace borrowed, so a name found there copies no id; only the ancestors are owned.
fn levels(namespace: &Namespace) -> impl Iterator<Item = Cow<'_, Namespace>> {
    std::iter::successors(Some(Cow::Borrowed(namespace)), |level| level.parent().map(Cow::Owned))
}

/// One line per request: at debug, or at warn when it failed for a reason of hushd's or a
/// backend's (`internal`, `unavailable`). It names the request id (the audit event's), tenant,
/// namespace, operation, outcome and duration, never a value or a grant.
fn log_request(subject: &str, summary: &Summary, started: tokio::time::Instant) {
    let failure = summary.failure.as_ref();
    let warn = failure.is_some_and(|(kind, _)| matches!(kind, ErrorKind::Internal | ErrorKind::Unavailable));
    if !warn && !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let elapsed = started.elapsed();
    let (tenant, namespace) = subject::parse_request(subject)
        .map(|t| (t.tenant().to_string(), t.namespace().to_string()))
        .unwrap_or_default();
    let request_id = hex::encode(summary.request_id);
    let outcome = failure.map_or("ok", |(kind, _)| kind.as_str());
    let duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    let (operation, items) = (summary.operation, summary.items);
    match failure {
        Some((_, error)) if warn => {
            tracing::warn!(request_id, tenant, namespace, operation, items, outcome, duration_us, %error, "request failed")
        }
        Some((_, error)) => {
            tracing::debug!(request_id, tenant, namespace, operation, items, outcome, duration_us, %error, "request refused")
        }
        None => tracing::debug!(request_id, tenant, namespace, operation, items, outcome, duration_us, "request"),
    }
}

/// One item of a read, checked: its name (taken from the request, not copied), the version
/// pinned and the path into the value.
struct ReadItem {
    name: SecretName,
    version: Option<VersionId>,
    path: Option<SecretPath>,
}

impl ReadItem {
    /// `item` checked, or why it is refused with the name as requested (for its audit item).
    fn parse(item: GetItem) -> Result<ReadItem, (Error, String)> {
        let GetItem { name, path, version } = item;
        let checked = || {
            SecretName::check(&name)?;
            let version = version.as_deref().map(VersionId::new).transpose()?;
            let path = path.as_deref().map(SecretPath::parse).transpose()?;
            Ok::<_, Error>((version, path))
        };
        match checked() {
            // The name checked, `new` takes it as it is (and cannot refuse it).
            Ok((version, path)) => match SecretName::new(name) {
                Ok(name) => Ok(ReadItem { name, version, path }),
                Err(e) => Err((e.into(), String::new())),
            },
            Err(e) => Err((e, name)),
        }
    }
}

/// `name` is in no level of `namespace`'s lineage.
fn not_found(name: &SecretName, namespace: &Namespace) -> Error {
    Error::not_found(format!("secret {name} not found in namespace {namespace} or its ancestors"))
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
        let started = tokio::time::Instant::now();
        let handled = self.handle_timed(subject, payload, started).await;
        log_request(subject, &handled.summary, started);
        handled
    }

    async fn handle_timed(&self, subject: &str, payload: &[u8], started: tokio::time::Instant) -> Handled {
        let timeout = self.inner.settings.request_timeout;
        let deadline = started + timeout;
        let mut handling = std::pin::pin!(self.handle_unbounded(subject, payload, started));
        // A cached read completes in its first poll: it needs no timer. Anything that has to
        // wait (a backend, the replay ledger, another request's load) gets one, counted from
        // the start.
        if let std::task::Poll::Ready(handled) = futures::poll!(handling.as_mut()) {
            return handled;
        }
        match tokio::time::timeout_at(deadline, handling).await {
            Ok(handled) => handled,
            Err(_) => {
                self.inner.metrics.failed(ErrorKind::Unavailable);
                let error =
                    Error::unavailable(format!("the request did not complete within {}s", timeout.as_secs_f32()));
                let request_id = RequestEnvelope::decode(payload).map(|e| e.request_id).unwrap_or_default();
                Handled {
                    reply: self.error_reply(request_id, self.key_id(), &error),
                    audit: None,
                    change: None,
                    summary: Summary {
                        request_id,
                        operation: "unknown",
                        items: 0,
                        failure: Some((error.kind(), error.to_string())),
                    },
                }
            }
        }
    }

    /// `started` is when the request arrived: the one monotonic and the one wall-clock reading
    /// of a request serve its cache freshness, grant times, replay window and audit time alike.
    async fn handle_unbounded(&self, subject: &str, payload: &[u8], started: tokio::time::Instant) -> Handled {
        let inner = &self.inner;
        let received_ms = unix_now_ms();
        Counters::bump(&inner.metrics.requests);
        let (envelope, encoded_body) = match RequestEnvelope::decode_with_body(payload) {
            Ok(decoded) => decoded,
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
        let mut audit = AuditRecord::new(&target, operation, request_id, &inner.settings.instance, received_ms);
        let scope = if operation == "get" { GrantScope::Read } else { GrantScope::Admin };
        let need = GrantNeed {
            tenant: target.tenant(),
            namespace: target.namespace(),
            scope,
            client_key: &envelope.client_key,
            require_bound: inner.grants.requires_binding(target.tenant()),
        };
        let transport = match inner.transport.key_for(&envelope.resolver_key_id, &envelope.client_key) {
            Ok(key) => key,
            Err(e) => {
                Counters::bump(&inner.metrics.unauthorized);
                return self.refuse(request_id, &e, Some(audit));
            }
        };
        if let Err(e) = self.authenticate(&envelope, encoded_body, subject, &transport) {
            Counters::bump(&inner.metrics.unauthorized);
            return self.refuse(request_id, &e, Some(audit));
        }
        let sealed = SealedGrantRef {
            resolver_key_id: &envelope.resolver_key_id,
            client_key: &envelope.client_key,
            sealed: &envelope.sealed_grant,
        };
        let grant = match inner.grants.authorize(sealed, &transport, &need, received_ms.div_euclid(1000)) {
            Ok(grant) => grant,
            Err(e) => {
                Counters::bump(&inner.metrics.unauthorized);
                return self.refuse(request_id, &e, Some(audit));
            }
        };
        let claims = &grant.claims;
        audit.execution_id = claims.execution_id.clone();
        if envelope.resolver_key_id != self.key_id() {
            Counters::bump(&inner.metrics.requests_with_previous_keys);
        }
        if scope == GrantScope::Admin
            && let Err(e) = self.refuse_replays(&envelope, target.tenant(), received_ms).await
        {
            return self.refuse(request_id, &e, Some(audit));
        }
        if !inner.bindings.has_tenant(target.tenant()) {
            let e = Error::not_found(format!("tenant {:?} not found", target.tenant().as_str()));
            return self.refuse(request_id, &e, Some(audit));
        }
        let checked = Checked {
            subject,
            tenant: target.tenant().clone(),
            namespace: target.namespace().clone(),
            request_id,
            request_mac: envelope.mac,
            received: started,
            grant: grant.id,
            resolver_key_id: envelope.resolver_key_id,
            transport,
        };
        let resolver_key_id = checked.resolver_key_id;
        let limit = self.reply_limit();
        let encode = |(body, change)| {
            let response = ResponseEnvelope { version: PROTOCOL_VERSION, request_id, resolver_key_id, body: Ok(body) };
            // Only a list's reply can grow too large.
            let reply = codec::encode(&response, limit)
                .map_err(|e| unsendable_reply(e, "list fewer: filter by tags, or not recursively"))?;
            Ok((reply, change))
        };
        let mut reads = Reads::new();
        let outcome = match envelope.body {
            RequestBody::Get(get) => match self.get(&checked, get.items, &mut audit).await {
                Ok(found) => {
                    reads = found;
                    self.seal_reads(&checked, &reads).map(|reply| (reply, None))
                }
                Err(e) => Err(e),
            },
            // Admin operations are rare: boxed, so they do not grow every read's future.
            RequestBody::Put(put) => Box::pin(self.put(&checked, put, &mut audit)).await.and_then(encode),
            RequestBody::Delete(delete) => Box::pin(self.delete(&checked, delete, &mut audit)).await.and_then(encode),
            RequestBody::List(list) => Box::pin(self.list(&checked, list)).await.and_then(|body| encode((body, None))),
        };
        match outcome {
            Ok((reply, change)) => {
                let summary = Summary { request_id, operation, items: audit.items.len(), failure: None };
                Handled { reply, audit: self.audit_event(audit, "ok", &reads), change, summary }
            }
            Err(e) => self.refuse(request_id, &e, Some(audit)),
        }
    }

    /// Checks the request's MAC under the key shared with its client key: proof that the
    /// sender holds the client's private key, and that nothing of the request was edited.
    fn authenticate(
        &self,
        envelope: &RequestEnvelope,
        encoded_body: &[u8],
        subject: &str,
        transport: &TransportKey,
    ) -> Result<(), Error> {
        transport.verify_envelope_body(envelope, subject, encoded_body).map_err(|_| {
            Error::new(
                ErrorKind::Unauthorized,
                "the request's MAC does not verify: it was altered, or not made with the client key's private half",
            )
        })
    }

    /// Refuses an admin request sent outside the replay window, or whose id was used before
    /// (on any replica, before any restart). Records the id: call only once authenticated.
    /// `received_ms` is when the request arrived (unix milliseconds).
    async fn refuse_replays(
        &self,
        envelope: &RequestEnvelope,
        tenant: &TenantId,
        received_ms: i64,
    ) -> Result<(), Error> {
        let window = self.inner.settings.replay_window;
        let skew_ms = received_ms.abs_diff(envelope.sent_at_ms);
        if u128::from(skew_ms) > window.as_millis() {
            Counters::bump(&self.inner.metrics.unauthorized);
            Counters::bump(&self.inner.metrics.replays_refused);
            return Err(Error::new(
                ErrorKind::Unauthorized,
                format!(
                    "the request was sent {}s away from this resolver's clock, outside the {}s replay window",
                    skew_ms / 1000,
                    window.as_secs()
                ),
            ));
        }
        if !self.inner.ledger.first_use(tenant, &envelope.request_id).await? {
            Counters::bump(&self.inner.metrics.unauthorized);
            Counters::bump(&self.inner.metrics.replays_refused);
            return Err(Error::new(ErrorKind::Unauthorized, "this request was already made: replayed request id"));
        }
        Ok(())
    }

    /// The id of the primary resolver key.
    fn key_id(&self) -> [u8; 8] {
        self.inner.transport.primary_key_id()
    }

    fn error_reply(&self, request_id: [u8; 16], resolver_key_id: [u8; 8], error: &Error) -> Vec<u8> {
        // An error envelope is a few hundred bytes at most: the encode cannot hit the limit.
        ResponseEnvelope::error(request_id, resolver_key_id, error).encode().unwrap_or_default()
    }

    /// The reply to a request refused for want of an audit record (`audit_required`), counted
    /// as failed unless it was already (`counted`).
    pub(crate) fn audit_refusal(&self, request_id: [u8; 16], counted: bool) -> Vec<u8> {
        let metrics = &self.inner.metrics;
        Counters::bump(&metrics.audit_refused);
        if !counted {
            metrics.failed(ErrorKind::Unavailable);
        }
        let error = Error::unavailable(
            "the audit event of this request could not be recorded, and hushd serves nothing it cannot audit \
             (resolver.audit_required)",
        );
        self.error_reply(request_id, self.key_id(), &error)
    }

    fn refuse(&self, request_id: [u8; 16], error: &Error, audit: Option<AuditRecord<'_>>) -> Handled {
        self.inner.metrics.failed(error.kind());
        let summary = Summary {
            request_id,
            operation: audit.as_ref().map_or("unknown", AuditRecord::operation),
            items: audit.as_ref().map_or(0, |a| a.items.len()),
            failure: Some((error.kind(), error.to_string())),
        };
        let audit = audit.and_then(|a| self.audit_event(a, error.kind().as_str(), &[]));
        Handled { reply: self.error_reply(request_id, self.key_id(), error), audit, change: None, summary }
    }

    /// The finished audit event, when audit is on; `reads` are a read's answers, one per item.
    fn audit_event(
        &self,
        record: AuditRecord<'_>,
        outcome: &'static str,
        reads: &[Result<Found, WireError>],
    ) -> Option<(String, Vec<u8>)> {
        self.inner.settings.audit.enabled.then(|| record.finish(outcome, reads))
    }

    /// The reply to a read: its answers sealed to the client as one message, bound to the
    /// request (ARCHITECTURE.md, "Read replies"), and sealed straight into the encoded reply;
    /// refused whole when it would exceed the reply limit.
    fn seal_reads(&self, checked: &Checked<'_>, reads: &[Result<Found, WireError>]) -> Result<Vec<u8>, Error> {
        let items: Vec<Result<ResolvedSecret<'_>, &WireError>> =
            reads.iter().map(|read| read.as_ref().map(|found| found.resolved(&checked.namespace))).collect();
        let aad =
            ReplyAad { request_id: &checked.request_id, subject: checked.subject, request_mac: &checked.request_mac };
        let head =
            |sealed_len| ResponseEnvelope::read_reply_head(checked.request_id, checked.resolver_key_id, sealed_len);
        let limit = self.reply_limit();
        let reply =
            checked.transport.seal_reply(&aad, &items, limit, head).map_err(|e| unsendable_reply(e, READ_FEWER))?;
        // The items fit; with the head before them the reply may still not (by a few bytes).
        if reply.len() > limit {
            return Err(reply_too_large(reply.len(), limit, READ_FEWER));
        }
        Ok(reply)
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
        audit: &mut AuditRecord<'_>,
    ) -> Result<Reads, Error> {
        if items.is_empty() || items.len() > MAX_ITEMS_PER_REQUEST {
            return Err(Error::invalid_input(format!(
                "a request names 1 to {MAX_ITEMS_PER_REQUEST} secrets, this one names {}",
                items.len()
            )));
        }
        self.inner.metrics.items.fetch_add(items.len() as u64, std::sync::atomic::Ordering::Relaxed);
        // Every name's freshness against the one clock reading of the request.
        let now = checked.received;
        // Most names are answered from the cache, without a future each; only the others are
        // loaded, concurrently. Each is looked up by its key's text, written into one buffer.
        let mut key = String::new();
        // Each item checked (or the name of one refused, for its audit item), and its answer so
        // far: found or failed, or the level its load starts at.
        let mut parsed: Vec<Result<ReadItem, String>> = Vec::with_capacity(items.len());
        let mut results = Vec::with_capacity(items.len());
        for item in items {
            match ReadItem::parse(item) {
                Ok(item) => {
                    results.push(self.get_item_cached(checked, &item, now, &mut key));
                    parsed.push(Ok(item));
                }
                Err((e, name)) => {
                    results.push(Ok(Err(e)));
                    parsed.push(Err(name));
                }
            }
        }
        // Each uncached name, and the level of its lineage its load starts at.
        let uncached: Vec<(usize, usize, &ReadItem)> = results
            .iter()
            .zip(&parsed)
            .enumerate()
            .filter_map(|(index, (result, item))| match (result, item) {
                (Err(level), Ok(item)) => Some((index, *level, item)),
                _ => None,
            })
            .collect();
        match uncached.as_slice() {
            [] => {}
            // No join machinery for one.
            &[(index, level, item)] => results[index] = Ok(self.get_item(checked, item, level).await),
            _ => {
                let loads = uncached.iter().map(|&(_, level, item)| self.get_item(checked, item, level));
                for (&(index, ..), result) in uncached.iter().zip(futures::future::join_all(loads).await) {
                    results[index] = Ok(result);
                }
            }
        }
        let results = results
            .into_iter()
            .map(|result| result.unwrap_or_else(|_| Err(Error::new(ErrorKind::Internal, "a name was not looked up"))));
        let mut reads = Vec::with_capacity(parsed.len());
        audit.items.reserve(parsed.len());
        for (item, result) in parsed.into_iter().zip(results) {
            // The name as requested: moved from the request into the audit item, never copied.
            let name = item.map_or_else(|name| name, |item| String::from(item.name));
            match result {
                Ok((found, source)) => {
                    // Where it was found and its version: from `found`, when the event is written.
                    audit.items.push(AuditedItem { source: Some(source), ..AuditedItem::new(name, "ok") });
                    reads.push(Ok(found));
                }
                Err(e) => {
                    let failed = e.kind() != ErrorKind::NotFound;
                    audit.items.push(AuditedItem {
                        backend: e.context_value("backend").map(str::to_owned),
                        error: failed.then(|| crate::audit::error_text(&e)),
                        ..AuditedItem::new(name, e.kind().as_str())
                    });
                    reads.push(Err(WireError::from(&e)));
                }
            }
        }
        Ok(reads)
    }

    /// What [`get_item`](Self::get_item) answers, when the cache alone answers it: every level
    /// up to the one holding the secret has a fresh entry. Else `Err` with the first level of
    /// the lineage (counted from 0) that must be loaded, where `get_item` goes on. `key` is
    /// the buffer each level's key text is written into.
    fn get_item_cached(
        &self,
        checked: &Checked<'_>,
        item: &ReadItem,
        now: tokio::time::Instant,
        key: &mut String,
    ) -> Result<Result<(Found, &'static str), Error>, usize> {
        let ReadItem { name, version, path } = item;
        let inner = &self.inner;
        for (depth, level) in levels(&checked.namespace).enumerate() {
            let Some(_) = inner.bindings.effective(&checked.tenant, &level) else { continue };
            let key = CacheKey::text(key, &checked.tenant, &level, name, version.as_ref());
            match inner.cache.get_fresh_at(key, now).ok_or(depth)? {
                Ok(secret) => {
                    return Ok(self.found(level, secret, path.as_ref(), Freshness::Cached));
                }
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Ok(Err(e.with_context("namespace", &level))),
            }
        }
        Ok(Err(not_found(name, &checked.namespace)))
    }

    /// Looks one secret up in the namespace, then each ancestor, nearest first, from the
    /// lineage's level `from` on (the levels before it were answered "not found" by the cache).
    /// Only "not found" falls through to the parent: any other error stops the walk, so a
    /// backend that is down never reveals a parent's secret of the same name.
    async fn get_item(
        &self,
        checked: &Checked<'_>,
        item: &ReadItem,
        from: usize,
    ) -> Result<(Found, &'static str), Error> {
        let ReadItem { name, version, path } = item;
        let inner = &self.inner;
        for level in levels(&checked.namespace).skip(from) {
            let Some(backend) = inner.bindings.effective(&checked.tenant, &level) else { continue };
            let key = CacheKey::new(&checked.tenant, &level, name, version.as_ref());
            let load = || {
                let scope = Scope::new(checked.tenant.clone(), Namespace::clone(&level));
                let charged = inner.budgets.charge(&checked.grant);
                if charged.is_ok() {
                    Counters::bump(&inner.metrics.backend_reads);
                }
                let (backend, name, version) = (backend.clone(), name.clone(), version.clone());
                async move {
                    charged?;
                    backend.get(&scope, &name, version.as_ref()).await.map_err(|e| e.from_backend(&backend.info().name))
                }
            };
            let (secret, freshness) = match inner.cache.get_or_load(key, load).await {
                Ok(found) => found,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e.with_context("namespace", &level)),
            };
            return self.found(level, secret, path.as_ref(), freshness);
        }
        Err(not_found(name, &checked.namespace))
    }

    /// The answer to one name found at `level`: the secret (and the part `path` selects), and
    /// where it came from.
    fn found(
        &self,
        level: Cow<'_, Namespace>,
        secret: Arc<Secret>,
        path: Option<&SecretPath>,
        freshness: Freshness,
    ) -> Result<(Found, &'static str), Error> {
        let extracted = path.map(|path| path.extract(&secret.value)).transpose()?;
        let (stale, source) = match freshness {
            Freshness::Fresh => (false, "backend"),
            Freshness::Cached => (false, "cache"),
            Freshness::Stale => {
                Counters::bump(&self.inner.metrics.stale_served);
                (true, "stale")
            }
        };
        // Only an ancestor is owned (`levels`): the request's own namespace is not kept.
        let ancestor = match level {
            Cow::Owned(ancestor) => Some(ancestor),
            Cow::Borrowed(_) => None,
        };
        Ok((Found { ancestor, secret, extracted, stale }, source))
    }

    /// The change event of a write, with one MAC per live resolver key.
    fn change_event(&self, checked: &Checked<'_>, name: &SecretName) -> Option<(String, Vec<u8>)> {
        let subject = subject::changed(&checked.tenant, &checked.namespace);
        let sent_at_ms = unix_now_ms();
        let input = ChangeEventMacInput { subject: &subject, name: name.as_str(), sent_at_ms };
        let macs = self.inner.event_keys.iter().map(|key| (key.resolver_key_id(), key.mac(&input))).collect();
        let event = ChangeEvent { version: PROTOCOL_VERSION, name: name.to_string(), sent_at_ms, macs };
        event.encode().ok().map(|bytes| (subject, bytes))
    }

    async fn after_write(&self, checked: &Checked<'_>, name: &SecretName) -> Option<(String, Vec<u8>)> {
        Counters::bump(&self.inner.metrics.writes);
        self.inner.cache.invalidate(&checked.tenant, &checked.namespace, name);
        self.change_event(checked, name)
    }

    async fn put(
        &self,
        checked: &Checked<'_>,
        put: PutRequest,
        audit: &mut AuditRecord<'_>,
    ) -> Result<(ResponseBody, Option<(String, Vec<u8>)>), Error> {
        let name = SecretName::new(put.name)?;
        audit.push_item(&name);
        let tags = Tags::try_from(put.tags)?;
        let backend = self.binding(&checked.tenant, &checked.namespace)?;
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
        let meta = backend.put(&scope, &name, value, tags).await.map_err(|e| {
            let e = e.from_backend(&backend.info().name);
            audit.set_error(&e);
            e
        })?;
        audit.set_version(meta.version.as_ref().map(|v| v.to_string()));
        let change = self.after_write(checked, &name).await;
        Ok((ResponseBody::Put(meta), change))
    }

    async fn delete(
        &self,
        checked: &Checked<'_>,
        delete: DeleteRequest,
        audit: &mut AuditRecord<'_>,
    ) -> Result<(ResponseBody, Option<(String, Vec<u8>)>), Error> {
        let name = SecretName::new(delete.name)?;
        audit.push_item(&name);
        let backend = self.binding(&checked.tenant, &checked.namespace)?;
        let scope = Scope::new(checked.tenant.clone(), checked.namespace.clone());
        backend.delete(&scope, &name).await.map_err(|e| {
            let e = e.from_backend(&backend.info().name);
            audit.set_error(&e);
            e
        })?;
        let change = self.after_write(checked, &name).await;
        Ok((ResponseBody::Delete, change))
    }

    /// Lists the namespace through its binding; a recursive list also lists every override
    /// below it through that override's own binding, and keeps each secret only from the
    /// binding that serves its namespace: an override's tag filter and read-only flag hide the
    /// same secrets from a recursive list as from a direct one.
    async fn list(&self, checked: &Checked<'_>, list: ListRequest) -> Result<ResponseBody, Error> {
        let filter = ListFilter { tags: Tags::try_from(list.tags)?, recursive: list.recursive };
        if !filter.recursive {
            let backend = self.binding(&checked.tenant, &checked.namespace)?;
            let scope = Scope::new(checked.tenant.clone(), checked.namespace.clone());
            return Ok(ResponseBody::List(backend.list(&scope, &filter).await?));
        }
        let tenant = self.inner.bindings.tenant(&checked.tenant).ok_or_else(|| {
            Error::not_found(format!("no backend serves namespace {} of tenant {}", checked.namespace, checked.tenant))
        })?;
        let roots = tenant.subtree(&checked.namespace);
        if roots.is_empty() {
            return Err(Error::not_found(format!(
                "no backend serves namespace {} of tenant {}",
                checked.namespace, checked.tenant
            )));
        }
        let listings = roots.iter().map(|(root, backend)| {
            let scope = Scope::new(checked.tenant.clone(), root.clone());
            let filter = filter.clone();
            async move { backend.list(&scope, &filter).await }
        });
        let mut all = Vec::new();
        for ((root, _), listed) in roots.iter().zip(futures::future::join_all(listings).await) {
            all.extend(listed?.into_iter().filter(|meta| tenant.served_from(root, &meta.namespace)));
        }
        all.sort_by(|a, b| (a.namespace.as_str(), a.name.as_str()).cmp(&(b.namespace.as_str(), b.name.as_str())));
        Ok(ResponseBody::List(all))
    }

    /// Obeys a change event from any replica: drops the secret from the cache, when the event
    /// carries a valid MAC under a resolver key this replica holds and was sent inside the
    /// replay window. Anything else is refused (and counted): forged events cannot make
    /// replicas do anything.
    pub async fn apply_change(&self, subject: &str, payload: &[u8]) -> Result<(), Error> {
        let result = self.check_change(subject, payload);
        let (tenant, namespace, name) = match result {
            Ok(target) => target,
            Err(e) => {
                Counters::bump(&self.inner.metrics.rejected_change_events);
                return Err(e);
            }
        };
        self.inner.cache.invalidate(&tenant, &namespace, &name);
        Ok(())
    }

    fn check_change(&self, subject: &str, payload: &[u8]) -> Result<(TenantId, Namespace, SecretName), Error> {
        let (tenant, namespace) = subject::parse_changed(subject).map_err(|e| Error::invalid_input(e.to_string()))?;
        let event = ChangeEvent::decode(payload).map_err(|e| Error::invalid_input(e.to_string()))?;
        let input = ChangeEventMacInput { subject, name: &event.name, sent_at_ms: event.sent_at_ms };
        let authentic = event.macs.iter().any(|(key_id, mac)| {
            self.inner.event_keys.iter().any(|key| &key.resolver_key_id() == key_id && key.verify(&input, mac).is_ok())
        });
        if !authentic {
            return Err(Error::new(
                ErrorKind::Unauthorized,
                "no MAC of the change event verifies under this resolver's keys",
            ));
        }
        let skew_ms = unix_now_ms().abs_diff(event.sent_at_ms);
        if u128::from(skew_ms) > self.inner.settings.replay_window.as_millis() {
            return Err(Error::new(ErrorKind::Unauthorized, "the change event was sent outside the replay window"));
        }
        let name = SecretName::new(event.name)?;
        Ok((tenant, namespace, name))
    }
}

/// What a read refused as too large can do instead.
const READ_FEWER: &str = "read fewer secrets per request";

/// Why a reply could not be encoded within this replica's limit; `instead` says what a
/// request too large to answer can do.
fn unsendable_reply(error: CodecError, instead: &str) -> Error {
    match error {
        CodecError::TooLarge { len, limit } => reply_too_large(len, limit, instead),
        e => Error::new(ErrorKind::Internal, format!("the reply could not be encoded: {e}")),
    }
}

/// A reply of `len` bytes (or its sealed items, of `len`) over this replica's `limit`: 1 MiB,
/// or the NATS server's `max_payload` when that is smaller; `instead` says what to do.
fn reply_too_large(len: usize, limit: usize, instead: &str) -> Error {
    let whose = if limit < MAX_RESPONSE_BYTES { "the NATS server's max_payload" } else { "hush's reply limit" };
    Error::invalid_input(format!("reply too large: {len} bytes, the limit is {limit} ({whose}); {instead}"))
}
