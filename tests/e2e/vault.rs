//! hushd with a Vault (OpenBao) binding: a secret written with `bao kv put` by someone else is
//! read by a worker through NATS, field by path, and the namespace walk crosses from the Vault
//! binding into the SQLite default.

use hush_core::{ErrorKind, GrantScope};
use hush_e2e::{BaoServer, Stack, skip};

use crate::put;

#[tokio::test]
async fn a_worker_reads_a_secret_written_with_bao_kv_put() {
    let bao = match BaoServer::start() {
        Ok(bao) => bao,
        Err(reason) => return skip(&reason),
    };
    let config = format!(
        "[backends.local]\nkind = \"sql\"\nurl = \"sqlite://{{dir}}/local.db\"\n\n\
         [backends.vault-main]\nkind = \"vault\"\naddress = \"{}\"\nauth = {{ method = \"token\", token = \"root\" }}\n\n\
         [tenants.acme]\nbackend = \"local\"\n\n[tenants.acme.namespaces.\"company.team\"]\nbackend = \"vault-main\"\n",
        bao.address
    );
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
