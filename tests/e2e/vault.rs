//! hushd with a Vault (OpenBao) binding: a secret written with `bao kv put` by someone else is
//! read by a worker through NATS, field by path, and the namespace walk crosses from the Vault
//! binding into the SQLite default.

use hush_core::{ErrorKind, GrantScope};
use hush_e2e::{BaoServer, Stack, skip};

use crate::put;

/// Tenant `acme` on SQLite, its namespace `company.team` (and below) on OpenBao at `address`.
fn sqlite_default_with_vault_override(address: &str) -> String {
    format!(
        "[backends.local]\nkind = \"sql\"\nurl = \"sqlite://{{dir}}/local.db\"\n\n\
         [backends.vault-main]\nkind = \"vault\"\naddress = \"{address}\"\nauth = {{ method = \"token\", token = \"root\" }}\n\n\
         [tenants.acme]\nbackend = \"local\"\n\n[tenants.acme.namespaces.\"company.team\"]\nbackend = \"vault-main\"\n"
    )
}

#[tokio::test]
async fn a_worker_reads_a_secret_written_with_bao_kv_put() {
    let bao = match BaoServer::start() {
        Ok(bao) => bao,
        Err(reason) => return skip(&reason),
    };
    let config = sqlite_default_with_vault_override(&bao.address);
    let Some(stack) = Stack::start_or_skip(&config) else { return };
    let _replica = stack.replica().await;
    // Written by another tool, at the documented path: <mount>/<tenant>/<namespace parts>/<NAME>.
    bao.cli(&["kv", "put", "secret/acme/company/team/DB", "user=app", "password=from-vault"]).expect("bao kv put");
    put(&stack, "acme", "company", "SHARED", "from-sqlite").await;

    let worker = stack.session("acme", "company.team.etl", GrantScope::Read).await;
    assert_eq!(worker.secret_at("DB", "password").await.unwrap().expose(), b"from-vault");
    let whole: serde_json::Value = serde_json::from_slice(worker.secret("DB").await.unwrap().expose()).unwrap();
    assert_eq!(whole["user"], "app");
    assert_eq!(worker.secret("SHARED").await.unwrap().expose(), b"from-sqlite", "the walk reaches the default");
    assert_eq!(worker.secret("NOPE").await.unwrap_err().kind(), ErrorKind::NotFound);

    // Written through hush, readable with `bao kv get`.
    put(&stack, "acme", "company.team", "API_KEY", "k-123").await;
    let got = bao.cli(&["kv", "get", "-field=value", "secret/acme/company/team/API_KEY"]).expect("bao kv get");
    assert_eq!(got.trim(), "k-123");
}

/// Single flight through NATS: 1000 concurrent requests for one name that hushd has not
/// cached make exactly one read of OpenBao, counted by OpenBao itself (its file audit device
/// logs every request it serves), and every request gets the value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_cold_reads_make_one_openbao_read() {
    const REQUESTS: usize = 1000;
    let bao = match BaoServer::start_with_audit_log() {
        Ok(bao) => bao,
        Err(reason) => return skip(&reason),
    };
    let config = sqlite_default_with_vault_override(&bao.address);
    let Some(stack) = Stack::start_or_skip(&config) else { return };
    let replica = stack.replica().await;
    let audit_log = bao.audit_log();
    bao.cli(&["kv", "put", "secret/acme/company/team/HOT", "value=one flight"]).expect("bao kv put");
    let reads_of_hot = || {
        let log = std::fs::read_to_string(&audit_log).unwrap_or_default();
        log.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|entry| {
                let request = &entry["request"];
                entry["type"] == "request"
                    && request["operation"] == "read"
                    && request["path"] == "secret/data/acme/company/team/HOT"
            })
            .count()
    };
    assert_eq!(reads_of_hot(), 0, "nothing has read the secret yet (writing it is no read)");

    let worker = stack.session("acme", "company.team", GrantScope::Read).await;
    let before = replica.resolver.metrics();
    let answers = futures::future::join_all((0..REQUESTS).map(|_| worker.secret("HOT"))).await;
    let failed: Vec<_> = answers.iter().filter_map(|answer| answer.as_ref().err()).collect();
    assert!(failed.is_empty(), "{} of {REQUESTS} requests failed; first: {:?}", failed.len(), failed.first());
    for answer in &answers {
        assert_eq!(answer.as_ref().unwrap().expose(), b"one flight");
    }
    let after = replica.resolver.metrics();
    assert_eq!(after.requests - before.requests, REQUESTS as u64, "every request reached the resolver");
    assert_eq!(after.backend_reads - before.backend_reads, 1, "the resolver made one backend read");
    assert_eq!(reads_of_hot(), 1, "OpenBao served the secret once");
}
