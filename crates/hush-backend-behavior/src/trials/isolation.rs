//! Isolation: a secret is visible in its own tenant and namespace only (never in a
//! parent, child or sibling such as `a.bc` for `a.b`), and the key mapping is injective.

use std::sync::Arc;

use hush_core::{ErrorKind, SecretValue, Tags};

use crate::context::{Ctx, name};
use crate::trial::{Cap::*, Outcome, Trial, ensure, expect_err, ok, trial};

pub(crate) fn trials() -> Vec<Trial> {
    vec![
        trial!(namespaces_are_isolated).requires(&[Read, Write]),
        trial!(tenants_are_isolated).requires(&[Read, Write]),
        trial!(key_mapping_is_injective).requires(&[Read, Write]),
    ]
}

async fn namespaces_are_isolated(ctx: Arc<Ctx>) -> Outcome {
    let home = ctx.scope("iso.a.b")?;
    let n = name("ISOLATED")?;
    let value = SecretValue::from("only in a.b");
    ctx.put(&home, &n, value.clone(), Tags::new()).await?;
    for other in ["iso", "iso.a", "iso.a.bc", "iso.a.b.c", "iso.ab", "iso.a.b-"] {
        let scope = ctx.scope(other)?;
        expect_err(format!("get from {other}"), ctx.backend.get(&scope, &n, None).await, &[ErrorKind::NotFound])?;
        if ctx.caps.list {
            let listed = ctx.list(&scope, false).await?;
            ensure!(listed.is_empty(), "list of {other} shows {} secrets of iso.a.b", listed.len());
        }
    }
    let sibling = ctx.scope("iso.a.bc")?;
    let sibling_value = SecretValue::from("only in a.bc");
    ctx.put(&sibling, &n, sibling_value.clone(), Tags::new()).await?;
    ctx.expect_value(&home, &n, &value).await?;
    ctx.expect_value(&sibling, &n, &sibling_value).await?;
    ok("delete from a.bc", ctx.backend.delete(&sibling, &n).await)?;
    ctx.expect_value(&home, &n, &value).await
}

async fn tenants_are_isolated(ctx: Arc<Ctx>) -> Outcome {
    let mine = ctx.scope("tenants")?;
    let theirs = ctx.other_scope("tenants")?;
    let n = name("TENANT_SECRET")?;
    let value = SecretValue::from("tenant one's value");
    ctx.put(&mine, &n, value.clone(), Tags::new()).await?;
    expect_err("get from another tenant", ctx.backend.get(&theirs, &n, None).await, &[ErrorKind::NotFound])?;
    expect_err("delete from another tenant", ctx.backend.delete(&theirs, &n).await, &[ErrorKind::NotFound])?;
    if ctx.caps.list {
        let listed = ctx.list(&theirs, true).await?;
        ensure!(listed.is_empty(), "another tenant lists {} secrets", listed.len());
    }
    let their_value = SecretValue::from("tenant two's value");
    ctx.put(&theirs, &n, their_value.clone(), Tags::new()).await?;
    ctx.expect_value(&mine, &n, &value).await?;
    ctx.expect_value(&theirs, &n, &their_value).await?;
    ok("delete from the other tenant", ctx.backend.delete(&theirs, &n).await)?;
    ctx.expect_value(&mine, &n, &value).await
}

async fn key_mapping_is_injective(ctx: Arc<Ctx>) -> Outcome {
    // Pairs a careless mapping (joining with '-' or '_', or folding case) would merge.
    let pairs = [
        (("inj.a-b", "c"), ("inj.a", "b-c")),
        (("inj.a_b", "c"), ("inj.a", "b_c")),
        (("inj.x", "y_z"), ("inj.x_y", "z")),
        (("inj.case", "Db_Password"), ("inj.case", "DB_PASSWORD")),
        (("inj.CASE", "k"), ("inj.case", "k")),
    ];
    for ((ns1, n1), (ns2, n2)) in pairs {
        let (s1, s2) = (ctx.scope(ns1)?, ctx.scope(ns2)?);
        let (k1, k2) = (name(n1)?, name(n2)?);
        let (v1, v2) =
            (SecretValue::from(format!("{ns1}/{n1}").as_str()), SecretValue::from(format!("{ns2}/{n2}").as_str()));
        ctx.put(&s1, &k1, v1.clone(), Tags::new()).await?;
        ctx.put(&s2, &k2, v2.clone(), Tags::new()).await?;
        ctx.expect_value(&s1, &k1, &v1).await?;
        ctx.expect_value(&s2, &k2, &v2).await?;
    }
    Ok(())
}
