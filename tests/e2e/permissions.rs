//! The NATS permissions shipped in `config/nats-server.conf`, enforced by a real nats-server:
//! a worker may ask for its tenant's secrets and read its own inbox, nothing more.

use std::time::Duration;

use futures::StreamExt;
use hush_client::{ClientOptions, HushClient};
use hush_core::{ErrorKind, GrantScope, SecretValue, Tags};
use hush_e2e::{NatsServer, Stack, now};

const CONFIG: &str = r#"
[resolver]
reply_prefixes = ["_INBOX_admin", "_INBOX_worker_acme"]

[backends.local]
kind = "sql"
url = "sqlite://{dir}/local.db"

[tenants.acme]
backend = "local"

[tenants.globex]
backend = "local"
"#;

fn user_url(stack: &Stack, user: &str, password: &str) -> String {
    stack.nats.url.replace("nats://", &format!("nats://{user}:{password}@"))
}

async fn client_as(stack: &Stack, user: &str, password: &str, inbox: &str) -> HushClient {
    let mut options = ClientOptions::new(user_url(stack, user, password), vec![stack.resolver_public]);
    options.nats.inbox_prefix = Some(inbox.to_owned());
    options.nats.request_timeout = Duration::from_secs(1);
    HushClient::connect(options).await.expect("the user connects")
}

#[tokio::test]
async fn a_worker_is_confined_to_its_tenant_and_its_own_inbox() {
    let conf = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/nats-server.conf");
    let passwords = [("HUSHD_NATS_PASSWORD", "hp"), ("WORKER_ACME_NATS_PASSWORD", "wp"), ("ADMIN_NATS_PASSWORD", "ap")];
    let nats = match NatsServer::start_with(&["-c", conf], &passwords) {
        Ok(nats) => nats,
        Err(reason) => return hush_e2e::skip(&reason),
    };
    let hushd_url = nats.url.replace("nats://", "nats://hushd:hp@");
    let mut stack = Stack::with_nats(nats, &hushd_url, CONFIG).expect("the stack starts");
    stack.probe_url = user_url(&stack, "admin", "ap");
    // hushd's own inbox, as config/docker.toml sets it: the conf lets the hushd user read only it.
    let mut config = stack.config();
    config.nats.inbox_prefix = Some("_INBOX_hushd".into());
    let _replica = stack.replica_with(config).await;

    // The operator writes through the admin user, on its own inbox prefix.
    let admin = client_as(&stack, "admin", "ap", "_INBOX_admin").await;
    let ttl = Duration::from_secs(600);
    for tenant in ["acme", "globex"] {
        let grant = stack.grant_with(tenant, "company", GrantScope::Admin, ttl, Some(admin.public_key()), now());
        let session = admin.session(grant).unwrap();
        session.put("DB_PASSWORD", &SecretValue::from(tenant), &Tags::new()).await.expect("the admin writes");
    }

    let worker = client_as(&stack, "worker-acme", "wp", "_INBOX_worker_acme").await;
    let bind = |tenant: &str, scope| stack.grant_with(tenant, "company", scope, ttl, Some(worker.public_key()), now());
    let acme = worker.session(bind("acme", GrantScope::Read)).unwrap();
    assert_eq!(acme.secret("DB_PASSWORD").await.unwrap().expose(), b"acme");

    // Another tenant's subject: the server refuses the publish, so no resolver ever answers.
    let globex = worker.session(bind("globex", GrantScope::Read)).unwrap();
    assert_eq!(globex.secret("DB_PASSWORD").await.unwrap_err().kind(), ErrorKind::Unavailable);
    // Admin subjects, even with an admin grant: refused by NATS before hushd sees them.
    let sneaky = worker.session(bind("acme", GrantScope::Admin)).unwrap();
    let err = sneaky.put("DB_PASSWORD", &SecretValue::from("overwritten"), &Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(acme.secret("DB_PASSWORD").await.unwrap().expose(), b"acme", "nothing was overwritten");

    // The worker cannot read the admin's replies: its subscription to them gets nothing.
    let spy = hush_client::NatsOptions::new(user_url(&stack, "worker-acme", "wp")).connect().await.unwrap();
    let mut stolen = spy.subscribe("_INBOX_admin.>").await.unwrap();
    spy.flush().await.unwrap();
    let grant = stack.grant_with("acme", "company", GrantScope::Read, ttl, Some(admin.public_key()), now());
    admin.session(grant).unwrap().secret("DB_PASSWORD").await.expect("the admin reads");
    let leaked = tokio::time::timeout(Duration::from_millis(500), stolen.next()).await;
    assert!(!matches!(leaked, Ok(Some(_))), "a worker must not receive another user's replies");

    // The audit stream hushd created under its own user: the admin reads it as `hush audit
    // tail` does (an ordered consumer), the worker cannot.
    let reader = |user: &str, password: &str, inbox: &str| {
        let mut options = hush_client::NatsOptions::new(user_url(&stack, user, password));
        options.inbox_prefix = Some(inbox.to_owned());
        options.request_timeout = Duration::from_secs(2);
        options
    };
    let operator = reader("admin", "ap", "_INBOX_admin").connect().await.unwrap();
    let stream =
        async_nats::jetstream::new(operator).get_stream("HUSH_AUDIT").await.expect("the admin reads the stream");
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig {
            filter_subject: "hush.v1.audit.acme".into(),
            ..Default::default()
        })
        .await
        .expect("the admin creates a consumer");
    let first = consumer.messages().await.unwrap().next().await.expect("an event").unwrap();
    assert!(String::from_utf8_lossy(&first.payload).contains("\"operation\":\"put\""));
    let worker_nats = reader("worker-acme", "wp", "_INBOX_worker_acme").connect().await.unwrap();
    assert!(
        async_nats::jetstream::new(worker_nats).get_stream("HUSH_AUDIT").await.is_err(),
        "a worker must not read the audit stream"
    );
}
