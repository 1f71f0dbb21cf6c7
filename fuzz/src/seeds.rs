//! The seed corpus: valid inputs made by hush's own code (requests authenticated as a client
//! authenticates them, grants from `GrantIssuer::issue`) and the repository's config files.
//! `write_seeds` writes them under `fuzz/corpus/<target>/` (the `resolver` target
//! reads `request`'s); they are committed, and made again
//! with `scripts/fuzz.sh --write-seeds` when a format changes.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hush_core::{GrantScope, Namespace, TenantId};
use hush_crypto::{Direction, GrantRequest, SealAad};
use hush_proto::PROTOCOL_VERSION;
use hush_proto::message::{
    ChangeEvent, DeleteRequest, GetItem, GetRequest, ListRequest, PutRequest, RequestBody, RequestEnvelope,
    ResponseBody, ResponseEnvelope, SealedItems,
};
use hush_proto::subject::{self, AdminOp};

use crate::fixed_keys::{FixedKeys, OWN_ISSUER_TENANT};
use crate::grant::{NOW, SIGN_CLAIMS, claims_bytes};
use crate::request_input::{
    MINT_GRANT, READ_GRANT, REAUTHENTICATE, RequestInput, SEAL_VALUE, SEED_NAMESPACE, SEED_TENANT, grant,
};

/// One seed: its file name and bytes.
pub type Seed = (String, Vec<u8>);

fn tenant(text: &str) -> TenantId {
    TenantId::new(text).expect("a valid tenant id")
}

fn namespace(text: &str) -> Namespace {
    Namespace::new(text).expect("a valid namespace")
}

fn item(name: &str, path: Option<&str>, version: Option<&str>) -> GetItem {
    GetItem { name: name.to_owned(), path: path.map(str::to_owned), version: version.map(str::to_owned) }
}

/// Grants as `GrantIssuer::issue` writes them, issued at [`NOW`]; the first is from the
/// default issuer (the grant target checks its own signing against it).
pub fn grant_tokens(keys: &FixedKeys) -> Vec<String> {
    let request = |tenant_id: &str, scope, ttl: u64, execution_id: Option<&str>, cnf, now| GrantRequest {
        tenant: tenant(tenant_id),
        namespace: namespace(SEED_NAMESPACE),
        scope,
        ttl: Duration::from_secs(ttl),
        execution_id: execution_id.map(str::to_owned),
        cnf,
        now,
    };
    let client = Some(keys.client.public());
    let issued = |issuer: &hush_crypto::GrantIssuer, request: GrantRequest| {
        issuer.issue(&request).expect("the issuer signs the seed grant")
    };
    vec![
        issued(&keys.issuer, request(SEED_TENANT, GrantScope::Read, 900, Some("run-42/task-7"), client, NOW)),
        issued(&keys.issuer, request(SEED_TENANT, GrantScope::Admin, 300, None, None, NOW)),
        issued(&keys.issuer, request(SEED_TENANT, GrantScope::Read, 60, None, client, NOW - 3600)),
        issued(
            &keys.tenant_issuer,
            request(OWN_ISSUER_TENANT, GrantScope::Admin, 3600, Some("é".repeat(128).as_str()), client, NOW),
        ),
    ]
}

/// Seeds of the `grant` target: each token as text, and its claims for the target to sign,
/// with the need's mode bits varied.
pub fn grant_seeds(keys: &FixedKeys) -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (index, token) in grant_tokens(keys).iter().enumerate() {
        for mode in [0u8, 2, 4, 8] {
            seeds.push((format!("token-{index}-mode-{mode}"), [&[mode][..], token.as_bytes()].concat()));
        }
        let claims = claims_bytes(token).expect("an issued token has claims");
        seeds.push((format!("claims-{index}"), [&[SIGN_CLAIMS][..], &claims].concat()));
    }
    seeds
}

/// Requests a client sends, each authenticated by the fixed client with a grant from
/// [`grant`] issued at [`NOW`], as (name, flags, subject, payload).
fn request_payloads(keys: &FixedKeys) -> Vec<(String, u8, String, Vec<u8>)> {
    let (acme, team) = (tenant(SEED_TENANT), namespace(SEED_NAMESPACE));
    let get_subject = subject::get(&acme, &team);
    let transport = keys.client.transport_key(&keys.resolver.public()).expect("the fixed keys agree");
    let token = grant(keys, &acme, &team, GrantScope::Admin, NOW);
    let envelope = |id: u8, subject: &str, body: RequestBody| {
        let mut envelope =
            RequestEnvelope::new([id; 16], keys.client.public(), keys.resolver.key_id(), NOW * 1000, body);
        transport.authenticate(&mut envelope, subject, &token).expect("a seed request fits the limit");
        envelope.encode().expect("a seed request encodes")
    };
    let mut seeds = Vec::new();
    let gets = [
        ("get-one", vec![item("DB_PASSWORD", None, None)]),
        ("get-path-version", vec![item("CONFIG", Some("password"), None), item("CONFIG", Some("ports[1]"), Some("1"))]),
        ("get-several", vec![item("API_TOKEN", None, None), item("MISSING", None, None), item("bad.name", None, None)]),
    ];
    for (id, (name, items)) in (1u8..).zip(gets) {
        let payload = envelope(id, &get_subject, RequestBody::Get(GetRequest { items }));
        seeds.push((format!("{name}-raw"), 0, get_subject.clone(), payload.clone()));
        seeds.push((name.to_owned(), REAUTHENTICATE, get_subject.clone(), payload.clone()));
        seeds.push((format!("{name}-minted"), REAUTHENTICATE | MINT_GRANT | READ_GRANT, get_subject.clone(), payload));
    }
    let put_subject = subject::admin(AdminOp::Put, &acme, &team);
    let request_id = [10u8; 16];
    let aad = SealAad {
        direction: Direction::ToResolver,
        request_id: &request_id,
        subject: &put_subject,
        name: "NEW_KEY",
        version: "",
    };
    let tags = BTreeMap::from([("owner".to_owned(), "team".to_owned())]);
    let sealed =
        PutRequest { name: "NEW_KEY".into(), sealed_value: transport.seal(&aad, b"new value"), tags: tags.clone() };
    let put = |id: u8, sealed_value: Vec<u8>| {
        envelope(id, &put_subject, RequestBody::Put(PutRequest { sealed_value, ..sealed.clone() }))
    };
    seeds.push(("put-raw".into(), 0, put_subject.clone(), put(10, sealed.sealed_value.clone())));
    // Under SEAL_VALUE the target seals the put's value itself: the seed carries plaintext.
    seeds.push(("put".into(), REAUTHENTICATE | SEAL_VALUE, put_subject.clone(), put(11, b"new value".to_vec())));
    seeds.push((
        "put-read-grant".into(),
        REAUTHENTICATE | SEAL_VALUE | MINT_GRANT | READ_GRANT,
        put_subject.clone(),
        put(12, b"{\"a\":1}".to_vec()),
    ));
    let delete_subject = subject::admin(AdminOp::Delete, &acme, &team);
    let delete = envelope(13, &delete_subject, RequestBody::Delete(DeleteRequest { name: "DB_PASSWORD".into() }));
    seeds.push(("delete".into(), REAUTHENTICATE, delete_subject, delete));
    let list_subject = subject::admin(AdminOp::List, &acme, &namespace("company"));
    let list = envelope(14, &list_subject, RequestBody::List(ListRequest { tags, recursive: true }));
    seeds.push(("list".into(), REAUTHENTICATE | MINT_GRANT, list_subject, list));
    let globex_subject = subject::get(&tenant(OWN_ISSUER_TENANT), &namespace("ops"));
    let globex = envelope(15, &globex_subject, RequestBody::Get(GetRequest { items: vec![item("X", None, None)] }));
    seeds.push(("get-other-tenant".into(), REAUTHENTICATE | MINT_GRANT, globex_subject, globex));
    seeds
}

/// Seeds of the `request` and `resolver` targets (one input format): requests, a response and
/// a change event.
pub fn request_seeds(keys: &FixedKeys) -> Vec<Seed> {
    let mut seeds: Vec<Seed> = request_payloads(keys)
        .into_iter()
        .map(|(name, flags, subject, payload)| (name, RequestInput::join(flags, &subject, &payload)))
        .collect();
    let get_subject = subject::get(&tenant(SEED_TENANT), &namespace(SEED_NAMESPACE));
    let response = ResponseEnvelope {
        version: PROTOCOL_VERSION,
        request_id: [1; 16],
        resolver_key_id: keys.resolver.key_id(),
        body: Ok(ResponseBody::Get(SealedItems(vec![7; 60]))),
    };
    let response = response.encode().expect("the seed response encodes");
    seeds.push(("response".into(), RequestInput::join(0, &get_subject, &response)));
    let event = ChangeEvent {
        version: PROTOCOL_VERSION,
        name: "DB_PASSWORD".into(),
        sent_at_ms: NOW * 1000,
        macs: vec![([1; 8], [2; 32])],
    };
    let changed_subject = subject::changed(&tenant(SEED_TENANT), &namespace(SEED_NAMESPACE));
    seeds.push(("change-event".into(), RequestInput::join(0, &changed_subject, &event.encode().expect("encodes"))));
    seeds
}

/// Seeds of the `path` target: identifiers, namespaces, JSON paths (the ESC examples),
/// subjects and joined keys.
pub fn path_seeds() -> Vec<Seed> {
    [
        "acme",
        "DB_PASSWORD",
        "company.team.etl",
        "42",
        "v1.2-beta_3",
        "credentials.password",
        r#"servers[0]["host name"]"#,
        r#"["root key"].x[1][*]"#,
        r#"a.b[0]["key with \"quotes\" and \\"]"#,
        "servers[*].host",
        "hush.v1.get.acme.company.team",
        "hush.v1.admin.put.acme.company",
        "hush.v1.admin.list.acme.company.team.etl",
        "hush.v1.events.changed.acme.company.team",
        "acme/company/team/DB_PASSWORD",
        "acme.company.team.DB_PASSWORD",
    ]
    .iter()
    .enumerate()
    .map(|(index, text)| (format!("path-{index:02}"), text.as_bytes().to_vec()))
    .collect()
}

/// Seeds of the `config` target: the repository's config files, and a small file with
/// `HUSH_` overrides after the NUL byte.
///
/// # Panics
///
/// When a config file of the repository cannot be read.
pub fn config_seeds(repository: &Path) -> Vec<Seed> {
    let mut seeds: Vec<Seed> = ["full.toml", "hush.toml", "docker.toml"]
        .iter()
        .map(|file| {
            let text = std::fs::read(repository.join("config").join(file)).expect("a config file of the repository");
            (format!("config-{file}"), text)
        })
        .collect();
    let small = "[backends.local]\nkind = \"sql\"\nurl = \"sqlite://hush.db\"\ntimeout = \"2s\"\n\n\
                 [backends.local.retry]\nmax_attempts = 3\nmax_delay = \"1s\"\n\n\
                 [tenants.acme]\nbackend = \"local\"\n\n\
                 [tenants.acme.namespaces.\"company.team\"]\nbackend = \"local\"\nread_only = true\n\
                 filter_tags = { owner = \"team\" }\n";
    let env = "HUSH_CACHE__TTL=30s\nHUSH_BACKENDS__LOCAL__TIMEOUT=1s\nHUSH_TENANTS__ACME__NAMESPACES__COMPANY_TEAM__READ_ONLY=false\n\
               HUSH_KEYS__ISSUER_PUBLIC_KEYS=[a.pub, b.pub]\n";
    // Made `BackendConfig::longest_call` overflow before it saturated (hush-config's tests).
    let huge = "[backends.slow]\nkind = \"sql\"\ntimeout = \"500000000000000000s\"\n\n\
                [backends.slow.retry]\nmax_attempts = 100\nmax_delay = \"500000000000000000s\"\n";
    seeds.push(("config-huge-timeouts".into(), huge.as_bytes().to_vec()));
    seeds.push(("config-small".into(), small.as_bytes().to_vec()));
    seeds.push(("config-small-env".into(), [small.as_bytes(), b"\0", env.as_bytes()].concat()));
    seeds
}

/// Writes every target's seeds under `corpus/<target>/`.
///
/// # Panics
///
/// When a file cannot be written.
pub fn write_all(corpus: &Path, repository: &Path) {
    let keys = FixedKeys::load();
    // The `resolver` target reads the `request` target's corpus: one input format.
    let targets: [(&str, Vec<Seed>); 4] = [
        ("request", request_seeds(&keys)),
        ("grant", grant_seeds(&keys)),
        ("path", path_seeds()),
        ("config", config_seeds(repository)),
    ];
    for (target, seeds) in targets {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir).expect("the corpus directory is created");
        for (name, bytes) in seeds {
            std::fs::write(dir.join(name), bytes).expect("a seed is written");
        }
    }
}
