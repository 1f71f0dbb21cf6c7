//! Which backend serves a namespace, and which namespace holds a secret (DESIGN.md section 2).

use hush_core::{ErrorKind, GrantScope, ListFilter, Tags};
use hush_e2e::Stack;

use crate::{CONFIG, put, put_tagged, read};

#[tokio::test]
async fn lookup_walks_to_ancestors_and_nearest_wins() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    put(&stack, "acme", "company", "DB_PASSWORD", "from-company").await;
    put(&stack, "acme", "company.data", "API_KEY", "from-data").await;

    // Inherited from the parent.
    assert_eq!(read(&stack, "acme", "company.data.etl", "DB_PASSWORD").await.unwrap(), "from-company");
    // A nearer definition wins.
    put(&stack, "acme", "company.data.etl", "DB_PASSWORD", "from-etl").await;
    assert_eq!(read(&stack, "acme", "company.data.etl", "DB_PASSWORD").await.unwrap(), "from-etl");
    assert_eq!(read(&stack, "acme", "company.data", "DB_PASSWORD").await.unwrap(), "from-company");
    // A child's secret never leaks to its parent or a sibling.
    assert_eq!(read(&stack, "acme", "company", "API_KEY").await, Err(ErrorKind::NotFound));
    assert_eq!(read(&stack, "acme", "company.sales", "API_KEY").await, Err(ErrorKind::NotFound));
    // Nor across tenants.
    assert_eq!(read(&stack, "globex", "company", "DB_PASSWORD").await, Err(ErrorKind::NotFound));
}

#[tokio::test]
async fn a_namespace_override_is_inherited_by_descendants() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    // Written under company.team.etl: stored in the "team" backend by the override.
    put(&stack, "acme", "company.team.etl", "TOKEN", "team-store").await;
    put(&stack, "acme", "company", "SHARED", "default-store").await;
    assert_eq!(read(&stack, "acme", "company.team.etl", "TOKEN").await.unwrap(), "team-store");
    // The walk crosses from the override's backend into the default's.
    assert_eq!(read(&stack, "acme", "company.team.etl", "SHARED").await.unwrap(), "default-store");
    let team_db = std::fs::read(stack.path().join("team.db")).unwrap_or_default();
    let team_wal = std::fs::read(stack.path().join("team.db-wal")).unwrap_or_default();
    let in_team = |needle: &[u8]| {
        team_db.windows(needle.len()).any(|w| w == needle) || team_wal.windows(needle.len()).any(|w| w == needle)
    };
    assert!(in_team(b"TOKEN"), "the override's secret is stored in the override's backend");
    assert!(!in_team(b"team-store"), "no plaintext value in the store");
}

#[tokio::test]
async fn unknown_tenant_and_unbound_namespace_are_not_found() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    assert_eq!(read(&stack, "initech", "company", "X").await, Err(ErrorKind::NotFound));
    let admin = stack.session("initech", "company", GrantScope::Admin).await;
    let err = admin.put("X", &"v".into(), &Tags::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

/// A replica with the `company.payments` binding writable and unfiltered: seeds the store as
/// another tool would write it, behind the read-only, filtered binding the tests check.
async fn payments_seeder(stack: &Stack) -> hush_e2e::Replica {
    let mut writable = stack.config();
    let binding = writable.tenants.get_mut("acme").unwrap().namespaces.get_mut("company.payments").unwrap();
    binding.read_only = false;
    binding.filter_tags.clear();
    stack.replica_with(writable).await
}

#[tokio::test]
async fn read_only_bindings_refuse_writes_and_tag_filters_hide() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let seeder = payments_seeder(&stack).await;
    let payments: Tags = [("team", "payments")].into_iter().collect();
    put_tagged(&stack, "acme", "company.payments", "STRIPE_KEY", "sk_live", &payments).await;
    put(&stack, "acme", "company.payments", "UNTAGGED", "hidden").await;
    seeder.stop().await;

    let _replica = stack.replica().await;
    assert_eq!(read(&stack, "acme", "company.payments", "STRIPE_KEY").await.unwrap(), "sk_live");
    assert_eq!(read(&stack, "acme", "company.payments", "UNTAGGED").await, Err(ErrorKind::NotFound));
    let admin = stack.session("acme", "company.payments", GrantScope::Admin).await;
    let err = admin.put("STRIPE_KEY", &"overwrite".into(), &payments).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReadOnly, "{err}");
    assert_eq!(admin.delete("STRIPE_KEY").await.unwrap_err().kind(), ErrorKind::ReadOnly);
    assert_eq!(read(&stack, "acme", "company.payments", "STRIPE_KEY").await.unwrap(), "sk_live");
    let listed = admin.list(&ListFilter::default()).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["STRIPE_KEY"], "the filter hides untagged secrets from list too");

    // A recursive list from the parent reads company.payments through its own (filtered)
    // binding, although the parent's binding is the same store without a filter.
    put(&stack, "acme", "company", "PARENT", "p").await;
    let parent = stack.session("acme", "company", GrantScope::Admin).await;
    let recursive = parent.list(&ListFilter { tags: Tags::new(), recursive: true }).await.unwrap();
    let found: Vec<(&str, &str)> = recursive.iter().map(|m| (m.namespace.as_str(), m.name.as_str())).collect();
    assert_eq!(found, [("company", "PARENT"), ("company.payments", "STRIPE_KEY")]);
}

#[tokio::test]
async fn list_shows_metadata_and_filters_by_tag() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    let prod: Tags = [("env", "prod")].into_iter().collect();
    put_tagged(&stack, "acme", "company.ops", "A", "1", &prod).await;
    put(&stack, "acme", "company.ops", "B", "2").await;
    put(&stack, "acme", "company.ops.child", "C", "3").await;
    let admin = stack.session("acme", "company.ops", GrantScope::Admin).await;
    let all = admin.list(&ListFilter::default()).await.unwrap();
    assert_eq!(all.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["A", "B"]);
    let filtered = admin.list(&ListFilter { tags: prod.clone(), recursive: false }).await.unwrap();
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0].tags, prod);
    let recursive = admin.list(&ListFilter { tags: Tags::new(), recursive: true }).await.unwrap();
    assert_eq!(recursive.len(), 3);
    // A read grant cannot list.
    let reader = stack.session("acme", "company.ops", GrantScope::Read).await;
    assert_eq!(reader.list(&ListFilter::default()).await.unwrap_err().kind(), ErrorKind::Unauthorized);
}

#[tokio::test]
async fn misses_up_the_namespace_tree_are_cached_and_counted_at_the_backend() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let replica = stack.replica().await;
    let reader = stack.session("acme", "company.ops.etl", GrantScope::Read).await;
    let before = replica.resolver.metrics().backend_reads;
    assert_eq!(reader.secret("NOWHERE").await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(replica.resolver.metrics().backend_reads - before, 3, "company.ops.etl, company.ops, company");
    for _ in 0..5 {
        assert_eq!(reader.secret("NOWHERE").await.unwrap_err().kind(), ErrorKind::NotFound);
    }
    assert_eq!(replica.resolver.metrics().backend_reads - before, 3, "the negative entries answer the repeats");
}

#[tokio::test]
async fn read_only_and_tag_filters_are_inherited_by_child_namespaces() {
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let seeder = payments_seeder(&stack).await;
    let payments: Tags = [("team", "payments")].into_iter().collect();
    put_tagged(&stack, "acme", "company.payments.eu", "IBAN_KEY", "tagged", &payments).await;
    put(&stack, "acme", "company.payments.eu", "UNTAGGED", "hidden").await;
    seeder.stop().await;

    let _replica = stack.replica().await;
    assert_eq!(read(&stack, "acme", "company.payments.eu", "IBAN_KEY").await.unwrap(), "tagged");
    assert_eq!(read(&stack, "acme", "company.payments.eu", "UNTAGGED").await, Err(ErrorKind::NotFound));
    let admin = stack.session("acme", "company.payments.eu", GrantScope::Admin).await;
    let err = admin.put("NEW", &"v".into(), &payments).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReadOnly, "the child inherits read_only: {err}");
}
