//! The attacks of the security issue, each performed with a raw NATS client against a real
//! nats-server and real resolver replicas, and each shown to fail (ARCHITECTURE.md "Security").

use std::time::Duration;

use futures::StreamExt;
use hush_core::{Error, ErrorKind, GrantScope, SecretValue, Tags};
use hush_crypto::{ChangeEventMacInput, GrantIssuer, GrantRequest, ReplyAad, RequestMacInput, ResolverKeyPair};
use hush_e2e::{Stack, now, now_ms};
use hush_proto::PROTOCOL_VERSION;
use hush_proto::codec::MAX_RESPONSE_BYTES;
use hush_proto::message::{
    ChangeEvent, DeleteRequest, GetItem, GetRequest, ListRequest, PutRequest, RequestBody, RequestEnvelope,
    ResolvedSecret, ResponseBody, ResponseEnvelope, SealedItems, WireError,
};

use crate::{CONFIG, PROBES, put, read, subscribed};

fn refusal(response: ResponseEnvelope) -> Error {
    Error::from(response.body.expect_err("the request is refused"))
}

/// [`CONFIG`] and a second tenant, `initech`, that accepts grants not bound to a client key.
fn with_initech_allowing_unbound_grants() -> String {
    format!("{CONFIG}\n[tenants.initech]\nbackend = \"local\"\nrequire_bound_grants = false\n")
}

/// Subscribes to `subject` as an eavesdropper on NATS would.
async fn spy(stack: &Stack, subject: &str) -> async_nats::Subscriber {
    let nats = async_nats::connect(&stack.nats.url).await.unwrap();
    subscribed(&nats, subject).await
}

/// The next message `spy` sees, other than [`subscribed`]'s probes (a spy on `>` sees them).
async fn captured(spy: &mut async_nats::Subscriber) -> async_nats::Message {
    loop {
        let message =
            tokio::time::timeout(Duration::from_secs(5), spy.next()).await.expect("a message to capture").unwrap();
        if !message.subject.starts_with(PROBES) {
            return message;
        }
    }
}

/// The reply to the first read request a spy on `>` sees. Other traffic may come before or
/// between them: the audit stream's acknowledgements of earlier events reach hushd's inbox up
/// to the audit linger later, and change events go out after a write's reply.
async fn captured_read_reply(spy: &mut async_nats::Subscriber) -> async_nats::Message {
    let request = loop {
        let message = captured(spy).await;
        if message.subject.starts_with("hush.v1.get.") {
            break message;
        }
    };
    let inbox = request.reply.clone().expect("a read has an inbox");
    loop {
        let message = captured(spy).await;
        if message.subject == inbox {
            return message;
        }
    }
}

#[tokio::test]
async fn a_captured_admin_request_edited_and_republished_is_refused() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    put(&stack, "acme", "company", "OLD_TOKEN", "old").await;
    put(&stack, "acme", "company", "DB_PASSWORD", "keep-me").await;
    // One spy per operation: each also sees the attacker's own edited requests.
    let mut deletes = spy(&stack, "hush.v1.admin.delete.>").await;
    let mut puts = spy(&stack, "hush.v1.admin.put.>").await;
    let mut lists = spy(&stack, "hush.v1.admin.list.>").await;
    let admin = stack.session("acme", "company", GrantScope::Admin).await;

    // The victim deletes OLD_TOKEN; the attacker captures the request.
    admin.delete("OLD_TOKEN").await.unwrap();
    let delete = captured(&mut deletes).await;
    let mut edited = RequestEnvelope::decode(&delete.payload).unwrap();
    edited.body = RequestBody::Delete(DeleteRequest { name: "DB_PASSWORD".into() });
    edited.request_id[0] ^= 1; // a fresh id, so it is not refused as a mere replay
    let attacker = stack.raw_client().await;
    let err = refusal(attacker.send(&delete.subject, &edited).await);
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(err.message().contains("MAC does not verify"), "{err}");
    assert_eq!(read(&stack, "acme", "company", "DB_PASSWORD").await.unwrap(), "keep-me");

    // A put's tags and a list's filter are covered the same way.
    let mut tags = Tags::new();
    tags.insert("team", "a").unwrap();
    admin.put("TAGGED", &SecretValue::from("v"), &tags).await.unwrap();
    let put_request = captured(&mut puts).await;
    let mut retagged = RequestEnvelope::decode(&put_request.payload).unwrap();
    let RequestBody::Put(PutRequest { tags, .. }) = &mut retagged.body else { panic!("a put") };
    tags.insert("team".into(), "payments".into());
    retagged.request_id[0] ^= 1;
    assert_eq!(refusal(attacker.send(&put_request.subject, &retagged).await).kind(), ErrorKind::Unauthorized);

    admin.list(&hush_core::ListFilter::default()).await.unwrap();
    let list = captured(&mut lists).await;
    let mut refiltered = RequestEnvelope::decode(&list.payload).unwrap();
    refiltered.body = RequestBody::List(ListRequest { tags: [("team".into(), "a".into())].into(), recursive: true });
    refiltered.request_id[0] ^= 1;
    assert_eq!(refusal(attacker.send(&list.subject, &refiltered).await).kind(), ErrorKind::Unauthorized);

    // The grant is not on the wire in clear (it is sealed to the resolver), but say it leaked
    // anyway (a log, a process listing). It is bound (cnf) to the victim's key. Claiming that
    // key as one's own (copying it into client_key) gives a MAC key the attacker cannot
    // compute...
    let victim = RequestEnvelope::decode(&delete.payload).unwrap();
    let leaked = stack.bound_grant("acme", "company", GrantScope::Admin, victim.client_key);
    let body = RequestBody::Delete(DeleteRequest { name: "DB_PASSWORD".into() });
    let mut impersonation = attacker.envelope(&delete.subject, &leaked, body.clone());
    impersonation.client_key = victim.client_key;
    attacker.authenticate(&mut impersonation, &delete.subject, &leaked);
    let err = refusal(attacker.send(&delete.subject, &impersonation).await);
    assert!(err.message().contains("MAC does not verify"), "{err}");
    // ...and using it with the attacker's own key breaks the binding.
    let own_key = attacker.envelope(&delete.subject, &leaked, body);
    let err = refusal(attacker.send(&delete.subject, &own_key).await);
    assert!(err.message().contains("bound to another client key"), "{err}");
    assert_eq!(read(&stack, "acme", "company", "DB_PASSWORD").await.unwrap(), "keep-me");
}

#[tokio::test]
async fn a_captured_write_replayed_after_a_restart_or_on_another_replica_is_refused() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let first = stack.replica().await;
    let mut wire = spy(&stack, "hush.v1.admin.put.>").await;
    put(&stack, "acme", "company", "API_KEY", "v1").await;
    let captured_put = captured(&mut wire).await;
    // The credential is rotated; the attacker wants to bring v1 back.
    put(&stack, "acme", "company", "API_KEY", "v2").await;
    let attacker = stack.raw_client().await;

    // The replica restarts (a new process would have an empty memory).
    first.stop().await;
    let second = stack.replica().await;
    let err = refusal(attacker.send_bytes(&captured_put.subject, captured_put.payload.to_vec()).await);
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(err.message().contains("replayed request id"), "{err}");

    // Two replicas share the ledger: whichever takes the replay refuses it.
    let third = stack.replica().await;
    for _ in 0..6 {
        let err = refusal(attacker.send_bytes(&captured_put.subject, captured_put.payload.to_vec()).await);
        assert!(err.message().contains("replayed request id"), "{err}");
    }
    assert!(second.resolver.metrics().replays_refused + third.resolver.metrics().replays_refused >= 7);
    assert_eq!(read(&stack, "acme", "company", "API_KEY").await.unwrap(), "v2");

    // An admin request made long ago (its sender's clock, or a capture held back) is refused
    // even with a fresh id: sent_at is under the MAC.
    let grant = stack.bound_grant("acme", "company", GrantScope::Admin, attacker.keys.public());
    let subject = "hush.v1.admin.list.acme.company";
    let mut old = attacker.envelope(subject, &grant, RequestBody::List(ListRequest::default()));
    old.sent_at_ms -= 10 * 60 * 1000;
    attacker.authenticate(&mut old, subject, &grant);
    let err = refusal(attacker.send(subject, &old).await);
    assert!(err.message().contains("replay window"), "{err}");
}

#[tokio::test]
async fn forged_change_events_are_dropped_and_counted() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let replica = stack.replica().await;
    put(&stack, "acme", "company", "CACHED", "v").await;
    assert_eq!(read(&stack, "acme", "company", "CACHED").await.unwrap(), "v");
    let reads_before = replica.resolver.metrics().backend_reads;

    let nats = async_nats::connect(&stack.nats.url).await.unwrap();
    let subject = "hush.v1.events.changed.acme.company";
    let stranger = ResolverKeyPair::generate().change_event_key();
    let sent_at_ms = now_ms();
    let mac = stranger.mac(&ChangeEventMacInput { subject, name: "CACHED", sent_at_ms });
    let forged = ChangeEvent {
        version: PROTOCOL_VERSION,
        name: "CACHED".into(),
        sent_at_ms,
        macs: vec![(stranger.resolver_key_id(), mac)],
    };
    for _ in 0..20 {
        nats.publish(subject, forged.encode().unwrap().into()).await.unwrap();
        nats.publish(subject, b"garbage".to_vec().into()).await.unwrap();
    }
    nats.flush().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while replica.resolver.metrics().rejected_change_events < 40 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(replica.resolver.metrics().rejected_change_events, 40);
    // The cache was not emptied by the forgeries: the next read is a hit.
    assert_eq!(read(&stack, "acme", "company", "CACHED").await.unwrap(), "v");
    assert_eq!(replica.resolver.metrics().backend_reads, reads_before);
}

#[tokio::test]
async fn unbound_grants_are_refused_unless_the_tenant_allows_them() {
    let config = with_initech_allowing_unbound_grants();
    let Some(stack) = Stack::start_or_skip(&config) else { return };
    let _replica = stack.replica().await;
    put(&stack, "acme", "company", "X", "acme-x").await;
    put(&stack, "initech", "company", "X", "initech-x").await;
    let client = stack.client().await;
    // A leaked unbound grant is a bearer token: refused by default.
    let unbound = client.session(stack.grant("acme", "company", GrantScope::Read)).unwrap();
    let err = unbound.secret("X").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(err.message().contains("not bound to a client key"), "{err}");
    // The tenant that opted out accepts it; bound grants work everywhere.
    let opted_out = client.session(stack.grant("initech", "company", GrantScope::Read)).unwrap();
    assert_eq!(opted_out.secret("X").await.unwrap().expose(), b"initech-x");
    assert_eq!(read(&stack, "acme", "company", "X").await.unwrap(), "acme-x");
}

#[tokio::test]
async fn a_tenants_own_issuers_are_the_only_ones_it_trusts() {
    let config = format!(
        "{CONFIG}\n[tenants.initech]\nbackend = \"local\"\nissuer_public_keys = [\"keys/initech-issuer.pub\"]\n"
    );
    let Some(stack) = Stack::start_or_skip(&config) else { return };
    let initech_issuer = GrantIssuer::generate();
    let keys = stack.path().join("keys");
    initech_issuer.save_new(&keys.join("initech-issuer.key"), &keys.join("initech-issuer.pub")).unwrap();
    let _replica = stack.replica().await;
    let client = stack.client().await;
    let mint = |issuer: &GrantIssuer, tenant: &str, scope| {
        issuer
            .issue(&GrantRequest {
                tenant: tenant.parse().unwrap(),
                namespace: "company".parse().unwrap(),
                scope,
                ttl: Duration::from_secs(600),
                execution_id: None,
                cnf: Some(client.public_key()),
                now: now(),
            })
            .unwrap()
    };
    let own = client.session(mint(&initech_issuer, "initech", GrantScope::Admin)).unwrap();
    own.put("X", &SecretValue::from("initech"), &Tags::new()).await.expect("the tenant's issuer mints for it");
    assert_eq!(own.secret("X").await.unwrap().expose(), b"initech");

    // The platform's default issuer no longer mints for initech...
    let platform = client.session(mint(&stack.issuer, "initech", GrantScope::Read)).unwrap();
    let err = platform.secret("X").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("issuer is not trusted"), "{err}");
    // ...and initech's issuer mints for no other tenant.
    let foreign = client.session(mint(&initech_issuer, "acme", GrantScope::Admin)).unwrap();
    let err = foreign.put("X", &SecretValue::from("pwned"), &Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    // Other tenants keep the default issuers.
    put(&stack, "acme", "company", "X", "acme").await;
    assert_eq!(read(&stack, "acme", "company", "X").await.unwrap(), "acme");
}

#[tokio::test]
async fn hushd_answers_only_to_inbox_reply_subjects() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let replica = stack.replica().await;
    put(&stack, "acme", "company", "X", "v").await;
    let attacker = stack.raw_client().await;
    let grant = stack.bound_grant("acme", "company", GrantScope::Read, attacker.keys.public());
    let subject = "hush.v1.get.acme.company";
    let body = || RequestBody::Get(GetRequest { items: vec![GetItem { name: "X".into(), path: None, version: None }] });

    let targets = ["hush.v1.audit.globex", "hush.v1.events.changed.acme.company", "_INBOX_other.x"];
    let mut spies = Vec::new();
    for target in targets {
        spies.push(spy(&stack, target).await);
    }
    for target in targets {
        let payload = attacker.envelope(subject, &grant, body()).encode().unwrap();
        attacker.nats.publish_with_reply(subject, target, payload.into()).await.unwrap();
    }
    // Without any reply subject at all, too.
    attacker.nats.publish(subject, attacker.envelope(subject, &grant, body()).encode().unwrap().into()).await.unwrap();
    attacker.nats.flush().await.unwrap();
    for (target, spy) in targets.iter().zip(spies.iter_mut()) {
        let published = tokio::time::timeout(Duration::from_millis(500), spy.next()).await;
        assert!(!matches!(published, Ok(Some(_))), "hushd published onto {target}");
    }
    assert_eq!(replica.resolver.metrics().foreign_reply_subjects, 4);
    // The same request with an ordinary inbox is answered.
    let ok = attacker.send(subject, &attacker.envelope(subject, &grant, body())).await;
    assert!(ok.body.is_ok(), "{:?}", ok.body);
}

#[tokio::test]
async fn a_private_key_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let key = stack.path().join("keys/resolver.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = stack.config();
    let ledger: std::sync::Arc<dyn hush_resolver::ReplayLedger> =
        std::sync::Arc::new(hush_resolver::MemoryLedger::new(Duration::from_secs(60)));
    let error = format!("{:#}", hushd::build_resolver(&config, ledger.clone()).await.unwrap_err());
    assert!(error.contains("accessible by group or others (mode 0644)"), "{error}");
    assert!(error.contains(&format!("run `chmod 600 {}`", key.display())), "{error}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(hushd::build_resolver(&config, ledger).await.is_ok(), "0600 is accepted");
}

/// The request MAC is what the resolver checks, not something the harness invents: the real
/// client's requests verify under the construction written in ARCHITECTURE.md.
#[tokio::test]
async fn the_real_clients_requests_carry_the_documented_mac() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    let mut wire = spy(&stack, "hush.v1.get.>").await;
    let client = stack.client().await;
    let grant = stack.bound_grant("acme", "company", GrantScope::Read, client.public_key());
    let session = client.session(grant.clone()).unwrap();
    let _ = session.secret("NOPE").await;
    let request = captured(&mut wire).await;
    let envelope = RequestEnvelope::decode(&request.payload).unwrap();
    assert!((now_ms() - envelope.sent_at_ms).abs() < 60_000);
    // Recomputed from the resolver's side with a second copy of its key.
    let resolver_key = ResolverKeyPair::load(&stack.path().join("keys/resolver.key")).unwrap();
    let transport = resolver_key.transport_key(&envelope.client_key).unwrap();
    let body = envelope.encoded_body().unwrap();
    transport.verify_request_mac(&RequestMacInput::of(&envelope, &request.subject, &body), &envelope.mac).unwrap();
    // The grant rides sealed to the resolver, under the same transport key, sealed once per
    // session: the session's next request carries the same bytes, under a new MAC.
    assert_eq!(transport.open_grant(&envelope.sealed_grant).unwrap().as_str(), grant);
    let _ = session.secret("NOPE_EITHER").await;
    let next = RequestEnvelope::decode(&captured(&mut wire).await.payload).unwrap();
    assert_eq!(next.sealed_grant, envelope.sealed_grant);
    assert_ne!((next.request_id, next.mac), (envelope.request_id, envelope.mac));
    transport.verify_envelope(&next, &request.subject).unwrap();
}

/// A session sends the same sealed grant with every request, and hushd caches a verified
/// grant by it. An attacker who captures those bytes cannot use them: under its own client key
/// they are another cache entry and do not open, and with the victim's client key the attacker
/// cannot make the MAC. Even with an unbound grant, which the tenant allows.
#[tokio::test]
async fn a_sealed_grant_captured_from_another_client_is_refused_under_any_other_key() {
    let config = with_initech_allowing_unbound_grants();
    let Some(stack) = Stack::start_or_skip(&config) else { return };
    let replica = stack.replica().await;
    put(&stack, "initech", "company", "X", "initech-x").await;
    let mut wire = spy(&stack, "hush.v1.get.>").await;
    let victim = stack.client().await.session(stack.grant("initech", "company", GrantScope::Read)).unwrap();
    // Read twice: the second request is answered from the verified-grant cache.
    assert_eq!(victim.secret("X").await.unwrap().expose(), b"initech-x");
    assert_eq!(victim.secret("X").await.unwrap().expose(), b"initech-x");
    let request = captured(&mut wire).await;
    let stolen = RequestEnvelope::decode(&request.payload).unwrap();
    let unauthorized_before = replica.resolver.metrics().unauthorized;

    // 1. The captured sealed grant in a request the attacker authenticates with its own key.
    let attacker = stack.raw_client().await;
    let get = || RequestBody::Get(GetRequest { items: vec![GetItem { name: "X".into(), path: None, version: None }] });
    let mut own_key = attacker.envelope(&request.subject, "hush1.unused.grant", get());
    own_key.sealed_grant.clone_from(&stolen.sealed_grant);
    let body = own_key.encoded_body().unwrap();
    own_key.mac = attacker.transport.request_mac(&RequestMacInput::of(&own_key, &request.subject, &body));
    let err = refusal(attacker.send(&request.subject, &own_key).await);
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(err.message().contains("grant does not open"), "{err}");

    // 2. The same, claiming the victim's client key: the attacker's MAC does not verify under it.
    let mut victims_key = own_key.clone();
    victims_key.client_key = stolen.client_key;
    let err = refusal(attacker.send(&request.subject, &victims_key).await);
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(err.message().contains("MAC does not verify"), "{err}");

    // 3. The captured request itself, sent again: answered, but sealed to the victim's key.
    let replayed = attacker.send_bytes(&request.subject, request.payload.to_vec()).await;
    let Ok(ResponseBody::Get(sealed)) = replayed.body else { panic!("a get answer") };
    assert!(!sealed.0.windows(9).any(|w| w == b"initech-x"), "the value is sealed");
    let aad = ReplyAad { request_id: &stolen.request_id, subject: &request.subject, request_mac: &stolen.mac };
    assert!(attacker.transport.open_reply(&aad, &sealed.0).is_err(), "the attacker's key does not open it");
    assert_eq!(replica.resolver.metrics().unauthorized, unauthorized_before + 2);
}

#[tokio::test]
async fn one_grant_cannot_drive_unbounded_backend_reads() {
    let config = format!("{CONFIG}\n[resolver]\nmax_backend_reads_per_grant = 20\n");
    let Some(stack) = Stack::start_or_skip(&config) else { return };
    let replica = stack.replica().await;
    put(&stack, "acme", "company", "KNOWN", "v").await;
    let greedy = stack.session("acme", "company.a.b", GrantScope::Read).await;
    assert_eq!(greedy.secret("KNOWN").await.unwrap().expose(), b"v", "3 backend reads, within budget");
    // 64 fresh names, each missed at 3 namespace levels: 192 reads asked, 17 left in the budget.
    let names: Vec<String> = (0..64).map(|i| format!("FRESH_{i}")).collect();
    let results = greedy
        .fetch(&names.iter().map(|n| hush_client::SecretRequest::new(n.as_str())).collect::<Vec<_>>())
        .await
        .unwrap();
    let limited = results.iter().filter(|r| matches!(r, Err(e) if e.kind() == ErrorKind::RateLimited)).count();
    assert!(limited >= 64 - 17, "{limited} of 64 items were rate limited");
    assert_eq!(replica.resolver.metrics().backend_reads, 20, "the backend saw the budget and no more");
    // The cached value is still served to the same grant; another grant has its own budget.
    assert_eq!(greedy.secret("KNOWN").await.unwrap().expose(), b"v");
    assert_eq!(read(&stack, "acme", "company.a.b", "FRESH_0").await, Err(ErrorKind::NotFound));
}

#[tokio::test]
async fn an_eavesdropper_on_every_subject_sees_no_value_and_no_grant() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    // Subscribed to `>` before anything is sent: requests, replies in `_INBOX`, change events,
    // audit events and JetStream traffic of the replay ledger.
    let mut everything = spy(&stack, ">").await;

    let client = stack.client().await;
    let admin_grant = stack.bound_grant("acme", "company", GrantScope::Admin, client.public_key());
    let admin = client.session(admin_grant.clone()).unwrap();
    let reader_grant = stack.bound_grant("acme", "company.etl", GrantScope::Read, client.public_key());
    let reader = client.session(reader_grant.clone()).unwrap();
    let values = ["wiretap-value-one-7f3a", "{\"password\":\"wiretap-json-9c1d\"}"];
    admin.put("WIRE_ONE", &SecretValue::from(values[0]), &Tags::new()).await.unwrap();
    admin.put("WIRE_JSON", &SecretValue::from(values[1]), &Tags::new()).await.unwrap();
    assert_eq!(reader.secret("WIRE_ONE").await.unwrap().expose(), values[0].as_bytes());
    let path = reader.secret_at("WIRE_JSON", "password").await.unwrap();
    assert_eq!(path.expose(), b"wiretap-json-9c1d");
    admin.list(&hush_core::ListFilter::default()).await.unwrap();
    admin.delete("WIRE_ONE").await.unwrap();

    let mut seen = Vec::new();
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(500), everything.next()).await {
        seen.push(message);
    }
    let subjects: Vec<&str> = seen.iter().map(|m| m.subject.as_str()).collect();
    assert!(subjects.iter().any(|s| s.starts_with("hush.v1.get.")), "the spy saw the reads: {subjects:?}");
    assert!(subjects.iter().any(|s| s.starts_with("hush.v1.admin.put.")), "and the writes: {subjects:?}");
    assert!(subjects.iter().any(|s| s.starts_with("_INBOX.")), "and the replies: {subjects:?}");

    // Every token whole, and each part of it (claims, signature) alone.
    let mut needles: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    needles.push(b"wiretap-json-9c1d");
    for grant in [&admin_grant, &reader_grant] {
        needles.push(grant.as_bytes());
        needles.extend(grant.split('.').skip(1).map(str::as_bytes));
    }
    for message in &seen {
        for needle in &needles {
            assert!(
                !message.payload.windows(needle.len()).any(|w| w == *needle),
                "{} carries a value or a grant in clear",
                message.subject
            );
        }
    }
}

/// An impostor on the read subject (any NATS user allowed to subscribe there, without the
/// resolver's key) answers the real client's reads: with a genuine reply captured from another
/// of its requests, with that reply altered, and with a reply it sealed itself to the client's
/// key. The client opens none of them (ARCHITECTURE.md "Read replies"); an unsealed error is
/// all an impostor can make it return.
#[tokio::test]
async fn an_impostor_answering_reads_cannot_forge_alter_or_forward_a_reply() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let replica = stack.replica().await;
    put(&stack, "acme", "company", "X", "impostor-x").await;
    let client = stack.client().await;
    let session = client.session(stack.bound_grant("acme", "company", GrantScope::Read, client.public_key())).unwrap();
    let mut wire = spy(&stack, ">").await;
    assert_eq!(session.secret("X").await.unwrap().expose(), b"impostor-x");
    let genuine = ResponseEnvelope::decode(&captured_read_reply(&mut wire).await.payload).unwrap();
    drop(wire);
    let Ok(ResponseBody::Get(genuine_items)) = genuine.body.clone() else { panic!("a get answer") };
    replica.stop().await;

    // The impostor: from now on the only one answering the read subject.
    let nats = async_nats::connect(&stack.nats.url).await.unwrap();
    let mut requests = subscribed(&nats, "hush.v1.get.acme.company").await;
    let impostor_key = ResolverKeyPair::generate();
    let impostor = tokio::spawn(async move {
        for forgery in 0..4 {
            let request = requests.next().await.expect("the client's read");
            let envelope = RequestEnvelope::decode(&request.payload).unwrap();
            let body = match forgery {
                // The genuine reply to another request of the same client, for the same name,
                // readdressed to this one.
                0 => genuine.body.clone(),
                // The same, one bit of its sealed items flipped.
                1 => {
                    let mut altered = genuine_items.0.clone();
                    let middle = altered.len() / 2;
                    altered[middle] ^= 1;
                    Ok(ResponseBody::Get(SealedItems(altered)))
                }
                // Sealed by the impostor to the client's key, for this very request.
                2 => {
                    let transport = impostor_key.transport_key(&envelope.client_key).unwrap();
                    let aad = ReplyAad {
                        request_id: &envelope.request_id,
                        subject: &request.subject,
                        request_mac: &envelope.mac,
                    };
                    let forged = [Ok(ResolvedSecret {
                        namespace: "company",
                        version: Some("1"),
                        value: b"forged",
                        stale: false,
                    })];
                    Ok(ResponseBody::Get(SealedItems(
                        transport.seal_reply(&aad, &forged, MAX_RESPONSE_BYTES, |_| Vec::new()).unwrap(),
                    )))
                }
                // An error, which travels unsealed.
                _ => Err(WireError { kind: "not_found".into(), message: "impostor says no".into(), backend: None }),
            };
            let reply = ResponseEnvelope { request_id: envelope.request_id, body, ..genuine.clone() };
            nats.publish(request.reply.expect("an inbox"), reply.encode().unwrap().into()).await.unwrap();
        }
        nats.flush().await.unwrap();
    });
    for forgery in ["a genuine reply to another request", "a genuine reply altered", "a reply the impostor sealed"] {
        let err = session.secret("X").await.expect_err(forgery);
        assert_eq!(err.kind(), ErrorKind::Internal, "{forgery}: {err}");
        assert!(err.message().contains("failed to open (forged or corrupted reply)"), "{forgery}: {err}");
    }
    let err = session.secret("X").await.expect_err("the impostor's error");
    assert_eq!((err.kind(), err.message()), (ErrorKind::NotFound, "impostor says no"), "{err}");
    impostor.await.unwrap();
}

/// Since protocol 5 nothing of a read's answer travels in clear: neither the namespace a secret
/// was found in, nor its version, nor which names were not found and why.
#[tokio::test]
async fn an_eavesdropper_on_read_replies_learns_no_names_namespaces_or_errors() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    put(&stack, "acme", "company", "WIRE_FOUND", "wiretap-metadata-3b7e").await;
    let mut wire = spy(&stack, ">").await;
    let client = stack.client().await;
    let reader =
        client.session(stack.bound_grant("acme", "company.etl", GrantScope::Read, client.public_key())).unwrap();
    let results = reader.fetch(&["WIRE_FOUND".into(), "WIRE_MISSING".into()]).await.unwrap();
    let found = results[0].as_ref().unwrap();
    assert_eq!((found.namespace.as_str(), found.value.expose()), ("company", &b"wiretap-metadata-3b7e"[..]));
    assert_eq!(results[1].as_ref().unwrap_err().kind(), ErrorKind::NotFound);

    // Skipped: the put's audit and change events, which may come after the spy subscribed.
    let reply = captured_read_reply(&mut wire).await;
    // The reply is the read's answer: it decodes as one, and names nothing but its request.
    let decoded = ResponseEnvelope::decode(&reply.payload).unwrap();
    assert!(matches!(decoded.body, Ok(ResponseBody::Get(_))));
    for needle in [&b"WIRE_MISSING"[..], b"not_found", b"not found", b"company", b"wiretap-metadata-3b7e"] {
        assert!(
            !reply.payload.windows(needle.len()).any(|w| w == needle),
            "the reply carries {:?} in clear",
            String::from_utf8_lossy(needle)
        );
    }
}
