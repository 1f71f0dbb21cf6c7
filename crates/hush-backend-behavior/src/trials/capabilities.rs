//! Capabilities honoured: what a backend says it cannot do answers `Unsupported` (or
//! `ReadOnly` through the read-only layer), never a silent success; `info` and `check`
//! answer.

use std::sync::Arc;

use hush_core::{ErrorKind, ListFilter, SecretValue, Tags, VersionId};

use crate::context::Ctx;
use crate::trial::{Cap::*, Outcome, Trial, ensure, expect_err, ok, trial};

/// What a refused write may answer: `Unsupported` from a backend, `ReadOnly` from the
/// read-only layer.
const REFUSED_WRITE: &[ErrorKind] = &[ErrorKind::Unsupported, ErrorKind::ReadOnly];

pub(crate) fn trials() -> Vec<Trial> {
    vec![
        trial!(info_and_check_answer),
        trial!(writes_are_refused_without_write).lacks(&[Write]),
        trial!(list_is_refused_without_list).lacks(&[List]),
        trial!(pinned_version_is_refused_without_versions).requires(&[Read]).lacks(&[Versions]),
    ]
}

async fn info_and_check_answer(ctx: Arc<Ctx>) -> Outcome {
    let info = ctx.backend.info();
    ensure!(!info.kind.is_empty(), "info().kind is empty");
    ensure!(!info.name.is_empty(), "info().name is empty");
    ok("check", ctx.backend.check().await)
}

async fn writes_are_refused_without_write(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("caps_write")?;
    let n = ctx.unique_name("REFUSED")?;
    let put = ctx.backend.put(&scope, &n, SecretValue::from("must not be stored"), Tags::new()).await;
    expect_err("put on a backend without write", put, REFUSED_WRITE)?;
    expect_err("delete on a backend without write", ctx.backend.delete(&scope, &n).await, REFUSED_WRITE)?;
    if ctx.caps.read {
        expect_err("get after a refused put", ctx.backend.get(&scope, &n, None).await, &[ErrorKind::NotFound])?;
    }
    Ok(())
}

async fn list_is_refused_without_list(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("caps_list")?;
    let listed = ctx.backend.list(&scope, &ListFilter::default()).await;
    expect_err("list on a backend without list", listed, &[ErrorKind::Unsupported])
}

async fn pinned_version_is_refused_without_versions(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("caps_versions")?;
    let n = ctx.unique_name("PINNED")?;
    let version = VersionId::new("1").map_err(|e| e.to_string())?;
    let got = ctx.backend.get(&scope, &n, Some(&version)).await;
    expect_err("get of a pinned version on a backend without versions", got, &[ErrorKind::Unsupported])
}
