//! Concurrency: many writers and readers at once, on distinct names and on one shared
//! name. Every write must succeed (with distinct versions where the backend has them) and
//! every read must see a value some writer wrote, never an error or a torn value.

use std::collections::BTreeSet;
use std::sync::Arc;

use hush_core::{SecretName, SecretValue, Tags, VersionId};
use tokio::task::JoinSet;

use crate::context::{Ctx, name};
use crate::trial::{Cap::*, Outcome, Trial, ensure, trial};

pub(crate) fn trials() -> Vec<Trial> {
    vec![
        trial!(concurrent_writers_on_distinct_names).requires(&[Read, Write]),
        trial!(concurrent_writers_on_one_name).requires(&[Read, Write]),
    ]
}

/// Joins every task of `set`, returning the successes or the first failure with a count.
async fn join_all<T: 'static>(what: &str, mut set: JoinSet<Result<T, String>>) -> Result<Vec<T>, String> {
    let (mut done, mut failures) = (Vec::new(), Vec::new());
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(v)) => done.push(v),
            Ok(Err(e)) => failures.push(e),
            Err(e) => failures.push(format!("task failed: {e}")),
        }
    }
    match failures.first() {
        None => Ok(done),
        Some(first) => {
            Err(format!("{} of {} {what} failed; first: {first}", failures.len(), failures.len() + done.len()))
        }
    }
}

async fn concurrent_writers_on_distinct_names(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("conc_distinct")?;
    let count = ctx.options.concurrency;
    let entries: Vec<(SecretName, SecretValue)> = (0..count)
        .map(|i| Ok((name(&format!("DISTINCT_{i:03}"))?, SecretValue::from(format!("distinct value {i}").as_str()))))
        .collect::<Result<_, String>>()?;
    let mut writers = JoinSet::new();
    for (n, value) in entries.clone() {
        let (ctx, scope) = (Arc::clone(&ctx), scope.clone());
        writers.spawn(async move {
            ctx.put(&scope, &n, value.clone(), Tags::new()).await?;
            ctx.expect_value(&scope, &n, &value).await
        });
    }
    join_all("writers", writers).await?;
    let mut readers = JoinSet::new();
    for (n, value) in entries {
        let (ctx, scope) = (Arc::clone(&ctx), scope.clone());
        readers.spawn(async move { ctx.expect_value(&scope, &n, &value).await });
    }
    join_all("readers", readers).await?;
    if ctx.caps.list {
        let listed = ctx.list(&scope, false).await?;
        ensure!(listed.len() == count, "list shows {} of {count} secrets written concurrently", listed.len());
    }
    Ok(())
}

async fn concurrent_writers_on_one_name(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("conc_shared")?;
    let n = name("SHARED")?;
    let count = ctx.options.concurrency;
    ctx.put(&scope, &n, "initial", Tags::new()).await?;
    let allowed: Arc<BTreeSet<Vec<u8>>> = Arc::new(
        std::iter::once(b"initial".to_vec())
            .chain((0..count).map(|i| format!("shared writer {i}").into_bytes()))
            .collect(),
    );

    let mut writers: JoinSet<Result<Option<VersionId>, String>> = JoinSet::new();
    let mut readers: JoinSet<Result<(), String>> = JoinSet::new();
    for i in 0..count {
        let (ctx_w, scope_w, n_w) = (Arc::clone(&ctx), scope.clone(), n.clone());
        writers.spawn(async move {
            let value = SecretValue::from(format!("shared writer {i}").as_str());
            Ok(ctx_w.put(&scope_w, &n_w, value, Tags::new()).await?.version)
        });
        let (ctx_r, scope_r, n_r, allowed) = (Arc::clone(&ctx), scope.clone(), n.clone(), Arc::clone(&allowed));
        readers.spawn(async move {
            let secret = ctx_r.get(&scope_r, &n_r).await?;
            ensure!(
                allowed.contains(secret.value.expose()),
                "a concurrent read returned a value no writer wrote ({} bytes)",
                secret.value.len()
            );
            Ok(())
        });
    }
    let versions = join_all("writers", writers).await?;
    join_all("readers", readers).await?;

    let last = ctx.get(&scope, &n).await?;
    ensure!(
        allowed.contains(last.value.expose()) && last.value.expose() != b"initial",
        "after {count} concurrent writes the value is none of theirs"
    );
    if ctx.caps.versions {
        let distinct: BTreeSet<&VersionId> = versions.iter().flatten().collect();
        ensure!(distinct.len() == count, "{count} concurrent writes returned {} distinct versions", distinct.len());
        let read = last.version.as_ref().ok_or("get returned no version")?;
        ensure!(distinct.contains(read), "the latest version {read} is none of the versions the writers got");
    }
    Ok(())
}
