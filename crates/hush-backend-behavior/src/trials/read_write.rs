//! Reads and writes: get, put, overwrite, pinned and missing versions, tags, delete, and
//! not-found answers.

use std::sync::Arc;

use hush_core::{ErrorKind, SecretValue, Tags, VersionId};

use crate::context::{Ctx, name, tags};
use crate::trial::{Cap::*, Outcome, Trial, ensure, expect_err, ok, same_value, trial};

pub(crate) fn trials() -> Vec<Trial> {
    vec![
        trial!(get_missing_is_not_found).requires(&[Read]),
        trial!(put_then_get).requires(&[Read, Write]),
        trial!(overwrite_reads_latest).requires(&[Read, Write]),
        trial!(pinned_versions_read_old_values).requires(&[Read, Write, Versions]),
        trial!(missing_version_is_not_found).requires(&[Read, Write, Versions]),
        trial!(tags_round_trip_and_are_replaced).requires(&[Read, Write, Tags]),
        trial!(delete_removes_every_version).requires(&[Read, Write]),
        trial!(delete_missing_is_not_found).requires(&[Write]),
    ]
}

async fn get_missing_is_not_found(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("rw_missing")?;
    let missing = ctx.unique_name("MISSING")?;
    expect_err("get of a missing secret", ctx.backend.get(&scope, &missing, None).await, &[ErrorKind::NotFound])
}

async fn put_then_get(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("rw_put_get")?;
    let n = name("PUT_GET")?;
    let value = SecretValue::from("hello from the behaviour suite");
    let meta = ctx.put(&scope, &n, value.clone(), Tags::new()).await?;
    let secret = ctx.get(&scope, &n).await?;
    same_value("get after put", &value, &secret.value)?;
    if ctx.caps.versions {
        ensure!(
            secret.version == meta.version,
            "get returned version {:?}, put returned {:?}",
            secret.version,
            meta.version
        );
    }
    if ctx.caps.tags {
        ensure!(secret.tags.is_empty(), "a secret written without tags reads back {} tags", secret.tags.len());
    }
    Ok(())
}

async fn overwrite_reads_latest(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("rw_overwrite")?;
    let n = name("OVERWRITE")?;
    let first = ctx.put(&scope, &n, "first value", Tags::new()).await?;
    let second_value = SecretValue::from("second, longer value");
    let second = ctx.put(&scope, &n, second_value.clone(), Tags::new()).await?;
    let secret = ctx.get(&scope, &n).await?;
    same_value("get after overwrite", &second_value, &secret.value)?;
    if ctx.caps.versions {
        ensure!(first.version != second.version, "two puts returned the same version {:?}", first.version);
        ensure!(
            secret.version == second.version,
            "get returned {:?}, the latest put {:?}",
            secret.version,
            second.version
        );
    }
    Ok(())
}

async fn pinned_versions_read_old_values(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("rw_pinned")?;
    let n = name("PINNED")?;
    let values = ["version one", "version two", "version three"].map(SecretValue::from);
    let mut versions = Vec::new();
    for value in &values {
        let meta = ctx.put(&scope, &n, value.clone(), Tags::new()).await?;
        versions.push(meta.version.ok_or("put returned no version")?);
    }
    for (value, version) in values.iter().zip(&versions) {
        let secret = ok(format!("get version {version}"), ctx.backend.get(&scope, &n, Some(version)).await)?;
        same_value(format!("get version {version}"), value, &secret.value)?;
        ensure!(secret.version.as_ref() == Some(version), "pinned {version}, read {:?}", secret.version);
    }
    Ok(())
}

async fn missing_version_is_not_found(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("rw_missing_version")?;
    let n = name("MISSING_VERSION")?;
    ctx.put(&scope, &n, "only version", Tags::new()).await?;
    let missing = VersionId::new("999999999").map_err(|e| e.to_string())?;
    expect_err("get of a missing version", ctx.backend.get(&scope, &n, Some(&missing)).await, &[ErrorKind::NotFound])?;
    let other = ctx.unique_name("NEVER_WRITTEN")?;
    expect_err(
        "get of a version of a missing secret",
        ctx.backend.get(&scope, &other, Some(&missing)).await,
        &[ErrorKind::NotFound],
    )
}

async fn tags_round_trip_and_are_replaced(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("rw_tags")?;
    let n = name("TAGGED")?;
    let first = tags(&[("team", "payments"), ("env", "prod"), ("owner", "data-platform")]);
    let meta = ctx.put(&scope, &n, "tagged value", first.clone()).await?;
    ensure!(meta.tags == first, "put returned tags {:?}, wrote {:?}", meta.tags, first);
    let secret = ctx.get(&scope, &n).await?;
    ensure!(secret.tags == first, "get returned tags {:?}, wrote {:?}", secret.tags, first);
    let second = tags(&[("team", "search")]);
    ctx.put(&scope, &n, "tagged value 2", second.clone()).await?;
    let secret = ctx.get(&scope, &n).await?;
    ensure!(
        secret.tags == second,
        "tags after a second put are {:?}, expected them replaced by {:?}",
        secret.tags,
        second
    );
    if ctx.caps.list {
        let listed = ctx.list(&scope, false).await?;
        let entry = listed.iter().find(|m| m.name == n).ok_or("list does not show the tagged secret")?;
        ensure!(entry.tags == second, "list shows tags {:?}, expected {:?}", entry.tags, second);
    }
    Ok(())
}

async fn delete_removes_every_version(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("rw_delete")?;
    let n = name("DELETED")?;
    let first = ctx.put(&scope, &n, "doomed one", Tags::new()).await?;
    ctx.put(&scope, &n, "doomed two", Tags::new()).await?;
    ok("delete", ctx.backend.delete(&scope, &n).await)?;
    expect_err("get after delete", ctx.backend.get(&scope, &n, None).await, &[ErrorKind::NotFound])?;
    if let (true, Some(v1)) = (ctx.caps.versions, &first.version) {
        expect_err(
            "get of an old version after delete",
            ctx.backend.get(&scope, &n, Some(v1)).await,
            &[ErrorKind::NotFound],
        )?;
    }
    if ctx.caps.list {
        let listed = ctx.list(&scope, false).await?;
        ensure!(!listed.iter().any(|m| m.name == n), "list still shows a deleted secret");
    }
    expect_err("second delete", ctx.backend.delete(&scope, &n).await, &[ErrorKind::NotFound])?;
    let reborn = SecretValue::from("written again after delete");
    ctx.put(&scope, &n, reborn.clone(), Tags::new()).await?;
    ctx.expect_value(&scope, &n, &reborn).await
}

async fn delete_missing_is_not_found(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("rw_delete_missing")?;
    let missing = ctx.unique_name("NEVER_WRITTEN")?;
    expect_err("delete of a missing secret", ctx.backend.delete(&scope, &missing).await, &[ErrorKind::NotFound])
}
